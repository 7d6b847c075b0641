"""cp both ways, export, top, commit then run the new image."""

from __future__ import annotations

import io
import os
import subprocess
import tarfile

import pytest

from tests.integration.cli.conftest import Ketch

pytestmark = pytest.mark.root


def test_cp_both_ways(ketch: Ketch, tmp_path: os.PathLike[str]) -> None:
    ketch.ok("run", "-d", "--name", "box", "busybox", "sh", "-c",
             "mkdir -p /srv/tree/sub && echo deep > /srv/tree/sub/f && ln -s /etc/passwd /srv/link && sleep 1000")
    out = os.path.join(tmp_path, "out")
    os.mkdir(out)
    for _ in range(50):  # the script above needs a moment
        if ketch("exec", "box", "test", "-e", "/srv/link").returncode == 0:
            break
    ketch.ok("cp", "box:/etc/hostname", os.path.join(out, "hn"))
    with open(os.path.join(out, "hn")) as f:
        assert len(f.read().strip()) == 12
    ketch.ok("cp", "box:/srv/tree", out)
    with open(os.path.join(out, "tree", "sub", "f")) as f:
        assert f.read() == "deep\n"
    ketch.ok("cp", "box:/srv/link", os.path.join(out, "link"))
    assert os.readlink(os.path.join(out, "link")) == "/etc/passwd"  # copied as a link, not followed
    tar_bytes = subprocess.run(ketch.argv("cp", "box:/srv/tree/sub/f", "-"), capture_output=True,
                               check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(tar_bytes)) as tar:
        assert tar.getnames() == ["f"]
    src = os.path.join(tmp_path, "upload")
    os.makedirs(os.path.join(src, "inner"))
    with open(os.path.join(src, "inner", "data"), "w") as f:
        f.write("payload\n")
    ketch.ok("cp", src, "box:/tmp/")
    assert ketch.ok("exec", "box", "cat", "/tmp/upload/inner/data") == "payload\n"
    ketch.ok("cp", os.path.join(src, "inner", "data"), "box:/tmp/renamed")
    assert ketch.ok("exec", "box", "cat", "/tmp/renamed") == "payload\n"
    missing = ketch("cp", "box:/nope", out)
    assert missing.returncode == 1 and "Could not find the file /nope" in missing.stderr


def test_cp_cannot_escape_through_symlinks(ketch: Ketch, tmp_path: os.PathLike[str]) -> None:
    payload = os.path.join(tmp_path, "payload-ketch-cp")
    with open(payload, "w") as f:
        f.write("x\n")
    target = os.path.join(tmp_path, "host-target")
    os.mkdir(target)
    cid = ketch.ok("create", "busybox", "true").strip()
    # symlinks in the container's layer that point at host paths, absolute and climbing
    ketch.ok("cp", "-", f"{cid}:/", input=_tar_with_symlink("escape", target))
    ketch.ok("cp", "-", f"{cid}:/", input=_tar_with_symlink("up", "../../../../../../../../.." + str(tmp_path)))
    assert ketch("cp", payload, f"{cid}:/escape/").returncode != 0  # no such directory inside
    ketch.ok("cp", payload, f"{cid}:/up")  # "up" resolves to the container's /tmp/... (missing)
    assert os.listdir(target) == []
    assert sorted(os.listdir(tmp_path)) == ["host-target", "payload-ketch-cp", "root"]
    out = subprocess.run(ketch.argv("cp", f"{cid}:/up", "-"), capture_output=True, check=True)
    with tarfile.open(fileobj=io.BytesIO(out.stdout)) as tar:
        member = tar.extractfile("up")
        assert member is not None and member.read() == b"x\n"  # replaced the link in the container


def _tar_with_symlink(name: str, target: str) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo(name)
        info.type, info.linkname = tarfile.SYMTYPE, target
        tar.addfile(info)
    return buf.getvalue()


def test_export_top_commit(ketch: Ketch, tmp_path: os.PathLike[str]) -> None:
    cid = ketch.ok("run", "-d", "busybox", "sh", "-c", "echo changed > /marker; exec sleep 1000").strip()
    top = ketch.ok("top", cid).splitlines()
    assert top[0].split()[:3] == ["UID", "PID", "PPID"]
    assert any(line.endswith("sleep 1000") for line in top[1:])
    for _ in range(50):
        if ketch("exec", cid, "test", "-e", "/marker").returncode == 0:
            break
    path = os.path.join(tmp_path, "fs.tar")
    ketch.ok("export", "-o", path, cid)
    with tarfile.open(path) as tar:
        names = set(tar.getnames())
        assert {"./bin/busybox", "./marker", "./etc/passwd"} <= names
        marker = tar.extractfile("./marker")
        assert marker is not None and marker.read() == b"changed\n"
    image_id = ketch.ok("commit", "-c", "CMD [\"cat\", \"/marker\"]", "-m", "snap", cid,
                        "snapshot:v1").strip()
    assert image_id.startswith("sha256:")
    assert ketch.ok("run", "--rm", "snapshot:v1") == "changed\n"
    ketch.ok("rm", "-f", cid)


def test_cp_out_skips_device_nodes(ketch: Ketch, tmp_path: os.PathLike[str]) -> None:
    cid = ketch.ok("run", "-d", "busybox", "sh", "-c",
                   "mkdir /x && mknod /x/null c 1 3 && echo f > /x/file && sleep 1000").strip()
    for _ in range(50):
        if ketch("exec", cid, "test", "-e", "/x/file").returncode == 0:
            break
    out = os.path.join(tmp_path, "out")
    ketch.ok("cp", f"{cid}:/x", out)
    assert sorted(os.listdir(out)) == ["file"]
