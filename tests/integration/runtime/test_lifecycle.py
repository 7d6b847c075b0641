"""The lifecycle through the real CLI: run, create/start/state/kill/delete, pause, exec."""

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from tests.integration.runtime.conftest import BundleFactory, Runtime
from tests.unit.runtime._schemas import validator as schema_validator

pytestmark = pytest.mark.root

def _wait_status(rt: Runtime, cid: str, want: str, timeout: float = 5.0) -> str:
    deadline = time.monotonic() + timeout
    status = rt.status(cid)
    while status != want and time.monotonic() < deadline:
        time.sleep(0.02)
        status = rt.status(cid)
    return status


def test_run_returns_the_exit_code(rt: Runtime, make_bundle: BundleFactory) -> None:
    ok = make_bundle(["/bin/true"], name="ok")
    assert rt("run", "--bundle", str(ok), "t-ok").returncode == 0
    three = make_bundle(["sh", "-c", "exit 3"], name="three")
    assert rt("run", "-b", str(three), "t-three").returncode == 3
    assert not os.listdir(rt.root)  # a foreground run deletes its container


def test_create_start_kill_delete_with_valid_states(rt: Runtime, make_bundle: BundleFactory, tmp_path: Path) -> None:
    validator = schema_validator("state-schema.json")
    bundle = make_bundle(["sleep", "60"])
    pid_file = tmp_path / "init.pid"
    rt("create", "-b", str(bundle), "--pid-file", str(pid_file), "c1", check=True)
    state = rt.state("c1")
    validator.validate(state)
    assert state["status"] == "created"
    assert state["bundle"] == str(bundle)
    assert int(pid_file.read_text()) == state["pid"] > 0
    assert (rt.root / "c1" / "exec.fifo").exists()
    rt("start", "c1", check=True)
    state = rt.state("c1")
    validator.validate(state)
    assert state["status"] == "running"
    assert not (rt.root / "c1" / "exec.fifo").exists()
    assert "c1" in rt("list", "-q", check=True).stdout.split()
    listed = json.loads(rt("list", "--format", "json", check=True).stdout)
    assert [c["id"] for c in listed] == ["c1"]
    again = rt("start", "c1")
    assert again.returncode == 1 and "running" in again.stderr
    busy = rt("delete", "c1")
    assert busy.returncode == 1 and "--force" in busy.stderr
    rt("kill", "c1", "SIGKILL", check=True)
    assert _wait_status(rt, "c1", "stopped") == "stopped"
    state = rt.state("c1")
    validator.validate(state)
    assert rt("kill", "c1", "TERM").returncode == 1  # not running any more
    rt("delete", "c1", check=True)
    assert not (rt.root / "c1").exists()
    gone = rt("state", "c1")
    assert gone.returncode == 1 and gone.stderr.strip() == "ketch-runtime: container 'c1' does not exist"


def test_the_process_sees_its_own_container(rt: Runtime, make_bundle: BundleFactory) -> None:
    script = "echo pid=$$; hostname; grep -c ' /proc proc ' /proc/mounts; pwd; cat /proc/1/cmdline"
    bundle = make_bundle(["sh", "-c", script])
    out = rt("run", "-b", str(bundle), "seen", check=True).stdout.split("\n")
    assert out[0] == "pid=1"
    assert out[1] == "ketch"
    assert out[2] == "1"
    assert out[3] == "/"


def test_limits_are_written(rt: Runtime, make_bundle: BundleFactory) -> None:
    def limits(config: dict[str, object]) -> None:
        config["linux"]["resources"]["memory"] = {"limit": 64 << 20}  # type: ignore[index]
        config["linux"]["resources"]["pids"] = {"limit": 42}  # type: ignore[index]

    script = (
        "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max; "
        "cat /proc/self/cgroup | grep -c ':/$'"
    )
    bundle = make_bundle(["sh", "-c", script], patch=limits)
    out = rt("run", "-b", str(bundle), "limits", check=True).stdout.split()
    assert out[0] == str(64 << 20)
    assert out[1] == "42"
    assert int(out[2]) >= 1  # the cgroup namespace makes the container's cgroup "/"


def test_pause_resume_exec_ps_update_events(rt: Runtime, make_bundle: BundleFactory) -> None:
    bundle = make_bundle(["sleep", "60"])
    rt("run", "-d", "-b", str(bundle), "p1", check=True)
    assert rt.status("p1") == "running"
    rt("pause", "p1", check=True)
    assert rt.status("p1") == "paused"
    assert rt("exec", "p1", "true").returncode == 1  # no exec into a paused container
    rt("resume", "p1", check=True)
    assert rt.status("p1") == "running"
    out = rt("exec", "p1", "sh", "-c", "echo $$; cat /proc/1/cmdline | tr '\\0' ' '", check=True).stdout
    lines = out.split("\n")
    assert int(lines[0]) > 1  # inside the container's pid namespace: sleep is PID 1
    assert lines[1].strip() == "sleep 60"
    assert rt("exec", "p1", "sh", "-c", "exit 7").returncode == 7
    pids = json.loads(rt("ps", "--format", "json", "p1", check=True).stdout)
    assert pids == [rt.state("p1")["pid"]]
    rt("update", "--pids-limit", "17", "p1", check=True)
    assert rt("exec", "p1", "cat", "/sys/fs/cgroup/pids/pids.max", check=True).stdout.strip() == "17"
    resources = json.dumps({"memory": {"limit": 32 << 20}, "pids": {"limit": 23}})
    rt("update", "-r", "-", "p1", input=resources, check=True)  # as containerd's shim does
    limits = rt("exec", "p1", "cat", "/sys/fs/cgroup/pids/pids.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes", check=True)
    assert limits.stdout.split() == ["23", str(32 << 20)]
    event = json.loads(rt("events", "--stats", "p1", check=True).stdout)
    assert event["type"] == "stats" and event["id"] == "p1"
    assert "memory" in event["data"] and "pids" in event["data"]
    rt("delete", "--force", "p1", check=True)
    assert not (rt.root / "p1").exists()


def test_preserve_fds_passes_the_callers_fds(rt: Runtime, make_bundle: BundleFactory, tmp_path: Path) -> None:
    message = tmp_path / "message"
    message.write_text("passed-through\n")
    bundle = make_bundle(["sh", "-c", "cat <&3; ls /proc/self/fd | tr '\\n' ' '"])
    from tests.integration.runtime.conftest import KETCH_RUNTIME

    shell = f'exec 3<"{message}"; exec "$0" "$@"'  # the caller's fd 3, as a shim passes it
    result = subprocess.run(
        ["sh", "-c", shell, KETCH_RUNTIME, "--root", str(rt.root), "run", "--preserve-fds", "1", "-b", str(bundle), "pfd"],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.split("\n")[0] == "passed-through"
    assert out.split("\n")[1].split() == ["0", "1", "2", "3", "4"]  # 4: ls's own directory fd


def test_kill_all_signals_every_process(rt: Runtime, make_bundle: BundleFactory) -> None:
    def no_pid_ns(config: dict[str, object]) -> None:  # PID 1 of a pid namespace would take all with it
        config["linux"]["namespaces"] = [n for n in config["linux"]["namespaces"] if n["type"] != "pid"]  # type: ignore[index]

    bundle = make_bundle(["sh", "-c", "sleep 60 & sleep 60 & wait"], patch=no_pid_ns)
    rt("run", "-d", "-b", str(bundle), "ka", check=True)
    deadline = time.monotonic() + 5
    while len(json.loads(rt("ps", "--format", "json", "ka", check=True).stdout)) < 3:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    rt("kill", "--all", "ka", "KILL", check=True)
    assert _wait_status(rt, "ka", "stopped") == "stopped"
    assert json.loads(rt("ps", "--format", "json", "ka", check=True).stdout) == []
    rt("delete", "ka", check=True)


def test_missing_cwd_is_created_inside_the_rootfs(rt: Runtime, make_bundle: BundleFactory, tmp_path: Path) -> None:
    # as runc: a missing process.cwd is made (0755) before pivot_root, even with a
    # read-only root; a symlink on the way is resolved inside the rootfs, never on the host
    outside = tmp_path / "host-side"
    patch = lambda c: c["process"].update(cwd="/evil/sub/dir")  # noqa: E731
    bundle = make_bundle(["sh", "-c", "pwd; stat -c %a ."], patch=patch)
    (bundle / "rootfs" / "evil").symlink_to(outside)
    result = rt("run", "-b", str(bundle), "t-cwd")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [f"{outside}/sub/dir", "755"]  # the link's target, inside
    assert not outside.exists()
    assert (bundle / "rootfs" / str(outside).lstrip("/") / "sub" / "dir").is_dir()
