"""Client behaviour under faults: resumed downloads, redirects, retries, mirrors."""

from __future__ import annotations

import base64
import json

import pytest
from aiohttp import web

from ketch.errors import InvalidArgument, Unavailable
from ketch.registry.auth import Credentials, DockerConfig
from ketch.registry.client import pull
from ketch.registry.config import parse_registries_config
from tests.support.images import busybox_image

from .conftest import free_port

BASIC = "Basic " + base64.b64encode(b"u:p").decode()


class FakeRegistry:
    """A hand-written registry whose faults the tests choose."""

    def __init__(self, parts, *, redirect_to: str | None = None, require_auth: bool = False):
        self.parts = parts
        self.redirect_to = redirect_to
        self.require_auth = require_auth
        self.requests: list[tuple[str, str, str | None, str | None]] = []
        self.truncate_once: set[str] = set()
        self.fail_503_once: set[str] = set()
        self.corrupt: set[str] = set()

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.handle)
        return app

    async def handle(self, request: web.Request) -> web.StreamResponse:
        auth = request.headers.get("Authorization")
        self.requests.append((request.method, request.path, request.headers.get("Range"), auth))
        if self.require_auth and auth != BASIC:
            return web.Response(status=401, headers={"WWW-Authenticate": 'Basic realm="fake"'})
        path = request.path
        if path == "/v2/":
            return web.json_response({})
        if path in self.fail_503_once:
            self.fail_503_once.discard(path)
            return web.Response(status=503)
        if path == "/v2/x/manifests/v1":
            return web.Response(
                body=self.parts.manifest,
                content_type=self.parts.manifest_media_type,
                headers={"Docker-Content-Digest": self.parts.manifest_digest},
            )
        blobs = self.parts.blobs()
        digest = path.rsplit("/", 1)[-1]
        if path.startswith("/v2/x/blobs/") and digest in blobs:
            if self.redirect_to:
                raise web.HTTPTemporaryRedirect(f"{self.redirect_to}/storage/{digest}")
            return await self.serve_blob(request, digest, blobs[digest])
        if path.startswith("/storage/") and digest in blobs:
            return await self.serve_blob(request, digest, blobs[digest])
        return web.Response(status=404)

    async def serve_blob(
        self, request: web.Request, digest: str, data: bytes
    ) -> web.StreamResponse:
        if digest in self.corrupt:
            data = bytes([data[0] ^ 1]) + data[1:]
        start = 0
        status = 200
        headers = {"Content-Type": "application/octet-stream"}
        rng = request.headers.get("Range")
        if rng:
            start = int(rng.removeprefix("bytes=").split("-")[0])
            status = 206
            headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
        body = data[start:]
        response = web.StreamResponse(status=status, headers=headers)
        response.content_length = len(body)
        await response.prepare(request)
        if digest in self.truncate_once:
            self.truncate_once.discard(digest)
            await response.write(body[: len(body) // 2])
            assert request.transport is not None
            request.transport.close()
            return response
        await response.write(body)
        await response.write_eof()
        return response


@pytest.fixture
def parts():
    return busybox_image()


def test_interrupted_download_resumes_with_range(start_server, stores, client_factory, parts):
    fake = FakeRegistry(parts)
    layer = parts.layers[0].digest
    fake.truncate_once.add(layer)
    server = start_server(fake.app())
    dst = stores("dst")
    pull(f"{server.host}/x:v1", content=dst.content, images=dst.images, client=client_factory())
    assert dst.content.read(layer) == parts.layers[0].blob
    ranges = [r for (m, p, r, _a) in fake.requests if p.endswith(layer)]
    half = len(parts.layers[0].blob) // 2
    assert ranges == [None, f"bytes={half}-"]


def test_corrupt_blob_is_refused_and_not_stored(start_server, stores, client_factory, parts):
    fake = FakeRegistry(parts)
    layer = parts.layers[0].digest
    fake.corrupt.add(layer)
    server = start_server(fake.app())
    dst = stores("dst")
    with pytest.raises(InvalidArgument, match="digest mismatch"):
        pull(f"{server.host}/x:v1", content=dst.content, images=dst.images, client=client_factory())
    assert not dst.content.exists(layer)
    assert dst.images.list() == []


def test_redirect_to_storage_drops_authorization(
    start_server, stores, client_factory, tmp_path, parts
):
    storage = FakeRegistry(parts)
    storage_server = start_server(storage.app())
    fake = FakeRegistry(parts, redirect_to=f"http://{storage_server.host}", require_auth=True)
    server = start_server(fake.app())
    docker_config = DockerConfig(tmp_path / "dc" / "config.json")
    docker_config.store(server.host, Credentials("u", "p"))
    dst = stores("dst")
    pull(
        f"{server.host}/x:v1",
        content=dst.content,
        images=dst.images,
        client=client_factory(docker_config=docker_config),
    )
    assert dst.content.exists(parts.layers[0].digest)
    assert any(a == BASIC for (_m, _p, _r, a) in fake.requests)
    assert storage.requests and all(a is None for (_m, _p, _r, a) in storage.requests)


def test_retry_after_503(start_server, stores, client_factory, parts):
    fake = FakeRegistry(parts)
    fake.fail_503_once.add("/v2/x/manifests/v1")
    server = start_server(fake.app())
    dst = stores("dst")
    pull(f"{server.host}/x:v1", content=dst.content, images=dst.images, client=client_factory())
    assert [p for (_m, p, _r, _a) in fake.requests].count("/v2/x/manifests/v1") == 2


def test_mirror_is_tried_first_and_primary_is_fallback(start_server, stores, client_factory, parts):
    mirror = FakeRegistry(parts)
    mirror_server = start_server(mirror.app())
    dead = f"127.0.0.1:{free_port()}"  # nothing listens there
    config = parse_registries_config(
        f"""
        [[registry]]
        prefix = "example.com/team"
        location = "{dead}/x"
        [[registry.mirror]]
        location = "{mirror_server.host}/x"
        """
    )
    dst = stores("dst")
    # the mirror serves "x" under the rewritten path: example.com/team/x -> <mirror>/x/x
    mirror_parts_path = "/v2/x/x/manifests/v1"
    assert config.endpoints("example.com", "team/x")[0].repository == "x/x"
    with pytest.raises(Unavailable, match="cannot reach registry"):
        pull(
            "example.com/team/x:v1",
            content=dst.content,
            images=dst.images,
            client=client_factory(registries=config),
        )
    assert any(p == mirror_parts_path for (_m, p, _r, _a) in mirror.requests)

    good = parse_registries_config(
        f"""
        [[registry]]
        prefix = "example.com/team"
        location = "{dead}"
        [[registry.mirror]]
        location = "{mirror_server.host}"
        """
    )
    pull(
        "example.com/team/x:v1",
        content=dst.content,
        images=dst.images,
        client=client_factory(registries=good),
    )
    assert json.loads(dst.content.read(parts.manifest_digest)) == json.loads(parts.manifest)


def test_anonymous_bearer_token_flow_like_docker_hub(start_server, stores, client_factory, parts):
    """401 Bearer challenge, an anonymous token from the realm (``access_token``), cached."""
    token_requests: list[dict[str, str]] = []

    async def token(request: web.Request) -> web.Response:
        token_requests.append(
            dict(request.query) | {"auth": request.headers.get("Authorization", "")}
        )
        return web.json_response({"access_token": "anon-token", "expires_in": 300})

    token_app = web.Application()
    token_app.router.add_get("/token", token)
    token_server = start_server(token_app)
    fake = FakeRegistry(parts)
    inner = fake.handle

    async def guarded(request: web.Request) -> web.StreamResponse:
        if request.headers.get("Authorization") != "Bearer anon-token":
            scope = "repository:x:pull"
            return web.Response(
                status=401,
                headers={
                    "WWW-Authenticate": f'Bearer realm="http://{token_server.host}/token",'
                    f'service="fake.registry",scope="{scope}"'
                },
            )
        return await inner(request)

    fake.handle = guarded  # type: ignore[method-assign]
    server = start_server(fake.app())
    dst = stores("dst")
    pull(f"{server.host}/x:v1", content=dst.content, images=dst.images, client=client_factory())
    assert dst.content.exists(parts.layers[0].digest)
    assert len(token_requests) == 1
    assert token_requests[0] == {
        "service": "fake.registry",
        "scope": "repository:x:pull",
        "auth": "",
    }


def test_ingest_left_by_an_earlier_pull_is_resumed(start_server, stores, client_factory, parts):
    fake = FakeRegistry(parts)
    server = start_server(fake.app())
    dst = stores("dst")
    layer = parts.layers[0]
    # an earlier pull stopped after 1000 bytes (a crash or ^C): its ingest is kept
    writer = dst.content.writer(
        f"pull-{layer.digest}", expected=layer.digest, total=len(layer.blob)
    )
    writer.write(layer.blob[:1000])
    writer.close()
    pull(f"{server.host}/x:v1", content=dst.content, images=dst.images, client=client_factory())
    assert dst.content.read(layer.digest) == layer.blob
    ranges = [r for (_m, p, r, _a) in fake.requests if p.endswith(layer.digest)]
    assert ranges == ["bytes=1000-"]


@pytest.mark.parametrize("answer", ["token", "tags"])
def test_deeply_nested_json_answers_are_invalid(
    start_server, stores, client_factory, parts, answer
):
    """A hostile token service or tags list nested past the parser's limit: a clear error."""
    deep = b"[" * 100_000 + b"]" * 100_000

    async def token(request: web.Request) -> web.Response:
        return web.Response(body=deep if answer == "token" else b'{"token":"t"}')

    token_app = web.Application()
    token_app.router.add_get("/token", token)
    token_server = start_server(token_app)
    fake = FakeRegistry(parts)
    inner = fake.handle

    async def guarded(request: web.Request) -> web.StreamResponse:
        if request.headers.get("Authorization") != "Bearer t":
            return web.Response(
                status=401,
                headers={"WWW-Authenticate": f'Bearer realm="http://{token_server.host}/token"'},
            )
        if request.path == "/v2/x/tags/list":
            return web.Response(body=deep)
        return await inner(request)

    fake.handle = guarded  # type: ignore[method-assign]
    server = start_server(fake.app())
    dst = stores("dst")
    message = "token service answer" if answer == "token" else "tags list of"
    with pytest.raises(InvalidArgument, match=f"{message}.*JSON nested too deeply"):
        pull(
            f"{server.host}/x",
            content=dst.content,
            images=dst.images,
            all_tags=True,
            client=client_factory(),
        )
