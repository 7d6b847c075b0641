import json

import pytest

from ketch.cgroups import _files, open_manager
from ketch.cgroups._mode import parse_mountinfo
from ketch.cgroups.stats import stats_to_json
from ketch.errors import FailedPrecondition, InvalidArgument, NotImplementedByHost
from ketch.oci.runtime_spec import (
    CPU,
    BlockIO,
    DeviceRule,
    HugepageLimit,
    LinuxResources,
    Memory,
    Network,
    Pids,
    ThrottleDevice,
    WeightDevice,
)

from .fixtures import v1_mountinfo, v1_tree


@pytest.fixture
def tree(tmp_path):
    return v1_tree(tmp_path / "cg")


def manager(tree, skip=()):
    return open_manager("/ketch/c1", "c1", mode=parse_mountinfo(v1_mountinfo(tree, skip=skip)))


def read(tree, ctrl, name):
    return (tree / ctrl / "ketch/c1" / name).read_text()


def test_cpu_memory_pids_written(tree):
    cg = manager(tree)
    cg.set(
        LinuxResources(
            cpu=CPU(shares=512, quota=50000, period=100000, burst=1000, cpus="1", mems="0"),
            memory=Memory(
                limit=64 << 20,
                reservation=32 << 20,
                swap=128 << 20,
                swappiness=10,
                disable_oom_killer=True,
                kernel=1 << 20,
            ),
            pids=Pids(limit=20),
        )
    )
    assert read(tree, "cpu", "cpu.shares") == "512"
    assert read(tree, "cpu", "cpu.cfs_quota_us") == "50000"
    assert read(tree, "cpu", "cpu.cfs_period_us") == "100000"
    assert read(tree, "cpu", "cpu.cfs_burst_us") == "1000"
    assert read(tree, "cpuset", "cpuset.cpus") == "1"
    assert read(tree, "memory", "memory.limit_in_bytes") == str(64 << 20)
    assert read(tree, "memory", "memory.memsw.limit_in_bytes") == str(128 << 20)
    assert read(tree, "memory", "memory.soft_limit_in_bytes") == str(32 << 20)
    assert read(tree, "memory", "memory.swappiness") == "10"
    assert read(tree, "memory", "memory.oom_control") == "1"
    assert read(tree, "memory", "memory.kmem.limit_in_bytes").startswith("922")  # ignored
    assert read(tree, "pids", "pids.max") == "20"
    cg.set(LinuxResources(pids=Pids(limit=-1)))
    assert read(tree, "pids", "pids.max") == "max"


def test_memory_and_swap_write_order(tree, monkeypatch):
    writes = []
    real = _files.write
    monkeypatch.setattr(_files, "write", lambda d, n, v: (writes.append((n, v)), real(d, n, v)))
    cg = manager(tree)
    (tree / "memory/ketch/c1/memory.limit_in_bytes").write_text("1000000\n")
    cg.set(LinuxResources(memory=Memory(limit=2000000, swap=3000000)))  # growing: memsw first
    cg.set(LinuxResources(memory=Memory(limit=100000, swap=200000)))  # shrinking: memory first
    assert writes == [
        ("memory.memsw.limit_in_bytes", "3000000"),
        ("memory.limit_in_bytes", "2000000"),
        ("memory.limit_in_bytes", "100000"),
        ("memory.memsw.limit_in_bytes", "200000"),
    ]
    writes.clear()
    cg.set(LinuxResources(memory=Memory(limit=-1)))  # unlimited lifts swap too
    assert writes == [("memory.memsw.limit_in_bytes", "-1"), ("memory.limit_in_bytes", "-1")]


def test_blkio_hugetlb_network_devices(tree):
    cg = manager(tree, skip=())
    cg.set(
        LinuxResources(
            block_io=BlockIO(
                weight=300,
                weight_device=(WeightDevice(major=8, minor=0, weight=400),),
                throttle_read_bps_device=(ThrottleDevice(major=8, minor=0, rate=1048576),),
                throttle_write_iops_device=(ThrottleDevice(major=8, minor=16, rate=100),),
            ),
            hugepage_limits=(HugepageLimit(page_size="2MB", limit=4 << 20),),
            devices=(
                DeviceRule(allow=False, access="rwm"),
                DeviceRule(allow=True, type="c", major=1, minor=3, access="rwm"),
                DeviceRule(allow=False, type="c", major=1, minor=3, access="m"),
            ),
        )
    )
    assert read(tree, "blkio", "blkio.weight") == "300"
    assert read(tree, "blkio", "blkio.weight_device") == "8:0 400"
    assert read(tree, "blkio", "blkio.throttle.read_bps_device") == "8:0 1048576"
    assert read(tree, "blkio", "blkio.throttle.write_iops_device") == "8:16 100"
    assert read(tree, "hugetlb", "hugetlb.2MB.limit_in_bytes") == str(4 << 20)
    # from "allow all": reset with "a", then the outcome of the rules (a fixture file
    # keeps the last write)
    assert read(tree, "devices", "devices.deny") == "a"
    assert read(tree, "devices", "devices.allow") == "c 1:3 rw"
    with pytest.raises(NotImplementedByHost, match="net_cls cgroup controller is not mounted"):
        cg.set(LinuxResources(network=Network(class_id=0x100001)))


def test_devices_start_with_deny_all(tree, monkeypatch):
    writes = []
    monkeypatch.setattr(_files, "write", lambda d, n, v: writes.append((n, v)))
    manager(tree).set(
        LinuxResources(devices=(DeviceRule(allow=True, type="c", major=1, minor=5, access="r"),))
    )
    assert writes == [("devices.deny", "a"), ("devices.allow", "c 1:5 r")]


def test_device_update_writes_only_the_difference(tree, monkeypatch):
    writes = []
    monkeypatch.setattr(_files, "write", lambda d, n, v: writes.append((n, v)))
    (tree / "devices/ketch/c1/devices.list").write_text("c 1:3 rwm\nc 1:5 r\nc 136:* rw\n")
    manager(tree).set(
        LinuxResources(
            devices=(
                DeviceRule(allow=False, access="rwm"),
                DeviceRule(allow=True, type="c", major=1, minor=3),
                DeviceRule(allow=True, type="c", major=1, minor=9, access="rw"),
                DeviceRule(allow=True, type="c", major=136, access="rwm"),
            )
        )
    )
    assert writes == [
        ("devices.allow", "c 1:9 rw"),
        ("devices.allow", "c 136:* m"),
        ("devices.deny", "c 1:5 r"),
    ]


def test_unified_is_refused_on_v1(tree):
    with pytest.raises(NotImplementedByHost, match=r"unified: needs cgroup v2"):
        manager(tree).set(LinuxResources(unified={"memory.high": "1G"}))


def test_missing_file_names_file_and_value(tree):
    (tree / "cpu/ketch/c1/cpu.cfs_burst_us").unlink()
    with pytest.raises(NotImplementedByHost, match=r"writing '5' to .*cpu.cfs_burst_us"):
        manager(tree).set(LinuxResources(cpu=CPU(burst=5)))


def test_missing_controller(tree):
    cg = manager(tree, skip=("pids",))
    with pytest.raises(NotImplementedByHost, match="pids cgroup controller is not mounted"):
        cg.set(LinuxResources(pids=Pids(limit=5)))


def test_invalid_values_write_nothing(tree):
    cg = manager(tree)
    bad = LinuxResources(
        pids=Pids(limit=5),
        devices=(DeviceRule(allow=True, type="z"),),
    )
    with pytest.raises(InvalidArgument, match=r"devices\[0\].type"):
        cg.set(bad)
    assert read(tree, "pids", "pids.max") == "max\n"
    for resources, message in [
        (LinuxResources(memory=Memory(swappiness=101)), "swappiness: 101"),
        (LinuxResources(hugepage_limits=(HugepageLimit("2M/../x", 1),)), "pageSize"),
        (LinuxResources(cpu=CPU(cpus="0-1\nx")), "cpu.cpus"),
        (LinuxResources(memory=Memory(limit=-7)), "memory.limit: -7"),
    ]:
        with pytest.raises(InvalidArgument, match=message):
            cg.set(resources)


def test_shares_out_of_range_is_reported(tree, monkeypatch):
    real = _files.write

    def clamp(d, n, v):  # the kernel clamps cpu.shares and says nothing
        real(d, n, "262144" if n == "cpu.shares" else v)

    monkeypatch.setattr(_files, "write", clamp)
    with pytest.raises(InvalidArgument, match=r"cpu\.shares: 999999 is out of range"):
        manager(tree).set(LinuxResources(cpu=CPU(shares=999999)))


def test_memory_ebusy_is_failed_precondition(tree, monkeypatch):
    import errno

    def busy(d, n, v):
        err = OSError(errno.EBUSY, "busy")
        raise _files.write_error(f"{d}/{n}", v, err) from err

    monkeypatch.setattr(_files, "write", busy)
    with pytest.raises(FailedPrecondition, match="already uses 4096000 bytes"):
        manager(tree).set(LinuxResources(memory=Memory(limit=1 << 20)))


def test_create_copies_cpuset_from_parent(tree):
    cg = manager(tree)
    cg.create()
    assert read(tree, "cpuset", "cpuset.cpus") == "0-1"
    assert read(tree, "cpuset", "cpuset.mems") == "0"
    assert (tree / "cpuset/ketch/cpuset.cpus").read_text() == "0-1"


def test_add_process_writes_every_hierarchy(tree):
    cg = manager(tree)
    cg.add_process(4242)
    for ctrl in ("cpu", "memory", "systemd", "unified"):
        assert read(tree, ctrl, "cgroup.procs") == "4242"


def test_freeze_thaw_v1(tree):
    cg = manager(tree)
    cg.freeze()
    assert read(tree, "freezer", "freezer.state") == "FROZEN" and cg.frozen()
    cg.thaw()
    assert read(tree, "freezer", "freezer.state") == "THAWED" and not cg.frozen()


def test_pids_are_recursive(tree):
    (tree / "pids/ketch/c1/cgroup.procs").write_text("10\n11\n")
    (tree / "pids/ketch/c1/sub").mkdir()
    (tree / "pids/ketch/c1/sub/cgroup.procs").write_text("12\n")
    assert sorted(manager(tree).pids()) == [10, 11, 12]


def test_kill_all_uses_cgroup_kill_on_hybrid(tree):
    manager(tree).kill_all(9)
    assert read(tree, "unified", "cgroup.kill") == "1"


def test_stats_v1(tree):
    cg = manager(tree)
    stats = cg.stats()
    assert stats.cpu.usage.total == 123456789
    assert stats.cpu.usage.percpu == (100000000, 23456789)
    assert stats.cpu.usage.user == 70_000_000 and stats.cpu.usage.kernel == 30_000_000
    assert stats.cpu.throttling.throttled_periods == 3
    assert stats.memory.usage.usage == 4096000 and stats.memory.usage.failcnt == 2
    assert stats.memory.usage.max == 8192000 and stats.memory.cache == 1024
    assert stats.memory.raw["rss"] == 2048
    assert stats.pids.current == 3 and stats.pids.limit == 0
    assert [(e.op, e.value) for e in stats.blkio.io_service_bytes_recursive] == [
        ("Read", 4096),
        ("Write", 8192),
    ]
    assert stats.hugetlb["2MB"].max == 2097152 and stats.hugetlb["2MB"].failcnt == 1
    assert cg.oom_kill_count() == 4
    assert stats.cpuset.cpus == ()  # the fixture's cpuset is still empty
    data = json.loads(json.dumps(stats_to_json(stats)))
    assert data["cpu"]["usage"]["percpu"] == [100000000, 23456789]
    assert data["cpu"]["throttling"] == {
        "periods": 10,
        "throttledPeriods": 3,
        "throttledTime": 5000,
    }
    assert data["memory"]["usage"]["limit"] == 9223372036854771712
    assert data["pids"] == {"current": 3}
    assert data["blkio"]["ioServicedRecursive"][1] == {"major": 8, "op": "Write", "value": 2}
    assert data["hugetlb"]["2MB"] == {"max": 2097152, "failcnt": 1}


def test_cpuset_stats_and_lists(tree):
    from ketch.cgroups._stats_v1 import cpu_list

    assert cpu_list("0-2,5\n") == (0, 1, 2, 5)
    assert cpu_list("") == () and cpu_list("x-1") == ()
    (tree / "cpuset/ketch/c1/cpuset.cpus").write_text("0-1\n")
    (tree / "cpuset/ketch/c1/cpuset.sched_load_balance").write_text("1\n")
    stats = manager(tree).stats()
    assert stats.cpuset.cpus == (0, 1) and stats.cpuset.sched_load_balance == 1
    data = stats_to_json(stats)["cpuset"]
    assert data["cpus"] == [0, 1] and "mems" not in data and data["sched_load_balance"] == 1


def test_hybrid_without_v1_devices_uses_the_ebpf_filter(tree, monkeypatch):
    from ketch.cgroups import _v2_set

    seen = []
    monkeypatch.setattr(_v2_set, "attach_device_filter", lambda path, rules: seen.append(path))
    manager(tree, skip=("devices",)).set(LinuxResources(devices=(DeviceRule(allow=True),)))
    assert seen == [f"{tree}/unified/ketch/c1"]


def test_write_errors_name_file_and_value(tmp_path):
    import errno

    from ketch.errors import NotFound, PermissionDenied

    err = _files.write_error(f"{tmp_path}/gone/memory.max", "5", OSError(errno.ENOENT, "x"))
    assert isinstance(err, NotFound) and "does not exist" in str(err)
    err = _files.write_error(f"{tmp_path}/memory.max", "5", OSError(errno.EACCES, "x"))
    assert isinstance(err, PermissionDenied) and f"'5' to {tmp_path}/memory.max" in str(err)
    assert isinstance(
        _files.write_error(f"{tmp_path}/f", "x", OSError(errno.EINVAL, "x")), InvalidArgument
    )


def test_missing_controller_is_found_before_any_write(tree):
    with pytest.raises(NotImplementedByHost, match=r"network\.classID: the net_cls"):
        manager(tree).set(LinuxResources(pids=Pids(limit=5), network=Network(class_id=1)))
    assert read(tree, "pids", "pids.max") == "max\n"


def test_create_in_an_unwritable_place_names_the_dir(tmp_path):
    from ketch.errors import NotFound

    mode = parse_mountinfo(v1_mountinfo(tmp_path / "absent"))
    with pytest.raises(NotFound, match=r"cannot create .*absent/cpu/x"):
        open_manager("/x", "c1", mode=mode).create()
