"""Hooks, the console socket, user namespaces and what must not leak into a container."""

import json
import os
import socket
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from tests.integration.runtime.conftest import BundleFactory, Runtime

pytestmark = pytest.mark.root


def _hook(out: Path, name: str) -> dict[str, Any]:
    """A host hook writing its stdin (the state) and its pid namespace to files."""
    script = f"cat > {out}/{name}.json; readlink /proc/self/ns/pid > {out}/{name}.pidns"
    return {"path": "/bin/sh", "args": ["sh", "-c", script], "timeout": 10}


def test_hooks_run_with_the_state_at_their_points(
    rt: Runtime, make_bundle: BundleFactory, tmp_path: Path
) -> None:
    out = tmp_path / "hooks"
    out.mkdir()
    in_container = {  # startContainer runs inside: its path and files are the container's
        "path": "/bin/sh",
        "args": ["sh", "-c", "cat > /startContainer.json"],
    }

    def hooks(config: dict[str, Any]) -> None:
        config["root"]["readonly"] = False
        config["hooks"] = {
            "prestart": [_hook(out, "prestart")],
            "createRuntime": [_hook(out, "createRuntime")],
            "createContainer": [_hook(out, "createContainer")],
            "startContainer": [in_container],
            "poststart": [_hook(out, "poststart")],
            "poststop": [_hook(out, "poststop")],
        }
        config["annotations"] = {"org.example.test": "hooks"}

    bundle = make_bundle(["sleep", "60"], patch=hooks)
    rt("create", "-b", str(bundle), "hk", check=True)
    created = {p.stem for p in out.glob("*.json")}
    assert created == {"prestart", "createRuntime", "createContainer"}
    state = json.loads((out / "createRuntime.json").read_text())
    assert state["id"] == "hk" and state["status"] == "creating"
    assert state["pid"] == rt.state("hk")["pid"]
    assert state["annotations"] == {"org.example.test": "hooks"}
    host_pidns = os.readlink("/proc/self/ns/pid")
    assert (out / "createRuntime.pidns").read_text().strip() == host_pidns
    assert (out / "createContainer.pidns").read_text().strip() != host_pidns
    rt("start", "hk", check=True)
    assert json.loads((out / "poststart.json").read_text())["status"] == "running"
    start_state = json.loads((bundle / "rootfs" / "startContainer.json").read_text())
    assert start_state["id"] == "hk"
    rt("kill", "hk", "KILL", check=True)
    rt("delete", "--force", "hk", check=True)
    stopped = json.loads((out / "poststop.json").read_text())
    assert stopped["status"] == "stopped"


def test_failing_create_hook_aborts_create(rt: Runtime, make_bundle: BundleFactory) -> None:
    def hooks(config: dict[str, Any]) -> None:
        config["hooks"] = {"createRuntime": [{"path": "/bin/false", "args": ["false"]}]}

    bundle = make_bundle(["sleep", "60"], patch=hooks)
    result = rt("create", "-b", str(bundle), "hookfail")
    assert result.returncode == 1 and "createRuntime hook /bin/false" in result.stderr
    assert not (rt.root / "hookfail").exists()


class _ConsoleReceiver:
    """A console socket like containerd's: accepts one connection and keeps the pty master."""

    def __init__(self, path: Path) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(str(path))
        self.sock.listen(1)
        self.master: int | None = None
        self.name = b""
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        conn, _ = self.sock.accept()
        with conn:
            msg, fds, _, _ = socket.recv_fds(conn, 1024, 1)
            self.name, self.master = msg, fds[0] if fds else None


def test_console_socket_receives_the_pty_master(
    rt: Runtime, make_bundle: BundleFactory, tmp_path: Path
) -> None:
    receiver = _ConsoleReceiver(tmp_path / "console.sock")
    script = "tty; test -t 0 && echo stdin-is-a-tty; sleep 60"
    bundle = make_bundle(["sh", "-c", script], terminal=True)
    assert "console-socket" in rt("create", "-b", str(bundle), "tty0").stderr
    rt("create", "-b", str(bundle), "--console-socket", str(tmp_path / "console.sock"), "tty1", check=True)
    receiver.thread.join(5)
    assert receiver.master is not None
    try:
        rt("start", "tty1", check=True)
        data = b""
        while b"stdin-is-a-tty" not in data:
            chunk = os.read(receiver.master, 1024)
            if not chunk:
                break
            data += chunk
        assert b"/dev/pts/0" in data or b"/dev/console" in data
        assert b"stdin-is-a-tty" in data
    finally:
        os.close(receiver.master)
        receiver.sock.close()
        rt("delete", "--force", "tty1")


def test_no_host_fd_cwd_or_env_leaks_into_the_container(
    rt: Runtime, make_bundle: BundleFactory, tmp_path: Path
) -> None:
    script = "ls /proc/self/fd | tr '\\n' ' '; echo; readlink /proc/self/cwd; env | sort | tr '\\n' ' '"
    bundle = make_bundle(["sh", "-c", script])
    secret = open(tmp_path / "secret", "w")  # noqa: SIM115 (held open across the run)
    try:
        env = dict(os.environ, LEAKME="host-secret")
        out = rt("run", "-b", str(bundle), "leak", check=True, env=env, pass_fds=(secret.fileno(),), cwd=str(tmp_path)).stdout
    finally:
        secret.close()
    fds, cwd, envs = out.split("\n")[:3]
    assert fds.split() == ["0", "1", "2", "3"]  # 3: ls's own directory fd
    assert cwd == "/"
    assert "LEAKME" not in envs
    assert "HOME=/root" in envs.split()


def test_user_namespace_maps_root(rt: Runtime, make_bundle: BundleFactory, open_dir: Path) -> None:
    def userns(config: dict[str, Any]) -> None:
        config["linux"]["namespaces"].append({"type": "user"})
        config["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
        config["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
        config["root"]["readonly"] = False
        # sysfs and cgroupfs cannot be mounted from a user namespace without a netns owner:
        config["mounts"] = [m for m in config["mounts"] if m["destination"] not in ("/sys", "/sys/fs/cgroup")]

    bundle = make_bundle(["sleep", "60"], patch=userns, base=open_dir)
    rt("run", "-d", "-b", str(bundle), "uns", check=True)
    pid = rt.state("uns")["pid"]
    with open(f"/proc/{pid}/status") as f:
        uids = next(line for line in f if line.startswith("Uid:")).split()[1:]
    assert uids == ["100000"] * 4  # host view: the mapped id
    out = rt("exec", "uns", "sh", "-c", "id -u; cat /proc/self/uid_map", check=True).stdout.split()
    assert out[0] == "0"
    assert out[1:4] == ["0", "100000", "65536"]
    rt("delete", "--force", "uns", check=True)


def _drive_terminal(argv: list[str], answer: bytes, marker: bytes) -> tuple[int, bytes]:
    """Run ``argv`` with a pty as its terminal; type ``answer`` once ``marker`` appears."""
    import pty
    import select
    import subprocess
    import time

    master, slave = pty.openpty()
    proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, start_new_session=True)
    os.close(slave)
    data = b""
    sent = False
    deadline = time.monotonic() + 20
    try:
        while time.monotonic() < deadline:
            if select.select([master], [], [], 0.2)[0]:
                try:
                    chunk = os.read(master, 4096)
                except OSError:
                    break
                if not chunk:
                    break
                data += chunk
            if not sent and marker in data:
                os.write(master, answer)
                sent = True
            if proc.poll() is not None and not select.select([master], [], [], 0.1)[0]:
                break
        return proc.wait(10), data
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)


def test_run_and_exec_relay_the_terminal_without_a_socket(
    rt: Runtime, make_bundle: BundleFactory
) -> None:
    from tests.integration.runtime.conftest import KETCH_RUNTIME

    script = "tty; echo ready; read x; echo got=$x; exit 9"
    bundle = make_bundle(["sh", "-c", script], terminal=True)
    code, out = _drive_terminal(
        [KETCH_RUNTIME, "--root", str(rt.root), "run", "-b", str(bundle), "term1"], b"hello\n", b"ready"
    )
    assert code == 9, out
    assert b"/dev/pts/0" in out and b"got=hello" in out
    sleeper = make_bundle(["sleep", "60"], name="sleeper")
    rt("run", "-d", "-b", str(sleeper), "term2", check=True)
    code, out = _drive_terminal(
        [KETCH_RUNTIME, "--root", str(rt.root), "exec", "-t", "term2", "sh", "-c", script],
        b"again\n",
        b"ready",
    )
    assert code == 9, out
    assert b"got=again" in out
    rt("delete", "--force", "term2", check=True)


def test_a_session_keyring_of_its_own(rt: Runtime, make_bundle: BundleFactory) -> None:
    def keyrings() -> str:
        with open("/proc/keys") as f:
            return f.read()

    bundle = make_bundle(["sleep", "60"])
    rt("run", "-d", "-b", str(bundle), "keyring-own", check=True)
    rt("run", "-d", "--no-new-keyring", "-b", str(bundle), "keyring-host", check=True)
    listed = keyrings()
    assert " keyring-own: " in listed
    assert "keyring-host" not in listed
    rt("delete", "--force", "keyring-own", check=True)
    rt("delete", "--force", "keyring-host", check=True)


def test_idmapped_mount_in_a_user_namespace(rt: Runtime, make_bundle: BundleFactory, open_dir: Path) -> None:
    # the init of a user namespace may not idmap a host filesystem: create makes the
    # detached idmapped mount on the host side and the init attaches it
    data = open_dir / "data"
    data.mkdir()
    (data / "root-file").write_text("x")  # owned by the host's root

    def userns(config: dict[str, Any]) -> None:
        config["linux"]["namespaces"].append({"type": "user"})
        config["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
        config["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
        config["root"]["readonly"] = False
        config["mounts"] = [m for m in config["mounts"] if m["destination"] not in ("/sys", "/sys/fs/cgroup")]
        config["mounts"] += [
            {"destination": "/plain", "type": "bind", "source": str(data), "options": ["rbind"]},
            {"destination": "/mapped", "type": "bind", "source": str(data), "options": ["rbind", "idmap"]},
        ]

    bundle = make_bundle(["stat", "-c", "%u:%g", "/plain/root-file", "/mapped/root-file"], patch=userns, base=open_dir)
    for name in ("plain", "mapped"):  # the rootfs is the host root's: made here
        (bundle / "rootfs" / name).mkdir()
    result = rt("run", "-b", str(bundle), "idm")
    assert result.returncode == 0, result.stderr
    # unmapped host root shows as the overflow id; through the idmapped mount it is root
    assert result.stdout.split() == ["65534:65534", "0:0"]


def test_the_init_imports_nothing_inside_the_rootfs(rt: Runtime, make_bundle: BundleFactory, tmp_path: Path) -> None:
    # After pivot_root, sys.path names the container's files: the init seals imports
    # (ketch.runtime._sealed), so any lazy import on a path taken after the pivot makes
    # the start fail.  This container takes as many of those paths as one can: seccomp,
    # sysctl, hooks inside and outside, another user, HOME from /etc/passwd, a new cwd.
    # A module planted where the host's sys.path points would otherwise be run as root.
    marker = tmp_path / "planted-ran"

    def patch(config: dict[str, Any]) -> None:
        process = config["process"]
        process["user"] = {"uid": 1000, "gid": 1000, "additionalGids": [1001]}
        process["env"] = ["PATH=/bin"]
        process["cwd"] = "/home/app/new"
        process["noNewPrivileges"] = False
        process["oomScoreAdj"] = 100
        config["root"]["readonly"] = False
        config["linux"]["sysctl"] = {"net.ipv4.ip_forward": "1"}
        config["linux"]["seccomp"] = {
            "defaultAction": "SCMP_ACT_ALLOW",
            "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
            "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}],
        }
        config["hooks"] = {
            "createContainer": [{"path": "/bin/true"}],
            "startContainer": [{"path": "/bin/sh", "args": ["sh", "-c", "cat >/tmp/start.json"]}],
        }

    script = "echo $HOME; pwd; id -u; cat /proc/sys/net/ipv4/ip_forward; mkdir /tmp/x || echo blocked"
    bundle = make_bundle(["sh", "-c", script], patch=patch)
    rootfs = bundle / "rootfs"
    for entry in sys.path:  # hostile copies of a few lazily imported stdlib modules
        if entry.startswith("/") and not entry.endswith(".zip"):
            planted = rootfs / entry.lstrip("/")
            planted.mkdir(parents=True, exist_ok=True)
            for name in ("traceback", "linecache", "json", "array", "contextlib", "shlex"):
                (planted / f"{name}.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    result = rt("run", "-b", str(bundle), "sealed")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["/home/app", "/home/app/new", "1000", "1", "blocked"]
    assert (rootfs / "tmp" / "start.json").exists()
    assert not marker.exists()
