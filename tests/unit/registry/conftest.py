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
