"""Build test images without a registry: busybox from busybox-static, deterministic.

``busybox_image()`` returns an ``ImageParts`` (layer blobs, config, manifest) whose
digests are the same on every run of the same busybox binary (fixed mtimes,
owners and order; gzip with mtime 0).  Writers turn parts into a docker-archive
tarball (``write_docker_archive``), an OCI layout directory (``write_oci_layout``)
or an OCI archive tarball (``write_oci_archive``).  ``multilayer_image()`` adds a
layer with files and a layer with a whiteout and an opaque directory.
``store_image(content, images, parts, name)`` puts parts straight into a store.
"""

import functools
import gzip
import hashlib
import io
import json
import subprocess
import tarfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BUSYBOX = "/bin/busybox"
EPOCH = "1970-01-01T00:00:00Z"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"
DEFAULT_ENV = ("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",)

PASSWD = (
    "root:x:0:0:root:/root:/bin/sh\n"
    "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
    "app:x:1000:1000:app:/home/app:/bin/sh\n"
)
GROUP = "root:x:0:\nnogroup:x:65534:\napp:x:1000:\nextra:x:1001:app\n"


def sha256(data: bytes) -> str:
    return f"sha256:{hashlib.sha256(data).hexdigest()}"


# ------------------------------------------------------------------ layer tars


@dataclass
class Entry:
    """One tar member: kind is 'dir', 'file', 'symlink' or 'hardlink'."""

    path: str
    kind: str = "file"
    data: bytes = b""
    mode: int = 0o644
    target: str = ""
    uid: int = 0
    gid: int = 0


def make_tar(entries: Iterable[Entry]) -> bytes:
    """An uncompressed, deterministic tar (PAX, mtime 0, in the given order)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for e in entries:
            info = tarfile.TarInfo(e.path)
            info.mtime, info.uid, info.gid, info.mode = 0, e.uid, e.gid, e.mode
            info.uname = info.gname = ""
            if e.kind == "dir":
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            elif e.kind == "symlink":
                info.type, info.linkname = tarfile.SYMTYPE, e.target
                tar.addfile(info)
            elif e.kind == "hardlink":
                info.type, info.linkname = tarfile.LNKTYPE, e.target
                tar.addfile(info)
            else:
                info.size = len(e.data)
                tar.addfile(info, io.BytesIO(e.data))
    return buf.getvalue()


def gzip_bytes(data: bytes) -> bytes:
    """Deterministic gzip (mtime 0, no file name)."""
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", mtime=0, filename="") as f:
        f.write(data)
    return out.getvalue()


def busybox_applets() -> list[str]:
    out = subprocess.run([BUSYBOX, "--list"], capture_output=True, text=True, check=True)
    return sorted(a for a in out.stdout.split() if a and a != "busybox")


def busybox_entries() -> list[Entry]:
    """The busybox rootfs as tar entries (busybox, applet links, passwd, group, dirs)."""
    entries = [
        Entry(d, "dir", mode=0o755)
        for d in (
            "bin",
            "dev",
            "etc",
            "home",
            "proc",
            "root",
            "sbin",
            "sys",
            "usr",
            "usr/bin",
            "usr/sbin",
            "var",
        )
    ]
    entries.append(Entry("home/app", "dir", mode=0o755, uid=1000, gid=1000))
    entries.append(Entry("tmp", "dir", mode=0o1777))
    entries.append(Entry("bin/busybox", data=Path(BUSYBOX).read_bytes(), mode=0o755))
    entries += [
        Entry(f"bin/{a}", "symlink", target="busybox", mode=0o777) for a in busybox_applets()
    ]
    entries.append(Entry("etc/passwd", data=PASSWD.encode()))
    entries.append(Entry("etc/group", data=GROUP.encode()))
    entries.sort(key=lambda e: e.path)
    return entries


@functools.cache
def busybox_layer() -> bytes:
    """The busybox rootfs as an uncompressed tar (its sha256 is the diff ID); cached."""
    return make_tar(busybox_entries())


@functools.cache
def _gzip_cached(data: bytes) -> bytes:
    return gzip_bytes(data)


# ------------------------------------------------------------------ image parts


@dataclass
class Layer:
    tar: bytes  # uncompressed: sha256 is the diff ID
    blob: bytes  # as stored (gzip or plain)
    media_type: str

    @property
    def diff_id(self) -> str:
        return sha256(self.tar)

    @property
    def digest(self) -> str:
        return sha256(self.blob)


@dataclass
class ImageParts:
    layers: list[Layer]
    config: bytes
    manifest: bytes
    manifest_media_type: str
    extra_blobs: dict[str, bytes] = field(default_factory=dict)  # e.g. an index

    @property
    def config_digest(self) -> str:
        """The image ID docker shows."""
        return sha256(self.config)

    @property
    def manifest_digest(self) -> str:
        return sha256(self.manifest)

    def descriptor(self) -> dict[str, Any]:
        return {
            "mediaType": self.manifest_media_type,
            "digest": self.manifest_digest,
            "size": len(self.manifest),
        }

    def blobs(self) -> dict[str, bytes]:
        result = {layer.digest: layer.blob for layer in self.layers}
        result[self.config_digest] = self.config
        result[self.manifest_digest] = self.manifest
        result.update(self.extra_blobs)
        return result


def build_image(
    layer_tars: Sequence[bytes],
    *,
    cmd: Sequence[str] | None = ("sh",),
    entrypoint: Sequence[str] | None = None,
    env: Sequence[str] = DEFAULT_ENV,
    labels: dict[str, str] | None = None,
    extra_config: dict[str, Any] | None = None,
    architecture: str = "amd64",
    variant: str | None = None,
    docker: bool = False,
    compress: bool = True,
    history: Sequence[str] | None = None,
) -> ImageParts:
    """An image from uncompressed layer tars (OCI media types, or Docker's with ``docker``)."""
    layer_type = (DOCKER_LAYER_GZIP if docker else OCI_LAYER_GZIP) if compress else OCI_LAYER
    layers = [Layer(t, _gzip_cached(t) if compress else t, layer_type) for t in layer_tars]
    container_config: dict[str, Any] = {"Env": list(env)}
    if cmd is not None:
        container_config["Cmd"] = list(cmd)
    if entrypoint is not None:
        container_config["Entrypoint"] = list(entrypoint)
    if labels:
        container_config["Labels"] = labels
    container_config.update(extra_config or {})
    created_by = list(history or [f"layer {i}" for i in range(len(layers))])
    config: dict[str, Any] = {
        "architecture": architecture,
        "os": "linux",
        "created": EPOCH,
        "config": container_config,
        "rootfs": {"type": "layers", "diff_ids": [layer.diff_id for layer in layers]},
        "history": [{"created": EPOCH, "created_by": c} for c in created_by],
    }
    if variant:
        config["variant"] = variant
    config_bytes = json.dumps(config, separators=(",", ":")).encode()
    manifest_type = DOCKER_MANIFEST if docker else OCI_MANIFEST
    manifest = {
        "schemaVersion": 2,
        "mediaType": manifest_type,
        "config": {
            "mediaType": DOCKER_CONFIG if docker else OCI_CONFIG,
            "digest": sha256(config_bytes),
            "size": len(config_bytes),
        },
        "layers": [
            {"mediaType": layer.media_type, "digest": layer.digest, "size": len(layer.blob)}
            for layer in layers
        ],
    }
    manifest_bytes = json.dumps(manifest, separators=(",", ":")).encode()
    return ImageParts(layers, config_bytes, manifest_bytes, manifest_type)


def busybox_image(**kwargs: Any) -> ImageParts:
    """busybox:latest (one layer, CMD ["sh"])."""
    kwargs.setdefault("history", ["ADD busybox /"])
    return build_image([busybox_layer()], **kwargs)


def extra_layers() -> list[bytes]:
    """Two layers over busybox: files, then a whiteout, an opaque dir and a new file."""
    second = make_tar(
        [
            Entry("etc/motd", data=b"hello from layer 2\n"),
            Entry("opt", "dir", mode=0o755),
            Entry("opt/data", "dir", mode=0o755),
            Entry("opt/data/a.txt", data=b"a\n"),
            Entry("opt/data/b.txt", data=b"b\n"),
            Entry("opt/keep", "dir", mode=0o755),
            Entry("opt/keep/old.txt", data=b"old\n"),
            Entry("opt/link", "symlink", target="data/a.txt", mode=0o777),
        ]
    )
    third = make_tar(
        [
            Entry("opt/data", "dir", mode=0o755),
            Entry("opt/data/.wh.b.txt", data=b""),
            Entry("opt/data/c.txt", data=b"c\n", mode=0o600, uid=1000, gid=1000),
            Entry("opt/keep", "dir", mode=0o755),
            Entry("opt/keep/.wh..wh..opq", data=b""),
            Entry("opt/keep/new.txt", data=b"new\n"),
        ]
    )
    return [second, third]


def multilayer_image(**kwargs: Any) -> ImageParts:
    """busybox + files + whiteouts: /etc/motd, /opt/data/{a,c}.txt (b.txt whited out),
    /opt/keep/new.txt only (opaque), /opt/link -> data/a.txt."""
    kwargs.setdefault("history", ["ADD busybox /", "ADD files /", "RUN rm b.txt"])
    return build_image([busybox_layer(), *extra_layers()], **kwargs)


def multiplatform_index(images: dict[str, ImageParts]) -> tuple[bytes, ImageParts]:
    """An OCI index over ``{"linux/amd64": parts, "linux/arm64/v8": parts...}``.

    Returns the index bytes and a parts object holding every blob (its manifest
    fields are the first image's)."""
    manifests = []
    blobs: dict[str, bytes] = {}
    for platform, parts in images.items():
        os_name, arch, *variant = platform.split("/")
        entry: dict[str, Any] = {
            **parts.descriptor(),
            "platform": {"architecture": arch, "os": os_name},
        }
        if variant:
            entry["platform"]["variant"] = variant[0]
        manifests.append(entry)
        blobs.update(parts.blobs())
    index = json.dumps(
        {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests}, separators=(",", ":")
    ).encode()
    first = next(iter(images.values()))
    blobs[sha256(index)] = index
    return index, ImageParts(
        first.layers, first.config, first.manifest, first.manifest_media_type, extra_blobs=blobs
    )


# ------------------------------------------------------------------ writers


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = len(data), 0, 0o644
    tar.addfile(info, io.BytesIO(data))


def _add_dir(tar: tarfile.TarFile, name: str) -> None:
    info = tarfile.TarInfo(name)
    info.type, info.mtime, info.mode = tarfile.DIRTYPE, 0, 0o755
    tar.addfile(info)


def write_docker_archive(
    path: Path,
    parts: ImageParts,
    repo_tags: Sequence[str] = ("busybox:latest",),
    *,
    legacy: bool = False,
) -> Path:
    """A ``docker save`` tarball: manifest.json, repositories, <config>.json, layer tars.

    Layers are written uncompressed as ``<diff-hex>/layer.tar`` (docker's legacy
    layout) when ``legacy``, else as ``blobs/sha256/<hex>`` (docker 25+)."""
    config_hex = parts.config_digest.removeprefix("sha256:")
    layer_paths = []
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
        if legacy:
            _add(tar, f"{config_hex}.json", parts.config)
            for layer in parts.layers:
                hex_id = layer.diff_id.removeprefix("sha256:")
                _add_dir(tar, hex_id)
                _add(tar, f"{hex_id}/VERSION", b"1.0")
                _add(tar, f"{hex_id}/layer.tar", layer.tar)
                layer_paths.append(f"{hex_id}/layer.tar")
            config_path = f"{config_hex}.json"
        else:
            _add_dir(tar, "blobs")
            _add_dir(tar, "blobs/sha256")
            _add(tar, f"blobs/sha256/{config_hex}", parts.config)
            for layer in parts.layers:
                hex_id = layer.diff_id.removeprefix("sha256:")
                _add(tar, f"blobs/sha256/{hex_id}", layer.tar)
                layer_paths.append(f"blobs/sha256/{hex_id}")
            config_path = f"blobs/sha256/{config_hex}"
        manifest = [{"Config": config_path, "RepoTags": list(repo_tags), "Layers": layer_paths}]
        _add(tar, "manifest.json", json.dumps(manifest).encode())
        repositories: dict[str, dict[str, str]] = {}
        top = parts.layers[-1].diff_id.removeprefix("sha256:") if parts.layers else ""
        for tag in repo_tags:
            repo, _, t = tag.rpartition(":")
            repositories.setdefault(repo, {})[t] = top
        if repositories:
            _add(tar, "repositories", json.dumps(repositories).encode())
    return path


def write_oci_layout(
    directory: Path,
    parts: ImageParts,
    ref_name: str | None = "latest",
    *,
    index_target: dict[str, Any] | None = None,
) -> Path:
    """An OCI image layout directory: oci-layout, index.json, blobs/sha256/*."""
    blob_dir = directory / "blobs" / "sha256"
    blob_dir.mkdir(parents=True, exist_ok=True)
    for digest, data in parts.blobs().items():
        (blob_dir / digest.removeprefix("sha256:")).write_bytes(data)
    (directory / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    target = dict(index_target or parts.descriptor())
    if ref_name is not None:
        target["annotations"] = {"org.opencontainers.image.ref.name": ref_name}
    index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [target]}
    (directory / "index.json").write_text(json.dumps(index))
    return directory


def write_oci_archive(path: Path, parts: ImageParts, ref_name: str | None = "latest") -> Path:
    """An OCI layout as a tarball (what ``skopeo copy oci-archive:`` reads)."""
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
        _add(tar, "oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
        target = parts.descriptor()
        if ref_name is not None:
            target["annotations"] = {"org.opencontainers.image.ref.name": ref_name}
        _add(
            tar,
            "index.json",
            json.dumps(
                {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [target]}
            ).encode(),
        )
        _add_dir(tar, "blobs")
        _add_dir(tar, "blobs/sha256")
        for digest, data in sorted(parts.blobs().items()):
            _add(tar, f"blobs/sha256/{digest.removeprefix('sha256:')}", data)
    return path


def busybox_docker_archive(path: Path, tag: str = "busybox:latest") -> Path:
    return write_docker_archive(path, busybox_image(), [tag])


def busybox_oci_layout(directory: Path, ref_name: str = "latest") -> Path:
    return write_oci_layout(directory, busybox_image(), ref_name)


def store_image(
    content: Any, images: Any, parts: ImageParts, name: str | None = "busybox:latest"
) -> Any:
    """Ingest ``parts`` into a ``ContentStore`` and name it in an ``ImageStore``;
    returns the ``ImageRecord`` (or the target descriptor when ``name`` is None)."""
    from ketch.oci.image_spec import Descriptor

    for digest, data in parts.blobs().items():
        content.ingest(data, expected=digest)
    target = Descriptor(
        media_type=parts.manifest_media_type, digest=parts.manifest_digest, size=len(parts.manifest)
    )
    if name is None:
        return target
    return images.put(name, target)


__all__ = [
    "BUSYBOX",
    "Entry",
    "ImageParts",
    "Layer",
    "build_image",
    "busybox_docker_archive",
    "busybox_entries",
    "busybox_image",
    "busybox_layer",
    "busybox_oci_layout",
    "extra_layers",
    "gzip_bytes",
    "make_tar",
    "multilayer_image",
    "multiplatform_index",
    "sha256",
    "store_image",
    "write_docker_archive",
    "write_oci_archive",
    "write_oci_layout",
]
