import pytest

from ketch.cgroups._devicefilter import device_filter
from ketch.cgroups.devices import (
    DEFAULT_ALLOWED,
    container_device_rules,
    effective_rules,
    normalize,
    v1_rule_line,
)
from ketch.errors import InvalidArgument
from ketch.oci.runtime_spec import Device, DeviceRule, Linux, LinuxResources

from .bpf_interp import decode, run

B, C = 1, 2
M, R, W = 1, 2, 4
DENY_ALL = DeviceRule(allow=False, access="rwm")


def rules(*spec):
    return [normalize(r) for r in spec]


def allowed(program, kind, major, minor, access):
    return run(program, kind, access, major, minor) == 1


def test_normalize_and_v1_lines():
    assert v1_rule_line(normalize(DENY_ALL)) == "a"
    assert (
        v1_rule_line(normalize(DeviceRule(allow=True, type="c", major=1, minor=3))) == "c 1:3 rwm"
    )
    rule = normalize(DeviceRule(allow=True, type="b", major=8, access="wr"))
    assert v1_rule_line(rule) == "b 8:* rw"


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        (DeviceRule(allow=True, type="x"), r"devices.type: 'x'"),
        (DeviceRule(allow=True, type="c", access="rwx"), "access"),
        (DeviceRule(allow=True, type="c", access=""), "access"),
        (DeviceRule(allow=True, type="c", major=-5), "major: -5"),
        (DeviceRule(allow=True, type="c", minor=1 << 40), "minor"),
    ],
)
def test_bad_rules(rule, message):
    with pytest.raises(InvalidArgument, match=message):
        normalize(rule)


def test_effective_rules_follow_v1_semantics():
    default, exc = effective_rules(
        rules(
            DeviceRule(allow=True, type="c", major=1, minor=3, access="r"),
            DeviceRule(allow=True, type="c", major=1, minor=3, access="w"),  # merges
            DeviceRule(allow=True, type="c", major=1, minor=5),
            DeviceRule(allow=False, type="c", major=1, minor=5, access="w"),  # takes w away
            DeviceRule(allow=True, type="b", major=8, minor=0),
            DeviceRule(allow=False, type="b", major=8, minor=0),  # removes it
        )
    )
    assert default is False
    assert [(e.type, e.major, e.minor, e.access) for e in exc] == [
        ("c", 1, 3, "rw"),
        ("c", 1, 5, "rm"),
    ]
    default, exc = effective_rules(rules(DeviceRule(allow=True, type="c", major=1), DENY_ALL))
    assert (default, exc) == (False, [])  # "a" resets
    default, exc = effective_rules(
        rules(DeviceRule(allow=True), DeviceRule(allow=False, type="c", major=10, minor=200))
    )
    assert default is True and [v1_rule_line(e) for e in exc] == ["c 10:200 rwm"]


def test_container_device_rules():
    linux = Linux(
        resources=LinuxResources(devices=(DENY_ALL,)),
        devices=(
            Device(type="c", path="/dev/fuse", major=10, minor=229),
            Device(type="b", path="/dev/loop0", major=7, minor=0),
            Device(type="p", path="/dev/fifo"),
        ),
    )
    got = container_device_rules(linux)
    assert got[0] == DENY_ALL
    assert got[1 : 1 + len(DEFAULT_ALLOWED)] == DEFAULT_ALLOWED
    assert got[-2:] == (
        DeviceRule(allow=True, type="c", major=10, minor=229, access="rwm"),
        DeviceRule(allow=True, type="b", major=7, minor=0, access="rwm"),
    )
    with pytest.raises(InvalidArgument, match=r"linux.devices\[0\]"):
        container_device_rules(Linux(devices=(Device(type="c", path="/dev/x"),)))


def test_default_container_program():
    program = device_filter(rules(DENY_ALL, *container_device_rules(None)))
    assert allowed(program, C, 1, 3, R | W)  # /dev/null
    assert allowed(program, C, 136, 7, R | W)  # a pty
    assert allowed(program, C, 1, 9, R)  # urandom
    assert allowed(program, B, 8, 0, M)  # mknod of anything
    assert allowed(program, C, 42, 42, M)
    assert not allowed(program, B, 8, 0, R)  # but not using it
    assert not allowed(program, C, 10, 200, R | W)  # /dev/net/tun
    assert not allowed(program, C, 1, 1, R)  # /dev/mem
    assert allowed(program, C, 1, 3, M | R | W)  # null is rwm


def test_partial_access_rules():
    program = device_filter(
        rules(DENY_ALL, DeviceRule(allow=True, type="c", major=1, minor=5, access="r"))
    )
    assert allowed(program, C, 1, 5, R)
    assert not allowed(program, C, 1, 5, R | W)  # must be covered entirely
    assert not allowed(program, B, 1, 5, R)  # type matters


def test_allow_all_with_deny_exception():
    program = device_filter(
        rules(
            DeviceRule(allow=True), DeviceRule(allow=False, type="c", major=1, minor=1, access="w")
        )
    )
    assert allowed(program, C, 1, 1, R)
    assert not allowed(program, C, 1, 1, R | W)  # any overlap denies
    assert allowed(program, B, 8, 0, R | W | M)


def test_empty_rules_deny_everything_and_program_shape():
    program = device_filter([])
    assert not allowed(program, C, 1, 3, R)
    insns = decode(program)
    assert insns[-1][0] == 0x95 and insns[-2] == (0xB7, 0, 0, 0, 0)
    assert len(insns) == 8  # prologue (6) + default + exit
