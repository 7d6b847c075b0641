"""``rmi`` and ``image prune`` with docker's rules.

Containers live above this package, so callers pass ``users``: a function from an
image ID to the containers using it (``ImageUser``).  Removing a name only
untags while other names remain; the last name, or an image ID, deletes the
image unless a container uses it (``Conflict``; ``force`` overrides for stopped
containers, never for running ones).  Blobs and snapshots are freed by
``ketch.images.gc`` afterwards.
"""

from collections.abc import Callable, Sequence

from ketch.errors import Conflict, InvalidArgument, NotFound
from ketch.images.reference import is_image_id_prefix, parse_reference
from ketch.images.store import DANGLING_PREFIX, ImageRecord, ImageStore
from ketch.oci._record import Record

__all__ = [
    "ImageUser",
    "PruneResult",
    "RemoveResult",
    "prune_images",
    "remove_image",
    "users_from_containers",
]


class ImageUser(Record):
    container_id: str
    running: bool


class RemoveResult(Record):
    untagged: tuple[str, ...]  # familiar references, as docker prints them
    deleted: tuple[str, ...]  # image IDs
    blobs: tuple[str, ...] = ()  # the deleted image's blobs: gc candidates

    def lines(self) -> list[str]:
        return [f"Untagged: {u}" for u in self.untagged] + [f"Deleted: {d}" for d in self.deleted]


STRAY_GRACE_SECONDS = 3600.0

Users = Callable[[str], Sequence[ImageUser]]


def _no_users(_: str) -> Sequence[ImageUser]:
    return ()


def users_from_containers(containers: Sequence[dict[str, object]]) -> Users:
    """A ``users`` function over docker-style container documents (``ID``, ``Image``, ``State``)."""

    def users(image_id: str) -> Sequence[ImageUser]:
        result = []
        for doc in containers:
            if doc.get("Image") == image_id:
                state = doc.get("State")
                running = bool(isinstance(state, dict) and state.get("Running"))
                result.append(ImageUser(str(doc.get("ID", "")), running))
        return result

    return users


def _familiar(record: ImageRecord) -> str:
    return parse_reference(record.name).familiar()


def _short(image_id: str) -> str:
    return image_id.removeprefix("sha256:")[:12]


def _by_name(images: ImageStore, ref: str) -> ImageRecord | None:
    try:
        name = parse_reference(ref).string()
    except InvalidArgument:
        return None
    try:
        record = images.get(ref)
    except NotFound:
        return None
    return record if record.name == name or "@" in ref else None


def _digest_refs_going_too(record: ImageRecord, named: list[ImageRecord]) -> list[ImageRecord]:
    """Untagging a repository's last tag also drops its ``name@digest`` references (docker)."""
    ref = parse_reference(record.name)
    if ref.digest is not None:
        return []
    same_repo = [
        r for r in named if r.name != record.name and parse_reference(r.name).name == ref.name
    ]
    if any(parse_reference(r.name).digest is None for r in same_repo):
        return []  # another tag of the repository remains
    return same_repo


def remove_image(
    images: ImageStore, ref: str, *, force: bool = False, users: Users = _no_users
) -> RemoveResult:
    """Untag or delete ``ref`` (a name or an image ID) as ``docker rmi`` does."""
    named_record = _by_name(images, ref)
    record = named_record or images.get(ref)
    image_id = images.image_id(record)
    related = images.records_of(image_id)
    named = [r for r in related if not r.is_dangling]
    using = list(users(image_id))
    running = [u for u in using if u.running]
    if named_record is not None and not (is_image_id_prefix(ref) and named_record.is_dangling):
        removing = [named_record, *_digest_refs_going_too(named_record, named)]
        others = [r for r in named if r not in removing]
        if others:
            for r in removing:
                images.delete(r.name)
            return RemoveResult(tuple(_familiar(r) for r in removing), ())
        if using and not force:
            raise Conflict(
                f'conflict: unable to remove repository reference "{ref}" (must force) - '
                f"container {using[0].container_id[:12]} is using its referenced image "
                f"{_short(image_id)}"
            )
        if using:  # forced: untag, the container keeps the image as dangling
            images.put(f"{DANGLING_PREFIX}{named_record.target.digest}", named_record.target)
            images.delete(named_record.name)
            return RemoveResult((_familiar(named_record),), ())
    else:
        if running:
            raise Conflict(
                f"conflict: unable to delete {_short(image_id)} (cannot be forced) - image is "
                f"being used by running container {running[0].container_id[:12]}"
            )
        repositories = {parse_reference(r.name).name for r in named}
        if len(repositories) > 1 and not force:
            raise Conflict(
                f"conflict: unable to delete {_short(image_id)} (must be forced) - image is "
                "referenced in multiple repositories"
            )
        if using and not force:
            raise Conflict(
                f"conflict: unable to delete {_short(image_id)} (must be forced) - image is "
                f"being used by stopped container {using[0].container_id[:12]}"
            )
    from ketch.images.gc import reachable

    candidates: set[str] = set()
    for r in related:
        candidates |= reachable(images, r.target)[0]
    untagged = []
    for r in related:
        try:
            images.delete(r.name)
        except NotFound:
            continue
        if not r.is_dangling:
            untagged.append(_familiar(r))
    return RemoveResult(tuple(untagged), (image_id,), tuple(sorted(candidates)))


class PruneResult(Record):
    untagged: tuple[str, ...]
    deleted: tuple[str, ...]
    reclaimed: int


def prune_images(
    images: ImageStore,
    *,
    all_: bool = False,
    users: Users = _no_users,
    keep: Callable[[ImageRecord], bool] | None = None,
) -> PruneResult:
    """Delete dangling images (every unused image with ``all_``), then collect garbage.

    ``keep`` lets the caller's filters (``label=``, ``until=``) spare images."""
    from ketch.images.gc import collect_garbage, reachable

    by_id: dict[str, list[ImageRecord]] = {}
    for r in images.list():
        by_id.setdefault(images.image_id(r), []).append(r)
    untagged: list[str] = []
    deleted: list[str] = []
    candidates: set[str] = set()
    for image_id, records in sorted(by_id.items()):
        dangling = all(r.is_dangling for r in records)
        if not (all_ or dangling) or users(image_id):
            continue
        if keep is not None and any(keep(r) for r in records):
            continue
        for r in records:
            candidates |= reachable(images, r.target)[0]
            try:
                images.delete(r.name)
            except NotFound:
                continue
            if not r.is_dangling:
                untagged.append(_familiar(r))
        deleted.append(image_id)
    # the pruned images' blobs at once; other strays only when older than an in-flight pull
    freed = collect_garbage(images, only=candidates).freed_bytes
    freed += collect_garbage(images, grace_seconds=STRAY_GRACE_SECONDS).freed_bytes
    return PruneResult(tuple(untagged), tuple(deleted), freed)
