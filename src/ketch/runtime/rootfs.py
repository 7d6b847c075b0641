"""The container's root filesystem: mounts, devices, pivot_root, masked and read-only paths.

Runs in the container's init child, which has already unshared its mount
namespace (and entered its user and cgroup namespaces when configured).
``mount_rootfs`` works on the rootfs from outside (before ``pivot_root``),
``enter_rootfs`` makes it ``/``.  Every destination is resolved inside the
rootfs by the kernel (``openat2`` with ``RESOLVE_IN_ROOT``), so symlinks in a
hostile image cannot aim a mount at the host.
"""

import os
import stat
from _collections_abc import Mapping  # = collections.abc, already loaded (no collections import)

from ketch.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from ketch.linux import fs
from ketch.linux import mount as m
from ketch.oci.runtime_spec import Config
from ketch.runtime._devices import (
    check_devices,
    create_console_placeholder,
    create_dev_links,
    create_devices,
)
from ketch.runtime._mountopts import propagation_flags
from ketch.runtime._rootfs_mounts import check_entry, destination_is, is_bind, mount_entry
from ketch.runtime._rootfs_path import ensure_in_root, open_in_root

__all__ = ["console_bind", "enter_rootfs", "mount_rootfs", "open_idmapped_mounts"]

_RO_PATH_ATTRS = (
    m.MOUNT_ATTR_RDONLY | m.MOUNT_ATTR_NOSUID | m.MOUNT_ATTR_NODEV | m.MOUNT_ATTR_NOEXEC
)


def open_idmapped_mounts(config: Config, bundle: str) -> dict[int, int]:
    """Host side, before the init enters a user namespace: a detached idmapped mount for
    each idmapped entry of ``config.mounts``, by index, for ``mount_rootfs(premade=...)``.

    Idmapping a source needs privilege over its filesystem, which the init in a
    user namespace lacks; the fds are inherited (or passed) to the init, which
    attaches and closes them.  The caller closes them if the init never runs.
    """
    from ketch.runtime._rootfs_idmap import open_idmapped

    result: dict[int, int] = {}
    try:
        for i, mnt in enumerate(config.mounts):
            opts = check_entry(mnt, i)
            if opts.idmap or mnt.uid_mappings or mnt.gid_mappings:
                try:
                    result[i] = open_idmapped(mnt, opts, bundle, config.linux, f"mounts[{i}]")
                except FileNotFoundError as e:
                    raise NotFound(
                        f"mounts[{i}].source {mnt.source}: no such file or directory"
                    ) from e
                except OSError as e:
                    raise PermissionDenied(
                        f"mounts[{i}]: cannot idmap {mnt.source}: {e.strerror}"
                    ) from e
    except BaseException:
        for fd in result.values():
            os.close(fd)
        raise
    return result


def mount_rootfs(config: Config, bundle: str, *, premade: Mapping[int, int] | None = None) -> str:
    """Prepare the rootfs of ``config`` (bundle-relative) for ``enter_rootfs``; its absolute path.

    Checks every mount and device entry first, then makes ``/`` ``rslave``
    (``rprivate``/``rshared`` when ``linux.rootfsPropagation`` asks for those),
    bind-mounts the rootfs onto itself with the asked propagation, performs
    ``config.mounts`` in order, creates the default and configured devices and
    the /dev links when /dev is not bound from the host, an empty
    /dev/console when the process has a terminal, and ``process.cwd`` when missing.  ``premade`` maps mount indexes to
    detached mounts from ``open_idmapped_mounts``; they are attached and closed.
    """
    if config.root is None:
        raise InvalidArgument("root: missing from config.json")
    linux = config.linux
    # every entry is checked before anything is changed
    options = [check_entry(mnt, i) for i, mnt in enumerate(config.mounts)]
    devices = linux.devices if linux is not None else ()
    check_devices(devices)
    rootfs = os.path.realpath(os.path.join(bundle, config.root.path))
    if not os.path.isdir(rootfs):
        raise NotFound(f"root.path {config.root.path}: no such directory ({rootfs})")
    wanted = 0
    if linux is not None and linux.rootfs_propagation:
        wanted = propagation_flags(linux.rootfs_propagation)
    # "/" as a whole: rslave by default, so that nothing made here reaches the host
    base = m.MS_SLAVE | m.MS_REC
    if wanted & (m.MS_PRIVATE | m.MS_SHARED):
        base = wanted | m.MS_REC
    try:
        m.mount(None, "/", None, base)
        if base & m.MS_SHARED:
            _make_parent_private(rootfs)
        m.mount(rootfs, rootfs, None, m.MS_BIND | m.MS_REC)
        if wanted and not wanted & m.MS_SHARED:  # pivot_root refuses a shared new root
            m.mount(None, rootfs, None, wanted)
    except OSError as e:
        raise PermissionDenied(
            f"root.path {config.root.path}: cannot bind the rootfs: {e.strerror}"
        ) from e
    cgroupns = linux is not None and linux.namespace("cgroup") is not None
    root_fd = os.open(rootfs, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for i, (mnt, opts) in enumerate(zip(config.mounts, options, strict=True)):
            mount_entry(
                root_fd,
                mnt,
                opts,
                i,
                bundle,
                cgroupns=cgroupns,
                linux=linux,
                premade=premade.get(i) if premade else None,
            )
        dev_bound = any(
            destination_is(mnt, "/dev") and is_bind(mnt, opts)
            for mnt, opts in zip(config.mounts, options, strict=True)
        )
        if not dev_bound:
            create_devices(root_fd, devices)
            create_dev_links(root_fd)
        process = config.process
        if process is not None and process.terminal:
            create_console_placeholder(root_fd)
        if process is not None and process.cwd.startswith("/"):
            # as runc: a missing cwd is made now (0755), while even a read-only root
            # is still writable, resolved inside the rootfs like every other path
            os.close(ensure_in_root(root_fd, process.cwd, directory=True, what="process.cwd"))
    finally:
        os.close(root_fd)
    return rootfs


def _make_parent_private(rootfs: str) -> None:
    """pivot_root refuses a new root whose parent mount is shared: make that one private."""
    from ketch.linux.mountinfo import mount_containing, read_mountinfo

    parent = mount_containing(read_mountinfo(), rootfs)
    if parent is not None and any(o.startswith("shared:") for o in parent.optional):
        m.mount(None, parent.mount_point, None, m.MS_PRIVATE)


def enter_rootfs(config: Config, rootfs: str, *, no_pivot: bool = False) -> None:
    """Make ``rootfs`` the root (pivot_root, or MS_MOVE + chroot with ``no_pivot``), then
    apply masked paths, read-only paths and ``root.readonly``; the cwd ends at ``/``."""
    os.chdir(rootfs)
    try:
        if no_pivot:
            m.mount(rootfs, "/", None, m.MS_MOVE)
            os.chroot(".")
        else:
            old_root = os.open("/", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
            try:
                fs.pivot_root(".", ".")
                # The old root is now stacked on the new one.  From inside it, make it
                # rslave (so its unmount does not reach the host) and detach it;
                # "." from the new root's cwd would name the new root instead.
                os.fchdir(old_root)
                m.mount(None, ".", None, m.MS_SLAVE | m.MS_REC)
                m.umount(".", m.MNT_DETACH)
            finally:
                os.close(old_root)
        linux = config.linux
        if linux is not None and linux.rootfs_propagation:
            wanted = propagation_flags(linux.rootfs_propagation)
            if wanted & m.MS_SHARED:
                m.mount(None, "/", None, wanted)
    except OSError as e:
        raise PermissionDenied(f"{rootfs}: cannot switch root: {e.strerror}") from e
    os.chdir("/")
    root_fd = os.open("/", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        if linux is not None:
            for i, path in enumerate(linux.readonly_paths):
                _readonly_path(root_fd, path, f"linux.readonlyPaths[{i}]")
            for i, path in enumerate(linux.masked_paths):
                _mask_path(root_fd, path, f"linux.maskedPaths[{i}]")
        if config.root is not None and config.root.readonly:
            try:
                m.mount_setattr(root_fd, m.MOUNT_ATTR_RDONLY, what="/")
            except OSError as e:
                raise PermissionDenied(
                    f"root.readonly: cannot make / read-only: {e.strerror}"
                ) from e
    finally:
        os.close(root_fd)
    os.chdir("/")


def _open_existing(root_fd: int, path: str, what: str) -> int | None:
    try:
        return open_in_root(root_fd, path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as e:
        raise PermissionDenied(
            f"{what} {path}: cannot be resolved inside the rootfs: {e.strerror}"
        ) from e


def _readonly_path(root_fd: int, path: str, what: str) -> None:
    """A read-only, nosuid, nodev, noexec recursive bind of ``path`` on itself.

    Done on a detached clone (open_tree, mount_setattr, move_mount): no path and
    no /proc is needed after the pivot, and the flags the kernel locks stay as they are.
    """
    fd = _open_existing(root_fd, path, what)
    if fd is None:
        return
    try:
        clone = m.open_tree("", m.OPEN_TREE_CLONE | m.AT_RECURSIVE | m.AT_EMPTY_PATH, dir_fd=fd)
        try:
            m.mount_setattr(clone, _RO_PATH_ATTRS, recursive=True, what=path)
            m.move_mount(clone, fd, what=path)
        finally:
            os.close(clone)
    except OSError as e:
        raise PermissionDenied(f"{what} {path}: cannot make it read-only: {e.strerror}") from e
    finally:
        os.close(fd)


def _mask_path(root_fd: int, path: str, what: str) -> None:
    """/dev/null bound over a file, an empty read-only tmpfs over a directory."""
    fd = _open_existing(root_fd, path, what)
    if fd is None:
        return
    try:
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            mnt = m.fsmount_new("tmpfs", {"size": "4k", "mode": "0555"}, _RO_PATH_ATTRS)
        else:
            null = _dev_null(root_fd)
            try:
                mnt = m.open_tree("", m.OPEN_TREE_CLONE | m.AT_EMPTY_PATH, dir_fd=null)
            finally:
                os.close(null)
        try:
            m.move_mount(mnt, fd, what=path)
        finally:
            os.close(mnt)
    except OSError as e:
        raise PermissionDenied(f"{what} {path}: cannot mask it: {e.strerror}") from e
    finally:
        os.close(fd)


def _dev_null(root_fd: int) -> int:
    """An fd of the container's /dev/null, checked to be the real null device."""
    try:
        fd = open_in_root(root_fd, "/dev/null")
    except OSError as e:
        raise FailedPrecondition(
            f"maskedPaths: the container has no /dev/null ({e.strerror})"
        ) from e
    st = os.fstat(fd)
    if not stat.S_ISCHR(st.st_mode) or st.st_rdev != os.makedev(1, 3):
        os.close(fd)
        raise PermissionDenied("maskedPaths: the container's /dev/null is not the null device")
    return fd


def console_bind(rootfs: str | None, pty_slave: str | int) -> None:
    """Bind the pty slave (a path or an open fd) onto /dev/console of ``rootfs``
    (before ``enter_rootfs``) or of the current root (``None``, after it)."""
    root_fd = os.open(rootfs or "/", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        fd = ensure_in_root(
            root_fd, "/dev/console", directory=False, what="/dev/console", file_mode=0o600
        )
        try:
            if isinstance(pty_slave, int):
                clone = m.open_tree("", m.OPEN_TREE_CLONE | m.AT_EMPTY_PATH, dir_fd=pty_slave)
            else:
                clone = m.open_tree(pty_slave, m.OPEN_TREE_CLONE)
            try:
                m.move_mount(clone, fd, what="/dev/console")
            finally:
                os.close(clone)
        except OSError as e:
            raise PermissionDenied(f"/dev/console: cannot bind the console: {e.strerror}") from e
        finally:
            os.close(fd)
    finally:
        os.close(root_fd)
