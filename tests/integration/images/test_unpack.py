"""Unpack loaded images into real snapshots (overlayfs and native) and look inside."""

import json
import os
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from ketch.content import ContentStore
from ketch.errors import InvalidArgument
from ketch.images.load import load_path
from ketch.images.store import ImageStore
from ketch.images.unpack import chain_ids
from ketch.oci.image_spec import Descriptor
from tests.support.images import (
    OCI_MANIFEST,
    ImageParts,
    multilayer_image,
    sha256,
    write_docker_archive,
)

pytestmark = pytest.mark.root


@pytest.fixture(params=["overlayfs", "native"])
def stores(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[ContentStore, ImageStore]]:
    from ketch.snapshots import open_snapshotter

    snapshotter = open_snapshotter(tmp_path / "snapshots", request.param)
    content = ContentStore(tmp_path / "content")
    yield content, ImageStore(tmp_path / "images", content, snapshotter)


@pytest.fixture
def mountpoint(tmp_path: Path) -> Iterator[Path]:
    from ketch.snapshots.mount import unmount_all

    target = tmp_path / "mnt"
    target.mkdir()
    yield target
    if os.path.ismount(target):
        unmount_all(target, detach=True)


def test_unpack_multilayer_and_look_inside(
    tmp_path: Path, stores: tuple[ContentStore, ImageStore], mountpoint: Path
) -> None:
    from ketch.snapshots.mount import mount_all, unmount_all

    content, images = stores
    parts = multilayer_image()
    load_path(write_docker_archive(tmp_path / "m.tar", parts, ["multi:1"]), content, images)
    record = images.get("multi:1")
    top = images.unpack(record)
    chains = chain_ids([layer.diff_id for layer in parts.layers])
    assert top == chains[-1]
    snapshotter = images.snapshotter
    assert snapshotter is not None
    before = sorted(i.name for i in snapshotter.walk())
    assert before == sorted(chains)
    assert images.unpack(record) == top  # present layers are skipped
    assert sorted(i.name for i in snapshotter.walk()) == before

    mount_all(snapshotter.view("look", top), mountpoint)
    try:
        root = mountpoint
        assert (root / "bin" / "busybox").stat().st_mode & 0o111
        assert os.readlink(root / "bin" / "sh") == "busybox"
        assert (root / "etc" / "motd").read_text() == "hello from layer 2\n"
        assert sorted(p.name for p in (root / "opt" / "data").iterdir()) == ["a.txt", "c.txt"]
        c = (root / "opt" / "data" / "c.txt").stat()
        assert (c.st_uid, c.st_gid, stat.S_IMODE(c.st_mode)) == (1000, 1000, 0o600)
        assert sorted(p.name for p in (root / "opt" / "keep").iterdir()) == ["new.txt"]
        assert os.readlink(root / "opt" / "link") == "data/a.txt"
        out = subprocess.run(
            ["chroot", str(root), "/bin/sh", "-c", "cat /opt/link /opt/data/c.txt"],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        assert out.stdout == "a\nc\n"
    finally:
        unmount_all(mountpoint)
        snapshotter.remove("look")


def _with_wrong_diff_id(parts: ImageParts) -> ImageParts:
    config = json.loads(parts.config)
    config["rootfs"]["diff_ids"][-1] = sha256(b"not the layer")
    config_bytes = json.dumps(config).encode()
    manifest = json.loads(parts.manifest)
    manifest["config"]["digest"] = sha256(config_bytes)
    manifest["config"]["size"] = len(config_bytes)
    return ImageParts(parts.layers, config_bytes, json.dumps(manifest).encode(), OCI_MANIFEST)


def test_diff_id_mismatch_leaves_no_snapshot(stores: tuple[ContentStore, ImageStore]) -> None:
    content, images = stores
    bad = _with_wrong_diff_id(multilayer_image())
    for digest, data in bad.blobs().items():
        content.ingest(data, expected=digest)
    record = images.put("bad", Descriptor(OCI_MANIFEST, bad.manifest_digest, len(bad.manifest)))
    with pytest.raises(InvalidArgument, match="diff ID"):
        images.unpack(record)
    snapshotter = images.snapshotter
    assert snapshotter is not None
    names = {i.name for i in snapshotter.walk()}
    good = chain_ids([layer.diff_id for layer in bad.layers])
    assert names == set(good[:-1])  # the verified lower layers stay, nothing half-applied
