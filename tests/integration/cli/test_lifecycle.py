"""Detached containers: ps, logs, exec, stop, kill, pause, restart, inspect, wait, rm."""

from __future__ import annotations

import json
import os
import signal
import time

import pytest

from tests.integration.cli.conftest import Ketch

pytestmark = pytest.mark.root


def _wait_for(predicate: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def test_detached_ps_logs_exec_stop_rm(ketch: Ketch) -> None:
    cid = ketch.ok("run", "-d", "--name", "web", "-l", "tier=front", "busybox", "sh", "-c",
                   "trap 'echo bye; exit 0' TERM; echo started; echo oops >&2; "
                   "while true; do sleep 0.1; done").strip()
    assert len(cid) == 64
    assert ketch.ok("ps", "-q") == cid[:12] + "\n"
    assert ketch.ok("ps", "--no-trunc", "-q") == cid + "\n"
    table = ketch.ok("ps").splitlines()
    assert table[0].split() == ["CONTAINER", "ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"]
    assert table[1].startswith(cid[:12]) and table[1].endswith("web")
    assert ketch.ok("ps", "--format", "{{.Names}} {{.State}} {{.Labels}}") == "web running tier=front\n"
    assert ketch.ok("ps", "-q", "--filter", "label=tier=back") == ""
    assert ketch.ok("ps", "-q", "--filter", "name=web", "--filter", "status=running") == cid[:12] + "\n"
    _wait_for(lambda: "started" in ketch.ok("logs", "web"))
    logs = ketch("logs", "web")
    assert logs.stdout == "started\n" and logs.stderr == "oops\n"
    stamped = ketch.ok("logs", "-t", "--tail", "2", "web")  # the last line is on stderr
    assert stamped.endswith(" started\n") and stamped[:4].isdigit()
    with open(ketch.root / "containers" / cid / f"{cid}-json.log") as f:
        first = json.loads(f.readline())
    assert first["log"] == "started\n" and first["stream"] == "stdout" and first["time"].endswith("Z")
    assert ketch.ok("exec", "web", "cat", "/etc/hostname") == cid[:12] + "\n"
    assert ketch("exec", "web", "sh", "-c", "exit 7").returncode == 7
    assert ketch.ok("exec", "-e", "X=1", "-w", "/tmp", "web", "sh", "-c", "echo $X $(pwd)") == "1 /tmp\n"
    assert ketch("exec", "web", "nosuch").returncode == 127
    busy = ketch("rm", "web")
    assert busy.returncode == 1 and "container is running" in busy.stderr
    ketch.ok("stop", "-t", "5", "web")
    assert ketch.ok("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", "web") == "exited 0\n"
    assert ketch.ok("logs", "--tail", "1", "web") == "bye\n"
    assert "Exited (0)" in ketch.ok("ps", "-a")
    assert ketch.ok("ps", "-q") == ""
    not_running = ketch("exec", "web", "true")
    assert not_running.returncode != 0 and "is not running" in not_running.stderr
    assert ketch.ok("rm", "web") == "web\n"
    assert ketch.container_ids() == []
    gone = ketch("rm", "web")
    assert gone.returncode == 1 and gone.stderr == "Error response from daemon: No such container: web\n"


def test_kill_pause_restart_wait(ketch: Ketch) -> None:
    cid = ketch.ok("run", "-d", "busybox", "sleep", "1000").strip()
    ketch.ok("pause", cid)
    assert ketch.ok("inspect", "-f", "{{.State.Status}} {{.State.Paused}}", cid) == "paused true\n"
    assert "(Paused)" in ketch.ok("ps")
    ketch.ok("unpause", cid)
    assert ketch.ok("inspect", "-f", "{{.State.Status}}", cid) == "running\n"
    pid1 = ketch.ok("inspect", "-f", "{{.State.Pid}}", cid)
    ketch.ok("restart", "-t", "0", cid)
    assert ketch.ok("inspect", "-f", "{{.State.Running}}", cid) == "true\n"
    assert ketch.ok("inspect", "-f", "{{.State.Pid}}", cid) != pid1
    ketch.ok("kill", "-s", "TERM", cid)  # sleep as pid 1 ignores TERM: still running
    time.sleep(0.2)
    assert ketch.ok("inspect", "-f", "{{.State.Running}}", cid) == "true\n"
    ketch.ok("kill", cid)
    assert ketch.ok("wait", cid) == "137\n"
    assert ketch("kill", cid).returncode == 1
    bad = ketch("kill", "-s", "NOPE", cid)
    assert bad.returncode != 0 and "Invalid signal" in bad.stderr


def test_inspect_document(ketch: Ketch) -> None:
    cid = ketch.ok("create", "--name", "probe", "-e", "A=1", "-m", "32m", "busybox",
                   "echo", "hi").strip()
    doc = json.loads(ketch.ok("inspect", "probe"))[0]
    assert doc["Id"] == cid and doc["Name"] == "/probe"
    assert doc["Path"] == "echo" and doc["Args"] == ["hi"]
    assert doc["State"]["Status"] == "created" and doc["State"]["Running"] is False
    assert set(doc["State"]) >= {"Status", "Running", "Paused", "Restarting", "OOMKilled", "Dead",
                                 "Pid", "ExitCode", "Error", "StartedAt", "FinishedAt"}
    assert doc["Image"].startswith("sha256:")
    assert doc["Config"]["Image"] == "busybox" and "A=1" in doc["Config"]["Env"]
    assert doc["HostConfig"]["Memory"] == 32 << 20
    assert doc["Config"]["Hostname"] == cid[:12]
    ketch.ok("start", "-a", "probe")
    doc = json.loads(ketch.ok("inspect", "probe"))[0]
    assert doc["State"]["Status"] == "exited" and doc["State"]["ExitCode"] == 0
    assert doc["State"]["FinishedAt"] >= doc["State"]["StartedAt"]
    assert ketch.ok("inspect", "-f", "{{json .Config.Cmd}}", "probe") == '["echo","hi"]\n'
    missing = ketch("inspect", "nosuch")
    assert missing.returncode == 1 and missing.stdout == "[]\n"
    assert "No such object: nosuch" in missing.stderr


def test_rename_and_prune(ketch: Ketch) -> None:
    a = ketch.ok("create", "--name", "one", "busybox", "true").strip()
    b = ketch.ok("run", "-d", "--name", "two", "busybox", "sleep", "100").strip()
    ketch.ok("rename", "one", "uno")
    assert ketch.ok("inspect", "-f", "{{.Name}}", a) == "/uno\n"
    clash = ketch("rename", "uno", "two")
    assert clash.returncode == 1 and "already in use" in clash.stderr
    out = ketch.ok("container", "prune", "-f")
    assert a in out and b not in out
    assert ketch.container_ids() == [b]
    ketch.ok("container", "rm", "-f", "two")
    assert ketch.container_ids() == []


def test_monitor_killed_leaves_consistent_state(ketch: Ketch) -> None:
    cid = ketch.ok("run", "-d", "busybox", "sleep", "1000").strip()
    with open(ketch.root / "containers" / cid / "config.v2.json") as f:
        monitor = json.load(f)["Monitor"]["Pid"]
    os.kill(monitor, signal.SIGKILL)
    _wait_for(lambda: not os.path.exists(f"/proc/{monitor}"))  # reaped by init
    assert ketch.ok("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", cid) == "exited 137\n"
    assert ketch.ok("ps", "-q") == ""
    assert not os.path.ismount(ketch.root / "containers" / cid / "rootfs")
    # and it can be started again, then removed
    ketch.ok("start", cid)
    assert ketch.ok("inspect", "-f", "{{.State.Running}}", cid) == "true\n"
    # a start straight after a monitor died reconciles under its own lock
    with open(ketch.root / "containers" / cid / "config.v2.json") as f:
        monitor = json.load(f)["Monitor"]["Pid"]
    os.kill(monitor, signal.SIGKILL)
    _wait_for(lambda: not os.path.exists(f"/proc/{monitor}"))
    ketch.ok("start", cid, timeout=20)
    assert ketch.ok("inspect", "-f", "{{.State.Running}}", cid) == "true\n"
    ketch.ok("rm", "-f", cid)
    assert ketch.container_ids() == []


def test_inspect_image_stats_df_logs_follow(ketch: Ketch) -> None:
    image = json.loads(ketch.ok("inspect", "busybox"))[0]
    assert image["Id"].startswith("sha256:") and "busybox:latest" in image["RepoTags"]
    assert ketch("inspect", "--type", "container", "busybox").returncode == 1
    cid = ketch.ok("run", "-d", "busybox", "sh", "-c", "for i in 1 2 3; do echo line$i; sleep 0.2; done").strip()
    assert ketch.ok("logs", "-f", cid) == "line1\nline2\nline3\n"  # returns once the container exits
    other = ketch.ok("run", "-d", "--name", "st", "busybox", "sleep", "100").strip()
    stats = ketch.ok("stats", "--no-stream", "--format", "{{.Name}} {{.PIDs}}", "st")
    assert stats == "st 1\n"
    df = ketch.ok("system", "df").splitlines()
    assert df[0].split() == ["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"]
    assert df[2].split()[:3] == ["Containers", "2", "1"]
    ketch.ok("rm", "-f", other, cid)


def test_starter_killed_before_recording_running(ketch: Ketch) -> None:
    """The starter died after the monitor started the container, before saving "running"."""
    cid = ketch.ok("run", "-d", "busybox", "sleep", "1000").strip()
    record = ketch.root / "containers" / cid / "config.v2.json"
    doc = json.loads(record.read_text())
    doc["State"].update({"Status": "created", "Running": False, "Pid": 0})
    doc["Monitor"] = None
    record.write_text(json.dumps(doc))
    assert ketch.ok("ps", "-q") == cid[:12] + "\n"  # the live monitor is found and recorded
    assert ketch("rm", cid).returncode == 1
    ketch.ok("stop", "-t", "0", cid)
    assert ketch.ok("inspect", "-f", "{{.State.Status}}", cid) == "exited\n"


def test_empty_record_after_a_host_crash_is_swept(ketch: Ketch) -> None:
    """An --rm container's record is saved without fsync: after a host crash it can read
    empty.  Such a container is half made: not listed, and removed by prune with its snapshot."""
    cid = ketch.ok("create", "busybox", "true").strip()  # (the record is what matters)
    snapshots = ketch.root / "snapshots" / "metadata.json"
    assert cid in json.loads(snapshots.read_text())["snapshots"]
    (ketch.root / "containers" / cid / "config.v2.json").write_bytes(b"")  # as a crash leaves it
    assert ketch.ok("ps", "-aq") == ""
    ketch.ok("container", "prune", "-f")
    assert not (ketch.root / "containers" / cid).exists()
    assert cid not in json.loads(snapshots.read_text())["snapshots"]


def test_rm_container_started_again_after_its_monitor_died(ketch: Ketch) -> None:
    """An --rm container's writable layer is a volatile overlay, which the kernel refuses
    to mount twice unless told; its monitor killed, it is started again, then rm -f works
    while it runs (its monitor removes it meanwhile)."""
    cid = ketch.ok("run", "-d", "--rm", "busybox", "sleep", "1000").strip()
    with open(ketch.root / "containers" / cid / "config.v2.json") as f:
        monitor = json.load(f)["Monitor"]["Pid"]
    os.kill(monitor, signal.SIGKILL)
    _wait_for(lambda: not os.path.exists(f"/proc/{monitor}"))
    assert ketch.ok("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", cid) == "exited 137\n"
    ketch.ok("start", cid)
    assert ketch.ok("inspect", "-f", "{{.State.Running}}", cid) == "true\n"
    ketch.ok("rm", "-f", cid)
    assert ketch.container_ids() == []
