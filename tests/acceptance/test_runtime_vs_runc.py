"""Acceptance: ``ketch-runtime`` answers the bundle operations as runc does.

The same bundle is driven through both runtimes, each with its own ``--root``
and cgroup, and the answers compared: state JSON, list, ps, exec, kill by
signal name or number, pause, events --stats, delete refusals and --force.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.bundle import default_config, write_bundle

pytestmark = [pytest.mark.root, pytest.mark.interop]

KETCH_RUNTIME = str(Path(sys.executable).parent / "ketch-runtime")
RUNC = shutil.which("runc")


class Runtime:
    def __init__(self, binary: str, root: Path) -> None:
        self.binary, self.root = binary, root

    def __call__(self, *args: str) -> subprocess.CompletedProcess[str]:
        # the container inherits the stdio of create/run -d (as with runc): no pipes then
        quiet = args[0] == "create" or args[:2] == ("run", "-d")
        out = subprocess.DEVNULL if quiet else subprocess.PIPE
        return subprocess.run([self.binary, "--root", str(self.root), *args],
                              stdout=out, stderr=out, text=True, timeout=30,
                              stdin=subprocess.DEVNULL)

    def ok(self, *args: str) -> str:
        proc = self(*args)
        assert proc.returncode == 0, (self.binary, args, proc.stderr)
        return proc.stdout or ""


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[list[tuple[Runtime, Path]]]:
    if RUNC is None:
        pytest.skip("runc not installed")
    parent = f"ketch-acceptance-{os.getpid()}-{tmp_path.name}"
    made = []
    for name, binary in (("ketch", KETCH_RUNTIME), ("runc", RUNC)):
        config = default_config(["sleep", "1000"])
        config["linux"]["cgroupsPath"] = f"/{parent}/{name}"
        bundle = write_bundle(tmp_path / f"bundle-{name}", config)
        made.append((Runtime(binary, tmp_path / f"state-{name}"), bundle))
    try:
        yield made
    finally:
        for runtime, _ in made:
            for cid in ("c1", "c2"):
                runtime("delete", "--force", cid)
        for hierarchy in Path("/sys/fs/cgroup").iterdir():
            for leaf in ("ketch", "runc", ""):
                with contextlib.suppress(OSError):
                    (hierarchy / parent / leaf).rmdir()


def test_lifecycle_answers_match_runc(pair: list[tuple[Runtime, Path]]) -> None:
    answers = []
    for runtime, bundle in pair:
        seen: dict[str, object] = {}
        runtime.ok("create", "--bundle", str(bundle), "c1")
        state = json.loads(runtime.ok("state", "c1"))
        seen["created"] = (state["status"], sorted(state), state["bundle"] == str(bundle),
                           state["rootfs"] == str(bundle / "rootfs"), isinstance(state["pid"], int))
        seen["list"] = runtime.ok("list", "-q").split()
        listed = json.loads(runtime.ok("list", "-f", "json"))
        seen["list_json"] = [(c["id"], c["status"]) for c in listed]
        runtime.ok("start", "c1")
        seen["running"] = json.loads(runtime.ok("state", "c1"))["status"]
        seen["ps"] = json.loads(runtime.ok("ps", "-f", "json", "c1")) == [state["pid"]]
        seen["ps_table"] = runtime.ok("ps", "c1").split()[:3]
        proc = runtime("exec", "--env", "A=1", "--cwd", "/tmp", "c1",
                       "sh", "-c", "echo $A; pwd; exit 3")
        seen["exec"] = (proc.returncode, proc.stdout)
        seen["kills"] = [runtime("kill", "c1", sig).returncode
                         for sig in ("SIGUSR1", "USR2", "10", "BOGUS")]
        runtime.ok("pause", "c1")
        seen["paused"] = json.loads(runtime.ok("state", "c1"))["status"]
        runtime.ok("resume", "c1")
        stats = json.loads(runtime.ok("events", "--stats", "c1").splitlines()[0])
        seen["stats"] = (stats["type"], stats["id"], sorted(stats["data"]),
                         sorted(stats["data"]["pids"]))
        seen["delete_running"] = runtime("delete", "c1").returncode
        seen["delete_force"] = runtime("delete", "--force", "c1").returncode
        seen["gone"] = (runtime("state", "c1").returncode, runtime.ok("list", "-q"))
        seen["missing"] = [runtime(*args).returncode for args in
                           (("delete", "nosuch"), ("delete", "--force", "nosuch"),
                            ("kill", "nosuch"), ("state", "nosuch"))]
        runtime.ok("create", "--bundle", str(bundle), "c2")
        seen["duplicate"] = runtime("create", "--bundle", str(bundle), "c2").returncode
        seen["bad_id"] = runtime("create", "--bundle", str(bundle), "bad/id").returncode
        runtime.ok("delete", "--force", "c2")
        answers.append(seen)
    ketch, runc = answers
    assert ketch == runc


def test_stopped_container_state_ps_exec(pair: list[tuple[Runtime, Path]]) -> None:
    answers = []
    for runtime, bundle in pair:
        runtime.ok("run", "-d", "--bundle", str(bundle), "c1")
        runtime.ok("kill", "c1", "KILL")
        for _ in range(100):
            if json.loads(runtime.ok("state", "c1"))["status"] == "stopped":
                break
            subprocess.run(["sleep", "0.05"])
        answers.append((json.loads(runtime.ok("state", "c1"))["status"],
                        runtime.ok("ps", "c1").split(),
                        runtime("exec", "c1", "true").returncode != 0,
                        runtime("delete", "c1").returncode))
    assert answers[0] == answers[1]
    assert answers[0][0] == "stopped"
