"""prctl(2): dumpable, keep-caps, no_new_privs, the bounding and ambient capability sets."""

import ctypes

from ketch.linux._libc import check, libc

__all__ = [
    "PR_CAPBSET_DROP",
    "PR_CAPBSET_READ",
    "PR_CAP_AMBIENT",
    "PR_SET_DUMPABLE",
    "PR_SET_KEEPCAPS",
    "PR_SET_NO_NEW_PRIVS",
    "cap_ambient_clear_all",
    "cap_ambient_raise",
    "capbset_drop",
    "capbset_read",
    "get_no_new_privs",
    "prctl",
    "set_dumpable",
    "set_keepcaps",
    "set_no_new_privs",
]

PR_SET_DUMPABLE = 4
PR_SET_KEEPCAPS = 8
PR_CAPBSET_READ = 23
PR_CAPBSET_DROP = 24
PR_SET_NO_NEW_PRIVS = 38
PR_GET_NO_NEW_PRIVS = 39
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_RAISE = 2
PR_CAP_AMBIENT_CLEAR_ALL = 4


def prctl(option: int, arg2: int = 0, arg3: int = 0, arg4: int = 0, arg5: int = 0) -> int:
    """prctl(2) with unsigned long arguments; raises OSError on -1."""
    ul = ctypes.c_ulong
    result: int = libc().prctl(option, ul(arg2), ul(arg3), ul(arg4), ul(arg5))
    return check(result, f"prctl({option})")


def set_dumpable(dumpable: bool) -> None:
    """PR_SET_DUMPABLE: 0 also makes /proc/<pid>/{exe,mem,fd} root-owned and ptrace-proof."""
    prctl(PR_SET_DUMPABLE, int(dumpable))


def set_keepcaps(keep: bool) -> None:
    """PR_SET_KEEPCAPS: keep the permitted set across a change of uid away from 0."""
    prctl(PR_SET_KEEPCAPS, int(keep))


def set_no_new_privs() -> None:
    """PR_SET_NO_NEW_PRIVS: execve never grants privileges again (setuid bits, file caps)."""
    prctl(PR_SET_NO_NEW_PRIVS, 1)


def get_no_new_privs() -> bool:
    return bool(prctl(PR_GET_NO_NEW_PRIVS))


def capbset_read(cap: int) -> bool:
    """Whether ``cap`` is in the bounding set; OSError(EINVAL) when the kernel lacks it."""
    return bool(prctl(PR_CAPBSET_READ, cap))


def capbset_drop(cap: int) -> None:
    """Drop ``cap`` from the bounding set (needs CAP_SETPCAP)."""
    prctl(PR_CAPBSET_DROP, cap)


def cap_ambient_raise(cap: int) -> None:
    """Raise ``cap`` in the ambient set (it must be permitted and inheritable)."""
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap)


def cap_ambient_clear_all() -> None:
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)
