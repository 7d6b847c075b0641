"""The registry client: pull, push, login, logout, search.

Synchronous entry points for the CLI (each runs its own event loop) and ``*_async``
ones for the daemon.  ``client`` (a ``RegistryClient``) carries the registries
config (mirrors, insecure hosts), the docker config path for credentials and the
transfer settings; the default reads ``/etc/ketch/registries.toml`` and
``$DOCKER_CONFIG/config.json`` (or ``~/.docker/config.json``).
"""

from __future__ import annotations

import asyncio

from ketch.registry.client._client import RegistryClient
from ketch.registry.client.login import SearchResult, login_async, logout, search_async
from ketch.registry.client.progress import ProgressCallback, ProgressEvent, event_stream
from ketch.registry.client.pull import pull_async
from ketch.registry.client.push import push_async

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
    return asyncio.run(
        pull_async(
            client or RegistryClient(),
            ref,
            content=content,
            images=images,
            platform=platform,
            all_tags=all_tags,
            progress=progress,
        )
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
    return asyncio.run(
        push_async(
            client or RegistryClient(), ref, content=content, images=images, progress=progress
        )
    )


def login(
    registry: str | None, username: str, password: str, *, client: RegistryClient | None = None
) -> str:
    """Verify and store credentials; returns the registry host."""
    return asyncio.run(login_async(client or RegistryClient(), registry, username, password))


def search(
    term: str, *, limit: int = 25, client: RegistryClient | None = None
) -> list[SearchResult]:
    """Search the v1 search API (Docker Hub unless the term starts with a registry host)."""
    return asyncio.run(search_async(client or RegistryClient(), term, limit=limit))
