"""The registry benchmark's image: ~200 MB in five layers, built once and cached.

Three layers hold incompressible random bytes, two hold compressible text; all are
gzip (isal, level 1).  Cached under ``/var/tmp/ketch-bench/registry`` as an OCI layout
(for skopeo) and a ketch content store (for ``ketch push``).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import random
import tarfile
from pathlib import Path

from isal import igzip

__all__ = ["BenchImage", "build_image"]

CACHE = Path("/var/tmp/ketch-bench/registry")
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _tar(name: str, data: bytes) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        info.mtime = 0
        info.mode = 0o644
        tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _text(rng: random.Random, size: int) -> bytes:
    words = [f"w{rng.randrange(4096):x}" for _ in range(2048)]
    out = bytearray()
    line = 0
    while len(out) < size:
        out += f"{line:08d} ".encode() + " ".join(rng.choices(words, k=12)).encode() + b"\n"
        line += 1
    return bytes(out[:size])


class BenchImage:
    """Paths of the cached image."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.layout = root / "oci"
        self.ketch_root = root / "ketch-root"
        self.manifest_digest = (root / "manifest-digest").read_text().strip()
        self.total_bytes = int((root / "total-bytes").read_text())


def build_image(size_mb: int = 200, cache: Path = CACHE) -> BenchImage:
    """Build (or reuse) the image; returns where it is."""
    root = cache / f"image-{size_mb}"
    if (root / "done").exists():
        return BenchImage(root)
    root.mkdir(parents=True, exist_ok=True)
    rng = random.Random(42)
    per_layer = size_mb * (1 << 20) // 5
    layers: list[tuple[bytes, str]] = []  # (blob, diff_id)
    for i in range(5):
        # random (incompressible) layers, and text layers that compress about 3:1
        data = rng.randbytes(per_layer) if i in (0, 2, 4) else _text(rng, per_layer * 3)
        tar = _tar(f"data/layer{i}.bin", data)
        layers.append((igzip.compress(tar, compresslevel=1), _sha256(tar)))
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "created": "1970-01-01T00:00:00Z",
            "config": {"Cmd": ["sh"]},
            "rootfs": {"type": "layers", "diff_ids": [d for _, d in layers]},
        },
        separators=(",", ":"),
    ).encode()
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": _sha256(config),
                "size": len(config),
            },
            "layers": [
                {
                    "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": _sha256(blob),
                    "size": len(blob),
                }
                for blob, _ in layers
            ],
        },
        separators=(",", ":"),
    ).encode()
    blobs = {_sha256(b): b for b, _ in layers}
    blobs[_sha256(config)] = config
    blobs[_sha256(manifest)] = manifest
    layout = root / "oci"
    (layout / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
    (layout / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    for digest, data in blobs.items():
        (layout / "blobs" / "sha256" / digest.split(":")[1]).write_bytes(data)
    index = {
        "schemaVersion": 2,
        "manifests": [
            {
                "mediaType": OCI_MANIFEST,
                "digest": _sha256(manifest),
                "size": len(manifest),
                "annotations": {"org.opencontainers.image.ref.name": "bench"},
            }
        ],
    }
    (layout / "index.json").write_text(json.dumps(index))
    from ketch.content import ContentStore

    content = ContentStore(root / "ketch-root" / "content")
    for digest, data in blobs.items():
        content.ingest(data, expected=digest)
    (root / "manifest-digest").write_text(_sha256(manifest))
    (root / "total-bytes").write_text(str(sum(len(b) for b, _ in layers) + len(config)))
    (root / "done").write_text("")
    os.sync()
    return BenchImage(root)
