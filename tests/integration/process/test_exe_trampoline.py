"""CVE-2019-5736: the container must never reach the host's Python through /proc/self/exe."""

import errno
import os
import socket
import time
from pathlib import Path

import pytest

from ketch.linux.memfd import F_SEAL_GROW, F_SEAL_SEAL, F_SEAL_SHRINK, F_SEAL_WRITE, get_seals
from ketch.oci.runtime_spec import Linux, Process, Seccomp, SeccompSyscall, State
from tests.integration.process._child import run

pytestmark = pytest.mark.root

PYTHON_CODE = "print('PYTHON RAN')"
REFUSED = "ketch: refusing to run the exec trampoline again"


def proc(*args: str) -> Process:
    return Process(cwd="/", args=args, env=("PATH=/bin",))


def test_program_proc_self_exe(rootfs: Path) -> None:
    code, out = run(rootfs, proc("/proc/self/exe", "-c", PYTHON_CODE))
    assert "PYTHON RAN" not in out
    assert REFUSED in out
    assert code == 126


def test_script_with_proc_self_exe_interpreter(rootfs: Path) -> None:
    script = rootfs / "pyscript"
    script.write_text(f"#!/proc/self/exe\n{PYTHON_CODE}\n")
    script.chmod(0o755)
    try:
        code, out = run(rootfs, proc("/pyscript", "-c", PYTHON_CODE))
    finally:
        script.unlink()
    assert "PYTHON RAN" not in out
    assert REFUSED in out
    assert code == 126


def _elf_with_interp(interp: bytes) -> bytes:
    """A minimal x86_64/aarch64 ET_EXEC whose PT_INTERP is ``interp`` (it has no code)."""
    machine = {"x86_64": 62, "aarch64": 183}[os.uname().machine]
    base, ehsize, phsize = 0x800000, 64, 56
    interp_off = ehsize + 2 * phsize
    size = interp_off + len(interp) + 1

    def u(v: int, n: int) -> bytes:
        return v.to_bytes(n, "little")

    def phdr(kind: int, flags: int, off: int, filesz: int, align: int) -> bytes:
        return u(kind, 4) + u(flags, 4) + u(off, 8) + u(base + off, 8) * 2 + u(filesz, 8) * 2 + u(align, 8)

    ehdr = (
        b"\x7fELF\x02\x01\x01" + bytes(9) + u(2, 2) + u(machine, 2) + u(1, 4) + u(base, 8)
        + u(ehsize, 8) + u(0, 8) + u(0, 4) + u(ehsize, 2) + u(phsize, 2) + u(2, 2) + bytes(6)
    )
    return (
        ehdr + phdr(3, 4, interp_off, len(interp) + 1, 1) + phdr(1, 5, 0, size, 0x1000)
        + interp + b"\0"
    )


def test_elf_with_proc_self_exe_interpreter(rootfs: Path) -> None:
    binary = rootfs / "interp-exe"
    binary.write_bytes(_elf_with_interp(b"/proc/self/exe"))
    binary.chmod(0o755)
    try:
        code, out = run(rootfs, proc("/interp-exe", "-c", PYTHON_CODE))
    finally:
        binary.unlink()
    assert "PYTHON RAN" not in out
    # the kernel loaded /proc/self/exe = the trampoline as interpreter: it refuses
    assert REFUSED in out
    assert code == 126


def test_exe_during_final_exec_is_a_sealed_unwritable_memfd(rootfs: Path, tmp_path: Path) -> None:
    """Hold the trampoline inside its execve (seccomp NOTIFY) and look at /proc/<pid>/exe."""
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(tmp_path / "agent.sock"))
    server.listen(1)
    server.settimeout(30)
    linux = Linux(
        seccomp=Seccomp(
            default_action="SCMP_ACT_ALLOW",
            listener_path=server.getsockname(),
            syscalls=(SeccompSyscall(names=("execve",), action="SCMP_ACT_NOTIFY"),),
        )
    )
    seen: dict[str, object] = {}

    def agent(pid: int) -> None:
        conn, _ = server.accept()
        with conn:
            _msg, fds, _flags, _addr = socket.recv_fds(conn, 65536, 1)
        try:
            exe = f"/proc/{pid}/exe"
            deadline = time.monotonic() + 20
            while "memfd:" not in (target := os.readlink(exe)):
                assert time.monotonic() < deadline, target
                time.sleep(0.005)
            seen["target"] = target
            with pytest.raises(OSError) as info:
                os.close(os.open(exe, os.O_WRONLY))
            seen["errno"] = info.value.errno
            fd = os.open(exe, os.O_RDONLY)
            try:
                seen["seals"] = get_seals(fd)
                with pytest.raises(OSError):
                    os.write(fd, b"x")
            finally:
                os.close(fd)
        finally:
            for fd in fds:
                os.close(fd)  # the held execve now fails with ENOSYS

    state = State(oci_version="1.3.0", id="c", status="creating", bundle="/b", pid=1)
    with server:
        code, out = run(rootfs, proc("/bin/true"), linux, notify_state=state, parent=agent)
    assert str(seen["target"]).startswith("/memfd:ketch-trampoline")
    assert seen["errno"] == errno.ETXTBSY
    sealed = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE
    assert int(seen["seals"]) & sealed == sealed  # type: ignore[call-overload]
    assert code == 126 and "ketch: exec /bin/true failed: errno 38" in out, out
