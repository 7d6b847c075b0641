"""Pull: resolve a reference, fetch index/manifest/config/layers into the content store, name it."""

from __future__ import annotations

import threading

from ketch.content import ContentStore
from ketch.errors import InvalidArgument, NotFound, PermissionDenied, Unavailable
from ketch.images.platforms import host_platform, platform_rank
from ketch.images.reference import Reference, parse_reference
from ketch.images.store import ImageStore
from ketch.oci.image_spec import (
    INDEX_MEDIA_TYPES,
    MANIFEST_MEDIA_TYPES,
    Descriptor,
    Platform,
    is_foreign_layer,
    parse_image_config,
    parse_index,
    parse_manifest,
)
from ketch.registry.client._client import RegistryClient
from ketch.registry.client._repository import Cancelled, RemoteRepository
from ketch.registry.client.progress import (
    ProgressCallback,
    ProgressEvent,
    serialized,
    short_id,
)

__all__ = ["pull_sync"]

_MAX_DEPTH = 4
_PROGRESS_STEP = 1 << 20


def _noop(_event: ProgressEvent) -> None:
    pass


def pull_sync(
    client: RegistryClient,
    reference: str,
    *,
    content: ContentStore,
    images: ImageStore,
    platform: Platform | None = None,
    all_tags: bool = False,
    progress: ProgressCallback | None = None,
) -> Descriptor:
    """Pull ``reference``; returns the descriptor recorded as the image's target.

    With ``all_tags`` every tag of the repository is pulled (the reference must
    not carry a tag or digest other than the default) and the last one returned.
    """
    report = serialized(progress) if progress is not None else _noop
    ref = parse_reference(reference, default_tag=None if all_tags else "latest")
    if all_tags and (ref.tag is not None or ref.digest is not None):
        raise InvalidArgument("tag can't be used with --all-tags/-a")
    endpoints = client.registries.endpoints(ref.domain, ref.path)
    with client.transport() as transport:
        last_error: Exception | None = None
        for endpoint in endpoints:
            repo = RemoteRepository(transport, endpoint)
            try:
                if not all_tags:
                    return _pull_one(client, repo, ref, content, images, platform, report)
                tags = sorted(repo.tags())
                if not tags:
                    raise NotFound(f"repository {ref.name} has no tags")
                result: Descriptor | None = None
                for tag in tags:
                    result = _pull_one(
                        client, repo, ref.with_tag(tag), content, images, platform, report
                    )
                assert result is not None
                return result
            except RecursionError as e:  # hostile JSON nested past the parser's limit
                raise InvalidArgument(f"{reference}: a document is nested too deeply") from e
            except (NotFound, Unavailable, PermissionDenied) as e:
                if not endpoint.mirror:
                    raise
                last_error = e
        raise Unavailable(f"pull of {reference} failed: {last_error}")


def _choose(manifests: tuple[Descriptor, ...], want: Platform, what: str) -> Descriptor:
    best: tuple[int, int, Descriptor] | None = None
    for i, d in enumerate(manifests):
        if d.media_type not in MANIFEST_MEDIA_TYPES | INDEX_MEDIA_TYPES:
            continue
        if d.platform is None:
            rank = 50
        else:
            r = platform_rank(want, d.platform)
            if r is None:
                continue
            rank = r
        if best is None or (rank, i) < best[:2]:
            best = (rank, i, d)
    if best is None:
        raise NotFound(f"no matching manifest for {want} in the manifest list entries of {what}")
    return best[2]


def _pull_one(
    client: RegistryClient,
    repo: RemoteRepository,
    ref: Reference,
    content: ContentStore,
    images: ImageStore,
    platform: Platform | None,
    report: ProgressCallback,
) -> Descriptor:
    reference = ref.digest or ref.tag or "latest"
    shown = ref.familiar()
    report(ProgressEvent(f"Pulling from {ref.familiar_name()}", id=ref.tag or short_id(reference)))
    data, media_type, digest = repo.get_manifest(reference)
    top = Descriptor(media_type=media_type, digest=digest, size=len(data))
    up_to_date = content.exists(digest)
    content.ingest(data, expected=digest)
    want = platform or host_platform()
    descriptor, body = top, data
    for _ in range(_MAX_DEPTH):
        if descriptor.media_type not in INDEX_MEDIA_TYPES:
            break
        index = parse_index(body, what=f"index {descriptor.digest}")
        child = _choose(index.manifests, want, shown)
        body, child_type, child_digest = repo.get_manifest(child.digest)
        if child.size != len(body):
            raise InvalidArgument(
                f"manifest {child.digest}: size {len(body)}, index says {child.size}"
            )
        content.ingest(body, expected=child_digest)
        descriptor = child if child.media_type else Descriptor(child_type, child.digest, child.size)
    else:
        raise InvalidArgument(f"{shown}: indexes nested too deeply")
    if descriptor.media_type not in MANIFEST_MEDIA_TYPES:
        raise InvalidArgument(f"{shown}: unsupported manifest type {descriptor.media_type!r}")
    manifest = parse_manifest(body, what=f"manifest {descriptor.digest}")
    layers = [layer for layer in manifest.layers if not is_foreign_layer(layer.media_type)]
    # the config and the layers are fetched together; the config is checked when it lands
    fetcher = _Fetcher(repo, content, report, client.concurrency)
    fetcher.start([(manifest.config, False), *((layer, True) for layer in layers)])
    try:
        fetcher.wait(manifest.config.digest)
        config = parse_image_config(
            content.read(manifest.config.digest, max_size=4 << 20),
            what=f"config {manifest.config.digest}",
        )
        if platform is not None and descriptor is top:
            have = config.platform
            if platform_rank(platform, have) is None:
                raise NotFound(
                    f"image with reference {shown} was found but does not match the specified "
                    f"platform: wanted {platform}, actual: {have}"
                )
        fetcher.wait_all()
    finally:
        fetcher.stop()
    # the name as asked, and name@digest (docker's RepoDigests)
    images.put(ref.string(), top)
    if ref.digest is None:
        images.put(ref.with_tag(None).with_digest(digest).string(), top)
    report(ProgressEvent(f"Digest: {digest}"))
    if up_to_date:
        report(ProgressEvent(f"Status: Image is up to date for {shown}"))
    else:
        report(ProgressEvent(f"Status: Downloaded newer image for {shown}"))
    return top


class _Fetcher:
    """Blobs fetched by ``concurrency`` threads, in the order given; the first error
    stops the others (their ingests are kept for a later resume)."""

    def __init__(
        self,
        repo: RemoteRepository,
        content: ContentStore,
        report: ProgressCallback,
        concurrency: int,
    ) -> None:
        self._repo = repo
        self._content = content
        self._report = report
        self._concurrency = concurrency
        self._cancel = threading.Event()
        self._cond = threading.Condition()
        self._queue: list[tuple[Descriptor, bool]] = []
        self._done: set[str] = set()
        self._error: BaseException | None = None
        self._threads: list[threading.Thread] = []

    def start(self, items: list[tuple[Descriptor, bool]]) -> None:
        for desc, layer in items:
            if self._content.exists(desc.digest):
                if layer:
                    self._report(ProgressEvent("Already exists", id=short_id(desc.digest)))
                self._done.add(desc.digest)
            else:
                if layer:
                    self._report(ProgressEvent("Pulling fs layer", id=short_id(desc.digest)))
                self._queue.append((desc, layer))
        for _ in range(min(self._concurrency, len(self._queue))):
            thread = threading.Thread(target=self._work, daemon=True)
            thread.start()
            self._threads.append(thread)

    def _work(self) -> None:
        while True:
            with self._cond:
                if not self._queue or self._cancel.is_set():
                    return
                desc, layer = self._queue.pop(0)
            try:
                self._fetch(desc, layer)
            except BaseException as e:
                with self._cond:
                    if self._error is None and not isinstance(e, Cancelled):
                        self._error = e
                    self._cancel.set()
                    self._cond.notify_all()
                return
            with self._cond:
                self._done.add(desc.digest)
                self._cond.notify_all()

    def _fetch(self, desc: Descriptor, layer: bool) -> None:
        ident = short_id(desc.digest)
        last = [0]

        def on_bytes(current: int) -> None:
            if layer and (current - last[0] >= _PROGRESS_STEP or current == desc.size):
                last[0] = current
                self._report(
                    ProgressEvent("Downloading", id=ident, current=current, total=desc.size)
                )

        self._repo.fetch_blob(desc, self._content, on_bytes, self._cancel)
        if layer:
            self._report(ProgressEvent("Download complete", id=ident))
            self._report(ProgressEvent("Pull complete", id=ident))

    def wait(self, digest: str) -> None:
        with self._cond:
            while digest not in self._done and self._error is None:
                if self._cancel.is_set() and not any(t.is_alive() for t in self._threads):
                    break
                self._cond.wait(0.5)
            self._raise()

    def wait_all(self) -> None:
        for thread in self._threads:
            while thread.is_alive():
                thread.join(0.5)
        self._raise()

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error
        if self._cancel.is_set():
            raise Unavailable("pull cancelled")

    def stop(self) -> None:
        """Cancel what is still running and wait for the threads (writers closed)."""
        self._cancel.set()
        for thread in self._threads:
            while thread.is_alive():
                thread.join(0.5)
