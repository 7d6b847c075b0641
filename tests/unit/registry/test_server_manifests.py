"""Server conformance: manifests, tags, referrers, errors (distribution spec 1.1)."""

from __future__ import annotations

import json

from .conftest import image_manifest, push_blob, push_image, sha256

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"


def error_code(body: str) -> str:
    return str(json.loads(body)["errors"][0]["code"])


def test_put_get_head_manifest_by_tag_and_digest(serve):
    async def scenario(client):
        digest, manifest = await push_image(client, "lib/app", "v1", [b"l1", b"l2"])
        assert digest == sha256(manifest)
        for ref in ("v1", digest):
            resp = await client.get(
                f"/v2/lib/app/manifests/{ref}", headers={"Accept": OCI_MANIFEST}
            )
            assert resp.status == 200
            assert await resp.read() == manifest
            assert resp.headers["Content-Type"] == OCI_MANIFEST
            assert resp.headers["Docker-Content-Digest"] == digest
            resp = await client.head(f"/v2/lib/app/manifests/{ref}")
            assert resp.status == 200 and int(resp.headers["Content-Length"]) == len(manifest)
        # Accept without the stored type: not served
        resp = await client.get(
            "/v2/lib/app/manifests/v1",
            headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"},
        )
        assert resp.status == 404
        resp = await client.get("/v2/lib/app/manifests/nope")
        assert resp.status == 404 and error_code(await resp.text()) == "MANIFEST_UNKNOWN"

    serve(scenario)


def test_put_by_digest_verifies_it(serve):
    async def scenario(client):
        config = b"{}"
        await push_blob(client, "x", config)
        manifest = image_manifest(config, [])
        wrong = sha256(b"something else")
        resp = await client.put(
            f"/v2/x/manifests/{wrong}", data=manifest, headers={"Content-Type": OCI_MANIFEST}
        )
        assert resp.status == 400 and error_code(await resp.text()) == "DIGEST_INVALID"
        resp = await client.put(
            f"/v2/x/manifests/{sha256(manifest)}",
            data=manifest,
            headers={"Content-Type": OCI_MANIFEST},
        )
        assert resp.status == 201

    serve(scenario)


def test_manifest_with_missing_blob_is_refused(serve, tmp_path):
    async def scenario(client):
        manifest = image_manifest(b"{}", [b"never pushed"])
        await push_blob(client, "x", b"{}")
        resp = await client.put(
            "/v2/x/manifests/latest", data=manifest, headers={"Content-Type": OCI_MANIFEST}
        )
        assert resp.status == 404 and error_code(await resp.text()) == "MANIFEST_BLOB_UNKNOWN"
        resp = await client.get("/v2/x/manifests/latest")
        assert resp.status == 404

    serve(scenario)


def test_bad_manifests_are_refused(serve):
    async def scenario(client):
        cases = [
            (b"not json", "MANIFEST_INVALID"),
            (b"[]", "MANIFEST_INVALID"),
            (json.dumps({"schemaVersion": 1}).encode(), "MANIFEST_INVALID"),
            (
                json.dumps(
                    {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": {"digest": "x"}}
                ).encode(),
                "MANIFEST_INVALID",
            ),
        ]
        for body, code in cases:
            resp = await client.put(
                "/v2/x/manifests/t", data=body, headers={"Content-Type": OCI_MANIFEST}
            )
            assert resp.status == 400, body
            assert error_code(await resp.text()) == code
        resp = await client.put(
            "/v2/x/manifests/bad:tag!", data=b"{}", headers={"Content-Type": OCI_MANIFEST}
        )
        assert resp.status == 400 and error_code(await resp.text()) in (
            "TAG_INVALID",
            "DIGEST_INVALID",
        )
        big = b"{" + b" " * 5000 + b"}"
        resp = await client.put(
            "/v2/x/manifests/t", data=big, headers={"Content-Type": OCI_MANIFEST}
        )
        assert resp.status == 413

    serve(scenario, max_manifest_size=4096)


def test_index_requires_its_manifests(serve):
    async def scenario(client):
        digest, manifest = await push_image(client, "x", "amd64", [b"a"])
        index = {
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [
                {
                    "mediaType": OCI_MANIFEST,
                    "digest": digest,
                    "size": len(manifest),
                    "platform": {"os": "linux", "architecture": "amd64"},
                },
            ],
        }
        resp = await client.put(
            "/v2/x/manifests/multi",
            data=json.dumps(index).encode(),
            headers={"Content-Type": OCI_INDEX},
        )
        assert resp.status == 201
        index["manifests"].append({"mediaType": OCI_MANIFEST, "digest": sha256(b"zz"), "size": 2})
        resp = await client.put(
            "/v2/x/manifests/multi2",
            data=json.dumps(index).encode(),
            headers={"Content-Type": OCI_INDEX},
        )
        assert resp.status == 404 and error_code(await resp.text()) == "MANIFEST_BLOB_UNKNOWN"

    serve(scenario)


def test_tags_list_pagination(serve):
    async def scenario(client):
        for tag in ("c", "a", "b", "d"):
            await push_image(client, "x", tag, [b"l"])
        resp = await client.get("/v2/x/tags/list")
        assert (await resp.json()) == {"name": "x", "tags": ["a", "b", "c", "d"]}
        resp = await client.get("/v2/x/tags/list?n=2")
        assert (await resp.json())["tags"] == ["a", "b"]
        assert resp.headers["Link"] == '</v2/x/tags/list?n=2&last=b>; rel="next"'
        resp = await client.get("/v2/x/tags/list?n=2&last=b")
        assert (await resp.json())["tags"] == ["c", "d"]
        assert "Link" not in resp.headers
        resp = await client.get("/v2/x/tags/list?n=0")
        assert (await resp.json())["tags"] == []
        for bad in ("-1", "abc", "99999999999"):
            resp = await client.get(f"/v2/x/tags/list?n={bad}")
            assert resp.status == 400
            assert error_code(await resp.text()) == "PAGINATION_NUMBER_INVALID"
        resp = await client.get("/v2/unknown/tags/list")
        assert resp.status == 404 and error_code(await resp.text()) == "NAME_UNKNOWN"

    serve(scenario)


def test_referrers_and_subject(serve):
    async def scenario(client):
        subject, manifest = await push_image(client, "x", "v1", [b"l"])
        await push_blob(client, "x", b"{}")
        sbom = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "artifactType": "application/spdx+json",
            "config": {
                "mediaType": "application/vnd.oci.empty.v1+json",
                "digest": sha256(b"{}"),
                "size": 2,
            },
            "layers": [],
            "subject": {"mediaType": OCI_MANIFEST, "digest": subject, "size": len(manifest)},
            "annotations": {"k": "v"},
        }
        body = json.dumps(sbom).encode()
        resp = await client.put(
            f"/v2/x/manifests/{sha256(body)}", data=body, headers={"Content-Type": OCI_MANIFEST}
        )
        assert resp.status == 201
        assert resp.headers["OCI-Subject"] == subject
        resp = await client.get(f"/v2/x/referrers/{subject}")
        assert resp.status == 200 and resp.headers["Content-Type"] == OCI_INDEX
        index = await resp.json()
        assert index["manifests"] == [
            {
                "mediaType": OCI_MANIFEST,
                "digest": sha256(body),
                "size": len(body),
                "artifactType": "application/spdx+json",
                "annotations": {"k": "v"},
            }
        ]
        resp = await client.get(f"/v2/x/referrers/{subject}?artifactType=application/other")
        assert resp.headers["OCI-Filters-Applied"] == "artifactType"
        assert (await resp.json())["manifests"] == []
        resp = await client.get(f"/v2/x/referrers/{sha256(b'none')}")
        assert (await resp.json())["manifests"] == []

    serve(scenario)


def test_delete_manifest_and_tag(serve):
    async def disabled(client):
        digest, _ = await push_image(client, "x", "v1", [b"l"])
        resp = await client.delete(f"/v2/x/manifests/{digest}")
        assert resp.status == 405

    async def enabled(client):
        digest, _ = await push_image(client, "x", "v2", [b"l"])
        resp = await client.delete("/v2/x/manifests/v2")
        assert resp.status == 202
        resp = await client.get("/v2/x/manifests/v2")
        assert resp.status == 404
        resp = await client.delete(f"/v2/x/manifests/{digest}")
        assert resp.status == 202
        resp = await client.get(f"/v2/x/manifests/{digest}")
        assert resp.status == 404
        resp = await client.get("/v2/x/manifests/v1")
        assert resp.status == 404  # v1 pointed at the same manifest

    serve(disabled)
    serve(enabled, delete_enabled=True)


def test_catalog(serve):
    async def scenario(client):
        await push_image(client, "b/one", "v", [b"l"])
        await push_image(client, "a", "v", [b"l"])
        resp = await client.get("/v2/_catalog")
        assert (await resp.json()) == {"repositories": ["a", "b/one"]}

    serve(scenario)


def test_deeply_nested_manifest_is_invalid_not_a_crash(serve):
    async def scenario(client):
        body = b"[" * 100000 + b"]" * 100000
        resp = await client.put(
            "/v2/x/manifests/t", data=body, headers={"Content-Type": OCI_MANIFEST}
        )
        assert resp.status == 400 and error_code(await resp.text()) == "MANIFEST_INVALID"

    serve(scenario)
