"""podman loads what ketch saves; ketch loads podman's docker-archive (links, v1 files) and
oci-archive with the same image ID."""

import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from ketch.content import ContentStore
from ketch.images.load import load_path
from ketch.images.save import save_to_path
from ketch.images.store import ImageStore
from tests.support.images import multilayer_image, store_image

from .conftest import isolated

pytestmark = [
    pytest.mark.root,
    pytest.mark.interop,
    pytest.mark.skipif(shutil.which("podman") is None, reason="needs podman"),
]


def _podman(state: Path, *args: str) -> str:
    out = subprocess.run(
        isolated("podman", "--root", str(state / "root"), "--runroot", str(state / "run"),
                 "--tmpdir", str(state / "tmp"), "--storage-driver", "vfs",
                 "--events-backend=file", "--cgroup-manager=cgroupfs", *args),
        check=True, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    return out.stdout


def _stores(root: Path) -> tuple[ContentStore, ImageStore]:
    content = ContentStore(root / "content")
    return content, ImageStore(root / "images", content)


def test_podman_round_trip(tmp_path: Path) -> None:
    content, images = _stores(tmp_path / "a")
    parts = multilayer_image()
    store_image(content, images, parts, "ex.com/multi:1")
    save_to_path(images, ["ex.com/multi:1"], tmp_path / "saved.tar")
    state = Path(tempfile.mkdtemp(prefix="ketch-pm-", dir="/tmp"))  # podman's runroot limit
    try:
        _podman(state, "load", "-i", str(tmp_path / "saved.tar"))
        ids = _podman(state, "images", "--no-trunc", "--format", "{{.ID}} {{.Repository}}:{{.Tag}}")
        assert ids.split() == [parts.config_digest, "ex.com/multi:1"]
        for fmt in ("docker-archive", "oci-archive"):
            out = tmp_path / f"{fmt}.tar"
            _podman(state, "save", "--format", fmt, "-o", str(out), "ex.com/multi:1")
            content2, images2 = _stores(tmp_path / fmt)
            loaded = load_path(out, content2, images2)
            assert [(x.name, x.image_id) for x in loaded] == [
                ("ex.com/multi:1", parts.config_digest)
            ]
    finally:
        if state.exists():
            subprocess.run(
                isolated("podman", "--root", str(state / "root"), "--runroot", str(state / "run"),
                         "--tmpdir", str(state / "tmp"), "--storage-driver", "vfs",
                         "system", "reset", "--force"),
                capture_output=True, check=False, timeout=60,
            )  # fmt: skip
            shutil.rmtree(state, ignore_errors=True)
