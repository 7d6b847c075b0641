"""Archives written by ketch are read by skopeo, and skopeo's are read by ketch."""

import shutil
import subprocess
from pathlib import Path

import pytest

from ketch.content import ContentStore
from ketch.images.load import load_path
from ketch.images.save import save_to_path
from ketch.images.store import ImageStore
from tests.support.images import multilayer_image, store_image

from .conftest import isolated

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(shutil.which("skopeo") is None, reason="needs skopeo"),
]


def _skopeo(*args: str) -> None:
    subprocess.run(
        isolated("skopeo", "--insecure-policy", *args), check=True, capture_output=True, timeout=120
    )


def _stores(root: Path) -> tuple[ContentStore, ImageStore]:
    content = ContentStore(root / "content")
    return content, ImageStore(root / "images", content)


@pytest.mark.parametrize("transport", ["docker-archive", "oci-archive"])
def test_skopeo_reads_our_archive(tmp_path: Path, transport: str) -> None:
    content, images = _stores(tmp_path / "a")
    parts = multilayer_image()
    store_image(content, images, parts, "ex.com/multi:1")
    saved = tmp_path / "saved.tar"
    save_to_path(images, ["ex.com/multi:1"], saved, oci_only=transport == "oci-archive")
    _skopeo("copy", f"{transport}:{saved}", f"oci:{tmp_path / 'layout'}:ex.com/multi:1")
    content2, images2 = _stores(tmp_path / "b")
    loaded = load_path(tmp_path / "layout", content2, images2)
    assert [x.name for x in loaded] == ["ex.com/multi:1"]
    config = images2.config(images2.get("ex.com/multi:1"))
    assert config.rootfs.diff_ids == tuple(layer.diff_id for layer in parts.layers)
    if transport == "oci-archive":  # skopeo re-marshals a docker config into an OCI one
        assert loaded[0].image_id == parts.config_digest


def test_we_read_skopeos_docker_archive(tmp_path: Path) -> None:
    content, images = _stores(tmp_path / "a")
    parts = multilayer_image()
    store_image(content, images, parts, "ex.com/multi:1")
    save_to_path(images, ["ex.com/multi:1"], tmp_path / "saved.tar", oci_only=True)
    out = tmp_path / "skopeo.tar"
    _skopeo("copy", f"oci-archive:{tmp_path / 'saved.tar'}", f"docker-archive:{out}:busybox:v9")
    content2, images2 = _stores(tmp_path / "b")
    loaded = load_path(out, content2, images2)
    assert [x.name for x in loaded] == ["busybox:v9"]
    assert loaded[0].image_id == parts.config_digest
    assert images2.config(images2.get("busybox:v9")).rootfs.diff_ids == tuple(
        layer.diff_id for layer in parts.layers
    )
