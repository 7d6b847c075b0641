"""The client's start-up stays lean, and the daemon's async API still streams events."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

from ketch.registry.client import ProgressEvent, event_stream, pull_async, push
from tests.support.images import multilayer_image, store_image

# what `ketch pull` imports to talk to a registry (ketch/cli/commands/pull.py)
PULL_PATH = """
import sys
from ketch.images.platforms import parse_platform
from ketch.images.reference import parse_reference
from ketch.registry.client import RegistryClient, pull
from ketch.registry.client.progress import auto_progress
import io
auto_progress(io.StringIO())
print(__import__("json").dumps(sorted(sys.modules)))
"""


def test_pull_path_imports_no_heavy_modules():
    """No aiohttp (~0.13 s, with TLS contexts built at import), asyncio, rich, http.client
    or thread pools on the CLI's pull path."""
    out = subprocess.run(
        [sys.executable, "-c", PULL_PATH], check=True, capture_output=True, text=True
    ).stdout
    loaded = set(json.loads(out))
    heavy = {"aiohttp", "yarl", "asyncio", "rich", "http.client", "concurrent.futures", "ssl"}
    heavy |= {"subprocess"}  # only for credential helpers
    assert heavy & loaded == set()


def test_plain_http_pull_builds_no_tls_context(registry, stores, client_factory, monkeypatch):
    import ssl

    server = registry()
    src, dst = stores("src"), stores("dst")
    parts = multilayer_image()
    ref = f"{server.host}/lean/app:1"
    store_image(src.content, src.images, parts, ref)
    push(ref, content=src.content, images=src.images, client=client_factory())

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a TLS context was built for a plain-HTTP registry")

    monkeypatch.setattr(ssl, "create_default_context", refuse)
    monkeypatch.setattr(ssl, "SSLContext", refuse)
    from ketch.registry.client import pull

    pull(ref, content=dst.content, images=dst.images, client=client_factory())
    assert dst.content.exists(parts.manifest_digest)


def test_pull_async_streams_events_from_worker_threads(registry, stores, client_factory):
    server = registry()
    src, dst = stores("src"), stores("dst")
    parts = multilayer_image()
    ref = f"{server.host}/lean/app:2"
    store_image(src.content, src.images, parts, ref)
    push(ref, content=src.content, images=src.images, client=client_factory())
    client = client_factory()

    async def main() -> list[ProgressEvent]:
        return [
            e
            async for e in event_stream(
                lambda cb: pull_async(
                    client, ref, content=dst.content, images=dst.images, progress=cb
                )
            )
        ]

    events = asyncio.run(main())
    assert events[0].status.startswith("Pulling from")
    assert events[-1].status.startswith("Status: Downloaded newer image")
    assert sum(e.status == "Pull complete" for e in events) == len(parts.layers)
    assert dst.content.exists(parts.manifest_digest)
