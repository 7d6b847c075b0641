from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from ketch.content import ContentStore
from ketch.errors import AlreadyExists, Conflict, NotFound
from ketch.images.gc import collect_garbage
from ketch.images.remove import ImageUser, prune_images, remove_image, users_from_containers
from ketch.images.store import ImageStore
from ketch.images.unpack import chain_ids
from ketch.oci._record import Record
from tests.support.images import busybox_image, multilayer_image, sha256, store_image


def _users(mapping: dict[str, list[ImageUser]]):  # type: ignore[no-untyped-def]
    return lambda image_id: mapping.get(image_id, [])


def test_untag_while_other_names_remain(content: ContentStore, images: ImageStore) -> None:
    parts = busybox_image()
    store_image(content, images, parts, "busybox")
    images.put("mine:1", images.get("busybox").target)
    result = remove_image(images, "mine:1")
    assert result.untagged == ("mine:1",) and result.deleted == ()
    result = remove_image(images, "busybox")
    assert result.lines() == ["Untagged: busybox:latest", f"Deleted: {parts.config_digest}"]
    assert images.list() == []


def test_by_id_with_several_repositories_needs_force(
    content: ContentStore, images: ImageStore
) -> None:
    parts = busybox_image()
    store_image(content, images, parts, "busybox")
    images.put("other:1", images.get("busybox").target)
    short = parts.config_digest[7:19]
    with pytest.raises(Conflict, match="referenced in multiple repositories"):
        remove_image(images, short)
    result = remove_image(images, short, force=True)
    assert set(result.untagged) == {"busybox:latest", "other:1"}
    assert result.deleted == (parts.config_digest,)


def test_by_id_same_repository_no_force(content: ContentStore, images: ImageStore) -> None:
    parts = busybox_image()
    store_image(content, images, parts, "busybox:1")
    images.put("busybox:2", images.get("busybox:1").target)
    result = remove_image(images, parts.config_digest)
    assert len(result.untagged) == 2


def test_in_use_rules(content: ContentStore, images: ImageStore) -> None:
    parts = busybox_image()
    store_image(content, images, parts, "busybox")
    image_id = parts.config_digest
    stopped = _users({image_id: [ImageUser("c" * 64, False)]})
    running = _users({image_id: [ImageUser("d" * 64, True)]})
    with pytest.raises(
        Conflict, match=r'unable to remove repository reference "busybox" \(must force\)'
    ):
        remove_image(images, "busybox", users=stopped)
    with pytest.raises(Conflict, match="being used by stopped container cccccccccccc"):
        remove_image(images, image_id, users=stopped)
    with pytest.raises(
        Conflict, match=r"\(cannot be forced\) - image is being used by running container"
    ):
        remove_image(images, image_id, force=True, users=running)
    # forced removal of the name keeps the image for the container, as dangling
    result = remove_image(images, "busybox", force=True, users=stopped)
    assert result.untagged == ("busybox:latest",) and result.deleted == ()
    assert images.list()[0].is_dangling
    assert images.image_id(images.get(image_id[7:19])) == image_id
    result = remove_image(images, image_id, force=True, users=stopped)
    assert result.deleted == (image_id,)


def test_remove_missing(images: ImageStore) -> None:
    with pytest.raises(NotFound, match="No such image: nope"):
        remove_image(images, "nope")


def test_users_from_containers() -> None:
    users = users_from_containers(
        [
            {"ID": "a", "Image": "sha256:x", "State": {"Running": True}},
            {"ID": "b", "Image": "sha256:y", "State": {}},
        ]
    )
    assert users("sha256:x") == [ImageUser("a", True)]
    assert users("sha256:z") == []


def test_gc_removes_only_unreferenced_blobs(content: ContentStore, images: ImageStore) -> None:
    keep = busybox_image()
    drop = multilayer_image()
    store_image(content, images, keep, "keep")
    store_image(content, images, drop, "drop")
    stray = content.ingest(b"stray")
    rooted = content.ingest(b"rooted")
    images.delete("drop")
    result = collect_garbage(images, extra_roots=[rooted])
    assert stray in result.removed_blobs and rooted not in result.removed_blobs
    remaining = {i.digest for i in content.walk()}
    assert set(keep.blobs()) | {rooted} == remaining
    assert result.freed_bytes > 0


def test_gc_grace_period(content: ContentStore, images: ImageStore) -> None:
    fresh = content.ingest(b"being pulled")
    assert collect_garbage(images, grace_seconds=3600).removed_blobs == ()
    assert content.exists(fresh)


def test_prune(content: ContentStore, images: ImageStore) -> None:
    store_image(content, images, busybox_image(), "busybox")
    dangling = store_image(content, images, multilayer_image(), None)
    images.put(f"dangling@{dangling.digest}", dangling)
    result = prune_images(images)
    assert result.deleted == (multilayer_image().config_digest,) and result.untagged == ()
    assert [r.name for r in images.list()] == ["docker.io/library/busybox:latest"]
    used = _users({busybox_image().config_digest: [ImageUser("c", False)]})
    assert prune_images(images, all_=True, users=used).deleted == ()
    result = prune_images(images, all_=True)
    assert result.untagged == ("busybox:latest",) and result.reclaimed > 0
    assert list(content.walk()) == []


# ------------------------------------------------------------------ snapshots (fake)


class Info(Record):
    name: str
    kind: str
    parent: str | None
    updated: float = 0.0


class FakeSnapshotter:
    kind = "native"

    def __init__(self) -> None:
        self.snaps: dict[str, Info] = {}

    def prepare(self, key: str, parent: str | None = None) -> Sequence[object]:
        self.snaps[key] = Info(key, "active", parent)
        return []

    def commit(self, name: str, key: str) -> None:
        if name in self.snaps:
            raise AlreadyExists(name)
        self.snaps[name] = Info(name, "committed", self.snaps.pop(key).parent)

    def remove(self, key: str) -> None:
        if key not in self.snaps:
            raise NotFound(key)
        self.snaps.pop(key)

    def stat(self, key: str) -> Info:
        if key not in self.snaps:
            raise NotFound(key)
        return self.snaps[key]

    def walk(self) -> Iterator[Info]:
        return iter(list(self.snaps.values()))


def test_gc_snapshots(tmp_path: Path, content: ContentStore) -> None:
    snap = FakeSnapshotter()
    images = ImageStore(tmp_path / "images", content, snap)  # type: ignore[arg-type]
    multi = multilayer_image()
    store_image(content, images, multi, "multi")
    chains = chain_ids([layer.diff_id for layer in multi.layers])
    parent = None
    for c in chains:
        snap.prepare("k", parent)
        snap.commit(c, "k")
        parent = c
    orphan = sha256(b"orphan")
    snap.prepare("k", None)
    snap.commit(orphan, "k")
    snap.prepare("container-rw", chains[-1])  # a container's active snapshot
    snap.prepare("extract-stale x", None)
    result = collect_garbage(images)
    assert set(result.removed_snapshots) == {orphan, "extract-stale x"}
    images.delete("multi")
    result = collect_garbage(images)
    assert result.removed_snapshots == ()  # the container still holds the chain
    snap.remove("container-rw")
    result = collect_garbage(images)
    assert list(result.removed_snapshots) == list(reversed(chains))
    assert snap.snaps == {}


def test_chain_ids() -> None:
    a, b = sha256(b"a"), sha256(b"b")
    assert chain_ids([]) == []
    assert chain_ids([a]) == [a]
    assert chain_ids([a, b])[1] == sha256(f"{a} {b}".encode())


def test_last_tag_of_a_repository_takes_its_digest_refs(
    content: ContentStore, images: ImageStore
) -> None:
    parts = busybox_image()
    target = store_image(content, images, parts, "busybox:1").target
    images.put(f"busybox@{parts.manifest_digest}", target)
    images.put("other:1", target)
    result = remove_image(images, "busybox:1")
    assert (
        result.untagged == ("busybox:1", f"busybox@{parts.manifest_digest}")
        and result.deleted == ()
    )
    assert [r.name for r in images.list()] == ["docker.io/library/other:1"]
    images.put("other:2", target)
    images.put(f"other@{parts.manifest_digest}", target)
    assert remove_image(images, "other:1").untagged == ("other:1",)  # other:2 remains
    result = remove_image(images, "other:2")
    assert result.deleted == (parts.config_digest,)
    assert images.list() == []
