"""Server conformance: blobs, uploads, mounts (distribution spec 1.1)."""

from __future__ import annotations

import json
import os

from .conftest import push_blob, sha256


def error_code(body: str) -> str:
    return str(json.loads(body)["errors"][0]["code"])


def test_base_endpoint_and_api_header(serve):
    async def scenario(client):
        resp = await client.get("/v2/")
        assert resp.status == 200
        assert resp.headers["Docker-Distribution-API-Version"] == "registry/2.0"

    serve(scenario)


def test_monolithic_post_then_get_head_and_range(serve):
    data = os.urandom(5000)

    async def scenario(client):
        digest = await push_blob(client, "a/b", data)
        resp = await client.get(f"/v2/a/b/blobs/{digest}")
        assert resp.status == 200
        assert await resp.read() == data
        assert resp.headers["Docker-Content-Digest"] == digest
        resp = await client.head(f"/v2/a/b/blobs/{digest}")
        assert resp.status == 200 and int(resp.headers["Content-Length"]) == 5000
        resp = await client.get(f"/v2/a/b/blobs/{digest}", headers={"Range": "bytes=100-199"})
        assert resp.status == 206
        assert await resp.read() == data[100:200]
        resp = await client.get(f"/v2/a/b/blobs/{digest}", headers={"Range": "bytes=9000-"})
        assert resp.status == 416
        # the blob is not visible in another repository
        resp = await client.get(f"/v2/other/blobs/{digest}")
        assert resp.status == 404

    serve(scenario)


def test_post_put_and_chunked_patch_upload(serve):
    data = os.urandom(3 * 1024 + 7)
    digest = sha256(data)

    async def scenario(client):
        resp = await client.post("/v2/x/blobs/uploads/")
        assert resp.status == 202
        location = resp.headers["Location"]
        assert resp.headers["Docker-Upload-UUID"] in location
        resp = await client.patch(location, data=data[:1024], headers={"Content-Range": "0-1023"})
        assert resp.status == 202 and resp.headers["Range"] == "0-1023"
        # a chunk that does not start at the current offset: 416 and nothing appended
        resp = await client.patch(
            resp.headers["Location"], data=data[10:20], headers={"Content-Range": "10-19"}
        )
        assert resp.status == 416
        assert resp.headers["Range"] == "0-1023"
        resp = await client.get(location)
        assert resp.status == 204 and resp.headers["Range"] == "0-1023"
        resp = await client.patch(location, data=data[1024:2048])  # streamed, no Content-Range
        assert resp.status == 202 and resp.headers["Range"] == "0-2047"
        resp = await client.put(f"{location}?digest={digest}", data=data[2048:])
        assert resp.status == 201
        assert resp.headers["Location"] == f"/v2/x/blobs/{digest}"
        resp = await client.get(f"/v2/x/blobs/{digest}")
        assert await resp.read() == data
        # the session is gone
        resp = await client.get(location)
        assert resp.status == 404 and error_code(await resp.text()) == "BLOB_UPLOAD_UNKNOWN"

    serve(scenario)


def test_wrong_digest_stores_nothing(serve, tmp_path):
    async def scenario(client):
        wrong = sha256(b"other")
        resp = await client.post(f"/v2/x/blobs/uploads/?digest={wrong}", data=b"content")
        assert resp.status == 400 and error_code(await resp.text()) == "DIGEST_INVALID"
        resp = await client.head(f"/v2/x/blobs/{sha256(b'content')}")
        assert resp.status == 404
        resp = await client.head(f"/v2/x/blobs/{wrong}")
        assert resp.status == 404
        resp = await client.post("/v2/x/blobs/uploads/?digest=sha256:abc", data=b"x")
        assert resp.status == 400 and error_code(await resp.text()) == "DIGEST_INVALID"

    serve(scenario)
    assert not list((tmp_path / "registry" / "blobs").rglob("*[0-9a-f]"))
    assert os.listdir(tmp_path / "registry" / "uploads") == []


def test_oversized_upload_is_refused(serve, tmp_path):
    async def scenario(client):
        data = b"x" * 5000
        resp = await client.post(f"/v2/x/blobs/uploads/?digest={sha256(data)}", data=data)
        assert resp.status == 413 and error_code(await resp.text()) == "SIZE_INVALID"

    serve(scenario, max_blob_size=4096)
    assert os.listdir(tmp_path / "registry" / "uploads") == []


def test_delete_upload_and_unknown_upload(serve):
    async def scenario(client):
        resp = await client.post("/v2/x/blobs/uploads/")
        location = resp.headers["Location"]
        resp = await client.delete(location)
        assert resp.status == 204
        resp = await client.patch(location, data=b"abc")
        assert resp.status == 404
        resp = await client.get("/v2/x/blobs/uploads/not-a-uuid")
        assert resp.status == 404 and error_code(await resp.text()) == "BLOB_UPLOAD_UNKNOWN"

    serve(scenario)


def test_sha512_blob(serve):
    import hashlib

    data = b"sha512 content"
    digest = "sha512:" + hashlib.sha512(data).hexdigest()

    async def scenario(client):
        resp = await client.post(f"/v2/x/blobs/uploads/?digest={digest}", data=data)
        assert resp.status == 201
        resp = await client.get(f"/v2/x/blobs/{digest}")
        assert await resp.read() == data

    serve(scenario)


def test_cross_repository_mount(serve):
    data = b"layer"

    async def scenario(client):
        digest = await push_blob(client, "src", data)
        resp = await client.post(f"/v2/dst/blobs/uploads/?mount={digest}&from=src")
        assert resp.status == 201
        assert resp.headers["Location"] == f"/v2/dst/blobs/{digest}"
        resp = await client.head(f"/v2/dst/blobs/{digest}")
        assert resp.status == 200
        # not mountable: falls back to an upload session
        missing = sha256(b"missing")
        resp = await client.post(f"/v2/dst/blobs/uploads/?mount={missing}&from=src")
        assert resp.status == 202 and "Docker-Upload-UUID" in resp.headers

    serve(scenario)


def test_bad_names_are_refused(serve):
    async def scenario(client):
        for path in (
            "/v2/UPPER/blobs/uploads/",
            "/v2/a/.b/blobs/uploads/",
            "/v2/a//b/blobs/uploads/",
            "/v2/" + "a" * 300 + "/blobs/uploads/",
        ):
            resp = await client.post(path)
            assert resp.status in (400, 404), path
            if resp.status == 400:
                assert error_code(await resp.text()) == "NAME_INVALID"

    serve(scenario)


def test_blob_delete_disabled_then_enabled(serve, tmp_path):
    async def disabled(client):
        digest = await push_blob(client, "x", b"abc")
        resp = await client.delete(f"/v2/x/blobs/{digest}")
        assert resp.status == 405 and error_code(await resp.text()) == "UNSUPPORTED"

    async def enabled(client):
        digest = sha256(b"abc")
        resp = await client.delete(f"/v2/x/blobs/{digest}")
        assert resp.status == 202
        resp = await client.head(f"/v2/x/blobs/{digest}")
        assert resp.status == 404

    serve(disabled)
    serve(enabled, delete_enabled=True)


def test_read_only_refuses_writes(serve):
    async def scenario(client):
        resp = await client.post("/v2/x/blobs/uploads/")
        assert resp.status == 405 and error_code(await resp.text()) == "UNSUPPORTED"

    serve(scenario, read_only=True)


def test_access_log_is_json_lines(serve):
    log: list[str] = []

    async def scenario(client):
        await client.get("/v2/")
        await client.get("/v2/x/tags/list")

    serve(scenario, log=log)
    entries = [json.loads(line) for line in log]
    assert [(e["method"], e["path"], e["status"]) for e in entries] == [
        ("GET", "/v2/", 200),
        ("GET", "/v2/x/tags/list", 404),
    ]
