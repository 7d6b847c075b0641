"""Device access rules: checking, the runtime's default set, and cgroup v1's semantics.

``container_device_rules(linux)`` is the rule list a container's cgroup gets:
the config's ``linux.resources.devices``, then the devices every container may
use (/dev/null, zero, full, random, urandom, tty, console, ptmx, pts, mknod of
anything), then one allow rule per ``linux.devices`` entry.  Rules start from
"deny everything" and apply in order, last word wins, exactly as writing them to
a v1 ``devices.allow``/``devices.deny`` would: ``effective_rules`` computes that
outcome, which the v2 eBPF program then encodes.
"""

from ketch.errors import InvalidArgument
from ketch.oci.runtime_spec import Device, DeviceRule, Linux

__all__ = [
    "DEFAULT_ALLOWED",
    "Rule",
    "container_device_rules",
    "effective_rules",
    "normalize",
    "v1_rule_line",
]

ACCESS_ALL = "rwm"
WILDCARD = -1
_MAX_NUMBER = (1 << 31) - 1  # Linux majors have 12 bits, minors 20: anything above is nonsense


class Rule:
    """A checked rule: type "a" | "b" | "c", major/minor (-1 = any), access a subset of rwm."""

    __slots__ = ("access", "allow", "major", "minor", "type")

    def __init__(self, allow: bool, type: str, major: int, minor: int, access: str) -> None:
        self.allow, self.type, self.major, self.minor = allow, type, major, minor
        self.access = "".join(c for c in ACCESS_ALL if c in access)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Rule) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return f"Rule({'allow' if self.allow else 'deny'} {v1_rule_line(self)})"

    def _key(self) -> tuple[bool, str, int, int, str]:
        return (self.allow, self.type, self.major, self.minor, self.access)


def normalize(rule: DeviceRule, where: str = "linux.resources.devices") -> Rule:
    """Check a spec rule; InvalidArgument names the bad field."""
    kind = rule.type or "a"
    if kind not in ("a", "b", "c"):
        raise InvalidArgument(f"{where}.type: {kind!r} is not one of 'a', 'b', 'c'")
    access = ACCESS_ALL if rule.access is None else rule.access
    if not access or any(c not in ACCESS_ALL for c in access):
        raise InvalidArgument(f"{where}.access: {access!r} is not a combination of 'rwm'")
    numbers = []
    for name, value in (("major", rule.major), ("minor", rule.minor)):
        if value is None or value == WILDCARD:
            numbers.append(WILDCARD)
        elif 0 <= value <= _MAX_NUMBER:
            numbers.append(value)
        else:
            raise InvalidArgument(f"{where}.{name}: {value} is not a device number")
    return Rule(rule.allow, kind, numbers[0], numbers[1], access)


def v1_rule_line(rule: Rule) -> str:
    """The rule as a line for v1 ``devices.allow``/``devices.deny`` ("c 1:3 rwm")."""
    if rule.type == "a":
        return "a"
    major = "*" if rule.major == WILDCARD else str(rule.major)
    minor = "*" if rule.minor == WILDCARD else str(rule.minor)
    return f"{rule.type} {major}:{minor} {rule.access}"


def effective_rules(rules: "tuple[Rule, ...] | list[Rule]") -> tuple[bool, list[Rule]]:
    """(default allow?, exceptions) after applying ``rules`` from "deny all", as v1 does.

    The exceptions all have the opposite action of the default.  With a deny
    default, an access is allowed when one exception covers all of it; with an
    allow default, it is denied when an exception covers any part of it.
    """
    default_allow = False
    exceptions: list[Rule] = []
    for rule in rules:
        if rule.type == "a":  # the kernel resets on "a" whatever follows it
            default_allow, exceptions = rule.allow, []
            continue
        same = [
            e
            for e in exceptions
            if (e.type, e.major, e.minor) == (rule.type, rule.major, rule.minor)
        ]
        if rule.allow == default_allow:  # takes away from matching exceptions
            for e in same:
                left = "".join(c for c in e.access if c not in rule.access)
                index = exceptions.index(e)
                if left:
                    exceptions[index] = Rule(e.allow, e.type, e.major, e.minor, left)
                else:
                    del exceptions[index]
        elif same:  # merges into the existing exception
            e = same[0]
            exceptions[exceptions.index(e)] = Rule(
                e.allow, e.type, e.major, e.minor, e.access + rule.access
            )
        else:
            exceptions.append(rule)
    return default_allow, exceptions


def _allow(kind: str, major: int, minor: int, access: str = ACCESS_ALL) -> DeviceRule:
    return DeviceRule(
        allow=True,
        type=kind,
        major=None if major == WILDCARD else major,
        minor=None if minor == WILDCARD else minor,
        access=access,
    )


DEFAULT_ALLOWED: tuple[DeviceRule, ...] = (
    _allow("c", WILDCARD, WILDCARD, "m"),  # mknod of any device (use still needs a rule)
    _allow("b", WILDCARD, WILDCARD, "m"),
    _allow("c", 1, 3),  # /dev/null
    _allow("c", 1, 8),  # /dev/random
    _allow("c", 1, 7),  # /dev/full
    _allow("c", 5, 0),  # /dev/tty
    _allow("c", 1, 5),  # /dev/zero
    _allow("c", 1, 9),  # /dev/urandom
    _allow("c", 5, 1),  # /dev/console
    _allow("c", 136, WILDCARD),  # /dev/pts/*
    _allow("c", 5, 2),  # /dev/ptmx
)


def container_device_rules(linux: Linux | None) -> tuple[DeviceRule, ...]:
    """The full rule list for a container's cgroup (see the module docstring)."""
    spec_rules: tuple[DeviceRule, ...] = ()
    devices: tuple[Device, ...] = ()
    if linux is not None:
        if linux.resources is not None:
            spec_rules = linux.resources.devices
        devices = linux.devices
    added = []
    for i, dev in enumerate(devices):
        if dev.type == "p":
            continue  # fifos need no device rule
        if dev.major is None or dev.minor is None:
            raise InvalidArgument(f"linux.devices[{i}]: major and minor are required")
        added.append(_allow("b" if dev.type == "b" else "c", dev.major, dev.minor))
    return (*spec_rules, *DEFAULT_ALLOWED, *added)
