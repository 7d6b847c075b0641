"""The file-descriptor side of the final exec: sealed memfds, close_range(2), execveat(2)."""

import ctypes
import os

from ketch.linux._libc import check, libc

__all__ = [
    "F_SEAL_GROW",
    "F_SEAL_SEAL",
    "F_SEAL_SHRINK",
    "F_SEAL_WRITE",
    "MFD_ALLOW_SEALING",
    "MFD_CLOEXEC",
    "MFD_EXEC",
    "PreparedExec",
    "add_seals",
    "cloexec_from",
    "get_seals",
    "sealed_memfd",
]

MFD_CLOEXEC = 0x1
MFD_ALLOW_SEALING = 0x2
MFD_EXEC = 0x10  # Linux 6.3: executable memfd even under vm.memfd_noexec=1
F_ADD_SEALS = 1033
F_GET_SEALS = 1034
F_SEAL_SEAL = 0x1
F_SEAL_SHRINK = 0x2
F_SEAL_GROW = 0x4
F_SEAL_WRITE = 0x8
AT_EMPTY_PATH = 0x1000
_CLOSE_RANGE_CLOEXEC = 1 << 2
_NR_CLOSE_RANGE = 436  # the same number on every architecture
_NR_EXECVEAT = {"x86_64": 322, "aarch64": 281}
_EINVAL = 22
_ENOSYS = 38


def add_seals(fd: int, seals: int) -> None:
    check(libc().fcntl(fd, F_ADD_SEALS, seals), "fcntl(F_ADD_SEALS)")


def get_seals(fd: int) -> int:
    return check(libc().fcntl(fd, F_GET_SEALS), "fcntl(F_GET_SEALS)")


def sealed_memfd(name: str, content: bytes, *, executable: bool = False) -> int:
    """A close-on-exec memfd holding ``content``, sealed against any change; returns its fd."""
    flags = MFD_CLOEXEC | MFD_ALLOW_SEALING
    if executable:
        try:
            fd = os.memfd_create(name, flags | MFD_EXEC)
        except OSError as e:
            if e.errno != _EINVAL:  # kernels before 6.3 do not know MFD_EXEC
                raise
            fd = os.memfd_create(name, flags)
    else:
        fd = os.memfd_create(name, flags)
    try:
        view = memoryview(content)
        while view:
            view = view[os.write(fd, view) :]
        if executable:
            os.fchmod(fd, 0o555)
        add_seals(fd, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)
    except BaseException:
        os.close(fd)
        raise
    return fd


def cloexec_from(first: int) -> None:
    """Mark every fd >= ``first`` close-on-exec (close_range(CLOSE_RANGE_CLOEXEC), Linux 5.11)."""
    result = libc().syscall(_NR_CLOSE_RANGE, ctypes.c_uint(first), ctypes.c_uint(0xFFFFFFFF),
                            ctypes.c_uint(_CLOSE_RANGE_CLOEXEC))
    if result == 0:
        return
    if ctypes.get_errno() not in (_EINVAL, _ENOSYS):
        check(result, "close_range")
    for name in os.listdir("/proc/self/fd"):  # older kernels: one fd at a time
        fd = int(name)
        if fd >= first:
            try:  # noqa: SIM105 (contextlib costs an import)
                os.set_inheritable(fd, False)
            except OSError:
                pass  # the fd of the listdir itself, already closed


class PreparedExec:
    """An execveat(fd, "", argv, envp, AT_EMPTY_PATH) with every C array built in advance.

    Calling it allocates nothing, so it can run right after a seccomp filter is loaded.
    If execveat is refused (a seccomp profile that allows only execve), it tries
    execve("/proc/self/fd/<fd>") of the same file.
    """

    __slots__ = ("_argv", "_envp", "_execve", "_fd", "_fd_path", "_nr", "_syscall")

    def __init__(
        self, fd: int, argv: list[bytes], envp: list[bytes], machine: str | None = None
    ) -> None:
        """``machine`` as ``os.uname()`` said before any personality(2) change (LINUX32)."""
        machine = machine or os.uname().machine
        if machine not in _NR_EXECVEAT:
            raise OSError(_ENOSYS, f"execveat: unsupported machine {machine}")
        self._nr = _NR_EXECVEAT[machine]
        self._fd = fd
        self._fd_path = f"/proc/self/fd/{fd}".encode()
        self._argv = (ctypes.c_char_p * (len(argv) + 1))(*argv)
        self._envp = (ctypes.c_char_p * (len(envp) + 1))(*envp)
        self._syscall = libc().syscall
        self._execve = libc().execve

    def __call__(self) -> None:
        """Run it; returns only by raising OSError (the execveat error)."""
        result = self._syscall(self._nr, self._fd, b"", self._argv, self._envp, AT_EMPTY_PATH)
        errno = ctypes.get_errno()
        self._execve(self._fd_path, self._argv, self._envp)
        ctypes.set_errno(errno)
        check(result, "execveat")
