"""Device nodes and the standard /dev links of a container rootfs.

Nodes are made with mknod(2) inside the rootfs (through fds from
``_rootfs_path``); where mknod is refused (a user namespace) the host's node
of the same path is bind-mounted onto an empty file instead.
"""

import os
import stat

from ketch.errors import InvalidArgument, NotFound, PermissionDenied
from ketch.linux import fs
from ketch.linux.mount import MS_BIND, mount
from ketch.oci.runtime_spec import Device
from ketch.runtime._rootfs_path import clean_path, ensure_in_root

__all__ = [
    "DEFAULT_DEVICES",
    "check_devices",
    "create_console_placeholder",
    "create_dev_links",
    "create_devices",
]

DEFAULT_DEVICES = (
    Device(type="c", path="/dev/null", major=1, minor=3, file_mode=0o666, uid=0, gid=0),
    Device(type="c", path="/dev/zero", major=1, minor=5, file_mode=0o666, uid=0, gid=0),
    Device(type="c", path="/dev/full", major=1, minor=7, file_mode=0o666, uid=0, gid=0),
    Device(type="c", path="/dev/random", major=1, minor=8, file_mode=0o666, uid=0, gid=0),
    Device(type="c", path="/dev/urandom", major=1, minor=9, file_mode=0o666, uid=0, gid=0),
    Device(type="c", path="/dev/tty", major=5, minor=0, file_mode=0o666, uid=0, gid=0),
)

_DEV_LINKS = (
    ("fd", "/proc/self/fd"),
    ("stdin", "/proc/self/fd/0"),
    ("stdout", "/proc/self/fd/1"),
    ("stderr", "/proc/self/fd/2"),
)

_KINDS = {"c": stat.S_IFCHR, "u": stat.S_IFCHR, "b": stat.S_IFBLK, "p": stat.S_IFIFO}


def create_devices(root_fd: int, devices: tuple[Device, ...]) -> None:
    """The default devices, then ``devices`` (config.linux.devices, which win on the same path)."""
    wanted = {clean_path(d.path) for d in devices}
    todo = [(d, d.path) for d in DEFAULT_DEVICES if clean_path(d.path) not in wanted]
    todo.extend((d, f"linux.devices[{i}]") for i, d in enumerate(devices))
    old_umask = os.umask(0)
    try:
        for dev, what in todo:
            _make_node(root_fd, dev, what)
    finally:
        os.umask(old_umask)


def check_devices(devices: tuple[Device, ...]) -> None:
    """Check config.linux.devices without touching anything."""
    for i, dev in enumerate(devices):
        _check(dev, f"linux.devices[{i}]")


def _check(dev: Device, what: str) -> int:
    kind = _KINDS.get(dev.type)
    if kind is None:
        raise InvalidArgument(
            f"{what}.type: unknown device type {dev.type!r} (expected c, b, u or p)"
        )
    if not clean_path(dev.path):
        raise InvalidArgument(f"{what}.path: {dev.path!r} is not a device path")
    if kind != stat.S_IFIFO and (dev.major is None or dev.minor is None):
        raise InvalidArgument(f"{what}: major and minor are required for type {dev.type!r}")
    return kind


def _make_node(root_fd: int, dev: Device, what: str) -> None:
    kind = _check(dev, what)
    rel = clean_path(dev.path)
    mode = (dev.file_mode if dev.file_mode is not None else 0o666) & 0o7777
    parent_path, _, name = rel.rpartition("/")
    parent = ensure_in_root(root_fd, parent_path, directory=True, what=f"{what}.path")
    try:
        _remove_existing(parent, name, what)
        rdev = os.makedev(dev.major or 0, dev.minor or 0)
        try:
            if kind == stat.S_IFIFO:
                os.mkfifo(name, mode, dir_fd=parent)
            else:
                os.mknod(name, mode | kind, rdev, dir_fd=parent)
        except PermissionError:
            _bind_host_device(parent, name, dev, what)
            return
        os.chown(name, dev.uid or 0, dev.gid or 0, dir_fd=parent, follow_symlinks=False)
    except OSError as e:
        raise PermissionDenied(f"{what}: cannot create device {dev.path}: {e.strerror}") from e
    finally:
        os.close(parent)


def _remove_existing(parent: int, name: str, what: str) -> None:
    try:
        st = os.stat(name, dir_fd=parent, follow_symlinks=False)
    except FileNotFoundError:
        return
    if stat.S_ISDIR(st.st_mode):
        raise PermissionDenied(f"{what}: a directory is in the way of the device")
    os.unlink(name, dir_fd=parent)


def _bind_host_device(parent: int, name: str, dev: Device, what: str) -> None:
    """mknod is not permitted (user namespace): bind the host's node of that path."""
    try:
        st = os.stat(dev.path)
    except FileNotFoundError as e:
        raise NotFound(f"{what}: mknod is not permitted and the host has no {dev.path}") from e
    if stat.S_IFMT(st.st_mode) != _KINDS[dev.type] or (
        dev.major is not None and st.st_rdev != os.makedev(dev.major, dev.minor or 0)
    ):
        raise PermissionDenied(
            f"{what}: mknod is not permitted and host {dev.path} is another device"
        )
    fd = os.open(
        name,
        os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC,
        0o600,
        dir_fd=parent,
    )
    try:
        mount(dev.path, fs.fd_path(fd), None, MS_BIND)
    finally:
        os.close(fd)


def create_dev_links(root_fd: int) -> None:
    """/dev/fd, /dev/std{in,out,err} and /dev/ptmx -> pts/ptmx (replacing a /dev/ptmx node)."""
    dev = ensure_in_root(root_fd, "/dev", directory=True, what="/dev")
    try:
        for name, target in _DEV_LINKS:
            try:  # noqa: SIM105 (contextlib costs ~2 ms of imports at every start)
                os.symlink(target, name, dir_fd=dev)
            except FileExistsError:
                pass
        try:
            _remove_existing(dev, "ptmx", "/dev/ptmx")
            os.symlink("pts/ptmx", "ptmx", dir_fd=dev)
        except OSError as e:
            raise PermissionDenied(f"/dev/ptmx: cannot create the link: {e.strerror}") from e
    finally:
        os.close(dev)


def create_console_placeholder(root_fd: int) -> None:
    """An empty /dev/console for the pty slave to be bind-mounted on."""
    fd = ensure_in_root(
        root_fd, "/dev/console", directory=False, what="/dev/console", file_mode=0o600
    )
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode) and not stat.S_ISCHR(os.fstat(fd).st_mode):
            raise PermissionDenied("/dev/console: exists and is neither a file nor a device")
    finally:
        os.close(fd)
