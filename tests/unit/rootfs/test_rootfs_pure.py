"""Pure helpers of the rootfs code: path cleaning and mountinfo parsing."""

import pytest

from ketch.errors import InvalidArgument
from ketch.linux.mountinfo import mount_containing, parse_mountinfo
from ketch.runtime._rootfs_path import clean_path


@pytest.mark.parametrize(
    ("path", "clean"),
    [
        ("/", ""),
        ("", ""),
        ("/proc", "proc"),
        ("proc/", "proc"),
        ("//dev///pts/", "dev/pts"),
        ("/a/./b/../c", "a/c"),
        ("/../../../etc/passwd", "etc/passwd"),
        ("../..", ""),
        ("/a/b/../../..", ""),
    ],
)
def test_clean_path_never_climbs_above_the_root(path: str, clean: str) -> None:
    assert clean_path(path) == clean


def test_clean_path_refuses_nul() -> None:
    with pytest.raises(InvalidArgument, match="NUL"):
        clean_path("/dev/\x00null")


MOUNTINFO = """\
22 27 0:21 / /proc rw,relatime - proc proc rw
27 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw,discard
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime shared:9 master:3 - cgroup cgroup rw,cpu,cpuacct
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
50 27 0:40 /sub\\040dir /mnt/with\\040space rw - tmpfs tmpfs rw
garbage line
"""


def test_parse_mountinfo() -> None:
    mounts = parse_mountinfo(MOUNTINFO)
    assert [mi.mount_point for mi in mounts] == [
        "/proc",
        "/",
        "/sys/fs/cgroup",
        "/sys/fs/cgroup/cpu,cpuacct",
        "/sys/fs/cgroup/unified",
        "/mnt/with space",
    ]
    cpu = mounts[3]
    assert cpu.optional == ("shared:9", "master:3")
    assert cpu.fstype == "cgroup" and cpu.super_options == "rw,cpu,cpuacct"
    assert (cpu.mount_id, cpu.parent_id) == (32, 31)
    assert mounts[5].root == "/sub dir"
    assert mounts[1].optional == ("shared:1",)


def test_mount_containing_picks_the_deepest() -> None:
    mounts = parse_mountinfo(MOUNTINFO)
    assert mount_containing(mounts, "/var/lib/x").mount_point == "/"  # type: ignore[union-attr]
    assert (
        mount_containing(mounts, "/sys/fs/cgroup/unified/a").mount_point == "/sys/fs/cgroup/unified"
    )  # type: ignore[union-attr]
    assert mount_containing(mounts, "/procfoo").mount_point == "/"  # type: ignore[union-attr]
