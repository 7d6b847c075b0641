"""``fork_into_cgroup``: ``os.fork`` with the child born in a cgroup2 directory (clone3).

Moving a process into a cgroup by writing ``cgroup.procs`` takes the kernel's
global threadgroup lock for writing, and the first writer waits for an RCU grace
period (10-20 ms here, more on a busy host).  ``clone3(CLONE_INTO_CGROUP)``
(Linux 5.7) places the child at birth and only takes that lock for reading.

Python's ``os.fork`` cannot pass clone3 flags, so this issues the syscall itself
between the interpreter's own fork hooks (``PyOS_BeforeFork`` /
``PyOS_AfterFork_Child`` / ``PyOS_AfterFork_Parent``: import lock, thread state,
``os.register_at_fork`` callbacks), called with the GIL held.  glibc's ``fork``
wrapper is skipped: its ``pthread_atfork`` handlers and allocator lock dance, and
the refresh of the thread's cached TID.  That is safe in a process with a single
thread (nobody else can hold a lock across the call, and glibc >= 2.34 asks the
kernel for the TID where it matters), so the caller must be single-threaded:
``fork_into_cgroup`` refuses otherwise, and callers fall back to ``os.fork``.
"""

import ctypes
import os
import sys

__all__ = ["CLONE_INTO_CGROUP_UNAVAILABLE", "fork_into_cgroup"]

_LITTLE = sys.byteorder == "little"
_CLONE_INTO_CGROUP = 0x200000000
_SIGCHLD = 17
_SYS_CLONE3 = {"x86_64": 435, "aarch64": 435, "ppc64le": 435, "s390x": 435, "riscv64": 435}
# errnos that mean "this kernel (or sandbox) cannot": use os.fork and a cgroup.procs write
CLONE_INTO_CGROUP_UNAVAILABLE = frozenset({38, 22, 7, 95, 1})  # ENOSYS EINVAL E2BIG EOPNOTSUPP EPERM


# struct clone_args, version 2: 11 u64 fields (flags, pidfd, child_tid, parent_tid, exit_signal,
# stack, stack_size, tls, set_tid, set_tid_size, cgroup), packed by hand (a ctypes.Structure
# class costs ~0.3 ms to define, on every container start)
_CLONE_ARGS_SIZE = 88


def _clone_args(flags: int, exit_signal: int, cgroup_fd: int) -> bytes:
    fields = (flags, 0, 0, 0, exit_signal, 0, 0, 0, 0, 0, cgroup_fd)
    return b"".join(value.to_bytes(8, "little" if _LITTLE else "big") for value in fields)


def fork_into_cgroup(cgroup_fd: int) -> int:
    """Fork; the child starts in the cgroup2 directory open as ``cgroup_fd``.

    Returns 0 in the child and the child's pid in the parent, as ``os.fork``.
    Raises ``OSError``: errno in ``CLONE_INTO_CGROUP_UNAVAILABLE`` when the kernel
    lacks clone3/CLONE_INTO_CGROUP (or a seccomp filter refuses it), or ENOTSUP
    (sic: a caller with threads); other errnos are the kernel's (EBUSY: the cgroup
    has controllers enabled for its children; ENOENT: it was removed).
    """
    import _thread

    if _thread._count():  # threads started through Python: see the module docstring
        raise OSError(95, "clone3: the process has threads; use os.fork")
    number = _SYS_CLONE3.get(os.uname().machine)
    if number is None:
        raise OSError(38, "clone3: not known on this machine")
    args = _clone_args(_CLONE_INTO_CGROUP, _SIGCHLD, cgroup_fd)  # only read by the kernel
    # PyDLL: the GIL stays held across the call, as os.fork holds it across fork()
    api = ctypes.pythonapi
    syscall = ctypes.PyDLL(None, use_errno=True).syscall
    syscall.restype = ctypes.c_long
    api.PyOS_BeforeFork()
    pid = syscall(ctypes.c_long(number), args, ctypes.c_size_t(_CLONE_ARGS_SIZE))
    if pid == 0:
        api.PyOS_AfterFork_Child()
        return 0
    err = ctypes.get_errno()
    api.PyOS_AfterFork_Parent()
    if pid < 0:
        raise OSError(err, f"clone3: {os.strerror(err)}")
    return int(pid)
