"""libseccomp (``libseccomp.so.2``) through ctypes: build and load a seccomp filter.

The library is loaded on first use only; a process without a seccomp section never
touches it.  libseccomp returns ``-errno``; ``Filter`` turns that into ``OSError``.
Action and comparison values are the ``SCMP_*`` constants of ``seccomp.h``.
"""

import ctypes

__all__ = [
    "SCMP_ACT_ALLOW",
    "SCMP_ACT_ERRNO",
    "SCMP_ACT_KILL_PROCESS",
    "SCMP_ACT_KILL_THREAD",
    "SCMP_ACT_LOG",
    "SCMP_ACT_NOTIFY",
    "SCMP_ACT_TRACE",
    "SCMP_ACT_TRAP",
    "SCMP_FLTATR_CTL_LOG",
    "SCMP_FLTATR_CTL_NNP",
    "SCMP_FLTATR_CTL_SSB",
    "SCMP_FLTATR_CTL_TSYNC",
    "SCMP_FLTATR_CTL_WAITKILL",
    "Filter",
    "api_level",
    "filter_flags",
    "libseccomp",
    "libseccomp_version",
    "load_program",
    "resolve_arch",
    "resolve_syscall",
    "syscall_name",
]

SCMP_ACT_KILL_PROCESS = 0x80000000
SCMP_ACT_KILL_THREAD = 0x00000000
SCMP_ACT_TRAP = 0x00030000
SCMP_ACT_ERRNO = 0x00050000  # | errno
SCMP_ACT_TRACE = 0x7FF00000  # | message
SCMP_ACT_LOG = 0x7FFC0000
SCMP_ACT_ALLOW = 0x7FFF0000
SCMP_ACT_NOTIFY = 0x7FC00000

SCMP_FLTATR_CTL_NNP = 3
SCMP_FLTATR_CTL_TSYNC = 4
SCMP_FLTATR_CTL_LOG = 6
SCMP_FLTATR_CTL_SSB = 7
SCMP_FLTATR_API_SYSRAWRC = 9
SCMP_FLTATR_CTL_WAITKILL = 10  # libseccomp 2.6


class _ArgCmp(ctypes.Structure):
    _fields_ = [
        ("arg", ctypes.c_uint),
        ("op", ctypes.c_int),
        ("datum_a", ctypes.c_uint64),
        ("datum_b", ctypes.c_uint64),
    ]


# the loaded library (functools.cache would import functools and collections, ~1.5 ms)
_LOADED: list[ctypes.CDLL] = []


def libseccomp() -> ctypes.CDLL:
    """libseccomp.so.2 with its prototypes declared; OSError when it is not installed."""
    if _LOADED:
        return _LOADED[0]
    lib = ctypes.CDLL("libseccomp.so.2")
    vp, u32, cp = ctypes.c_void_p, ctypes.c_uint32, ctypes.c_char_p
    protos = {
        "seccomp_init": (vp, [u32]),
        "seccomp_release": (None, [vp]),
        "seccomp_arch_add": (ctypes.c_int, [vp, u32]),
        "seccomp_arch_resolve_name": (u32, [cp]),
        "seccomp_syscall_resolve_name": (ctypes.c_int, [cp]),
        "seccomp_syscall_resolve_num_arch": (vp, [u32, ctypes.c_int]),
        "seccomp_attr_set": (ctypes.c_int, [vp, ctypes.c_int, u32]),
        "seccomp_rule_add_array": (
            ctypes.c_int, [vp, u32, ctypes.c_int, ctypes.c_uint, ctypes.POINTER(_ArgCmp)],
        ),
        "seccomp_load": (ctypes.c_int, [vp]),
        "seccomp_notify_fd": (ctypes.c_int, [vp]),
        "seccomp_api_get": (ctypes.c_uint, []),
        "seccomp_export_bpf": (ctypes.c_int, [vp, ctypes.c_int]),
        "seccomp_version": (ctypes.POINTER(ctypes.c_uint * 3), []),
    }
    for name, (restype, argtypes) in protos.items():
        func = getattr(lib, name)
        func.restype, func.argtypes = restype, argtypes
    _LOADED.append(lib)
    return lib


def _check(result: int, what: str) -> int:
    if result < 0:
        import os

        raise OSError(-result, f"{what}: {os.strerror(-result)}")
    return result


def libseccomp_version() -> str:
    """libseccomp's version, e.g. "2.5.4" (what the filters it generates depend on)."""
    major, minor, micro = libseccomp().seccomp_version().contents
    return f"{major}.{minor}.{micro}"


# seccomp(2): SECCOMP_SET_MODE_FILTER and the filter flags libseccomp's attributes stand for
_SECCOMP_SET_MODE_FILTER = 1
_SYS_SECCOMP = {"x86_64": 317, "aarch64": 277, "ppc64le": 358, "s390x": 348, "riscv64": 277}
_ATTR_FLAGS = {
    SCMP_FLTATR_CTL_TSYNC: 1,  # SECCOMP_FILTER_FLAG_TSYNC
    SCMP_FLTATR_CTL_LOG: 2,  # SECCOMP_FILTER_FLAG_LOG
    SCMP_FLTATR_CTL_SSB: 4,  # SECCOMP_FILTER_FLAG_SPEC_ALLOW
    SCMP_FLTATR_CTL_WAITKILL: 32,  # SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
}


def filter_flags(attributes: "tuple[tuple[int, int], ...]") -> int:
    """The seccomp(2) flags for libseccomp filter attributes set to 1 (others have none)."""
    flags = 0
    for attr, value in attributes:
        if value:
            flags |= _ATTR_FLAGS.get(attr, 0)
    return flags


def load_program(program: bytes, flags: int) -> None:
    """Install a classic-BPF seccomp program (``struct sock_filter`` array) for this thread.

    What ``seccomp_load`` ends with, without libseccomp: the program is one it exported
    (``Filter.export_bpf``).  Needs no_new_privs or CAP_SYS_ADMIN, as any filter.
    """
    import os
    import sys

    from ketch.linux._libc import check, libc

    number = _SYS_SECCOMP.get(os.uname().machine)
    if number is None:
        raise OSError(38, "seccomp: not known on this machine")
    count = len(program) // 8
    if count == 0 or count > 0xFFFF or len(program) % 8:
        raise OSError(22, f"seccomp: a program of {len(program)} bytes is not a BPF program")
    buf = ctypes.create_string_buffer(program, len(program))
    # struct sock_fprog: unsigned short len; (padding); struct sock_filter *filter
    order = sys.byteorder
    fprog = count.to_bytes(2, order) + bytes(6) + ctypes.addressof(buf).to_bytes(8, order)
    call = libc().syscall
    call.restype = ctypes.c_long
    check(call(ctypes.c_long(number), ctypes.c_long(_SECCOMP_SET_MODE_FILTER),
               ctypes.c_long(flags), fprog), "seccomp(SECCOMP_SET_MODE_FILTER)")


def api_level() -> int:
    """The libseccomp API level for this kernel (NOTIFY needs 6 with the kernel's support)."""
    return int(libseccomp().seccomp_api_get())


_NR_SCMP_ERROR = -1


def resolve_syscall(name: str) -> int | None:
    """libseccomp's number of syscall ``name``, or None when no architecture knows it.

    A syscall the native arch lacks but another one has (``socketcall`` on x86_64)
    gets libseccomp's negative pseudo number, which a multi-arch filter needs: the
    rule then applies to the architectures that have it.
    """
    nr = int(libseccomp().seccomp_syscall_resolve_name(name.encode()))
    return None if nr == _NR_SCMP_ERROR else nr


def syscall_name(nr: int) -> str | None:
    """The name of native syscall number ``nr``, or None."""
    pointer = libseccomp().seccomp_syscall_resolve_num_arch(0, nr)  # 0: SCMP_ARCH_NATIVE
    if not pointer:
        return None
    from ketch.linux._libc import libc

    try:
        return ctypes.string_at(pointer).decode()
    finally:
        libc().free(ctypes.c_void_p(pointer))


def resolve_arch(name: str) -> int | None:
    """The token of libseccomp arch ``name`` (``x86_64``, ``aarch64``...), or None."""
    token = int(libseccomp().seccomp_arch_resolve_name(name.encode()))
    return token or None


class Filter:
    """A libseccomp filter context; ``release`` it (or ``load`` and then release)."""

    __slots__ = ("_ctx", "_lib")

    def __init__(self, default_action: int) -> None:
        self._lib = libseccomp()
        ctx = self._lib.seccomp_init(default_action)
        if not ctx:
            raise OSError(22, f"seccomp_init: invalid default action {default_action:#x}")
        self._ctx: int | None = ctx

    def _handle(self) -> int:
        if self._ctx is None:
            raise ValueError("seccomp filter already released")
        return self._ctx

    def add_arch(self, token: int) -> None:
        """Add an architecture; one already present is fine."""
        result = self._lib.seccomp_arch_add(self._handle(), token)
        if result != -17:  # -EEXIST: the native arch is there from the start
            _check(result, "seccomp_arch_add")

    def set_attr(self, attr: int, value: int) -> None:
        _check(self._lib.seccomp_attr_set(self._handle(), attr, value), f"seccomp_attr_set({attr})")

    def add_rule(
        self, action: int, syscall: int, conditions: tuple[tuple[int, int, int, int], ...] = ()
    ) -> None:
        """Add a rule; each condition is (arg index, SCMP_CMP op, datum_a, datum_b)."""
        array = (_ArgCmp * max(len(conditions), 1))(*(_ArgCmp(*c) for c in conditions))
        result = self._lib.seccomp_rule_add_array(
            self._handle(), action, syscall, len(conditions), array
        )
        _check(result, f"seccomp_rule_add(syscall {syscall})")

    def export_bpf(self) -> bytes:
        """The BPF program ``load`` would install (``struct sock_filter`` array)."""
        import os

        fd = os.memfd_create("ketch-seccomp", os.MFD_CLOEXEC)
        try:
            _check(self._lib.seccomp_export_bpf(self._handle(), fd), "seccomp_export_bpf")
            size = os.lseek(fd, 0, os.SEEK_END)
            return os.pread(fd, size, 0)
        finally:
            os.close(fd)

    def load(self) -> None:
        """Load the filter into the kernel for the calling thread (or all, with TSYNC)."""
        _check(self._lib.seccomp_load(self._handle()), "seccomp_load")

    def notify_fd(self) -> int:
        """The user-notification fd of a loaded filter with SCMP_ACT_NOTIFY rules."""
        return _check(self._lib.seccomp_notify_fd(self._handle()), "seccomp_notify_fd")

    def release(self) -> None:
        if self._ctx is not None:
            self._lib.seccomp_release(self._ctx)
            self._ctx = None
