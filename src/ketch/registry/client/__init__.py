"""The registry client: pull, push, login, logout, search.

Blocking entry points for the CLI (blobs move in worker threads) and ``*_async``
ones for the daemon (the same, in a worker thread).  ``client`` (a ``RegistryClient``) carries the registries
config (mirrors, insecure hosts), the docker config path for credentials and the
transfer settings; the default reads ``/etc/ketch/registries.toml`` and
``$DOCKER_CONFIG/config.json`` (or ``~/.docker/config.json``).
"""

from __future__ import annotations

from ketch.registry.client._client import RegistryClient
from ketch.registry.client.login import SearchResult, login_sync, logout, search_sync
from ketch.registry.client.progress import ProgressCallback, ProgressEvent, event_stream
from ketch.registry.client.pull import pull_sync
from ketch.registry.client.push import push_sync

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ketch.content import ContentStore
    from ketch.images.store import ImageStore
    from ketch.oci.image_spec import Descriptor, Platform

__all__ = [
    "ProgressCallback",
    "ProgressEvent",
    "RegistryClient",
    "SearchResult",
    "event_stream",
    "login",
    "login_async",
    "logout",
    "pull",
    "pull_async",
    "push",
    "push_async",
    "search",
    "search_async",
]


def pull(
    ref: str,
    *,
    content: ContentStore,
    images: ImageStore,
    platform: Platform | None = None,
    all_tags: bool = False,
    progress: ProgressCallback | None = None,
    client: RegistryClient | None = None,
) -> Descriptor:
    """Pull ``ref`` into ``content`` and name it in ``images``; returns the target descriptor."""
    return pull_sync(
        client or RegistryClient(),
        ref,
        content=content,
        images=images,
        platform=platform,
        all_tags=all_tags,
        progress=progress,
    )


def push(
    ref: str,
    *,
    content: ContentStore,
    images: ImageStore,
    progress: ProgressCallback | None = None,
    client: RegistryClient | None = None,
) -> Descriptor:
    """Push the local image ``ref``; returns the descriptor pushed."""
    return push_sync(
        client or RegistryClient(), ref, content=content, images=images, progress=progress
    )


def login(
    registry: str | None, username: str, password: str, *, client: RegistryClient | None = None
) -> str:
    """Verify and store credentials; returns the registry host."""
    return login_sync(client or RegistryClient(), registry, username, password)


def search(
    term: str, *, limit: int = 25, client: RegistryClient | None = None
) -> list[SearchResult]:
    """Search the v1 search API (Docker Hub unless the term starts with a registry host)."""
    return search_sync(client or RegistryClient(), term, limit=limit)


# For the daemon: the same operations in a worker thread, awaitable from its loop.


async def pull_async(
    client: RegistryClient,
    ref: str,
    *,
    content: ContentStore,
    images: ImageStore,
    platform: Platform | None = None,
    all_tags: bool = False,
    progress: ProgressCallback | None = None,
) -> Descriptor:
    import asyncio

    return await asyncio.to_thread(
        pull_sync,
        client,
        ref,
        content=content,
        images=images,
        platform=platform,
        all_tags=all_tags,
        progress=progress,
    )


async def push_async(
    client: RegistryClient,
    ref: str,
    *,
    content: ContentStore,
    images: ImageStore,
    progress: ProgressCallback | None = None,
) -> Descriptor:
    import asyncio

    return await asyncio.to_thread(
        push_sync, client, ref, content=content, images=images, progress=progress
    )


async def login_async(
    client: RegistryClient, registry: str | None, username: str, password: str
) -> str:
    import asyncio

    return await asyncio.to_thread(login_sync, client, registry, username, password)


async def search_async(client: RegistryClient, term: str, *, limit: int = 25) -> list[SearchResult]:
    import asyncio

    return await asyncio.to_thread(search_sync, client, term, limit=limit)
