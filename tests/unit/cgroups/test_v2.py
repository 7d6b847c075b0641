import json

import pytest

from ketch.cgroups import open_manager
from ketch.cgroups._convert import blkio_weight_to_io_weight, cpu_shares_to_weight, swap_to_v2
from ketch.cgroups._mode import parse_mountinfo
from ketch.cgroups.stats import stats_to_json
from ketch.errors import InvalidArgument, NotImplementedByHost
from ketch.oci.runtime_spec import (
    CPU,
    BlockIO,
    HugepageLimit,
    LinuxResources,
    Memory,
    Network,
    Pids,
    ThrottleDevice,
    WeightDevice,
)

from .fixtures import v2_mountinfo, v2_tree


@pytest.fixture
def tree(tmp_path):
    return v2_tree(tmp_path / "cg")


def manager(tree):
    return open_manager("/ketch/c1", "c1", mode=parse_mountinfo(v2_mountinfo(tree)))


def read(tree, name):
    return (tree / "ketch/c1" / name).read_text()


@pytest.mark.parametrize(
    ("shares", "weight"), [(0, 0), (2, 1), (1024, 100), (262144, 10000), (512, 59), (4096, 303)]
)
def test_cpu_shares_to_weight(shares, weight):
    assert cpu_shares_to_weight(shares) == weight


def test_blkio_weight_and_swap_conversions():
    assert [blkio_weight_to_io_weight(w) for w in (0, 10, 500, 1000)] == [0, 1, 4950, 10000]
    assert swap_to_v2(300, 100) == 200
    assert swap_to_v2(0, -1) == -1
    assert swap_to_v2(-1, 100) == -1
    assert swap_to_v2(0, 100) == 0
    with pytest.raises(InvalidArgument, match=r"below memory\.limit"):
        swap_to_v2(50, 100)
    with pytest.raises(InvalidArgument, match="needs a memory limit"):
        swap_to_v2(50, 0)


def test_resources_written(tree):
    cg = manager(tree)
    cg.set(
        LinuxResources(
            cpu=CPU(shares=1024, quota=50000, period=200000, burst=10, cpus="0", idle=1),
            memory=Memory(limit=64 << 20, swap=96 << 20, reservation=1 << 20, swappiness=5),
            pids=Pids(limit=0),
            block_io=BlockIO(
                weight=500,
                weight_device=(WeightDevice(major=8, minor=0, weight=1000),),
                throttle_read_bps_device=(ThrottleDevice(major=8, minor=0, rate=1000),),
            ),
            hugepage_limits=(HugepageLimit(page_size="2MB", limit=-1),),
            network=Network(class_id=7),  # no v2 counterpart: ignored
            unified={"memory.max": "123456"},  # written last: overrides
        )
    )
    assert read(tree, "cpu.weight") == "100"
    assert read(tree, "cpu.max") == "50000 200000"
    assert read(tree, "cpu.max.burst") == "10"
    assert read(tree, "cpu.idle") == "1"
    assert read(tree, "cpuset.cpus") == "0"
    assert read(tree, "memory.swap.max") == str(32 << 20)
    assert read(tree, "memory.low") == str(1 << 20)
    assert read(tree, "memory.max") == "123456"
    assert read(tree, "pids.max") == "max"
    assert read(tree, "io.weight") == "8:0 10000"  # the per-device line came last
    assert read(tree, "io.max") == "8:0 rbps=1000"
    assert read(tree, "hugetlb.2MB.max") == "max"


def test_cpu_max_edge_cases(tree):
    cg = manager(tree)
    (tree / "ketch/c1/cpu.max").write_text("30000 100000\n")
    cg.set(LinuxResources(cpu=CPU(period=50000)))  # keeps the quota
    assert read(tree, "cpu.max") == "30000 50000"
    cg.set(LinuxResources(cpu=CPU(quota=0)))  # 0 is "unset"
    assert read(tree, "cpu.max") == "30000 50000"
    cg.set(LinuxResources(cpu=CPU(quota=-1)))
    assert read(tree, "cpu.max") == "max"


def test_bfq_takes_v1_weights(tree):
    (tree / "ketch/c1/io.bfq.weight").write_text("100\n")
    manager(tree).set(LinuxResources(block_io=BlockIO(weight=300)))
    assert read(tree, "io.bfq.weight") == "300"


def test_v2_refusals(tree):
    cg = manager(tree)
    with pytest.raises(NotImplementedByHost, match="real-time"):
        cg.set(LinuxResources(cpu=CPU(realtime_runtime=1000)))
    with pytest.raises(NotImplementedByHost, match=r"writing '1' to .*/no\.such"):
        cg.set(LinuxResources(unified={"no.such": "1"}))
    for key in ("../memory.max", "cgroup", ".hidden.x"):
        with pytest.raises(InvalidArgument, match="not a cgroup file name"):
            cg.set(LinuxResources(unified={key: "1"}))
    for key in ("cgroup.procs", "cgroup.kill", "cgroup.subtree_control"):
        with pytest.raises(InvalidArgument, match="not a resource limit"):
            cg.set(LinuxResources(unified={key: "1"}))
    (tree / "ketch/c1/cgroup.max.depth").write_text("max\n")
    cg.set(LinuxResources(unified={"cgroup.max.depth": "2"}))
    assert read(tree, "cgroup.max.depth") == "2"
    (tree / "ketch/c1/memory.swap.max").unlink()
    with pytest.raises(NotImplementedByHost, match="swap accounting"):
        cg.set(LinuxResources(memory=Memory(limit=100, swap=200)))


def test_create_enables_controllers(tree):
    manager(tree).create()
    assert (tree / "cgroup.subtree_control").read_text().endswith("+rdma")
    assert (tree / "ketch/cgroup.subtree_control").read_text().endswith("+rdma")


def test_freeze_and_kill(tree):
    cg = manager(tree)
    (tree / "ketch/c1/cgroup.events").write_text("populated 1\nfrozen 1\n")
    cg.freeze()
    assert read(tree, "cgroup.freeze") == "1" and cg.frozen()
    (tree / "ketch/c1/cgroup.events").write_text("populated 1\nfrozen 0\n")
    cg.kill_all(9)
    assert read(tree, "cgroup.kill") == "1"


def test_stats_v2(tree):
    cg = manager(tree)
    stats = cg.stats()
    assert stats.cpu.usage.total == 2_000_000 and stats.cpu.usage.user == 1_500_000
    assert stats.cpu.throttling.throttled_time == 30_000
    assert stats.memory.usage.usage == 8192 and stats.memory.usage.max == 16384
    assert stats.memory.usage.limit == (1 << 64) - 1 and stats.memory.usage.failcnt == 5
    assert stats.memory.cache == 2048
    assert stats.pids.current == 2 and stats.pids.limit == 0
    assert [(e.op, e.value) for e in stats.blkio.io_service_bytes_recursive] == [
        ("Read", 4096),
        ("Write", 512),
        ("Discard", 0),
    ]
    assert cg.oom_kill_count() == 1
    data = json.loads(json.dumps(stats_to_json(stats)))
    assert data["memory"]["usage"] == {
        "limit": (1 << 64) - 1,
        "usage": 8192,
        "max": 16384,
        "failcnt": 5,
    }
    assert data["blkio"]["ioServiceBytesRecursive"][2] == {"major": 8, "op": "Discard"}


def test_controller_not_enabled_is_found_before_any_write(tree):
    (tree / "ketch/c1/cgroup.controllers").write_text("cpu pids\n")
    with pytest.raises(NotImplementedByHost, match="memory controller is not enabled"):
        manager(tree).set(LinuxResources(pids=Pids(limit=5), memory=Memory(limit=1 << 20)))
    assert read(tree, "pids.max") == "max\n"
