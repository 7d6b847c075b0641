"""Fixture cgroup trees in a temp dir that look like v1 and v2 hierarchies."""

from pathlib import Path

V1_FILES: dict[str, dict[str, str]] = {
    "cpu": {
        "cpu.shares": "1024\n", "cpu.cfs_period_us": "100000\n", "cpu.cfs_quota_us": "-1\n",
        "cpu.cfs_burst_us": "0\n", "cpu.rt_period_us": "1000000\n", "cpu.rt_runtime_us": "0\n",
        "cpu.idle": "0\n", "cpu.stat": "nr_periods 10\nnr_throttled 3\nthrottled_time 5000\n",
    },
    "cpuacct": {
        "cpuacct.usage": "123456789\n", "cpuacct.usage_percpu": "100000000 23456789 \n",
        "cpuacct.usage_percpu_sys": "1000 2000 \n", "cpuacct.usage_percpu_user": "3000 4000 \n",
        "cpuacct.stat": "user 7\nsystem 3\n",
    },
    "cpuset": {"cpuset.cpus": "\n", "cpuset.mems": "\n"},
    "memory": {
        "memory.limit_in_bytes": "9223372036854771712\n", "memory.usage_in_bytes": "4096000\n",
        "memory.max_usage_in_bytes": "8192000\n", "memory.failcnt": "2\n",
        "memory.memsw.limit_in_bytes": "9223372036854771712\n",
        "memory.memsw.usage_in_bytes": "4096000\n", "memory.memsw.max_usage_in_bytes": "8192000\n",
        "memory.memsw.failcnt": "0\n", "memory.kmem.limit_in_bytes": "9223372036854771712\n",
        "memory.kmem.usage_in_bytes": "1000\n", "memory.kmem.max_usage_in_bytes": "2000\n",
        "memory.kmem.failcnt": "0\n", "memory.kmem.tcp.limit_in_bytes": "9223372036854771712\n",
        "memory.kmem.tcp.usage_in_bytes": "0\n", "memory.kmem.tcp.max_usage_in_bytes": "0\n",
        "memory.kmem.tcp.failcnt": "0\n", "memory.soft_limit_in_bytes": "9223372036854771712\n",
        "memory.swappiness": "60\n", "memory.oom_control": "oom_kill_disable 0\nunder_oom 0\noom_kill 4\n",
        "memory.stat": "cache 1024\nrss 2048\ntotal_cache 4096\nmapped_file 0\n",
    },
    "devices": {"devices.allow": "", "devices.deny": "", "devices.list": "a *:* rwm\n"},
    "freezer": {"freezer.state": "THAWED\n"},
    "blkio": {
        "blkio.throttle.read_bps_device": "", "blkio.throttle.write_bps_device": "",
        "blkio.throttle.read_iops_device": "", "blkio.throttle.write_iops_device": "",
        "blkio.throttle.io_service_bytes_recursive": "8:0 Read 4096\n8:0 Write 8192\nTotal 12288\n",
        "blkio.throttle.io_serviced_recursive": "8:0 Read 1\n8:0 Write 2\nTotal 3\n",
        "blkio.weight": "500\n", "blkio.weight_device": "", "blkio.leaf_weight": "500\n",
    },
    "pids": {"pids.max": "max\n", "pids.current": "3\n"},
    "hugetlb": {
        "hugetlb.2MB.limit_in_bytes": "9223372036854771712\n", "hugetlb.2MB.usage_in_bytes": "0\n",
        "hugetlb.2MB.max_usage_in_bytes": "2097152\n", "hugetlb.2MB.failcnt": "1\n",
    },
    "systemd": {},
}  # fmt: skip

V2_FILES: dict[str, str] = {
    "cgroup.controllers": "cpuset cpu io memory hugetlb pids rdma\n",
    "cgroup.subtree_control": "", "cgroup.events": "populated 1\nfrozen 0\n",
    "cgroup.freeze": "0\n", "cgroup.kill": "", "cgroup.procs": "",
    "cpu.weight": "100\n", "cpu.max": "max 100000\n", "cpu.max.burst": "0\n", "cpu.idle": "0\n",
    "cpu.stat": "usage_usec 2000\nuser_usec 1500\nsystem_usec 500\nnr_periods 7\n"
                "nr_throttled 2\nthrottled_usec 30\n",
    "cpuset.cpus": "", "cpuset.mems": "",
    "memory.max": "max\n", "memory.low": "0\n", "memory.swap.max": "max\n",
    "memory.current": "8192\n", "memory.peak": "16384\n", "memory.swap.current": "0\n",
    "memory.events": "low 0\nhigh 0\nmax 5\noom 1\noom_kill 1\noom_group_kill 0\n",
    "memory.stat": "anon 4096\nfile 2048\n",
    "pids.max": "max\n", "pids.current": "2\n",
    "io.weight": "default 100\n", "io.max": "",
    "io.stat": "8:0 rbytes=4096 wbytes=512 rios=2 wios=1 dbytes=0 dios=0\n",
    "hugetlb.2MB.max": "max\n", "hugetlb.2MB.current": "0\n",
    "hugetlb.2MB.events": "max 0\n", "rdma.max": "",
}  # fmt: skip

V1_CONTROLLERS = {
    "cpu": "cpu", "cpuacct": "cpuacct", "cpuset": "cpuset", "memory": "memory",
    "devices": "devices", "freezer": "freezer", "blkio": "blkio", "pids": "pids",
    "hugetlb": "hugetlb", "systemd": "name=systemd",
}  # fmt: skip


def v1_mountinfo(base: Path, unified: bool = True, skip: tuple[str, ...] = ()) -> str:
    lines = []
    for i, (name, opt) in enumerate(V1_CONTROLLERS.items()):
        if name not in skip:
            lines.append(
                f"{30 + i} 23 0:{40 + i} / {base}/{name} rw,relatime - cgroup cgroup rw,{opt}"
            )
    if unified:
        lines.append(f"60 23 0:60 / {base}/unified rw,relatime - cgroup2 cgroup2 rw")
    return "\n".join(lines) + "\n"


def v2_mountinfo(base: Path) -> str:
    return f"26 23 0:26 / {base} rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n"


def _files(path: Path, files: dict[str, str]) -> None:
    path.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (path / name).write_text(text)


def v1_tree(base: Path, rel: str = "ketch/c1", skip: tuple[str, ...] = ()) -> Path:
    """Hierarchies at base/<controller> with the cgroup ``rel`` made in each (and parents)."""
    for name in V1_CONTROLLERS:
        if name in skip:
            continue
        files = {**V1_FILES[name], "cgroup.procs": ""}
        parts = ["", *rel.split("/")]
        for depth in range(len(parts)):
            sub = "/".join(parts[1 : depth + 1])
            level = dict(files)
            if name == "cpuset" and depth == 0:
                level.update({"cpuset.cpus": "0-1\n", "cpuset.mems": "0\n"})
            if name == "freezer" and depth == 0:
                level.pop("freezer.state")
            _files(base / name / sub if sub else base / name, level)
    unified = base / "unified"
    _files(unified / rel, {"cgroup.procs": "", "cgroup.freeze": "0\n",
                           "cgroup.events": "populated 0\nfrozen 0\n", "cgroup.kill": ""})  # fmt: skip
    (unified / "cgroup.procs").write_text("")
    return base


def v2_tree(base: Path, rel: str = "ketch/c1") -> Path:
    parts = rel.split("/")
    _files(base, {**V2_FILES})
    for depth in range(1, len(parts) + 1):
        _files(base / "/".join(parts[:depth]), {**V2_FILES, "cgroup.subtree_control": ""})
    return base
