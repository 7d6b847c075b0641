"""TLS with a per-registry CA directory, and uploads that survive a server restart."""

from __future__ import annotations

import asyncio
import os
import socket
import ssl

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from ketch.errors import Unavailable
from ketch.registry.client import pull, push
from ketch.registry.server import ServerConfig, create_app
from tests.support.images import busybox_image, store_image
from tests.support.tls import make_cert

from .conftest import sha256


def test_tls_registry_with_certs_d(tmp_path, start_server, stores, client_factory):
    cert, key = make_cert(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    app = create_app(ServerConfig(storage=tmp_path / "reg"))
    server = _TLSServer(app, context)
    try:
        host = server.host
        src = stores("src")
        parts = busybox_image()
        store_image(src.content, src.images, parts, f"{host}/tls:v1")
        with pytest.raises(Unavailable, match=r"TLS verification failed|cannot reach"):
            push(f"{host}/tls:v1", content=src.content, images=src.images, client=client_factory())
        certs_d = tmp_path / "certs.d"
        (certs_d / host).mkdir(parents=True)
        (certs_d / host / "ca.crt").write_bytes(cert.read_bytes())
        client = client_factory(certs_dirs=(certs_d,))
        push(f"{host}/tls:v1", content=src.content, images=src.images, client=client)
        dst = stores("dst")
        pull(f"{host}/tls:v1", content=dst.content, images=dst.images, client=client)
        assert dst.content.exists(parts.manifest_digest)
    finally:
        server.close()


class _TLSServer:
    def __init__(self, app, context):
        import threading

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.host = f"127.0.0.1:{self.port}"
        self._ready = threading.Event()

        async def main():
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", self.port, ssl_context=context).start()
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            self._ready.set()
            await self._stop.wait()
            await runner.cleanup()

        self._thread = threading.Thread(target=lambda: asyncio.run(main()), daemon=True)
        self._thread.start()
        assert self._ready.wait(10)

    def close(self):
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)


def test_upload_resumes_after_server_restart(tmp_path):
    data = os.urandom(10000)
    digest = sha256(data)
    config = ServerConfig(storage=tmp_path / "reg")

    async def main():
        async with TestClient(TestServer(create_app(config))) as client:
            resp = await client.post("/v2/x/blobs/uploads/")
            location = resp.headers["Location"]
            resp = await client.patch(
                location, data=data[:6000], headers={"Content-Range": "0-5999"}
            )
            assert resp.status == 202
        # a new process (new app, same storage): the session is still there
        async with TestClient(TestServer(create_app(config))) as client:
            resp = await client.get(location)
            assert resp.status == 204 and resp.headers["Range"] == "0-5999"
            resp = await client.put(
                f"{location}?digest={digest}",
                data=data[6000:],
                headers={"Content-Range": "6000-9999"},
            )
            assert resp.status == 201, await resp.text()
            resp = await client.get(f"/v2/x/blobs/{digest}")
            assert await resp.read() == data

    asyncio.run(main())


def test_truncated_upload_stores_nothing(tmp_path):
    config = ServerConfig(storage=tmp_path / "reg")
    data = os.urandom(4096)

    async def main():
        server = TestServer(create_app(config))
        async with TestClient(server) as client:
            resp = await client.post("/v2/x/blobs/uploads/")
            location = resp.headers["Location"]
            # a raw request announcing more bytes than it sends, then hanging up
            _reader, writer = await asyncio.open_connection(server.host, server.port)
            writer.write(
                f"PUT {location}?digest={sha256(data)} HTTP/1.1\r\nHost: x\r\n"
                f"Content-Length: {len(data)}\r\n\r\n".encode()
                + data[:1000]
            )
            await writer.drain()
            writer.close()
            await asyncio.sleep(0.2)
            resp = await client.head(f"/v2/x/blobs/{sha256(data)}")
            assert resp.status == 404
            resp = await client.get(location)  # the partial data stays in the session
            assert resp.status == 204 and resp.headers["Range"] == "0-999"

    asyncio.run(main())
    assert not (tmp_path / "reg" / "blobs" / "sha256").exists() or not os.listdir(
        tmp_path / "reg" / "blobs" / "sha256"
    )


def test_truncated_monolithic_post_leaves_no_session(tmp_path):
    config = ServerConfig(storage=tmp_path / "reg")
    data = os.urandom(4096)

    async def main():
        server = TestServer(create_app(config))
        async with TestClient(server):
            _reader, writer = await asyncio.open_connection(server.host, server.port)
            writer.write(
                f"POST /v2/x/blobs/uploads/?digest={sha256(data)} HTTP/1.1\r\nHost: x\r\n"
                f"Content-Length: {len(data)}\r\n\r\n".encode()
                + data[:1000]
            )
            await writer.drain()
            await asyncio.sleep(0.1)
            writer.close()
            await asyncio.sleep(0.2)

    asyncio.run(main())
    assert os.listdir(tmp_path / "reg" / "uploads") == []
