import pytest

from ketch.cgroups import CgroupMode, detect, load_manager, open_manager
from ketch.cgroups._mode import CgroupMount, parse_mountinfo
from ketch.cgroups._paths import clean_cgroups_path, parse_proc_cgroup
from ketch.errors import InvalidArgument, NotImplementedByHost

from .fixtures import v1_mountinfo, v2_mountinfo

HOST_HYBRID = """\
23 1 0:21 / /sys rw - sysfs sysfs rw
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime shared:9 - cgroup cgroup rw,cpu,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
90 35 0:32 / /mnt/again rw,relatime - cgroup cgroup rw,memory
"""


def test_hybrid_host_with_joined_cpu_cpuacct():
    mode = parse_mountinfo(HOST_HYBRID)
    assert mode.kind == "hybrid"
    cpu = mode.mount_for("cpuacct")
    assert cpu == CgroupMount("/sys/fs/cgroup/cpu,cpuacct", "/", 1, ("cpu", "cpuacct"))
    assert mode.mount_for("name=systemd") is not None
    assert mode.mount_for("memory").mountpoint == "/sys/fs/cgroup/memory"  # first mount wins
    assert mode.unified == CgroupMount("/sys/fs/cgroup/unified", "/", 2)


def test_pure_v2_and_pure_v1_and_none(tmp_path):
    assert parse_mountinfo(v2_mountinfo(tmp_path)).kind == "v2"
    assert parse_mountinfo(v1_mountinfo(tmp_path, unified=False)).kind == "v1"
    with pytest.raises(NotImplementedByHost, match="no cgroup filesystem"):
        parse_mountinfo("23 1 0:21 / /sys rw - sysfs sysfs rw\n")


def test_mountpoint_escapes_are_decoded():
    mode = parse_mountinfo("26 23 0:26 / /mnt/my\\040cg rw - cgroup2 cgroup2 rw\n")
    assert mode.unified is not None and mode.unified.mountpoint == "/mnt/my cg"


def test_detect_reads_the_file(tmp_path):
    (tmp_path / "mountinfo").write_text(v2_mountinfo(tmp_path / "cg"))
    assert detect(str(tmp_path / "mountinfo")).kind == "v2"
    with pytest.raises(NotImplementedByHost, match="cannot read"):
        detect(str(tmp_path / "missing"))


def test_parse_proc_cgroup():
    own = parse_proc_cgroup("4:memory:/a/b\n2:cpu,cpuacct:/\n1:name=systemd:/s\n0::/u\n")
    assert own == {"memory": "/a/b", "cpu": "/", "cpuacct": "/", "name=systemd": "/s", "": "/u"}


@pytest.mark.parametrize(
    ("given", "expected"),
    [(None, "/ketch/c1"), ("/a//b/./c/", "/a/b/c"), ("a/b", "a/b"), ("/x:y:z", "/x:y:z")],
)
def test_clean_cgroups_path(given, expected):
    assert clean_cgroups_path(given, "c1") == expected


@pytest.mark.parametrize(
    ("given", "error", "message"),
    [
        ("system.slice:ketch:c1", NotImplementedByHost, "systemd cgroup driver"),
        ("/a/../../etc", InvalidArgument, r"'\.\.' is not allowed"),
        ("a/\0", InvalidArgument, "NUL"),
    ],
)
def test_bad_cgroups_paths(given, error, message):
    with pytest.raises(error, match=message):
        clean_cgroups_path(given, "c1")


def test_root_cgroup_is_refused(tmp_path):
    mode = parse_mountinfo(v2_mountinfo(tmp_path))
    with pytest.raises(InvalidArgument, match="root cgroup"):
        open_manager("/", "c1", mode=mode)


def test_absolute_path_on_hybrid_goes_under_every_root(tmp_path):
    mode = parse_mountinfo(v1_mountinfo(tmp_path))
    cg = open_manager("/pods/c1", "c1", mode=mode)
    paths = cg.paths()
    assert cg.version == "hybrid"
    assert paths["memory"] == f"{tmp_path}/memory/pods/c1"
    assert paths["name=systemd"] == f"{tmp_path}/systemd/pods/c1"
    assert paths[""] == f"{tmp_path}/unified/pods/c1"


def test_default_path_is_ketch_id(tmp_path):
    mode = parse_mountinfo(v2_mountinfo(tmp_path))
    cg = open_manager(None, "abc", mode=mode)
    assert cg.version == "v2" and cg.paths() == {"": f"{tmp_path}/ketch/abc"}
    with pytest.raises(InvalidArgument, match="container id"):
        open_manager(None, "../x", mode=mode)


def test_relative_path_is_under_own_cgroup(tmp_path):
    mode = parse_mountinfo(v1_mountinfo(tmp_path))
    (tmp_path / "self_cgroup").write_text("4:memory:/process_api/x\n3:cpu:/\n0::/user.slice\n")
    cg = open_manager("ctr/c1", "c1", mode=mode, proc_cgroup=str(tmp_path / "self_cgroup"))
    paths = cg.paths()
    assert paths["memory"] == f"{tmp_path}/memory/process_api/x/ctr/c1"
    assert paths["cpu"] == f"{tmp_path}/cpu/ctr/c1"
    assert paths["pids"] == f"{tmp_path}/pids/ctr/c1"  # not listed: the hierarchy's top
    assert paths[""] == f"{tmp_path}/unified/user.slice/ctr/c1"


def test_relative_path_with_a_bind_mounted_subtree(tmp_path):
    text = f"26 23 0:26 /kubepods/pod1 {tmp_path} rw - cgroup2 cgroup2 rw\n"
    (tmp_path / "self_cgroup").write_text("0::/kubepods/pod1/sub\n")
    cg = open_manager(
        "c1", "c1", mode=parse_mountinfo(text), proc_cgroup=str(tmp_path / "self_cgroup")
    )
    assert cg.paths() == {"": f"{tmp_path}/sub/c1"}


def test_load_manager_round_trip(tmp_path):
    mode = parse_mountinfo(v1_mountinfo(tmp_path))
    cg = open_manager("/a/c1", "c1", mode=mode)
    again = load_manager(cg.paths(), mode)
    assert again.paths() == cg.paths() and again.version == "hybrid"
    with pytest.raises(InvalidArgument, match="does not mount"):
        load_manager({"rdma": f"{tmp_path}/rdma/a"}, mode)


def test_a_dir_outside_its_mount_is_refused(tmp_path):
    mode = CgroupMode("v2", (CgroupMount(str(tmp_path / "cg"), "/", 2),))
    with pytest.raises(InvalidArgument, match="not below"):
        load_manager({"": str(tmp_path / "elsewhere")}, mode)
