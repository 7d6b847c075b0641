"""Mount option lists -> mount(2) flags, propagation, recursive attributes and data."""

import pytest

from ketch.errors import InvalidArgument
from ketch.linux import mount as m
from ketch.runtime._mountopts import parse_mount_options, propagation_flags


def test_flags_and_data_are_separated() -> None:
    opts = parse_mount_options(["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"])
    assert opts.flags == m.MS_NOSUID | m.MS_NOEXEC | m.MS_NODEV
    assert opts.data == "mode=1777,size=65536k"
    assert opts.propagation == () and not opts.is_bind


def test_later_options_win() -> None:
    assert parse_mount_options(["ro", "rw"]).flags & m.MS_RDONLY == 0
    assert parse_mount_options(["rw", "ro"]).flags & m.MS_RDONLY
    assert parse_mount_options(["nosuid", "suid"]).flags == 0
    assert parse_mount_options(["noexec", "exec", "nodev", "dev"]).flags == 0


def test_atime_modes_exclude_each_other() -> None:
    assert parse_mount_options(["noatime", "strictatime"]).flags == m.MS_STRICTATIME
    assert parse_mount_options(["strictatime", "relatime"]).flags == m.MS_RELATIME
    assert parse_mount_options(["relatime", "noatime"]).flags == m.MS_NOATIME
    assert parse_mount_options(["noatime", "nodiratime"]).flags == m.MS_NOATIME | m.MS_NODIRATIME


def test_bind_and_rbind() -> None:
    assert parse_mount_options(["bind"]).flags == m.MS_BIND
    rbind = parse_mount_options(["rbind", "ro"])
    assert rbind.is_bind and rbind.flags == m.MS_BIND | m.MS_REC | m.MS_RDONLY


@pytest.mark.parametrize(
    ("name", "flags"),
    [
        ("private", m.MS_PRIVATE),
        ("rprivate", m.MS_PRIVATE | m.MS_REC),
        ("slave", m.MS_SLAVE),
        ("rslave", m.MS_SLAVE | m.MS_REC),
        ("shared", m.MS_SHARED),
        ("rshared", m.MS_SHARED | m.MS_REC),
        ("unbindable", m.MS_UNBINDABLE),
        ("runbindable", m.MS_UNBINDABLE | m.MS_REC),
    ],
)
def test_propagation(name: str, flags: int) -> None:
    assert parse_mount_options(["rbind", name]).propagation == (flags,)
    assert propagation_flags(name) == flags


def test_propagation_keeps_order_and_is_not_a_flag() -> None:
    opts = parse_mount_options(["bind", "private", "rshared"])
    assert opts.propagation == (m.MS_PRIVATE, m.MS_SHARED | m.MS_REC)
    assert opts.flags == m.MS_BIND


def test_unknown_root_propagation_is_named() -> None:
    with pytest.raises(
        InvalidArgument, match=r"linux.rootfsPropagation: unknown propagation 'sideways'"
    ):
        propagation_flags("sideways")


def test_recursive_attributes() -> None:
    opts = parse_mount_options(["rbind", "rro", "rnosuid", "rnodev", "rnoexec"])
    assert opts.attr_set == (
        m.MOUNT_ATTR_RDONLY | m.MOUNT_ATTR_NOSUID | m.MOUNT_ATTR_NODEV | m.MOUNT_ATTR_NOEXEC
    )
    assert opts.attr_clr == 0
    assert opts.flags == m.MS_BIND | m.MS_REC  # not ro: that would touch only the top mount


def test_recursive_attributes_later_wins() -> None:
    opts = parse_mount_options(["rro", "rrw"])
    assert opts.attr_set == 0 and opts.attr_clr == m.MOUNT_ATTR_RDONLY


def test_recursive_atime_clears_the_atime_field() -> None:
    opts = parse_mount_options(["rnoatime"])
    assert opts.attr_set == m.MOUNT_ATTR_NOATIME
    assert opts.attr_clr == m.MOUNT_ATTR__ATIME
    opts = parse_mount_options(["rnoatime", "rstrictatime"])
    assert opts.attr_set == m.MOUNT_ATTR_STRICTATIME


def test_extensions() -> None:
    assert parse_mount_options(["tmpcopyup", "mode=755"]).tmpcopyup
    assert parse_mount_options(["rbind", "idmap"]).idmap == "idmap"


@pytest.mark.parametrize("bad", ["", "mode=7\x0055"])
def test_bad_options_are_refused(bad: str) -> None:
    with pytest.raises(InvalidArgument, match=r"mounts\[2\].options"):
        parse_mount_options(["nosuid", bad], what="mounts[2].options")


def test_nosymfollow() -> None:
    assert parse_mount_options(["bind", "nosymfollow"]).flags == m.MS_BIND | m.MS_NOSYMFOLLOW
    assert parse_mount_options(["nosymfollow", "symfollow"]).flags == 0
    assert parse_mount_options(["rnosymfollow"]).attr_set == m.MOUNT_ATTR_NOSYMFOLLOW
