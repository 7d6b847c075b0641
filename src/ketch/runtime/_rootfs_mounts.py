"""Perform one ``config.mounts`` entry inside the rootfs.

The destination is resolved (and created) by ``_rootfs_path`` and mounted on
through ``/proc/self/fd/N``; flags a bind mount ignores are applied by a
remount, then propagation changes and recursive (``rro``...) attributes on the
new mount, reopened by its real path with symlinks refused.
"""

import errno
import os
import stat

from ketch.errors import InvalidArgument, NotFound, NotImplementedByHost, PermissionDenied
from ketch.linux import fs
from ketch.linux import mount as m
from ketch.oci.runtime_spec import Linux, Mount
from ketch.runtime._mountopts import BIND_REMOUNT_FLAGS, MountOptions, parse_mount_options
from ketch.runtime._rootfs_path import clean_path, ensure_in_root, open_in_root, real_relpath
from ketch.runtime._rootfs_remount import remount

__all__ = ["check_entry", "destination_is", "is_bind", "mount_entry"]

# Files under /proc a mount may cover (what lxcfs emulates); anything else there is refused.
_PROC_ALLOWED = frozenset(
    {
        "proc/cpuinfo",
        "proc/diskstats",
        "proc/meminfo",
        "proc/stat",
        "proc/swaps",
        "proc/uptime",
        "proc/loadavg",
        "proc/slabinfo",
        "proc/pressure/cpu",
        "proc/pressure/io",
        "proc/pressure/memory",
        "proc/net/dev",
        "proc/sys/kernel/ns_last_pid",
    }
)


def is_bind(mnt: Mount, opts: MountOptions) -> bool:
    return mnt.type == "bind" or (opts.is_bind and mnt.type in (None, "", "none", "bind"))


def check_entry(mnt: Mount, index: int) -> MountOptions:
    """Parse and check ``mounts[index]`` without touching anything (done for all entries
    before the first mount, so a bad one fails the start before any change)."""
    what = f"mounts[{index}]"
    if not mnt.destination or "\0" in mnt.destination:
        raise InvalidArgument(f"{what}.destination: {mnt.destination!r} is not a path")
    opts = parse_mount_options(mnt.options, what=f"{what}.options")
    bind = is_bind(mnt, opts)
    if not bind and not mnt.type:
        raise InvalidArgument(f"{what}: no type and no bind option for {mnt.destination}")
    if bind and not mnt.source:
        raise InvalidArgument(f"{what}.source: a bind mount needs a source")
    if (opts.idmap or mnt.uid_mappings or mnt.gid_mappings) and not bind:
        raise NotImplementedByHost(f"{what}: idmapped mounts are supported for bind mounts only")
    return opts


def mount_entry(
    root_fd: int,
    mnt: Mount,
    opts: MountOptions,
    index: int,
    bundle: str,
    *,
    cgroupns: bool,
    linux: Linux | None,
    premade: int | None = None,
) -> None:
    """Perform ``mounts[index]`` (``opts`` from ``check_entry``); ``premade`` is a detached
    mount made for it on the host side (``open_idmapped``), attached here and closed."""
    what = f"mounts[{index}]"
    bind = is_bind(mnt, opts)
    idmap = bool(opts.idmap or mnt.uid_mappings or mnt.gid_mappings)
    if premade is not None:
        with _closing(premade):
            _attach(root_fd, mnt, opts, premade, what)
        return
    if mnt.type == "cgroup" and not bind:
        from ketch.runtime._rootfs_cgroup import mount_cgroup

        mount_cgroup(root_fd, mnt.destination, opts, cgroupns=cgroupns, what=what)
        return
    source = mnt.source
    directory = True
    bound = bind
    if bind and source:
        source = os.path.join(bundle, source)
        try:
            directory = stat.S_ISDIR(os.stat(source).st_mode)
        except FileNotFoundError as e:
            raise NotFound(f"{what}.source {mnt.source}: no such file or directory") from e
        except OSError as e:
            raise InvalidArgument(f"{what}.source {mnt.source}: {e.strerror}") from e
    fd = ensure_in_root(root_fd, mnt.destination, directory=directory, what=f"{what}.destination")
    try:
        real = real_relpath(root_fd, fd)
        _check_destination(root_fd, mnt, real, bind, source, what)
        target = fs.fd_path(fd)
        try:
            if idmap:
                from ketch.runtime._rootfs_idmap import open_idmapped

                with _closing(open_idmapped(mnt, opts, bundle, linux, what)) as tree:
                    m.move_mount(tree, fd, what=mnt.destination)
            elif bind:
                m.mount(source, target, None, m.MS_BIND | (opts.flags & m.MS_REC))
            else:
                bound = _mount_fs(mnt, opts, target)
        except OSError as e:
            raise PermissionDenied(
                f"{what}: mount {mnt.type or 'bind'} on {mnt.destination}: {e.strerror}"
            ) from e
        if opts.tmpcopyup and mnt.type == "tmpfs":
            _copy_up(fd, root_fd, real, what)
    finally:
        os.close(fd)
    _apply_options(root_fd, mnt, opts, real, bound, what)


def _attach(root_fd: int, mnt: Mount, opts: MountOptions, tree: int, what: str) -> None:
    directory = stat.S_ISDIR(os.fstat(tree).st_mode)
    fd = ensure_in_root(root_fd, mnt.destination, directory=directory, what=f"{what}.destination")
    try:
        real = real_relpath(root_fd, fd)
        _check_destination(root_fd, mnt, real, True, None, what)
        if real == "proc" and fs.fstatfs_type(tree) != fs.PROC_SUPER_MAGIC:
            raise PermissionDenied(
                f"{what}.destination {mnt.destination}: only a procfs may be bound on /proc"
            )
        try:
            m.move_mount(tree, fd, what=mnt.destination)
        except OSError as e:
            raise PermissionDenied(f"{what}: mount on {mnt.destination}: {e.strerror}") from e
    finally:
        os.close(fd)
    _apply_options(root_fd, mnt, opts, real, True, what)


class _closing:
    """``with _closing(fd) as fd:`` closes the fd (contextlib costs an import)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def __enter__(self) -> int:
        return self.fd

    def __exit__(self, *exc: object) -> None:
        os.close(self.fd)


def _apply_options(
    root_fd: int, mnt: Mount, opts: MountOptions, real: str, bound: bool, what: str
) -> None:
    """Remount flags, propagation and recursive attributes on the new mount at ``real``."""
    if not (
        (bound and opts.flags & BIND_REMOUNT_FLAGS)
        or opts.propagation
        or opts.attr_set
        or opts.attr_clr
    ):
        return
    top = open_in_root(root_fd, real, no_symlinks=True)  # the new mount, not the dir under it
    try:
        path = fs.fd_path(top)
        try:
            if bound and opts.flags & BIND_REMOUNT_FLAGS:
                remount(path, opts.flags & BIND_REMOUNT_FLAGS)
            for prop in opts.propagation:
                m.mount(None, path, None, prop)
            if opts.attr_set or opts.attr_clr:
                m.mount_setattr(top, opts.attr_set, opts.attr_clr, recursive=True, what=path)
        except OSError as e:
            if e.errno == errno.ENOSYS:
                raise NotImplementedByHost(
                    f"{what}: options on {mnt.destination}: the kernel lacks mount_setattr(2)"
                ) from e
            raise PermissionDenied(f"{what}: options on {mnt.destination}: {e.strerror}") from e
    finally:
        os.close(top)


def _mount_fs(mnt: Mount, opts: MountOptions, target: str) -> bool:
    """Mount a new filesystem; True when it fell back to a bind (flags still to apply)."""
    flags = opts.flags & ~(m.MS_BIND | m.MS_REC | m.MS_REMOUNT)
    try:
        m.mount(mnt.source or mnt.type, target, mnt.type, flags, opts.data or None)
        return False
    except PermissionError:
        if mnt.type != "sysfs":
            raise
    # A user namespace that does not own the network namespace may not mount sysfs:
    # bind the host's instead (read-only etc. by the caller's remount).
    m.mount("/sys", target, None, m.MS_BIND | m.MS_REC)
    return True


def _check_destination(
    root_fd: int, mnt: Mount, real: str, bind: bool, source: str | None, what: str
) -> None:
    """Refuse mounts that would defeat the procfs/sysfs protections."""
    if mnt.type in ("proc", "sysfs") and not bind:
        try:
            os.close(open_in_root(root_fd, mnt.destination, no_symlinks=True))
        except OSError as e:
            raise PermissionDenied(
                f"{what}.destination {mnt.destination}: must not be reached through a symlink "
                f"for a {mnt.type} mount"
            ) from e
    if real == "proc":
        if bind and source is not None:
            sfd = os.open(source, os.O_PATH | os.O_CLOEXEC)
            try:
                if fs.fstatfs_type(sfd) != fs.PROC_SUPER_MAGIC:
                    raise PermissionDenied(
                        f"{what}.destination {mnt.destination}: only a procfs may be bound on /proc"
                    )
            finally:
                os.close(sfd)
    elif real.startswith("proc/") and real not in _PROC_ALLOWED:
        raise PermissionDenied(
            f"{what}.destination {mnt.destination}: resolves to /{real}, inside /proc, "
            "where mounts are refused"
        )


def _copy_up(lower: int, root_fd: int, real: str, what: str) -> None:
    """tmpcopyup: copy what the directory held into the fresh tmpfs over it."""
    from ketch.runtime._rootfs_copy import copy_tree

    upper = open_in_root(root_fd, real, os.O_RDONLY | os.O_DIRECTORY, no_symlinks=True)
    try:
        low = os.open(".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC, dir_fd=lower)
        try:
            copy_tree(low, upper)
        finally:
            os.close(low)
    except OSError as e:
        raise PermissionDenied(f"{what}: tmpcopyup into {real}: {e.strerror}") from e
    finally:
        os.close(upper)


def destination_is(mnt: Mount, path: str) -> bool:
    return clean_path(mnt.destination) == clean_path(path)
