"""Push: send an image's blobs (skipping present ones, mounting from sibling repositories),
then its manifests, children before the index."""

from __future__ import annotations

import threading
import time

from ketch.content import ContentStore
from ketch.errors import InvalidArgument, NotFound, Unavailable
from ketch.images.reference import Reference, parse_reference
from ketch.images.store import ImageStore
from ketch.oci.image_spec import (
    INDEX_MEDIA_TYPES,
    MANIFEST_MEDIA_TYPES,
    Descriptor,
    is_foreign_layer,
    parse_index,
    parse_manifest,
)
from ketch.registry.client._client import RegistryClient
from ketch.registry.client._repository import RemoteRepository
from ketch.registry.client.progress import (
    ProgressCallback,
    ProgressEvent,
    serialized,
    short_id,
)

__all__ = ["push_sync"]

_PROGRESS_STEP = 1 << 20


def _noop(_event: ProgressEvent) -> None:
    pass


class _Pusher:
    def __init__(
        self,
        client: RegistryClient,
        repo: RemoteRepository,
        content: ContentStore,
        mount_sources: dict[str, list[str]],
        report: ProgressCallback,
    ) -> None:
        self.client = client
        self.repo = repo
        self.content = content
        self.mount_sources = mount_sources
        self.report = report
        self._lock = threading.Lock()
        self.done: dict[str, threading.Event] = {}
        self.errors: dict[str, BaseException] = {}

    def blob(self, desc: Descriptor, layer: bool) -> None:
        """Push one blob once, however many manifests share it."""
        with self._lock:
            event = self.done.get(desc.digest)
            mine = event is None
            if event is None:
                event = self.done[desc.digest] = threading.Event()
        if not mine:
            event.wait()
            error = self.errors.get(desc.digest)
            if error is not None:
                raise error
            return
        try:
            self._blob(desc, layer)
        except BaseException as e:
            self.errors[desc.digest] = e
            raise
        finally:
            event.set()

    def _blob(self, desc: Descriptor, layer: bool) -> None:
        ident = short_id(desc.digest)
        if not self.content.exists(desc.digest):
            raise NotFound(f"blob {desc.digest} of the image is not in the content store")
        if self.repo.blob_exists(desc.digest):
            if layer:
                self.report(ProgressEvent("Layer already exists", id=ident))
            return
        location = None
        for source in self.mount_sources.get(desc.digest, ())[:2]:
            location = self.repo.mount_blob(desc.digest, source)
            if location is None:
                if layer:
                    self.report(ProgressEvent(f"Mounted from {source}", id=ident))
                return
            break  # the 202 session is used for the upload
        last = [0]

        def on_bytes(sent: int) -> None:
            if layer and (sent - last[0] >= _PROGRESS_STEP or sent == desc.size):
                last[0] = sent
                self.report(ProgressEvent("Pushing", id=ident, current=sent, total=desc.size))

        attempts = max(1, self.client.retries)
        for attempt in range(1, attempts + 1):
            if location is None:
                location = self.repo.start_upload()
            try:
                self.repo.upload_blob(
                    desc, self.content, location, on_bytes, chunk_size=self.client.chunk_size
                )
                break
            except Unavailable:  # a broken connection: start a new upload session
                if attempt == attempts:
                    raise
                location = None
                last[0] = 0
                time.sleep(self.client.backoff * 2 ** (attempt - 1))
        if layer:
            self.report(ProgressEvent("Pushed", id=ident))

    def blobs(self, items: list[tuple[Descriptor, bool]]) -> None:
        """Push ``items`` with ``client.concurrency`` threads; the first error is raised
        once every thread has stopped."""
        queue = list(items)
        lock = threading.Lock()
        errors: list[BaseException] = []

        def work() -> None:
            while True:
                with lock:
                    if not queue or errors:
                        return
                    desc, layer = queue.pop(0)
                try:
                    self.blob(desc, layer)
                except BaseException as e:
                    with lock:
                        errors.append(e)
                    return

        threads = [
            threading.Thread(target=work, daemon=True)
            for _ in range(min(self.client.concurrency, len(queue)))
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            while thread.is_alive():
                thread.join(0.5)
        if errors:
            raise errors[0]

    def image(self, desc: Descriptor, reference: str | None) -> None:
        """Push a single-platform manifest's blobs, then the manifest."""
        data = self.content.read(desc.digest, max_size=4 << 20)
        manifest = parse_manifest(data, what=f"manifest {desc.digest}")
        layers = [layer for layer in manifest.layers if not is_foreign_layer(layer.media_type)]
        for layer in layers:
            self.report(ProgressEvent("Preparing", id=short_id(layer.digest)))
        for layer in layers:
            self.report(ProgressEvent("Waiting", id=short_id(layer.digest)))
        self.blobs([*((layer, True) for layer in layers), (manifest.config, False)])
        self.repo.put_manifest(reference or desc.digest, desc.media_type, data)


def push_sync(
    client: RegistryClient,
    reference: str,
    *,
    content: ContentStore,
    images: ImageStore,
    progress: ProgressCallback | None = None,
) -> Descriptor:
    """Push the local image ``reference``; returns the descriptor pushed under the tag."""
    report = serialized(progress) if progress is not None else _noop
    ref = parse_reference(reference)
    try:
        record = images.get(ref.string())
    except NotFound as e:
        raise NotFound(
            f"An image does not exist locally with the tag: {ref.familiar_name()}"
        ) from e
    endpoint = client.registries.endpoints(ref.domain, ref.path, pull=False)[-1]
    mount_sources = _mount_sources(images, ref)
    report(ProgressEvent(f"The push refers to repository [{ref.name}]"))
    target = record.target
    with client.transport() as transport:
        repo = RemoteRepository(transport, endpoint, push=True)
        pusher = _Pusher(client, repo, content, mount_sources, report)
        tag = ref.tag if ref.digest is None else None
        if target.media_type in INDEX_MEDIA_TYPES:
            target = _push_index(pusher, images, record, target, tag)
        elif target.media_type in MANIFEST_MEDIA_TYPES:
            pusher.image(target, tag)
        else:
            raise InvalidArgument(f"cannot push {ref.familiar()}: unsupported {target.media_type}")
    if target.digest == record.target.digest:  # docker's RepoDigests after a push
        images.put(ref.with_tag(None).with_digest(target.digest).string(), target)
    report(ProgressEvent(f"{tag or ref.digest}: digest: {target.digest} size: {target.size}"))
    return target


def _push_index(
    pusher: _Pusher, images: ImageStore, record: object, target: Descriptor, tag: str | None
) -> Descriptor:
    """Push every child present locally, then the index; if a child is neither here nor
    there, push only the host platform's manifest under the tag."""
    data = pusher.content.read(target.digest, max_size=4 << 20)
    index = parse_index(data, what=f"index {target.digest}")
    local = [d for d in index.manifests if pusher.content.exists(d.digest)]
    missing = [d for d in index.manifests if not pusher.content.exists(d.digest)]
    for child in missing:
        if not pusher.repo.manifest_exists(child.digest):
            from ketch.images.store import ImageRecord

            assert isinstance(record, ImageRecord)
            try:
                chosen, _ = images.resolve_manifest(record)
            except NotFound:  # not the host's platform: the first manifest present here
                candidates = [d for d in local if d.media_type in MANIFEST_MEDIA_TYPES]
                if not candidates:
                    raise
                chosen = candidates[0]
            pusher.report(
                ProgressEvent(f"index {target.digest} is incomplete here: pushing {chosen.digest}")
            )
            pusher.image(chosen, tag)
            return chosen
    for child in local:
        if child.media_type in MANIFEST_MEDIA_TYPES:
            pusher.image(child, None)
        elif child.media_type in INDEX_MEDIA_TYPES:
            raise InvalidArgument(f"nested index {child.digest} is not supported for push")
        else:
            pusher.blob(child, False)
            pusher.repo.put_manifest(
                child.digest, child.media_type, pusher.content.read(child.digest, max_size=4 << 20)
            )
    pusher.repo.put_manifest(tag or target.digest, target.media_type, data)
    return target


def _mount_sources(images: ImageStore, ref: Reference) -> dict[str, list[str]]:
    """Blob digest -> other repositories of the same registry whose local images use it
    (candidates for a cross-repository mount)."""
    sources: dict[str, list[str]] = {}
    for record in images.list():
        if record.is_dangling:
            continue
        try:
            other = parse_reference(record.name)
            if other.domain != ref.domain or other.path == ref.path:
                continue
            _, manifest = images.resolve_manifest(record)
        except (InvalidArgument, NotFound):
            continue
        for desc in (manifest.config, *manifest.layers):
            repos = sources.setdefault(desc.digest, [])
            if other.path not in repos:
                repos.append(other.path)
    return sources
