"""Push: send an image's blobs (skipping present ones, mounting from sibling repositories),
then its manifests, children before the index."""

from __future__ import annotations

import asyncio

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
from ketch.registry.client.progress import ProgressCallback, ProgressEvent, short_id

__all__ = ["push_async"]

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
        self.semaphore = asyncio.Semaphore(client.concurrency)
        self.done: dict[str, asyncio.Future[None]] = {}

    async def blob(self, desc: Descriptor, layer: bool) -> None:
        """Push one blob once, however many manifests share it."""
        future = self.done.get(desc.digest)
        if future is not None:
            return await asyncio.shield(future)
        future = asyncio.get_running_loop().create_future()
        self.done[desc.digest] = future
        try:
            await self._blob(desc, layer)
            future.set_result(None)
        except BaseException as e:
            future.set_exception(e)
            future.exception()  # retrieved: the caller re-raises it
            raise

    async def _blob(self, desc: Descriptor, layer: bool) -> None:
        ident = short_id(desc.digest)
        if not self.content.exists(desc.digest):
            raise NotFound(f"blob {desc.digest} of the image is not in the content store")
        async with self.semaphore:
            if await self.repo.blob_exists(desc.digest):
                if layer:
                    self.report(ProgressEvent("Layer already exists", id=ident))
                return
            location = None
            for source in self.mount_sources.get(desc.digest, ())[:2]:
                location = await self.repo.mount_blob(desc.digest, source)
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
                    location = await self.repo.start_upload()
                try:
                    await self.repo.upload_blob(
                        desc, self.content, location, on_bytes, chunk_size=self.client.chunk_size
                    )
                    break
                except Unavailable:  # a broken connection: start a new upload session
                    if attempt == attempts:
                        raise
                    location = None
                    last[0] = 0
                    await asyncio.sleep(self.client.backoff * 2 ** (attempt - 1))
        if layer:
            self.report(ProgressEvent("Pushed", id=ident))

    async def image(self, desc: Descriptor, reference: str | None) -> None:
        """Push a single-platform manifest's blobs, then the manifest."""
        data = self.content.read(desc.digest, max_size=4 << 20)
        manifest = parse_manifest(data, what=f"manifest {desc.digest}")
        layers = [layer for layer in manifest.layers if not is_foreign_layer(layer.media_type)]
        for layer in layers:
            self.report(ProgressEvent("Preparing", id=short_id(layer.digest)))
        for layer in layers:
            self.report(ProgressEvent("Waiting", id=short_id(layer.digest)))
        tasks = [asyncio.ensure_future(self.blob(layer, True)) for layer in layers]
        tasks.append(asyncio.ensure_future(self.blob(manifest.config, False)))
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        await self.repo.put_manifest(reference or desc.digest, desc.media_type, data)


async def push_async(
    client: RegistryClient,
    reference: str,
    *,
    content: ContentStore,
    images: ImageStore,
    progress: ProgressCallback | None = None,
) -> Descriptor:
    """Push the local image ``reference``; returns the descriptor pushed under the tag."""
    report = progress or _noop
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
    async with client.transport() as transport:
        repo = RemoteRepository(transport, endpoint, push=True)
        pusher = _Pusher(client, repo, content, mount_sources, report)
        tag = ref.tag if ref.digest is None else None
        if target.media_type in INDEX_MEDIA_TYPES:
            target = await _push_index(pusher, images, record, target, tag)
        elif target.media_type in MANIFEST_MEDIA_TYPES:
            await pusher.image(target, tag)
        else:
            raise InvalidArgument(f"cannot push {ref.familiar()}: unsupported {target.media_type}")
    if target.digest == record.target.digest:  # docker's RepoDigests after a push
        images.put(ref.with_tag(None).with_digest(target.digest).string(), target)
    report(ProgressEvent(f"{tag or ref.digest}: digest: {target.digest} size: {target.size}"))
    return target


async def _push_index(
    pusher: _Pusher, images: ImageStore, record: object, target: Descriptor, tag: str | None
) -> Descriptor:
    """Push every child present locally, then the index; if a child is neither here nor
    there, push only the host platform's manifest under the tag."""
    data = pusher.content.read(target.digest, max_size=4 << 20)
    index = parse_index(data, what=f"index {target.digest}")
    local = [d for d in index.manifests if pusher.content.exists(d.digest)]
    missing = [d for d in index.manifests if not pusher.content.exists(d.digest)]
    for child in missing:
        if not await pusher.repo.manifest_exists(child.digest):
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
            await pusher.image(chosen, tag)
            return chosen
    for child in local:
        if child.media_type in MANIFEST_MEDIA_TYPES:
            await pusher.image(child, None)
        elif child.media_type in INDEX_MEDIA_TYPES:
            raise InvalidArgument(f"nested index {child.digest} is not supported for push")
        else:
            await pusher.blob(child, False)
            await pusher.repo.put_manifest(
                child.digest, child.media_type, pusher.content.read(child.digest, max_size=4 << 20)
            )
    await pusher.repo.put_manifest(tag or target.digest, target.media_type, data)
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
