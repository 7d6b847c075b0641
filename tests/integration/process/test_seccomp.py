"""linux.seccomp loaded by exec_process, seen from inside the container."""

import os
import socket
from pathlib import Path

import pytest

from ketch.oci.runtime_spec import (
    Capabilities,
    Linux,
    Process,
    Seccomp,
    SeccompArg,
    SeccompSyscall,
    State,
    User,
)
from tests.integration.process._child import SETUP_FAILED, run
from tests.support.bundle import DEFAULT_CAPS

pytestmark = pytest.mark.root

CAPS = tuple(DEFAULT_CAPS)


def sh(script: str, *, nnp: bool = True) -> Process:
    return Process(
        cwd="/",
        args=("sh", "-c", script),
        env=("PATH=/bin",),
        capabilities=Capabilities(bounding=CAPS, effective=CAPS, permitted=CAPS),
        no_new_privileges=nnp,
    )


def allow_but(*rules: SeccompSyscall, **kw: object) -> Linux:
    return Linux(seccomp=Seccomp(default_action="SCMP_ACT_ALLOW", syscalls=rules, **kw))  # type: ignore[arg-type]


MKDIRS = ("mkdir", "mkdirat")


@pytest.mark.parametrize(
    ("nnp", "uid"),
    [(True, 0), (False, 0), (False, 1000)],
    ids=["no_new_privs", "privileged_load", "privileged_load_as_user"],
)
def test_errno_rule_blocks_mkdir(rootfs: Path, nnp: bool, uid: int) -> None:
    linux = allow_but(SeccompSyscall(names=MKDIRS, action="SCMP_ACT_ERRNO"))
    process = sh("grep -E '^(Seccomp|NoNewPrivs):' /proc/self/status; mkdir /tmp/x", nnp=nnp)
    process = process.replace(user=User(uid=uid, gid=uid))  # type: ignore[assignment]
    code, out = run(rootfs, process, linux)
    assert code == 1, out
    assert "Seccomp:\t2" in out
    assert f"NoNewPrivs:\t{int(nnp)}" in out
    assert "mkdir: can't create directory '/tmp/x': Operation not permitted" in out


def test_compiled_filters_are_cached_and_the_cache_is_keyed(rootfs: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    linux = allow_but(SeccompSyscall(names=MKDIRS, action="SCMP_ACT_ERRNO"))
    for _ in range(2):  # compiled and written, then read back
        code, out = run(rootfs, sh("mkdir /tmp/c"), linux, seccomp_cache=str(cache))
        assert code == 1 and "Operation not permitted" in out, out
    (entry,) = cache.iterdir()
    assert entry.stat().st_mode & 0o777 == 0o600
    data = entry.read_bytes()
    # the entry really is what gets loaded: swap its program for "allow everything"
    fmt = b"ketch-seccomp-bpf 1\n"
    assert data.startswith(fmt)
    start = len(fmt) + 4 + int.from_bytes(data[len(fmt) : len(fmt) + 4], "little")
    assert len(data) - start >= 8 and (len(data) - start) % 8 == 0
    allow_all = (0x06).to_bytes(2, "little") + b"\0\0" + (0x7FFF0000).to_bytes(4, "little")
    entry.write_bytes(data[:start] + allow_all)
    code, out = run(rootfs, sh("mkdir /tmp/c && echo made"), linux, seccomp_cache=str(cache))
    assert code == 0 and "made" in out, out
    # another plan (errnoRet) has another key: it is compiled, not served the swapped entry
    other = allow_but(SeccompSyscall(names=MKDIRS, action="SCMP_ACT_ERRNO", errno_ret=28))
    code, out = run(rootfs, sh("mkdir /tmp/d"), other, seccomp_cache=str(cache))
    assert code == 1 and "No space left on device" in out, out
    assert len(list(cache.iterdir())) == 2
    # a damaged entry is ignored and rewritten
    entry.write_bytes(b"junk")
    code, out = run(rootfs, sh("mkdir /tmp/e"), linux, seccomp_cache=str(cache))
    assert code == 1 and "Operation not permitted" in out, out
    assert entry.read_bytes() == data


def test_the_plan_validate_process_made_is_the_one_loaded(rootfs: Path) -> None:
    from ketch.runtime.process import validate_process

    blocking = allow_but(SeccompSyscall(names=MKDIRS, action="SCMP_ACT_ERRNO", errno_ret=28))
    plan = validate_process(sh("true"), blocking)
    assert plan is not None
    # the record says "allow mkdir with EPERM", the plan handed over says ENOSPC: the plan wins
    record = allow_but(SeccompSyscall(names=MKDIRS, action="SCMP_ACT_ERRNO"))
    code, out = run(rootfs, sh("mkdir /tmp/p"), record, seccomp_plan=plan)
    assert code == 1 and "No space left on device" in out, out


def test_errno_ret(rootfs: Path) -> None:
    linux = allow_but(SeccompSyscall(names=MKDIRS, action="SCMP_ACT_ERRNO", errno_ret=28))
    code, out = run(rootfs, sh("mkdir /tmp/y"), linux)
    assert code == 1
    assert "No space left on device" in out  # ENOSPC


def test_default_action_with_default_errno_ret(rootfs: Path) -> None:
    from ketch.linux.seccomp import syscall_name

    names = [n for nr in range(512) if (n := syscall_name(nr)) and n != "getcwd"]
    linux = Linux(
        seccomp=Seccomp(
            default_action="SCMP_ACT_ERRNO",
            default_errno_ret=13,  # EACCES for getcwd, the one syscall not allowed
            syscalls=(SeccompSyscall(names=tuple(names), action="SCMP_ACT_ALLOW"),),
        )
    )
    code, out = run(rootfs, Process(cwd="/tmp", args=("pwd", "-P"), env=("PATH=/bin",)), linux)
    assert code == 1
    assert "Permission denied" in out, out


def test_argument_filters(rootfs: Path) -> None:
    linux = allow_but(
        # kill(pid, 0) refused, other signals allowed
        SeccompSyscall(
            names=("kill",), action="SCMP_ACT_ERRNO",
            args=(SeccompArg(index=1, value=0, op="SCMP_CMP_EQ"),),
        ),
        # chmod with the setuid bit refused: (mode & 04000) == 04000
        SeccompSyscall(
            names=("chmod",), action="SCMP_ACT_ERRNO",
            args=(SeccompArg(index=1, value=0o4000, value_two=0o4000, op="SCMP_CMP_MASKED_EQ"),),
        ),
        SeccompSyscall(
            names=("fchmodat",), action="SCMP_ACT_ERRNO",
            args=(SeccompArg(index=2, value=0o4000, value_two=0o4000, op="SCMP_CMP_MASKED_EQ"),),
        ),
    )
    script = (
        "kill -0 $$ && echo zero-ok; kill -CONT $$ && echo cont-ok; "
        "touch /tmp/f; chmod 755 /tmp/f && echo chmod-ok; chmod 4755 /tmp/f && echo setuid-ok; "
        "rm -f /tmp/f"
    )
    _code, out = run(rootfs, sh(script), linux)
    assert "zero-ok" not in out and "cont-ok" in out, out
    assert "chmod-ok" in out and "setuid-ok" not in out, out


def test_kill_process_action(rootfs: Path) -> None:
    linux = allow_but(SeccompSyscall(names=("uname",), action="SCMP_ACT_KILL_PROCESS"))
    code, out = run(rootfs, Process(cwd="/", args=("uname",), env=("PATH=/bin",)), linux)
    assert code == -31, out  # SIGSYS


def test_unknown_syscall_is_skipped_but_bad_action_is_refused(rootfs: Path) -> None:
    linux = allow_but(
        SeccompSyscall(names=("no_such_syscall", *MKDIRS), action="SCMP_ACT_ERRNO"),
    )
    code, out = run(rootfs, sh("mkdir /tmp/z"), linux)
    assert code == 1 and "Operation not permitted" in out, out
    linux = allow_but(SeccompSyscall(names=MKDIRS, action="SCMP_ACT_BOGUS"))
    code, out = run(rootfs, sh("true"), linux)
    assert code == SETUP_FAILED
    assert "linux.seccomp.syscalls[0]: unknown seccomp action 'SCMP_ACT_BOGUS'" in out


def _accept_fd(server: socket.socket) -> tuple[bytes, list[int]]:
    conn, _ = server.accept()
    with conn:
        msg, fds, _flags, _addr = socket.recv_fds(conn, 65536, 4)
    return msg, fds


def _listener(tmp_path: Path) -> socket.socket:
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(tmp_path / "agent.sock"))
    server.listen(1)
    server.settimeout(30)
    return server


def test_notify_sends_fd_and_state_to_listener(rootfs: Path, tmp_path: Path) -> None:
    import json

    got: dict[str, object] = {}
    server = _listener(tmp_path)
    linux = allow_but(
        SeccompSyscall(names=MKDIRS, action="SCMP_ACT_NOTIFY"),
        listener_path=server.getsockname(),
        listener_metadata="meta",
    )
    state = State(oci_version="1.3.0", id="c1", status="creating", bundle="/b", pid=4242)

    def agent(pid: int) -> None:
        got["msg"], fds = _accept_fd(server)
        got["nfds"] = len(fds)
        for fd in fds:
            os.close(fd)  # no agent answers: notified syscalls fail with ENOSYS

    with server:
        code, out = run(rootfs, sh("mkdir /tmp/n"), linux, notify_state=state, parent=agent)
    assert code == 1, out
    assert "Function not implemented" in out  # ENOSYS once the agent closed the fd
    doc = json.loads(got["msg"])  # type: ignore[arg-type]
    assert doc["fds"] == ["seccompFd"] and doc["metadata"] == "meta" and doc["pid"] == 4242
    assert doc["state"]["id"] == "c1" and doc["state"]["status"] == "creating"
    assert got["nfds"] == 1


def test_notify_without_state_is_refused(rootfs: Path, tmp_path: Path) -> None:
    with _listener(tmp_path) as server:
        linux = allow_but(
            SeccompSyscall(names=MKDIRS, action="SCMP_ACT_NOTIFY"),
            listener_path=server.getsockname(),
        )
        code, out = run(rootfs, sh("true"), linux)
    assert code == SETUP_FAILED
    assert "listenerPath: the container state (with its pid) is needed" in out


def test_profile_without_execveat_still_execs(rootfs: Path) -> None:
    # runc's final exec is execve(2): a profile that forgets execveat must work here too
    linux = allow_but(SeccompSyscall(names=("execveat",), action="SCMP_ACT_ERRNO"))
    code, out = run(rootfs, sh("echo ran; grep Seccomp: /proc/self/status"), linux)
    assert code == 0, out
    assert out.splitlines() == ["ran", "Seccomp:\t2"]


def test_podman_socket_rules_with_x86_pseudo_syscalls(rootfs: Path) -> None:
    # podman's default profile (inverted here: ALLOW is the default) has a rule for
    # x86's `socketcall`, then conditional `socket` rules, one of them twice; socketcall
    # is not an x86_64 syscall but must reach libseccomp (as a pseudo number) for the x86
    # part of the filter, else the x86 translation of the socket rules collides (EEXIST)
    def arg(index: int, value: int, op: str) -> SeccompArg:
        return SeccompArg(index=index, value=value, op=op)

    def socket_rule(*args: SeccompArg, errno: int | None = None) -> SeccompSyscall:
        return SeccompSyscall(names=("socket",), action="SCMP_ACT_ERRNO", errno_ret=errno, args=args)

    linux = Linux(
        seccomp=Seccomp(
            default_action="SCMP_ACT_ALLOW",
            architectures=("SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"),
            syscalls=(
                SeccompSyscall(names=("socketcall",), action="SCMP_ACT_ERRNO"),
                socket_rule(arg(0, 16, "SCMP_CMP_EQ"), arg(2, 9, "SCMP_CMP_EQ"), errno=22),
                socket_rule(arg(2, 9, "SCMP_CMP_NE")),
                socket_rule(arg(0, 16, "SCMP_CMP_NE")),
                socket_rule(arg(2, 9, "SCMP_CMP_NE")),
                SeccompSyscall(names=MKDIRS, action="SCMP_ACT_ERRNO"),
                SeccompSyscall(names=MKDIRS, action="SCMP_ACT_ERRNO"),
            ),
        )
    )
    code, out = run(rootfs, sh("grep Seccomp: /proc/self/status; mkdir /tmp/x"), linux)
    assert code == 1, out
    assert "Seccomp:\t2" in out
    assert "mkdir: can't create directory '/tmp/x': Operation not permitted" in out
