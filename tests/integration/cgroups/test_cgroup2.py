"""The v2 manager on the host's cgroup2 mount (controller-less on a hybrid host).

What works without controllers: cgroup.procs, cgroup.freeze, cgroup.kill and
the eBPF device filter.
"""

import os
import signal

import pytest

from ketch.cgroups import CgroupMode, open_manager
from ketch.errors import InvalidArgument
from ketch.linux import bpf
from ketch.oci.runtime_spec import DeviceRule, LinuxResources

pytestmark = pytest.mark.root

PROBE = """
import os
for path, flags in (("/dev/null", os.O_RDWR), ("/dev/zero", os.O_RDONLY),
                    ("/dev/zero", os.O_WRONLY), ("/dev/full", os.O_RDONLY)):
    try:
        os.close(os.open(path, flags))
        print(path, flags, "ok")
    except PermissionError:
        print(path, flags, "EPERM")
"""


@pytest.fixture
def v2(mode, test_parent, children):
    unified = mode.unified
    if unified is None:
        pytest.skip("no cgroup2 mount")
    only_v2 = CgroupMode("v2", (unified,))
    cg = open_manager(f"/{test_parent}/c1", "c1", mode=only_v2)
    cg.create()
    yield cg
    children.cleanup()
    cg.destroy()


def attached(cg) -> list[int]:
    fd = os.open(cg.paths()[""], os.O_RDONLY | os.O_DIRECTORY)
    try:
        return bpf.prog_query(fd, bpf.BPF_CGROUP_DEVICE)
    finally:
        os.close(fd)


def test_freeze_thaw_and_kill(v2, children):
    child = children.sleep()
    v2.add_process(child.pid)
    assert v2.pids() == [child.pid]
    v2.freeze()
    assert v2.frozen()
    v2.thaw()
    assert not v2.frozen()
    v2.kill_all(signal.SIGKILL)  # cgroup.kill
    assert child.wait(timeout=10) == -signal.SIGKILL


def test_device_filter_is_enforced_and_replaced(v2, children):
    rules = (
        DeviceRule(allow=False, access="rwm"),
        DeviceRule(allow=True, type="c", major=1, minor=3, access="rwm"),
        DeviceRule(allow=True, type="c", major=1, minor=5, access="r"),
    )
    v2.set(LinuxResources(devices=rules))
    assert len(attached(v2)) == 1
    child = children.python(PROBE)
    v2.add_process(child.pid)
    out, err = child.communicate("go\n", timeout=30)
    assert out.split("\n")[:4] == [
        f"/dev/null {os.O_RDWR} ok",
        f"/dev/zero {os.O_RDONLY} ok",
        f"/dev/zero {os.O_WRONLY} EPERM",
        f"/dev/full {os.O_RDONLY} EPERM",
    ], err
    v2.set(LinuxResources(devices=(DeviceRule(allow=True),)))  # update: replaces, not stacks
    assert len(attached(v2)) == 1
    child = children.python(PROBE)
    v2.add_process(child.pid)
    out, _ = child.communicate("go\n", timeout=30)
    assert "EPERM" not in out


def test_bad_rule_attaches_nothing(v2):
    with pytest.raises(InvalidArgument, match="access"):
        v2.set(LinuxResources(devices=(DeviceRule(allow=True, type="c", access="x"),)))
    assert attached(v2) == []


def test_verifier_refusal_is_explained():
    from ketch.cgroups._devicefilter import encode

    bad = encode([(0xB7, 0, 0, 0, 1)])  # r0 = 1 with no exit: the verifier refuses it
    with pytest.raises(OSError) as info:
        bpf.prog_load(bpf.BPF_PROG_TYPE_CGROUP_DEVICE, bad)
    assert "verifier" in str(info.value)
