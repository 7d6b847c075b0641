"""bpf(2): load a program, attach/detach/query it on a cgroup.

Only what cgroup v2 device filtering needs.  Every function raises ``OSError``
with errno; ``prog_load`` puts the verifier's log in the message when it refuses.
"""

import os

from ketch.linux._libc import check, libc

__all__ = [
    "BPF_CGROUP_DEVICE",
    "BPF_F_ALLOW_MULTI",
    "BPF_PROG_TYPE_CGROUP_DEVICE",
    "prog_attach",
    "prog_detach",
    "prog_get_fd_by_id",
    "prog_load",
    "prog_query",
]

BPF_PROG_TYPE_CGROUP_DEVICE = 15
BPF_CGROUP_DEVICE = 6  # attach type
BPF_F_ALLOW_MULTI = 1 << 1

_PROG_LOAD = 5
_PROG_ATTACH = 8
_PROG_DETACH = 9
_PROG_GET_FD_BY_ID = 13
_PROG_QUERY = 16
_ATTR_SIZE = 128  # enough for every command used; the tail stays zero as the kernel requires

_SYSCALL_NR = {
    "x86_64": 321,
    "aarch64": 280,
    "riscv64": 280,
    "ppc64le": 361,
    "ppc64": 361,
    "s390x": 351,
    "armv7l": 386,
    "armv8l": 386,
    "i686": 357,
    "i386": 357,
    "loongarch64": 280,
}


def _call(cmd: int, attr: bytes, what: str) -> tuple[int, bytes]:
    """bpf(cmd, attr): (result, the attr as the kernel left it)."""
    import ctypes
    import errno

    nr = _SYSCALL_NR.get(os.uname().machine)
    if nr is None:
        raise OSError(errno.ENOSYS, f"{what}: bpf(2) number unknown on {os.uname().machine}")
    buf = ctypes.create_string_buffer(attr.ljust(_ATTR_SIZE, b"\0"), _ATTR_SIZE)
    call = libc().syscall
    call.restype = ctypes.c_long
    result = call(
        ctypes.c_long(nr),
        ctypes.c_int(cmd),
        ctypes.c_void_p(ctypes.addressof(buf)),
        ctypes.c_uint(_ATTR_SIZE),
    )
    return check(int(result), what), buf.raw


def _bpf(cmd: int, attr: bytes, what: str) -> int:
    return _call(cmd, attr, what)[0]


def prog_load(prog_type: int, insns: bytes, license: str = "Apache-2.0") -> int:
    """BPF_PROG_LOAD: a new program's fd (close it once attached).

    When the verifier refuses, the load is retried with a log to explain why.
    """
    import ctypes
    import struct

    code = ctypes.create_string_buffer(insns, len(insns))
    lic = ctypes.create_string_buffer(license.encode())
    head = (prog_type, len(insns) // 8, ctypes.addressof(code), ctypes.addressof(lic))
    try:
        return _bpf(_PROG_LOAD, struct.pack("=IIQQ", *head), "bpf(BPF_PROG_LOAD)")
    except OSError as e:
        if e.errno != 22:  # EINVAL: the verifier's refusal; anything else needs no log
            raise
        failure = e
    log_size = 1 << 16
    log = ctypes.create_string_buffer(log_size)
    attr = struct.pack("=IIQQIIQ", *head, 1, log_size, ctypes.addressof(log))
    try:
        return _bpf(_PROG_LOAD, attr, "bpf(BPF_PROG_LOAD)")
    except OSError:
        text = log.value.decode(errors="replace").strip()
        raise OSError(failure.errno, f"{failure.strerror}; verifier: {text[-500:]}") from failure


def prog_attach(target_fd: int, prog_fd: int, attach_type: int, flags: int = 0) -> None:
    """BPF_PROG_ATTACH ``prog_fd`` to the cgroup directory ``target_fd``."""
    import struct

    _bpf(
        _PROG_ATTACH,
        struct.pack("=IIII", target_fd, prog_fd, attach_type, flags),
        "bpf(BPF_PROG_ATTACH)",
    )


def prog_detach(target_fd: int, prog_fd: int, attach_type: int) -> None:
    """BPF_PROG_DETACH ``prog_fd`` from the cgroup directory ``target_fd``."""
    import struct

    _bpf(_PROG_DETACH, struct.pack("=III", target_fd, prog_fd, attach_type), "bpf(BPF_PROG_DETACH)")


def prog_query(target_fd: int, attach_type: int, max_progs: int = 64) -> list[int]:
    """BPF_PROG_QUERY: ids of the programs attached directly to the cgroup ``target_fd``."""
    import ctypes
    import struct

    ids = (ctypes.c_uint32 * max_progs)()
    # target_fd, attach_type, query_flags, attach_flags, prog_ids, prog_cnt
    attr = struct.pack("=IIIIQI", target_fd, attach_type, 0, 0, ctypes.addressof(ids), max_progs)
    _, raw = _call(_PROG_QUERY, attr, "bpf(BPF_PROG_QUERY)")
    count = struct.unpack_from("=I", raw, 24)[0]
    return [int(ids[i]) for i in range(min(count, max_progs))]


def prog_get_fd_by_id(prog_id: int) -> int:
    """BPF_PROG_GET_FD_BY_ID: an fd for the loaded program ``prog_id``."""
    import struct

    return _bpf(
        _PROG_GET_FD_BY_ID, struct.pack("=III", prog_id, 0, 0), "bpf(BPF_PROG_GET_FD_BY_ID)"
    )
