"""Path syscalls Python's ``os`` lacks: openat2(2), pivot_root(2), fstatfs(2) f_type.

``openat2`` with ``RESOLVE_IN_ROOT`` resolves a path as if the directory fd were
``/``: ``..`` and absolute symlinks cannot leave it, which is how a container's
rootfs is walked safely.  Everything else (``mknod``, ``mkdir``, ``O_PATH``) is
in ``os`` already and takes ``dir_fd``.
"""

import ctypes
import os

from ketch.linux._libc import check, libc

__all__ = [
    "CGROUP2_SUPER_MAGIC",
    "CGROUP_SUPER_MAGIC",
    "PROC_SUPER_MAGIC",
    "RESOLVE_BENEATH",
    "RESOLVE_IN_ROOT",
    "RESOLVE_NO_MAGICLINKS",
    "RESOLVE_NO_SYMLINKS",
    "RESOLVE_NO_XDEV",
    "SYSFS_MAGIC",
    "TMPFS_MAGIC",
    "fd_path",
    "fstatfs_type",
    "openat2",
    "pivot_root",
]

RESOLVE_NO_XDEV = 0x01
RESOLVE_NO_MAGICLINKS = 0x02
RESOLVE_NO_SYMLINKS = 0x04
RESOLVE_BENEATH = 0x08
RESOLVE_IN_ROOT = 0x10

PROC_SUPER_MAGIC = 0x9FA0
SYSFS_MAGIC = 0x62656572
TMPFS_MAGIC = 0x01021994
CGROUP_SUPER_MAGIC = 0x27E0EB
CGROUP2_SUPER_MAGIC = 0x63677270

_SYS_OPENAT2 = 437  # one number on every architecture but alpha
_SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41, "riscv64": 41, "ppc64le": 203, "s390x": 217}


class _OpenHow(ctypes.Structure):
    _fields_ = (
        ("flags", ctypes.c_uint64),
        ("mode", ctypes.c_uint64),
        ("resolve", ctypes.c_uint64),
    )


def openat2(dir_fd: int, path: str, flags: int, resolve: int, mode: int = 0) -> int:
    """openat2(2): a new fd for ``path`` under ``dir_fd`` with ``RESOLVE_*`` rules."""
    how = _OpenHow(flags | os.O_CLOEXEC, mode, resolve)
    return check(
        libc().syscall(
            ctypes.c_long(_SYS_OPENAT2),
            ctypes.c_long(dir_fd),
            ctypes.c_char_p(os.fsencode(path)),
            ctypes.byref(how),
            ctypes.c_size_t(ctypes.sizeof(how)),
        ),
        "openat2",
        path,
    )


def pivot_root(new_root: str, put_old: str) -> None:
    """pivot_root(2) (glibc has no wrapper)."""
    nr = _SYS_PIVOT_ROOT.get(os.uname().machine)
    if nr is None:
        raise OSError(38, f"pivot_root: unknown syscall number on {os.uname().machine}")
    check(
        libc().syscall(
            ctypes.c_long(nr),
            ctypes.c_char_p(os.fsencode(new_root)),
            ctypes.c_char_p(os.fsencode(put_old)),
        ),
        "pivot_root",
        new_root,
    )


class _Statfs(ctypes.Structure):
    _fields_ = (
        ("f_type", ctypes.c_long),
        ("_rest", ctypes.c_long * 15),
    )


def fstatfs_type(fd: int) -> int:
    """The filesystem magic (``f_type``) of the file ``fd`` refers to."""
    buf = _Statfs()
    check(libc().fstatfs(ctypes.c_int(fd), ctypes.byref(buf)), "fstatfs")
    return int(buf.f_type) & 0xFFFFFFFF


def fd_path(fd: int) -> str:
    """The ``/proc/self/fd/N`` magic link for ``fd``: mount(2) follows it to the very file."""
    return f"/proc/self/fd/{fd}"
