"""A hostile rootfs (CVE-2021-30465 class): symlinks must not carry a mount out of the rootfs.

Each case plants symlinks in the image and asks for a mount through them.  The
check runs in the container's mount namespace right after ``mount_rootfs``:
every new mount point is inside the rootfs, the host-side target is neither a
mount point nor changed, and the "host" namespace saw no new mount.  Either the
mount is made inside the rootfs (where the symlink resolves when the rootfs is
taken as ``/``) or a clear error names the destination.
"""

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ketch.runtime.rootfs import enter_rootfs, mount_rootfs
from tests.integration.rootfs._harness import in_container, mount_points

from .conftest import MakeBundle

pytestmark = pytest.mark.root

TMPFS = {"type": "tmpfs", "source": "tmpfs", "options": ["size=64k"]}


@pytest.fixture
def host(tmp_path: Path) -> Path:
    """A host directory the image aims at, holding a marker file."""
    d = tmp_path / "host"
    d.mkdir()
    (d / "secret").write_text("host data")
    return d


def _attempt(bundle: Path, config: Any, host: Path) -> Callable[[], dict[str, Any]]:
    rootfs = os.path.realpath(bundle / "rootfs")

    def body() -> dict[str, Any]:
        before = set(mount_points())
        error = None
        try:
            mount_rootfs(config, str(bundle))
        except Exception as e:
            error = [type(e).__name__, str(e)]
        new = [p for p in mount_points() if p not in before]
        report = {
            "error": error,
            "new": [os.path.relpath(p, rootfs) for p in new],
            "outside": [p for p in new if p != rootfs and not p.startswith(rootfs + "/")],
            "host_is_mount": any(
                os.path.ismount(p) for p in (host, host / "secret", host / "hosts")
            ),
            "host_entries": sorted(os.listdir(host)),
            "secret": (host / "secret").read_text(),
        }
        if error is None:
            enter_rootfs(config, rootfs)  # and the container still comes up
        return report

    return body


def _run(
    make_bundle: MakeBundle, host: Path, plant: Callable[[Path], None], mounts: list[dict[str, Any]]
) -> dict[str, Any]:
    def patch(c: dict[str, Any], rootfs: Path) -> None:
        plant(rootfs)
        c["mounts"] += mounts

    bundle, config = make_bundle(patch)
    out = in_container(_attempt(bundle, config, host))
    r: dict[str, Any] = out.ok()  # no error escaped body, nothing leaked to the host namespace
    assert r["outside"] == [], f"mounted outside the rootfs: {r['outside']}"
    assert not r["host_is_mount"]
    assert r["secret"] == "host data"
    return r


def _inside(host: Path, *rest: str) -> str:
    """Where a symlink to ``host`` lands when the rootfs is taken as /."""
    return os.path.join(str(host).lstrip("/"), *rest)


def test_absolute_symlink_destination(make_bundle: MakeBundle, host: Path) -> None:
    r = _run(
        make_bundle,
        host,
        lambda rootfs: (rootfs / "evil").symlink_to(host),
        [{"destination": "/evil", **TMPFS}],
    )
    assert r["error"] is None
    assert _inside(host) in r["new"]
    assert r["host_entries"] == ["secret"]


def test_relative_dotdot_symlink_destination(make_bundle: MakeBundle, host: Path) -> None:
    def plant(rootfs: Path) -> None:
        (rootfs / "var" / "evil").symlink_to("../" * 30 + str(host).lstrip("/"))

    r = _run(make_bundle, host, plant, [{"destination": "/var/evil", **TMPFS}])
    assert r["error"] is None
    assert _inside(host) in r["new"]


def test_dotdot_in_destination(make_bundle: MakeBundle, host: Path) -> None:
    dest = "/../../../../../../.." + str(host)
    r = _run(make_bundle, host, lambda rootfs: None, [{"destination": dest, **TMPFS}])
    assert r["error"] is None
    assert _inside(host) in r["new"]


def test_symlink_chain(make_bundle: MakeBundle, host: Path) -> None:
    def plant(rootfs: Path) -> None:
        (rootfs / "start").symlink_to("a/.")
        (rootfs / "a").symlink_to("b/../c")
        (rootfs / "b").mkdir()
        (rootfs / "c").symlink_to(host)

    r = _run(make_bundle, host, plant, [{"destination": "/start/deeper", **TMPFS}])
    assert r["error"] is None
    assert _inside(host, "deeper") in r["new"]
    assert r["host_entries"] == ["secret"]  # "deeper" was not created on the host


def test_dangling_symlink_is_created_inside(make_bundle: MakeBundle, host: Path) -> None:
    def plant(rootfs: Path) -> None:
        (rootfs / "dangling").symlink_to(host / "newdir" / "sub")

    r = _run(make_bundle, host, plant, [{"destination": "/dangling", **TMPFS}])
    assert r["error"] is None
    assert _inside(host, "newdir", "sub") in r["new"]
    assert r["host_entries"] == ["secret"]


def test_file_bind_through_symlink(make_bundle: MakeBundle, host: Path, tmp_path: Path) -> None:
    (host / "hosts").write_text("host hosts")
    (tmp_path / "myhosts").write_text("container hosts")

    def plant(rootfs: Path) -> None:
        (rootfs / "etc" / "hosts").symlink_to(host / "hosts")

    mounts = [
        {
            "destination": "/etc/hosts",
            "type": "bind",
            "source": str(tmp_path / "myhosts"),
            "options": ["bind", "ro"],
        }
    ]
    r = _run(make_bundle, host, plant, mounts)
    assert r["error"] is None
    assert _inside(host, "hosts") in r["new"]
    assert (host / "hosts").read_text() == "host hosts"


def test_symlink_loop_is_refused_by_name(make_bundle: MakeBundle, host: Path) -> None:
    def plant(rootfs: Path) -> None:
        (rootfs / "loop1").symlink_to("loop2")
        (rootfs / "loop2").symlink_to("/loop1")

    r = _run(make_bundle, host, plant, [{"destination": "/loop1/x", **TMPFS}])
    assert r["error"] is not None
    kind, message = r["error"]
    assert kind == "PermissionDenied" and "mounts[7].destination /loop1/x" in message


@pytest.mark.parametrize("target", ["/", "HOST", "../../../../../../../../"])
def test_proc_replaced_by_a_symlink_is_refused(
    make_bundle: MakeBundle, host: Path, target: str
) -> None:
    def plant(rootfs: Path) -> None:
        (rootfs / "proc").rmdir()
        (rootfs / "proc").symlink_to(str(host) if target == "HOST" else target)

    r = _run(make_bundle, host, plant, [])
    assert r["error"] is not None
    kind, message = r["error"]
    assert kind == "PermissionDenied" and "/proc" in message and "symlink" in message
    assert r["new"] == ["."]  # only the rootfs bind itself was made


def test_sys_replaced_by_a_symlink_is_refused(make_bundle: MakeBundle, host: Path) -> None:
    def plant(rootfs: Path) -> None:
        (rootfs / "sys").rmdir()
        (rootfs / "sys").symlink_to(host)

    r = _run(make_bundle, host, plant, [])
    assert r["error"] is not None and r["error"][0] == "PermissionDenied"
    assert "mounts[5].destination /sys" in r["error"][1]


def test_magic_link_destination_is_refused(make_bundle: MakeBundle, host: Path) -> None:
    # /proc (mounted by mounts[0]) holds magic links to the host: /proc/self/root is the host's /
    r = _run(
        make_bundle,
        host,
        lambda rootfs: None,
        [{"destination": "/proc/self/root" + str(host), **TMPFS}],
    )
    assert r["error"] is not None
    kind, message = r["error"]
    assert kind == "PermissionDenied" and "mounts[7].destination /proc/self/root" in message


def test_mount_inside_proc_is_refused(make_bundle: MakeBundle, host: Path, tmp_path: Path) -> None:
    (tmp_path / "attr").write_text("unconfined")

    def plant(rootfs: Path) -> None:
        (rootfs / "sneaky").symlink_to("/proc/sys/kernel")

    mounts = [
        {
            "destination": "/sneaky/core_pattern",
            "type": "bind",
            "source": str(tmp_path / "attr"),
            "options": ["bind"],
        }
    ]
    r = _run(make_bundle, host, plant, mounts)
    assert r["error"] is not None
    kind, message = r["error"]
    assert (
        kind == "PermissionDenied"
        and "inside /proc" in message
        and "/sneaky/core_pattern" in message
    )


def test_device_path_through_symlink_stays_inside(make_bundle: MakeBundle, host: Path) -> None:
    def plant(rootfs: Path) -> None:
        (rootfs / "devlink").symlink_to(host)

    def patch(c: dict[str, Any], rootfs: Path) -> None:
        plant(rootfs)
        c["linux"]["devices"] = [{"type": "c", "path": "/devlink/null2", "major": 1, "minor": 3}]

    bundle, config = make_bundle(patch)
    r = in_container(_attempt(bundle, config, host)).ok()
    assert r["error"] is None and r["outside"] == []
    assert r["host_entries"] == ["secret"]  # no device node on the host
    assert (bundle / "rootfs" / _inside(host, "null2")).is_char_device()


def test_only_procfs_may_be_bound_on_proc(make_bundle: MakeBundle, host: Path) -> None:
    mounts = [{"destination": "/proc", "type": "bind", "source": str(host), "options": ["rbind"]}]
    r = _run(make_bundle, host, lambda rootfs: None, mounts)
    assert r["error"] is not None
    assert r["error"][0] == "PermissionDenied" and "only a procfs" in r["error"][1]


def test_lxcfs_style_proc_files_may_be_covered(
    make_bundle: MakeBundle, host: Path, tmp_path: Path
) -> None:
    (tmp_path / "meminfo").write_text("MemTotal: 1 kB\n")
    mounts = [
        {
            "destination": "/proc/meminfo",
            "type": "bind",
            "source": str(tmp_path / "meminfo"),
            "options": ["bind", "ro"],
        }
    ]
    r = _run(make_bundle, host, lambda rootfs: None, mounts)
    assert r["error"] is None and "proc/meminfo" in r["new"]
