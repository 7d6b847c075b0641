"""The exec trampoline ELF: valid headers, and it really execs (x86_64 natively, aarch64 under qemu)."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from ketch.errors import NotImplementedByHost
from ketch.linux.memfd import F_SEAL_WRITE, get_seals, sealed_memfd
from ketch.runtime._trampoline import MAGIC, trampoline_elf


def u(data: bytes, offset: int, size: int) -> int:
    return int.from_bytes(data[offset : offset + size], "little")


@pytest.mark.parametrize(("machine", "e_machine"), [("x86_64", 62), ("aarch64", 183)])
def test_elf_headers(machine: str, e_machine: int) -> None:
    elf = trampoline_elf(machine)
    assert elf[:4] == b"\x7fELF"
    assert elf[4:7] == bytes((2, 1, 1))  # ELFCLASS64, little-endian, EV_CURRENT
    assert u(elf, 16, 2) == 2  # ET_EXEC: static, no interpreter
    assert u(elf, 18, 2) == e_machine
    entry, phoff, phnum = u(elf, 24, 8), u(elf, 32, 8), u(elf, 56, 2)
    assert (phoff, u(elf, 52, 2), u(elf, 54, 2), phnum) == (64, 64, 56, 2)
    headers = [elf[phoff + 56 * i : phoff + 56 * (i + 1)] for i in range(phnum)]
    load = next(h for h in headers if u(h, 0, 4) == 1)
    stack = next(h for h in headers if u(h, 0, 4) == 0x6474E551)
    assert u(load, 4, 4) == 5  # R+X, never writable
    assert u(stack, 4, 4) == 6  # RW stack, not executable
    vaddr, filesz = u(load, 16, 8), u(load, 32, 8)
    assert u(load, 8, 8) == 0 and filesz == len(elf) == u(load, 40, 8)
    assert vaddr % 0x10000 == 0 and vaddr <= entry < vaddr + filesz
    assert b"ketch: refusing to run the exec trampoline again\n" in elf
    assert MAGIC[:8] in elf  # the immediate (x86_64) or literal (aarch64) compared to argv[0]
    assert not any(u(h, 0, 4) == 3 for h in headers)  # no PT_INTERP


def test_unsupported_machine() -> None:
    with pytest.raises(NotImplementedByHost, match=r"no exec trampoline for machine 'riscv64'"):
        trampoline_elf("riscv64")


def _run_trampoline(prefix: list[str], path: str, argv: list[str]) -> subprocess.CompletedProcess[bytes]:
    """Run ``path`` with exactly ``argv`` (argv[0] included) through an optional emulator."""
    if prefix:  # qemu-user: -0 sets the guest's argv[0]
        return subprocess.run([*prefix, "-0", argv[0], path, *argv[1:]], capture_output=True, env={"KETCH_T": "1"}, timeout=60)
    return subprocess.run(argv, executable=path, capture_output=True, env={"KETCH_T": "1"}, timeout=30)


def _machines() -> list[tuple[str, list[str]]]:
    result: list[tuple[str, list[str]]] = []
    host = os.uname().machine
    if host in ("x86_64", "aarch64"):
        result.append((host, []))
    for machine in ("x86_64", "aarch64"):
        qemu = shutil.which(f"qemu-{machine}-static") or shutil.which(f"qemu-{machine}")
        if machine != host and qemu:
            result.append((machine, [qemu]))
    return result


@pytest.mark.parametrize(("machine", "prefix"), _machines(), ids=lambda v: v if isinstance(v, str) else "")
def test_trampoline_execs_and_reports(tmp_path: Path, machine: str, prefix: list[str]) -> None:
    path = tmp_path / "trampoline"
    path.write_bytes(trampoline_elf(machine))
    path.chmod(0o755)
    magic = MAGIC.decode()
    env = shutil.which("env") or "/usr/bin/env"
    ok = _run_trampoline(prefix, str(path), [magic, env, "env-argv0"])
    assert ok.returncode == 0 and ok.stdout == b"KETCH_T=1\n"  # envp passed through
    missing = _run_trampoline(prefix, str(path), [magic, "/nonexistent", "x"])
    assert missing.returncode == 127
    assert missing.stderr == b"ketch: exec /nonexistent failed: errno 2\n"
    noexec = tmp_path / "noexec"
    noexec.write_text("data")
    denied = _run_trampoline(prefix, str(path), [magic, str(noexec), "x"])
    assert denied.returncode == 126
    assert denied.stderr == f"ketch: exec {noexec} failed: errno 13\n".encode()
    again = _run_trampoline(prefix, str(path), ["/proc/self/exe", str(path)])
    assert again.returncode == 126
    assert again.stderr == b"ketch: refusing to run the exec trampoline again\n"


def test_sealed_memfd_cannot_change() -> None:
    fd = sealed_memfd("t", b"content", executable=True)
    try:
        assert get_seals(fd) & F_SEAL_WRITE
        with pytest.raises(PermissionError):
            os.pwrite(fd, b"x", 0)
        with pytest.raises(PermissionError):
            os.ftruncate(fd, 1)
        assert os.pread(fd, 100, 0) == b"content"
    finally:
        os.close(fd)
