"""``import``: a rootfs tarball (file, stdin or http(s) URL) as a one-layer image.

The input may be compressed (gzip, zstd, bzip2, xz); it is stored as a gzip
layer whose diff ID is the digest of the uncompressed tar, with a config built
from ``--change`` instructions and a history entry carrying the message.
"""

import contextlib
import os
import tarfile
import time
from collections.abc import Sequence
from typing import BinaryIO

from ketch.content import ContentStore
from ketch.errors import InvalidArgument, NotFound, Unavailable
from ketch.images._compression import decompressed
from ketch.images.changes import apply_changes
from ketch.images.platforms import host_platform
from ketch.images.store import DANGLING_PREFIX, ImageRecord, ImageStore, format_time
from ketch.oci.digest import Digester
from ketch.oci.image_spec import (
    MEDIA_TYPE_OCI_CONFIG,
    MEDIA_TYPE_OCI_LAYER_GZIP,
    MEDIA_TYPE_OCI_MANIFEST,
    Descriptor,
    History,
    ImageConfig,
    Manifest,
    Platform,
    RootFS,
    image_config_to_json,
    manifest_to_json,
)

__all__ = ["import_rootfs", "open_source"]

_CHUNK = 1 << 20


def open_source(source: str, stdin: BinaryIO) -> BinaryIO:
    """The byte stream of ``-`` (stdin), an http(s) URL or a file path."""
    if source == "-":
        return stdin
    if source.startswith(("http://", "https://")):
        import urllib.error
        import urllib.request

        try:
            response = urllib.request.urlopen(source, timeout=60)
        except (urllib.error.URLError, OSError, ValueError) as e:
            raise Unavailable(f"import {source}: {e}") from e
        stream: BinaryIO = response
        return stream
    try:
        return open(source, "rb")
    except FileNotFoundError as e:
        raise InvalidArgument(f"open {source}: no such file or directory") from e
    except IsADirectoryError as e:
        raise InvalidArgument(f"{source}: is a directory, not a tarball") from e


class _GzipSink:
    """A file-like object for ``isal``'s gzip writer that feeds a content writer."""

    def __init__(self, write: "object") -> None:
        self._write = write

    def write(self, data: bytes) -> int:
        self._write(data)  # type: ignore[operator]
        return len(data)

    def flush(self) -> None:
        return None


def _ingest_layer(content: ContentStore, stream: BinaryIO) -> tuple[str, int, str, bool]:
    """Store ``stream`` (decompressed) as a gzip layer: (digest, size, diff_id, is new)."""
    from isal import igzip

    raw, _ = decompressed(stream)
    diff = Digester()
    total = 0
    ref = f"import-{os.getpid()}-{os.urandom(8).hex()}"
    with content.writer(ref) as w:
        try:
            gz = igzip.IGzipFile(  # type: ignore[no-untyped-call]
                fileobj=_GzipSink(w.write), mode="wb", mtime=0, compresslevel=1
            )
            while chunk := raw.read(_CHUNK):
                diff.update(chunk)
                gz.write(chunk)  # type: ignore[no-untyped-call]
                total += len(chunk)
            gz.close()
            if total == 0:
                raise InvalidArgument("import: the input is empty")
            size = w.offset
            is_new = not content.exists(w.digest())
            digest = w.commit()
        except (OSError, EOFError) as e:
            w.discard()
            raise InvalidArgument(f"import: cannot read the tarball: {e}") from e
        except BaseException:
            w.discard()
            raise
    return digest, size, diff.digest(), is_new


def _check_tar(content: ContentStore, digest: str) -> None:
    try:
        with content.open(digest) as f, tarfile.open(fileobj=f, mode="r|gz") as tar:
            members = 0
            for _ in tar:
                members += 1
    except (tarfile.TarError, OSError, EOFError) as e:
        raise InvalidArgument(f"import: the input is not a tar archive: {e}") from e
    if members == 0:
        raise InvalidArgument("import: the input is not a tar archive (no members)")


def import_rootfs(
    stream: BinaryIO,
    content: ContentStore,
    images: ImageStore,
    *,
    name: str | None = None,
    changes: Sequence[str] = (),
    message: str | None = None,
    source: str = "-",
    platform: Platform | None = None,
) -> ImageRecord:
    """Import ``stream`` as an image named ``name`` (dangling without one)."""
    container_config = apply_changes(None, changes)  # bad changes fail before any write
    if name is not None:
        from ketch.images.reference import parse_reference

        name = parse_reference(name).string()
    layer_digest, layer_size, diff_id, is_new = _ingest_layer(content, stream)
    new_blobs = [layer_digest] if is_new else []
    try:
        _check_tar(content, layer_digest)
        plat = platform or host_platform()
        created = format_time(time.time())
        config = ImageConfig(
            architecture=plat.architecture,
            os=plat.os,
            variant=plat.variant,
            config=container_config,
            rootfs=RootFS(type="layers", diff_ids=(diff_id,)),
            history=(History(created=created, comment=message or f"Imported from {source}"),),
            created=created,
        )
        config_bytes = image_config_to_json(config)
        config_digest = content.ingest(config_bytes)
        new_blobs.append(config_digest)  # its created time makes it new
        manifest = Manifest(
            schema_version=2,
            media_type=MEDIA_TYPE_OCI_MANIFEST,
            config=Descriptor(MEDIA_TYPE_OCI_CONFIG, config_digest, len(config_bytes)),
            layers=(Descriptor(MEDIA_TYPE_OCI_LAYER_GZIP, layer_digest, layer_size),),
        )
        manifest_bytes = manifest_to_json(manifest)
        manifest_digest = content.ingest(manifest_bytes)
        target = Descriptor(MEDIA_TYPE_OCI_MANIFEST, manifest_digest, len(manifest_bytes))
        return images.put(name or f"{DANGLING_PREFIX}{manifest_digest}", target)
    except BaseException:
        for digest in new_blobs:
            with contextlib.suppress(NotFound):
                content.delete(digest)
        raise
