"""Bad input: one line on stderr, exit 1, nothing left behind (state, cgroup, process)."""

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.integration.runtime.conftest import CGROUP_ROOT, BundleFactory, Runtime

pytestmark = pytest.mark.root


def _processes_with(marker: str) -> list[str]:
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if marker.encode() in f.read():
                    found.append(pid)
        except OSError:
            continue
    return found


def _assert_nothing_left(rt: Runtime, cid: str) -> None:
    assert not (rt.root / cid).exists()
    for path in rt.cgroup_paths:
        for controller in os.listdir(CGROUP_ROOT):
            assert not os.path.isdir(f"{CGROUP_ROOT}/{controller}{path}")


def _one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1
    lines = result.stderr.strip().split("\n")
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("ketch-runtime: ")
    assert "Traceback" not in result.stderr
    return lines[0]


def test_bad_config_names_the_field(rt: Runtime, make_bundle: BundleFactory) -> None:
    bundle = make_bundle(["sleep", "12345"])
    config = json.loads((bundle / "config.json").read_text())
    config["process"]["user"]["uid"] = "root"
    (bundle / "config.json").write_text(json.dumps(config))
    line = _one_line(rt("create", "-b", str(bundle), "bad"))
    assert "process.user.uid" in line
    del config["process"]["cwd"]
    config["process"]["user"]["uid"] = 0
    (bundle / "config.json").write_text(json.dumps(config))
    assert "process.cwd" in _one_line(rt("run", "-b", str(bundle), "bad"))
    (bundle / "config.json").write_text("{not json")
    assert "not valid JSON" in _one_line(rt("create", "-b", str(bundle), "bad"))
    _assert_nothing_left(rt, "bad")


def test_failure_in_the_init_leaves_nothing(rt: Runtime, make_bundle: BundleFactory) -> None:
    bundle = make_bundle(["/no/such/program-4242"])
    line = _one_line(rt("create", "-b", str(bundle), "noexec"))
    assert "/no/such/program-4242" in line
    _assert_nothing_left(rt, "noexec")
    assert not _processes_with("noexec")


def test_a_mount_failing_in_the_init_is_named(rt: Runtime, make_bundle: BundleFactory, tmp_path: Path) -> None:
    # the init fails while the runtime may still be making the cgroup: its error is
    # the one reported, and nothing is left behind
    missing = tmp_path / "no-such-source"

    def patch(config: dict[str, object]) -> None:
        mounts = config["mounts"]
        assert isinstance(mounts, list)
        mounts.insert(1, {"destination": "/data", "type": "bind", "source": str(missing), "options": ["rbind"]})

    bundle = make_bundle(["/bin/true"], patch=patch)
    for attempt in range(3):  # the init may fail before or after the runtime moved it
        line = _one_line(rt("create", "-b", str(bundle), f"badmount{attempt}"))
        assert f"mounts[1].source {missing}: no such file or directory" in line
        _assert_nothing_left(rt, f"badmount{attempt}")


def test_missing_rootfs(rt: Runtime, make_bundle: BundleFactory) -> None:
    bundle = make_bundle(["true"])
    config = json.loads((bundle / "config.json").read_text())
    config["root"]["path"] = "nothere"
    (bundle / "config.json").write_text(json.dumps(config))
    line = _one_line(rt("create", "-b", str(bundle), "norootfs"))
    assert "nothere" in line
    _assert_nothing_left(rt, "norootfs")


def test_missing_bundle_and_bad_ids(rt: Runtime, tmp_path: Path) -> None:
    assert "config.json" in _one_line(rt("create", "-b", str(tmp_path / "none"), "x"))
    assert "invalid container ID" in _one_line(rt("create", "-b", str(tmp_path), "../escape"))
    assert "invalid container ID" in _one_line(rt("state", "a/b"))


def test_duplicate_and_unknown_ids(rt: Runtime, make_bundle: BundleFactory) -> None:
    bundle = make_bundle(["sleep", "60"])
    rt("create", "-b", str(bundle), "dup", check=True)
    line = _one_line(rt("create", "-b", str(bundle), "dup"))
    assert "already exists" in line
    assert rt.status("dup") == "created"  # the first one is untouched
    for verb in ("state", "start", "kill", "delete", "pause", "resume", "ps", "exec"):
        extra = ["true"] if verb == "exec" else []
        assert "does not exist" in _one_line(rt(verb, "nobody", *extra)), verb
    rt("delete", "dup", check=True)  # a created container can be deleted without --force


def test_cli_usage_errors(rt: Runtime) -> None:
    assert "no such command" in _one_line(rt("frobnicate"))
    assert "not defined" in _one_line(rt("create", "--bogus", "x"))
    assert "systemd" in _one_line(rt("--systemd-cgroup", "state", "x"))
    assert "invalid signal" in _one_line(rt("kill", "x", "SIGNOPE"))


def test_json_log_for_the_shim(rt: Runtime, tmp_path: Path) -> None:
    log = tmp_path / "log.json"
    result = rt("--log", str(log), "--log-format", "json", "state", "ghost")
    assert result.returncode == 1
    record = json.loads(log.read_text().strip().split("\n")[-1])
    assert record["level"] == "error"
    assert record["msg"] == "container 'ghost' does not exist"


def test_hostile_config_is_refused_before_anything_starts(rt: Runtime, make_bundle: BundleFactory) -> None:
    def not_a_namespace(config: dict[str, object]) -> None:
        config["linux"]["namespaces"].append({"type": "time", "path": "/etc/passwd"})  # type: ignore[index]

    bundle = make_bundle(["true"], name="nsfile", patch=not_a_namespace)
    assert "is not a namespace file" in _one_line(rt("run", "-b", str(bundle), "nsfile"))
    _assert_nothing_left(rt, "nsfile")

    def host_sysctl(config: dict[str, object]) -> None:
        config["linux"]["sysctl"] = {"kernel.panic": "1"}  # type: ignore[index]

    bundle = make_bundle(["true"], name="sysctl", patch=host_sysctl)
    assert "kernel.panic: not a namespaced sysctl" in _one_line(rt("run", "-b", str(bundle), "sysctl"))
    _assert_nothing_left(rt, "sysctl")


def test_hook_timeout_kills_the_hook_and_the_create(rt: Runtime, make_bundle: BundleFactory) -> None:
    def slow_hook(config: dict[str, object]) -> None:
        config["hooks"] = {"createRuntime": [{"path": "/bin/sleep", "args": ["sleep", "30"], "timeout": 1}]}

    bundle = make_bundle(["sleep", "60"], patch=slow_hook)
    line = _one_line(rt("create", "-b", str(bundle), "slowhook"))
    assert "timed out after 1s" in line
    _assert_nothing_left(rt, "slowhook")
    assert not _processes_with("slowhook")
