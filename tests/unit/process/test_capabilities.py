"""Capability names, masks and the five sets (pure)."""

import pytest

from ketch.errors import InvalidArgument
from ketch.linux.capabilities import CAPABILITY_NAMES, cap_number
from ketch.oci.runtime_spec import Capabilities
from ketch.runtime._process_checks import capability_mask, capability_sets


def test_numbers_match_linux_capability_h() -> None:
    assert len(CAPABILITY_NAMES) == 41
    assert len(set(CAPABILITY_NAMES)) == 41
    for name, number in [
        ("CAP_CHOWN", 0), ("CAP_KILL", 5), ("CAP_SETPCAP", 8), ("CAP_NET_RAW", 13),
        ("CAP_SYS_ADMIN", 21), ("CAP_SYS_RESOURCE", 24), ("CAP_MKNOD", 27),
        ("CAP_AUDIT_WRITE", 29), ("CAP_SETFCAP", 31), ("CAP_MAC_ADMIN", 33),
        ("CAP_AUDIT_READ", 37), ("CAP_BPF", 39), ("CAP_CHECKPOINT_RESTORE", 40),
    ]:
        assert cap_number(name) == number
    assert cap_number("CAP_NOPE") is None


def test_mask_ignores_unknown_and_kernel_unsupported_names() -> None:
    assert capability_mask(("CAP_CHOWN", "CAP_KILL")) == 0b100001
    assert capability_mask(("CAP_CHOWN", "CAP_FOO", "chown")) == 1
    # a kernel that stops at CAP_AUDIT_READ (37) drops CAP_BPF (39)
    assert capability_mask(("CAP_BPF", "CAP_CHOWN"), known=37) == 1
    assert capability_mask(("CAP_BPF",)) == 1 << 39


def test_sets_default_docker_mask() -> None:
    caps = (
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
        "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
        "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
    )
    sets = capability_sets(Capabilities(bounding=caps, effective=caps, permitted=caps))
    assert sets["bounding"] == sets["effective"] == sets["permitted"] == 0xA80425FB
    assert sets["inheritable"] == sets["ambient"] == 0


def test_no_section_means_no_capabilities() -> None:
    assert set(capability_sets(None).values()) == {0}


def test_ambient_is_clipped_to_permitted_and_inheritable() -> None:
    sets = capability_sets(
        Capabilities(
            permitted=("CAP_KILL", "CAP_CHOWN"),
            inheritable=("CAP_KILL", "CAP_NET_RAW"),
            ambient=("CAP_KILL", "CAP_CHOWN", "CAP_NET_RAW"),
        )
    )
    assert sets["ambient"] == 1 << 5


def test_effective_outside_permitted_is_refused() -> None:
    with pytest.raises(InvalidArgument, match=r"effective: CAP_SYS_ADMIN is not in the permitted"):
        capability_sets(Capabilities(effective=("CAP_SYS_ADMIN",), permitted=("CAP_KILL",)))
