"""Fixtures for the registry tests: an in-process server on aiohttp's test client."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from ketch.registry.server import ServerConfig, create_app

Scenario = Callable[[TestClient[Any, Any]], Awaitable[None]]


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def run_server(config: ServerConfig, scenario: Scenario, log: list[str] | None = None) -> None:
    async def main() -> None:
        app = create_app(config, log=log.append if log is not None else None)
        async with TestClient(TestServer(app)) as client:
            await scenario(client)

    asyncio.run(main())


@pytest.fixture
def serve(tmp_path: Path) -> Callable[..., None]:
    """``serve(scenario, **config)`` runs ``scenario(client)`` against a fresh server."""

    def _serve(scenario: Scenario, log: list[str] | None = None, **options: Any) -> None:
        run_server(ServerConfig(storage=tmp_path / "registry", **options), scenario, log)

    return _serve


async def push_blob(client: TestClient[Any, Any], name: str, data: bytes) -> str:
    digest = sha256(data)
    resp = await client.post(f"/v2/{name}/blobs/uploads/?digest={digest}", data=data)
    assert resp.status == 201, await resp.text()
    return digest


def image_manifest(config: bytes, layers: list[bytes], **extra: Any) -> bytes:
    doc = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": sha256(config),
            "size": len(config),
        },
        "layers": [
            {
                "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                "digest": sha256(layer),
                "size": len(layer),
            }
            for layer in layers
        ],
        **extra,
    }
    return json.dumps(doc).encode()


async def push_image(
    client: TestClient[Any, Any], name: str, tag: str, layers: list[bytes], **extra: Any
) -> tuple[str, bytes]:
    config = json.dumps({"architecture": "amd64", "os": "linux", "n": len(layers)}).encode()
    await push_blob(client, name, config)
    for layer in layers:
        await push_blob(client, name, layer)
    manifest = image_manifest(config, layers, **extra)
    resp = await client.put(
        f"/v2/{name}/manifests/{tag}",
        data=manifest,
        headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"},
    )
    assert resp.status == 201, await resp.text()
    return resp.headers["Docker-Content-Digest"], manifest


class ThreadedServer:
    """An aiohttp app on a loopback port, served from a thread (for the sync client API)."""

    def __init__(self, app: Any, port: int = 0) -> None:
        import threading

        self._app = app
        self._port = port
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self.port = 0
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("server did not start")

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _run(self) -> None:
        from aiohttp import web

        async def main() -> None:
            runner = web.AppRunner(self._app, access_log=None)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", self._port)
            await site.start()
            self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            self._ready.set()
            await self._stop.wait()
            await runner.cleanup()

        asyncio.run(main())

    def close(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)


@pytest.fixture
def start_server():
    """``start_server(app)`` -> ThreadedServer; every server is stopped at teardown."""
    servers: list[ThreadedServer] = []

    def _start(app: Any, port: int = 0) -> ThreadedServer:
        server = ThreadedServer(app, port)
        servers.append(server)
        return server

    yield _start
    for server in servers:
        server.close()


@pytest.fixture
def registry(tmp_path: Path, start_server: Any) -> Callable[..., ThreadedServer]:
    """``registry(**config)``: a ketch registry server on loopback with storage in tmp_path."""

    count = [0]

    def _registry(**options: Any) -> ThreadedServer:
        count[0] += 1
        storage = tmp_path / f"registry-{count[0]}"
        return start_server(create_app(ServerConfig(storage=storage, **options)))

    return _registry


class Stores:
    def __init__(self, root: Path) -> None:
        from ketch.content import ContentStore
        from ketch.images.store import ImageStore

        self.content = ContentStore(root / "content")
        self.images = ImageStore(root / "images", self.content)


@pytest.fixture
def stores(tmp_path: Path) -> Callable[[str], Stores]:
    return lambda name: Stores(tmp_path / name)


@pytest.fixture
def client_factory(tmp_path: Path) -> Callable[..., Any]:
    """A RegistryClient with no system config: docker config and registries in tmp_path."""
    from ketch.registry.auth import DockerConfig
    from ketch.registry.client import RegistryClient
    from ketch.registry.config import RegistriesConfig

    def _client(**options: Any) -> Any:
        options.setdefault("registries", RegistriesConfig())
        options.setdefault("docker_config", DockerConfig(tmp_path / "docker" / "config.json"))
        options.setdefault("certs_dirs", ())
        options.setdefault("backoff", 0.0)
        return RegistryClient(**options)

    return _client


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
