"""User resolution and safe path handling inside a (hostile) rootfs; no root needed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ketch.engine._rootfs import find_executable, mkdir_all, read_small
from ketch.engine._user import resolve_user
from ketch.errors import InvalidArgument, NotFound, PermissionDenied


@pytest.fixture
def rootfs(tmp_path: Path) -> Path:
    root = tmp_path / "rootfs"
    (root / "etc").mkdir(parents=True)
    (root / "bin").mkdir()
    (root / "etc" / "passwd").write_text(
        "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n# c\n"
    )
    (root / "etc" / "group").write_text("root:x:0:\napp:x:1000:\nextra:x:1001:app,other\nw:x:5:app\n")
    tool = root / "bin" / "tool"
    tool.write_text("#!/bin/sh\n")
    tool.chmod(0o755)
    (root / "bin" / "data").write_text("x")
    return root


def test_resolve_user(rootfs: Path) -> None:
    r = str(rootfs)
    root = resolve_user(r, "")
    assert (root.uid, root.gid, root.home) == (0, 0, "/root")
    app = resolve_user(r, "app")
    assert (app.uid, app.gid, app.additional_gids, app.home) == (
        1000, 1000, (1000, 1001, 5), "/home/app")
    assert resolve_user(r, "1000").home == "/home/app"
    unknown = resolve_user(r, "4321:99")
    assert (unknown.uid, unknown.gid, unknown.home) == (4321, 99, "/")
    assert unknown.additional_gids == (99,)  # docker: the primary gid is always supplementary
    assert root.additional_gids[0] == 0
    assert resolve_user(r, "app:extra").gid == 1001
    with pytest.raises(InvalidArgument, match="unable to find user nobody"):
        resolve_user(r, "nobody")
    with pytest.raises(InvalidArgument, match="unable to find group nogroup"):
        resolve_user(r, "app:nogroup")
    with pytest.raises(InvalidArgument):
        resolve_user(r, "99999999999")


def test_passwd_symlink_cannot_leave_the_rootfs(rootfs: Path, tmp_path: Path) -> None:
    secret = tmp_path / "host-passwd"
    secret.write_text("evil:x:7:7::/:/bin/sh\n")
    (rootfs / "etc" / "passwd").unlink()
    (rootfs / "etc" / "passwd").symlink_to(str(secret))  # absolute: resolves inside the rootfs
    with pytest.raises(InvalidArgument):
        resolve_user(str(rootfs), "evil")
    assert read_small(str(rootfs), "/etc/passwd") is None


def test_mkdir_all_stays_inside(rootfs: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (rootfs / "work").symlink_to("../../outside")  # dangling once ".." stops at the rootfs
    with pytest.raises(PermissionDenied, match="points nowhere"):
        mkdir_all(str(rootfs), "/work/new/dir", 1000, 1000)
    assert list(outside.iterdir()) == []
    (rootfs / "lnk").symlink_to("/bin")  # absolute: the container's /bin
    mkdir_all(str(rootfs), "/lnk/sub/dir", 1000, 1000)
    assert (rootfs / "bin" / "sub" / "dir").is_dir()
    assert (rootfs / "bin" / "sub").stat().st_uid == 1000 or os.geteuid() != 0
    (rootfs / "file").write_text("")
    with pytest.raises(InvalidArgument, match="not a directory"):
        mkdir_all(str(rootfs), "/file/sub")


def test_find_executable(rootfs: Path) -> None:
    r = str(rootfs)
    assert find_executable(r, "tool", ["PATH=/usr/bin:/bin"]) == ""
    assert find_executable(r, "/bin/tool", []) == ""
    with pytest.raises(NotFound, match="executable file not found"):
        find_executable(r, "nope", ["PATH=/bin"])
    with pytest.raises(PermissionDenied):
        find_executable(r, "/bin/data", [])
    with pytest.raises(PermissionDenied):
        find_executable(r, "/bin", [])
    os.chmod(rootfs / "bin" / "tool", 0o644)
    with pytest.raises(PermissionDenied):
        find_executable(r, "tool", ["PATH=/bin"])
