"""Namespaces: unshare(2), setns(2), sethostname(2), setdomainname(2) and the CLONE_* flags.

Also the session keyring, which the kernel does not namespace: a container joins
a new one of its own (``join_session_keyring``) so it cannot reach the host's keys.
"""

import ctypes
import os

from ketch.linux._libc import check, libc

__all__ = [
    "CLONE_NEWCGROUP",
    "CLONE_NEWIPC",
    "CLONE_NEWNET",
    "CLONE_NEWNS",
    "CLONE_NEWPID",
    "CLONE_NEWTIME",
    "CLONE_NEWUSER",
    "CLONE_NEWUTS",
    "NAMESPACE_FLAGS",
    "PROC_NS_NAMES",
    "join_session_keyring",
    "setdomainname",
    "sethostname",
    "setns",
    "unshare",
]

CLONE_NEWTIME = 0x00000080
CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000

# the runtime-spec's namespace types -> clone flag
NAMESPACE_FLAGS = {
    "pid": CLONE_NEWPID,
    "network": CLONE_NEWNET,
    "mount": CLONE_NEWNS,
    "ipc": CLONE_NEWIPC,
    "uts": CLONE_NEWUTS,
    "user": CLONE_NEWUSER,
    "cgroup": CLONE_NEWCGROUP,
    "time": CLONE_NEWTIME,
}

# the runtime-spec's namespace types -> the file under /proc/<pid>/ns/
PROC_NS_NAMES = {
    "pid": "pid",
    "network": "net",
    "mount": "mnt",
    "ipc": "ipc",
    "uts": "uts",
    "user": "user",
    "cgroup": "cgroup",
    "time": "time",
}


def unshare(flags: int) -> None:
    """unshare(2): move the caller into new namespaces (pid and time: its future children)."""
    check(libc().unshare(flags), "unshare")


def setns(fd: int, nstype: int = 0) -> None:
    """setns(2): join the namespace ``fd`` refers to; ``nstype`` 0 accepts any kind."""
    check(libc().setns(fd, nstype), "setns")


def sethostname(name: str) -> None:
    data = name.encode()
    check(libc().sethostname(data, len(data)), "sethostname")


def setdomainname(name: str) -> None:
    data = name.encode()
    check(libc().setdomainname(data, len(data)), "setdomainname")


_SYS_KEYCTL = {"x86_64": 250, "aarch64": 219, "ppc64le": 271, "s390x": 280, "riscv64": 219}
_KEYCTL_JOIN_SESSION_KEYRING = 1


def join_session_keyring(name: str) -> int:
    """keyctl(KEYCTL_JOIN_SESSION_KEYRING, name): a new session keyring; its serial.

    OSError(ENOSYS) where the kernel (or this architecture table) lacks keyctl.
    """
    number = _SYS_KEYCTL.get(os.uname().machine)
    if number is None:
        import errno

        raise OSError(errno.ENOSYS, "keyctl: unknown syscall number on this architecture")
    result: int = libc().syscall(
        ctypes.c_long(number), ctypes.c_long(_KEYCTL_JOIN_SESSION_KEYRING), name.encode()
    )
    return check(result, "keyctl(JOIN_SESSION_KEYRING)")
