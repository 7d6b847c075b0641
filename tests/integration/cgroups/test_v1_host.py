"""The manager on this host's real cgroups (v1 controllers, hybrid cgroup2)."""

import os
import signal

import pytest

from ketch.cgroups import detect
from ketch.cgroups.stats import stats_to_json
from ketch.errors import FailedPrecondition
from ketch.oci.runtime_spec import CPU, LinuxResources, Memory, Pids

pytestmark = pytest.mark.root

needs_v1 = pytest.mark.skipif(detect().kind == "v2", reason="host has no cgroup v1 controllers")


def cgroup_of(pid: int) -> dict[str, str]:
    out = {}
    with open(f"/proc/{pid}/cgroup") as f:
        for line in f:
            _, ctrls, path = line.rstrip("\n").split(":", 2)
            for c in ctrls.split(",") if ctrls else [""]:
                out[c] = path
    return out


@needs_v1
def test_create_add_and_destroy(cgroup, children, test_parent, mode):
    paths = cgroup.paths()
    assert all(os.path.isdir(p) for p in paths.values())
    child = children.sleep()
    cgroup.add_process(child.pid)
    where = cgroup_of(child.pid)
    for ctrl in ("memory", "pids", "freezer", "cpuset"):
        if ctrl in paths:
            assert where[ctrl] == f"/{test_parent}/c1"
    if mode.kind == "hybrid":
        assert where[""] == f"/{test_parent}/c1"
    assert cgroup.pids() == [child.pid]
    with pytest.raises(FailedPrecondition):
        cgroup.destroy()  # still populated: the retries end in a clear error
    cgroup.kill_all(signal.SIGKILL)
    assert child.wait(timeout=10) == -signal.SIGKILL
    cgroup.destroy()
    assert not any(os.path.exists(p) for p in paths.values())
    cgroup.destroy()  # gone already: fine


@needs_v1
def test_limits_are_written(cgroup):
    cgroup.set(
        LinuxResources(
            memory=Memory(limit=64 << 20, reservation=16 << 20),
            cpu=CPU(shares=512, quota=20000, period=100000),
            pids=Pids(limit=10),
        )
    )
    paths = cgroup.paths()

    def read(ctrl, name):
        with open(f"{paths[ctrl]}/{name}") as f:
            return f.read().strip()

    assert read("memory", "memory.limit_in_bytes") == str(64 << 20)
    assert read("cpu", "cpu.shares") == "512"
    assert read("cpu", "cpu.cfs_quota_us") == "20000"
    assert read("pids", "pids.max") == "10"
    cgroup.set(LinuxResources(pids=Pids(limit=-1), memory=Memory(limit=-1)))
    assert read("pids", "pids.max") == "max"
    assert int(read("memory", "memory.limit_in_bytes")) > 1 << 60


@needs_v1
def test_pids_limit_stops_fork(cgroup, children):
    cgroup.set(LinuxResources(pids=Pids(limit=1)))
    child = children.python(
        "import os\n"
        "try:\n    pid = os.fork()\nexcept BlockingIOError:\n    print('EAGAIN')\n"
        "else:\n    print('forked')\n    os._exit(0) if pid == 0 else os.waitpid(pid, 0)\n"
    )
    cgroup.add_process(child.pid)
    out, _ = child.communicate("go\n", timeout=30)
    assert out.strip() == "EAGAIN"


@needs_v1
def test_freeze_and_thaw(cgroup, children):
    child = children.sleep()
    cgroup.add_process(child.pid)
    cgroup.freeze()
    assert cgroup.frozen()
    with open(f"{cgroup.paths()['freezer']}/freezer.state") as f:
        assert f.read().strip() == "FROZEN"
    cgroup.kill_all(signal.SIGTERM)  # queued while frozen
    cgroup.thaw()
    assert not cgroup.frozen()
    assert child.wait(timeout=10) == -signal.SIGTERM


@needs_v1
def test_kill_all_with_signals_when_no_cgroup_kill(cgroup, children, monkeypatch):
    paths = dict(cgroup.paths())
    paths.pop("", None)  # v1 only: signals each process, frozen in between
    from ketch.cgroups._v1 import V1Manager

    roots = {k: v[: v.index("/ketch-test-")] for k, v in paths.items()}
    v1 = V1Manager(paths, roots)
    kids = [children.sleep() for _ in range(3)]
    for kid in kids:
        v1.add_process(kid.pid)
    v1.kill_all(signal.SIGKILL)
    assert [k.wait(timeout=10) for k in kids] == [-signal.SIGKILL] * 3
    assert not v1.frozen()


@needs_v1
def test_stats_numbers(cgroup, children):
    child = children.python("x = bytearray(8 << 20)\nsum(range(3_000_000))\nprint('done')\n")
    cgroup.add_process(child.pid)
    out, _ = child.communicate("go\n", timeout=60)
    assert out.strip() == "done"
    stats = cgroup.stats()
    assert stats.cpu.usage.total > 0 and len(stats.cpu.usage.percpu) == os.cpu_count()
    assert stats.memory.usage.max > 8 << 20
    assert stats.memory.usage.limit > 0
    data = stats_to_json(stats)
    assert data["cpu"]["usage"]["total"] == stats.cpu.usage.total


@needs_v1
def test_memory_limit_oom_kills(cgroup, children):
    cgroup.set(LinuxResources(memory=Memory(limit=32 << 20, swap=32 << 20)))
    child = children.python("x = bytearray(200 << 20)\nprint('survived')\n")
    cgroup.add_process(child.pid)
    out, _ = child.communicate("go\n", timeout=60)
    assert child.returncode == -signal.SIGKILL and "survived" not in out
    assert cgroup.oom_kill_count() >= 1
    memory = cgroup.stats().memory
    assert memory.usage.max == 32 << 20  # hit the limit
    # (memory.failcnt stays 0 on some recent kernels: oom_kill is the reliable witness)


@needs_v1
def test_memory_limit_below_usage_is_refused(cgroup, children):
    child = children.python("x = bytearray(24 << 20)\nx[::4096] = b'1' * len(x[::4096])\n"
                            "print('ready', flush=True)\nsys.stdin.readline()\n")  # fmt: skip
    cgroup.add_process(child.pid)
    child.stdin.write("go\n")
    child.stdin.flush()
    assert child.stdout.readline().strip() == "ready"
    cgroup.set(LinuxResources(memory=Memory(disable_oom_killer=True)))
    with pytest.raises(FailedPrecondition, match="already uses"):
        cgroup.set(LinuxResources(memory=Memory(limit=1 << 20)))


@needs_v1
def test_v1_device_rules_are_enforced(cgroup, children):
    from ketch.oci.runtime_spec import DeviceRule

    from .test_cgroup2 import PROBE

    if "devices" not in cgroup.paths():
        pytest.skip("no v1 devices controller")
    cgroup.set(
        LinuxResources(
            devices=(
                DeviceRule(allow=False, access="rwm"),
                DeviceRule(allow=True, type="c", major=1, minor=3, access="rwm"),
                DeviceRule(allow=True, type="c", major=1, minor=5, access="r"),
            )
        )
    )
    with open(f"{cgroup.paths()['devices']}/devices.list") as f:
        assert sorted(f.read().split("\n")[:-1]) == ["c 1:3 rwm", "c 1:5 r"]
    child = children.python(PROBE)
    cgroup.add_process(child.pid)
    out, err = child.communicate("go\n", timeout=30)
    assert [line.rsplit(" ", 1)[1] for line in out.split("\n")[:4]] == [
        "ok", "ok", "EPERM", "EPERM",
    ], err  # fmt: skip


@needs_v1
def test_v1_device_update_keeps_unchanged_devices(cgroup, monkeypatch):
    from ketch.cgroups import _files
    from ketch.oci.runtime_spec import DeviceRule

    if "devices" not in cgroup.paths():
        pytest.skip("no v1 devices controller")
    deny_all = DeviceRule(allow=False, access="rwm")
    null = DeviceRule(allow=True, type="c", major=1, minor=3, access="rwm")
    cgroup.set(LinuxResources(devices=(deny_all, null)))
    writes = []
    real = _files.write
    monkeypatch.setattr(_files, "write", lambda d, n, v: (writes.append((n, v)), real(d, n, v)))
    zero = DeviceRule(allow=True, type="c", major=1, minor=5, access="r")
    cgroup.set(LinuxResources(devices=(deny_all, null, zero)))
    assert writes == [("devices.allow", "c 1:5 r")]
    with open(f"{cgroup.paths()['devices']}/devices.list") as f:
        assert sorted(f.read().split("\n")[:-1]) == ["c 1:3 rwm", "c 1:5 r"]


@needs_v1
def test_kill_all_of_a_paused_container(cgroup, children):
    child = children.sleep()
    cgroup.add_process(child.pid)
    cgroup.freeze()
    cgroup.kill_all(signal.SIGKILL)
    assert child.wait(timeout=10) == -signal.SIGKILL
    assert not cgroup.frozen()
    cgroup.destroy()
