"""mount(2), umount2(2), mount_setattr(2) and their flag constants."""

import ctypes
import os

from ketch.linux._libc import check, libc

__all__ = [
    "AT_EMPTY_PATH",
    "AT_RECURSIVE",
    "MNT_DETACH",
    "MOUNT_ATTR_IDMAP",
    "MOUNT_ATTR_NOATIME",
    "MOUNT_ATTR_NODEV",
    "MOUNT_ATTR_NODIRATIME",
    "MOUNT_ATTR_NOEXEC",
    "MOUNT_ATTR_NOSUID",
    "MOUNT_ATTR_NOSYMFOLLOW",
    "MOUNT_ATTR_RDONLY",
    "MOUNT_ATTR_RELATIME",
    "MOUNT_ATTR_STRICTATIME",
    "MOUNT_ATTR__ATIME",
    "MOVE_MOUNT_F_EMPTY_PATH",
    "MOVE_MOUNT_T_EMPTY_PATH",
    "MS_BIND",
    "MS_DIRSYNC",
    "MS_LAZYTIME",
    "MS_MANDLOCK",
    "MS_MOVE",
    "MS_NOATIME",
    "MS_NODEV",
    "MS_NODIRATIME",
    "MS_NOEXEC",
    "MS_NOSUID",
    "MS_NOSYMFOLLOW",
    "MS_PRIVATE",
    "MS_RDONLY",
    "MS_REC",
    "MS_RELATIME",
    "MS_REMOUNT",
    "MS_SHARED",
    "MS_SILENT",
    "MS_SLAVE",
    "MS_STRICTATIME",
    "MS_SYNCHRONOUS",
    "MS_UNBINDABLE",
    "OPEN_TREE_CLONE",
    "fsmount_new",
    "mount",
    "mount_setattr",
    "move_mount",
    "open_tree",
    "umount",
]

MS_RDONLY = 0x1
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_NOEXEC = 0x8
MS_NOSYMFOLLOW = 0x100
MS_SYNCHRONOUS = 0x10
MS_REMOUNT = 0x20
MS_MANDLOCK = 0x40
MS_DIRSYNC = 0x80
MS_NOATIME = 0x400
MS_NODIRATIME = 0x800
MS_BIND = 0x1000
MS_MOVE = 0x2000
MS_REC = 0x4000
MS_SILENT = 0x8000
MS_UNBINDABLE = 1 << 17
MS_PRIVATE = 1 << 18
MS_SLAVE = 1 << 19
MS_SHARED = 1 << 20
MS_RELATIME = 1 << 21
MS_STRICTATIME = 1 << 24
MS_LAZYTIME = 1 << 25
MNT_DETACH = 0x2

# mount_setattr(2)
MOUNT_ATTR_RDONLY = 0x1
MOUNT_ATTR_NOSUID = 0x2
MOUNT_ATTR_NODEV = 0x4
MOUNT_ATTR_NOEXEC = 0x8
MOUNT_ATTR__ATIME = 0x70
MOUNT_ATTR_RELATIME = 0x0
MOUNT_ATTR_NOATIME = 0x10
MOUNT_ATTR_STRICTATIME = 0x20
MOUNT_ATTR_NODIRATIME = 0x80
MOUNT_ATTR_IDMAP = 0x100000
MOUNT_ATTR_NOSYMFOLLOW = 0x200000
AT_RECURSIVE = 0x8000
AT_EMPTY_PATH = 0x1000
_AT_FDCWD = -100
# open_tree(2), move_mount(2)
OPEN_TREE_CLONE = 0x1
_OPEN_TREE_CLOEXEC = 0o2000000
MOVE_MOUNT_F_EMPTY_PATH = 0x4
MOVE_MOUNT_T_EMPTY_PATH = 0x40
# one number on every architecture but alpha
_SYS_OPEN_TREE = 428
_SYS_MOVE_MOUNT = 429
_SYS_FSOPEN = 430
_SYS_FSCONFIG = 431
_SYS_FSMOUNT = 432
_FSCONFIG_SET_STRING = 1
_FSCONFIG_CMD_CREATE = 6
_FSOPEN_CLOEXEC = 0x1
_FSMOUNT_CLOEXEC = 0x1
_SYS_MOUNT_SETATTR = 442


def mount(
    source: str | None, target: str, fstype: str | None, flags: int = 0, data: str | None = None
) -> None:
    """mount(2); raises OSError naming the target."""
    check(
        libc().mount(
            source.encode() if source is not None else None,
            target.encode(),
            fstype.encode() if fstype is not None else None,
            ctypes.c_ulong(flags),
            data.encode() if data is not None else None,
        ),
        "mount",
        target,
    )


def umount(target: str, flags: int = 0) -> None:
    """umount2(2)."""
    check(libc().umount2(target.encode(), flags), "umount", target)


class _MountAttr(ctypes.Structure):
    _fields_ = (
        ("attr_set", ctypes.c_uint64),
        ("attr_clr", ctypes.c_uint64),
        ("propagation", ctypes.c_uint64),
        ("userns_fd", ctypes.c_uint64),
    )


def mount_setattr(
    fd: int,
    attr_set: int,
    attr_clr: int = 0,
    *,
    recursive: bool = False,
    propagation: int = 0,
    userns_fd: int = 0,
    what: str = "",
) -> None:
    """mount_setattr(2) on the mount ``fd`` refers to (``AT_EMPTY_PATH``)."""
    attr = _MountAttr(attr_set, attr_clr, propagation, userns_fd)
    flags = AT_EMPTY_PATH | (AT_RECURSIVE if recursive else 0)
    check(
        libc().syscall(
            ctypes.c_long(_SYS_MOUNT_SETATTR),
            ctypes.c_long(fd),
            ctypes.c_char_p(b""),
            ctypes.c_uint(flags),
            ctypes.byref(attr),
            ctypes.c_size_t(ctypes.sizeof(attr)),
        ),
        "mount_setattr",
        what or None,
    )


def open_tree(path: str, flags: int, dir_fd: int = _AT_FDCWD) -> int:
    """open_tree(2): an fd for the mount at ``path``; with ``OPEN_TREE_CLONE`` a detached
    copy of it (``AT_RECURSIVE``: with its submounts).  The fd is close-on-exec."""
    return check(
        libc().syscall(
            ctypes.c_long(_SYS_OPEN_TREE),
            ctypes.c_long(dir_fd),
            ctypes.c_char_p(path.encode()),
            ctypes.c_uint(flags | _OPEN_TREE_CLOEXEC),
        ),
        "open_tree",
        path,
    )


def move_mount(from_fd: int, to_fd: int, *, what: str = "") -> None:
    """move_mount(2) of the mount ``from_fd`` onto the file ``to_fd`` (both by fd)."""
    check(
        libc().syscall(
            ctypes.c_long(_SYS_MOVE_MOUNT),
            ctypes.c_long(from_fd),
            ctypes.c_char_p(b""),
            ctypes.c_long(to_fd),
            ctypes.c_char_p(b""),
            ctypes.c_uint(MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH),
        ),
        "move_mount",
        what or None,
    )


def fsmount_new(fstype: str, options: dict[str, str], attrs: int = 0) -> int:
    """A detached mount of a new ``fstype`` filesystem (fsopen, fsconfig, fsmount) with
    string ``options`` and ``MOUNT_ATTR_*`` ``attrs``; attach it with ``move_mount``."""
    fs_fd = check(
        libc().syscall(
            ctypes.c_long(_SYS_FSOPEN),
            ctypes.c_char_p(fstype.encode()),
            ctypes.c_uint(_FSOPEN_CLOEXEC),
        ),
        "fsopen",
        fstype,
    )
    try:
        for key, value in options.items():
            check(
                libc().syscall(
                    ctypes.c_long(_SYS_FSCONFIG),
                    ctypes.c_long(fs_fd),
                    ctypes.c_uint(_FSCONFIG_SET_STRING),
                    ctypes.c_char_p(key.encode()),
                    ctypes.c_char_p(value.encode()),
                    ctypes.c_int(0),
                ),
                "fsconfig",
                f"{fstype} {key}={value}",
            )
        check(
            libc().syscall(
                ctypes.c_long(_SYS_FSCONFIG),
                ctypes.c_long(fs_fd),
                ctypes.c_uint(_FSCONFIG_CMD_CREATE),
                None,
                None,
                ctypes.c_int(0),
            ),
            "fsconfig",
            fstype,
        )
        return check(
            libc().syscall(
                ctypes.c_long(_SYS_FSMOUNT),
                ctypes.c_long(fs_fd),
                ctypes.c_uint(_FSMOUNT_CLOEXEC),
                ctypes.c_uint(attrs),
            ),
            "fsmount",
            fstype,
        )
    finally:
        os.close(fs_fd)
