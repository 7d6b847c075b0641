"""Server conformance: one request per error case, with its status and error code."""

from __future__ import annotations

import json

import pytest

from .conftest import push_image, sha256

MISSING = sha256(b"missing")


@pytest.mark.parametrize(
    ("method", "path", "headers", "body", "status", "code"),
    [
        ("GET", "/v2/x/blobs/sha256:abc", {}, None, 400, "DIGEST_INVALID"),
        ("GET", "/v2/x/blobs/md5:" + "0" * 32, {}, None, 400, "DIGEST_INVALID"),
        ("GET", f"/v2/x/blobs/{MISSING}", {}, None, 404, "BLOB_UNKNOWN"),
        ("HEAD", f"/v2/x/blobs/{MISSING}", {}, None, 404, None),
        ("GET", "/v2/x/manifests/nope", {}, None, 404, "MANIFEST_UNKNOWN"),
        ("HEAD", "/v2/x/manifests/nope", {}, None, 404, None),
        ("GET", f"/v2/x/manifests/{MISSING}", {}, None, 404, "MANIFEST_UNKNOWN"),
        ("GET", "/v2/x/manifests/sha256:zz", {}, None, 400, "DIGEST_INVALID"),
        ("PUT", "/v2/x/manifests/-bad", {}, b"{}", 400, "TAG_INVALID"),
        ("DELETE", "/v2/x/manifests/v1", {}, None, 405, "UNSUPPORTED"),
        ("POST", "/v2/x/tags/list", {}, None, 405, "UNSUPPORTED"),
        ("GET", "/v2/x/tags/list?n=x", {}, None, 400, "PAGINATION_NUMBER_INVALID"),
        ("GET", "/v2/_catalog?n=-5", {}, None, 400, "PAGINATION_NUMBER_INVALID"),
        ("GET", "/v2/x/referrers/sha256:abc", {}, None, 400, "DIGEST_INVALID"),
        ("GET", "/v2/X/tags/list", {}, None, 400, "NAME_INVALID"),
        ("GET", "/v2/x/unknown-endpoint", {}, None, 404, "NAME_UNKNOWN"),
        (
            "GET",
            "/v2/x/blobs/uploads/3f1c1bd4-0000-4000-8000-000000000000",
            {},
            None,
            404,
            "BLOB_UPLOAD_UNKNOWN",
        ),
        ("POST", "/v2/x/blobs/uploads/?mount=sha256:abc&from=y", {}, None, 400, "DIGEST_INVALID"),
    ],
)
def test_error_table(serve, method, path, headers, body, status, code):
    async def scenario(client):
        await push_image(client, "x", "v1", [b"layer"])
        resp = await client.request(method, path, headers=headers, data=body)
        assert resp.status == status, await resp.text()
        text = await resp.text()
        if code is None:
            assert text == ""  # HEAD: no body
        else:
            assert resp.headers["Content-Type"].startswith("application/json")
            [error] = json.loads(text)["errors"]
            assert error["code"] == code
            assert error["message"]

    serve(scenario)


def test_upload_range_errors(serve):
    async def scenario(client):
        resp = await client.post("/v2/x/blobs/uploads/")
        location = resp.headers["Location"]
        for header, data in (("bytes=0-9", b"0123456789"), ("0-99", b"0123456789")):
            resp = await client.patch(location, data=data, headers={"Content-Range": header})
            assert resp.status == 416, header
            assert json.loads(await resp.text())["errors"][0]["code"] == "RANGE_INVALID"
        resp = await client.put(location, data=b"")
        assert resp.status == 400
        assert json.loads(await resp.text())["errors"][0]["code"] == "DIGEST_INVALID"
        # the session survived the refused requests
        resp = await client.get(location)
        assert resp.status == 204 and resp.headers["Range"] == "0-0"

    serve(scenario)
