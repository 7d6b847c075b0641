"""Unpack an image's layers into snapshots keyed by OCI chain IDs.

Each layer is applied into an active snapshot prepared on its parent chain,
checked against the config's diff ID, then committed under its chain ID.
Chain IDs already present are skipped, so shared base layers unpack once.
"""

import contextlib
import hashlib
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

from ketch.content import ContentStore
from ketch.errors import AlreadyExists, InvalidArgument, NotFound
from ketch.oci.image_spec import ImageConfig, Manifest, is_foreign_layer

__all__ = ["Snapshotter", "apply_dir", "chain_ids", "unpack_image"]


class Snapshotter(Protocol):
    """What unpacking needs of ``ketch.snapshots`` (structural)."""

    def prepare(self, key: str, parent: str | None = None) -> Sequence[Any]: ...
    def commit(self, name: str, key: str) -> Any: ...
    def remove(self, key: str) -> Any: ...
    def stat(self, key: str) -> Any: ...
    def walk(self) -> Iterator[Any]: ...


def chain_ids(diff_ids: Sequence[str]) -> list[str]:
    """OCI ChainIDs: ChainID(L0) = DiffID(L0); ChainID(Ln) = sha256(ChainID(Ln-1) + " " + DiffID(Ln))."""
    result: list[str] = []
    for diff_id in diff_ids:
        if not result:
            result.append(diff_id)
        else:
            text = f"{result[-1]} {diff_id}".encode()
            result.append(f"sha256:{hashlib.sha256(text).hexdigest()}")
    return result


def _exists(snapshotter: Snapshotter, key: str) -> bool:
    try:
        snapshotter.stat(key)
    except NotFound:
        return False
    return True


def _option(options: Sequence[str], name: str) -> str | None:
    prefix = f"{name}="
    for o in options:
        if o.startswith(prefix):
            return o[len(prefix) :]
    return None


def apply_dir(mounts: Sequence[Any]) -> tuple[Path, str]:
    """The directory to write a layer into and the whiteout mode, from ``prepare``'s mounts:
    an overlay's ``upperdir`` (whiteouts as overlay char devices) or a bind's source."""
    if len(mounts) != 1:
        raise InvalidArgument(f"cannot apply a layer onto {len(mounts)} mounts")
    m = mounts[0]
    options = tuple(getattr(m, "options", ()) or ())
    if getattr(m, "type", None) == "overlay":
        upper = _option(options, "upperdir")
        if upper is None:
            raise InvalidArgument("cannot apply a layer onto a read-only overlay")
        return Path(upper), "overlay"
    source = getattr(m, "source", None)
    if source is None:
        raise InvalidArgument("snapshot mount has no source")
    return Path(source), "delete"


def unpack_image(
    content: ContentStore,
    snapshotter: Snapshotter,
    manifest: Manifest,
    config: ImageConfig,
) -> str:
    """Unpack ``manifest``'s layers; returns the top chain ID ("" for no layers)."""
    from ketch.layers import apply_layer

    diff_ids = config.rootfs.diff_ids
    layers = [layer for layer in manifest.layers if not is_foreign_layer(layer.media_type)]
    if len(layers) != len(diff_ids):
        raise InvalidArgument(
            f"image has {len(layers)} layers but its config lists {len(diff_ids)} diff IDs"
        )
    kind = getattr(snapshotter, "kind", None)
    chains = chain_ids(diff_ids)
    parent: str | None = None
    for layer, diff_id, chain_id in zip(layers, diff_ids, chains, strict=True):
        if _exists(snapshotter, chain_id):
            parent = chain_id
            continue
        key = f"extract-{os.urandom(6).hex()} {chain_id}"
        mounts = snapshotter.prepare(key, parent)
        try:
            dest, whiteout = apply_dir(mounts)
            get_dir = getattr(snapshotter, "apply_dir", None)
            if get_dir is not None:
                dest = Path(get_dir(key))
            if kind is not None:
                whiteout = "overlay" if kind == "overlayfs" else "delete"
            # overlay: implicit parent dirs and hardlinks to lower files come from the lowers
            get_lowers = getattr(snapshotter, "lower_dirs", None)
            parents = get_lowers(key) if get_lowers is not None and whiteout == "overlay" else ()
            with content.open(layer.digest) as stream:
                result = apply_layer(
                    stream, dest, media_type=layer.media_type, whiteout=whiteout, parents=parents
                )
            if result.diff_id != diff_id:
                raise InvalidArgument(
                    f"layer {layer.digest}: diff ID {result.diff_id} does not match "
                    f"the config's {diff_id}"
                )
            try:
                snapshotter.commit(chain_id, key)
            except AlreadyExists:  # unpacked concurrently by another process
                snapshotter.remove(key)
        except BaseException:
            with contextlib.suppress(NotFound):
                snapshotter.remove(key)
            raise
        parent = chain_id
    return parent or ""
