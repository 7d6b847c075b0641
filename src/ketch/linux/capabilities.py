"""Capability numbers, capget(2)/capset(2) with 64-bit sets (version 3 headers).

Sets are Python ints used as bit masks: bit ``n`` is capability number ``n``.
"""

import ctypes

from ketch.linux._libc import check, libc
from ketch.linux.prctl import capbset_read

__all__ = [
    "CAPABILITY_NAMES",
    "CapSets",
    "cap_number",
    "capget",
    "capset",
    "last_cap",
]

# Index = capability number (linux/capability.h), up to CAP_CHECKPOINT_RESTORE (Linux 5.9).
CAPABILITY_NAMES: tuple[str, ...] = (
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
)

_LINUX_CAPABILITY_VERSION_3 = 0x20080522
_EINVAL = 22


class CapSets:
    """The effective, permitted and inheritable sets of a thread, as bit masks."""

    __slots__ = ("effective", "inheritable", "permitted")

    def __init__(self, effective: int, permitted: int, inheritable: int) -> None:
        self.effective = effective
        self.permitted = permitted
        self.inheritable = inheritable

    def __repr__(self) -> str:
        return (
            f"CapSets(effective={self.effective:#x}, permitted={self.permitted:#x}, "
            f"inheritable={self.inheritable:#x})"
        )


def cap_number(name: str) -> int | None:
    """The number of capability ``name`` (``CAP_SYS_ADMIN`` -> 21), or None if unknown."""
    try:
        return CAPABILITY_NAMES.index(name)
    except ValueError:
        return None


def last_cap() -> int:
    """The highest capability number the running kernel knows (probes PR_CAPBSET_READ).

    Unlike /proc/sys/kernel/cap_last_cap this needs no /proc, so it works in any root.
    """
    low, high = 0, 63  # invariant: low is known, high+1 is not
    while low < high:
        mid = (low + high + 1) // 2
        try:
            capbset_read(mid)
        except OSError as e:
            if e.errno != _EINVAL:
                raise
            high = mid - 1
        else:
            low = mid
    return low


def _header() -> "ctypes.Array[ctypes.c_uint32]":
    return (ctypes.c_uint32 * 2)(_LINUX_CAPABILITY_VERSION_3, 0)


def capget() -> CapSets:
    """capget(2) of the calling thread."""
    data = (ctypes.c_uint32 * 6)()
    check(libc().capget(_header(), data), "capget")
    return CapSets(
        data[0] | data[3] << 32, data[1] | data[4] << 32, data[2] | data[5] << 32
    )


def capset(effective: int, permitted: int, inheritable: int) -> None:
    """capset(2) of the calling thread; raises OSError(EPERM) when a set grows."""
    mask = 0xFFFFFFFF
    data = (ctypes.c_uint32 * 6)(
        effective & mask,
        permitted & mask,
        inheritable & mask,
        effective >> 32 & mask,
        permitted >> 32 & mask,
        inheritable >> 32 & mask,
    )
    check(libc().capset(_header(), data), "capset")
