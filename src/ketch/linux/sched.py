"""sched_setattr(2), ioprio_set(2) and personality(2)."""

import ctypes
import os

from ketch.linux._libc import check, libc

__all__ = [
    "IOPRIO_CLASSES",
    "PERSONALITY_DOMAINS",
    "SCHED_FLAGS",
    "SCHED_POLICIES",
    "ioprio_set",
    "personality",
    "sched_setattr",
]

SCHED_POLICIES = {
    "SCHED_OTHER": 0,
    "SCHED_FIFO": 1,
    "SCHED_RR": 2,
    "SCHED_BATCH": 3,
    "SCHED_ISO": 4,
    "SCHED_IDLE": 5,
    "SCHED_DEADLINE": 6,
}
SCHED_FLAGS = {
    "SCHED_FLAG_RESET_ON_FORK": 0x01,
    "SCHED_FLAG_RECLAIM": 0x02,
    "SCHED_FLAG_DL_OVERRUN": 0x04,
    "SCHED_FLAG_KEEP_POLICY": 0x08,
    "SCHED_FLAG_KEEP_PARAMS": 0x10,
    "SCHED_FLAG_UTIL_CLAMP_MIN": 0x20,
    "SCHED_FLAG_UTIL_CLAMP_MAX": 0x40,
}
IOPRIO_CLASSES = {"IOPRIO_CLASS_RT": 1, "IOPRIO_CLASS_BE": 2, "IOPRIO_CLASS_IDLE": 3}
PERSONALITY_DOMAINS = {"LINUX": 0x0000, "LINUX32": 0x0008}

# (sched_setattr, ioprio_set) by machine; glibc wraps neither.
_SYSCALLS = {"x86_64": (314, 251), "aarch64": (274, 30)}
_IOPRIO_WHO_PROCESS = 1
_IOPRIO_CLASS_SHIFT = 13


class _SchedAttr(ctypes.Structure):
    _fields_ = [
        ("size", ctypes.c_uint32),
        ("sched_policy", ctypes.c_uint32),
        ("sched_flags", ctypes.c_uint64),
        ("sched_nice", ctypes.c_int32),
        ("sched_priority", ctypes.c_uint32),
        ("sched_runtime", ctypes.c_uint64),
        ("sched_deadline", ctypes.c_uint64),
        ("sched_period", ctypes.c_uint64),
    ]


def _syscall_numbers() -> tuple[int, int]:
    machine = os.uname().machine
    try:
        return _SYSCALLS[machine]
    except KeyError:
        raise OSError(38, f"sched_setattr/ioprio_set: unsupported machine {machine}") from None


def sched_setattr(
    policy: int, *, flags: int = 0, nice: int = 0, priority: int = 0,
    runtime: int = 0, deadline: int = 0, period: int = 0,
) -> None:
    """sched_setattr(2) of the calling thread."""
    attr = _SchedAttr(
        ctypes.sizeof(_SchedAttr), policy, flags, nice, priority, runtime, deadline, period
    )
    nr = _syscall_numbers()[0]
    check(libc().syscall(nr, 0, ctypes.byref(attr), 0), "sched_setattr")


def ioprio_set(ioclass: int, level: int) -> None:
    """ioprio_set(2) of the calling process: ``ioclass`` 1-3, ``level`` 0-7."""
    nr = _syscall_numbers()[1]
    value = ioclass << _IOPRIO_CLASS_SHIFT | level
    check(libc().syscall(nr, _IOPRIO_WHO_PROCESS, 0, value), "ioprio_set")


def personality(persona: int) -> int:
    """personality(2): set the execution domain; returns the previous one."""
    result: int = libc().personality(ctypes.c_ulong(persona))
    return check(result, "personality")
