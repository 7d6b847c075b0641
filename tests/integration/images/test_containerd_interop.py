"""containerd (ctr) imports what ketch saves, and ketch loads what ctr exports."""

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ketch.content import ContentStore
from ketch.images.load import load_path
from ketch.images.save import save_to_path
from ketch.images.store import ImageStore
from tests.support.images import busybox_image, multilayer_image, store_image

from .conftest import isolated

pytestmark = [
    pytest.mark.root,
    pytest.mark.interop,
    pytest.mark.skipif(shutil.which("containerd") is None or shutil.which("ctr") is None,
                       reason="needs containerd and ctr"),
]  # fmt: skip

CONFIG = """version = 2
root = "{d}/root"
state = "{d}/state"
[grpc]
  address = "{d}/c.sock"
[ttrpc]
  address = "{d}/c.sock.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.grpc.v1.cri"]
  disable = true
"""


@pytest.fixture
def ctr(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[str]]:
    # a short path: unix socket paths are limited to 108 bytes
    d = Path(tmp_path_factory.mktemp("ctd"))
    (d / "config.toml").write_text(CONFIG.format(d=d))
    with open(d / "log", "wb") as log:
        proc = subprocess.Popen(
            isolated("unshare", "--net", "containerd", "--config", str(d / "config.toml")),
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    base = isolated("ctr", "--address", str(d / "c.sock"), "--namespace", "ketch-test")
    try:
        for _ in range(100):
            if subprocess.run([*base, "version"], capture_output=True).returncode == 0:
                break
            time.sleep(0.1)
        else:
            pytest.fail(f"containerd did not start: {(d / 'log').read_text()[-2000:]}")
        yield base
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
        with open("/proc/self/mountinfo") as f:
            leftover = [line for line in f if str(d) in line]
        for line in leftover:
            subprocess.run(["umount", "-l", line.split()[4]], check=False)
        shutil.rmtree(d, ignore_errors=True)


def _stores(root: Path) -> tuple[ContentStore, ImageStore]:
    content = ContentStore(root / "content")
    return content, ImageStore(root / "images", content)


def test_ctr_imports_our_save_and_we_load_its_export(tmp_path: Path, ctr: list[str]) -> None:
    content, images = _stores(tmp_path / "a")
    multi = multilayer_image()
    store_image(content, images, multi, "ex.com/multi:1")
    store_image(content, images, busybox_image(), "busybox")
    saved = tmp_path / "saved.tar"
    save_to_path(images, ["ex.com/multi:1", "busybox"], saved)
    subprocess.run(
        [*ctr, "images", "import", "--no-unpack", str(saved)], check=True, capture_output=True
    )
    listing = subprocess.run(
        [*ctr, "images", "ls", "-q"], check=True, capture_output=True, text=True
    )
    assert set(listing.stdout.split()) == {"ex.com/multi:1", "docker.io/library/busybox:latest"}
    exported = tmp_path / "exported.tar"
    subprocess.run(
        [*ctr, "images", "export", str(exported), "ex.com/multi:1"], check=True, capture_output=True
    )
    content2, images2 = _stores(tmp_path / "b")
    loaded = load_path(exported, content2, images2)
    assert [(x.name, x.target.digest) for x in loaded] == [
        ("ex.com/multi:1", multi.manifest_digest)
    ]
    assert loaded[0].image_id == multi.config_digest
