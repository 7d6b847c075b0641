"""Server authentication (htpasswd, Bearer tokens) and garbage collection."""

from __future__ import annotations

import base64
import subprocess
import warnings
from pathlib import Path

import pytest

from ketch.registry.server import FilesystemStorage, garbage_collect
from ketch.registry.server.auth import Htpasswd, TokenAuthority, apr1_crypt

from .conftest import push_blob, push_image, sha256


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def test_apr1_matches_openssl():
    out = subprocess.run(
        ["openssl", "passwd", "-apr1", "-salt", "saltsalt", "secret"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert apr1_crypt(b"secret", b"saltsalt") == out


def write_htpasswd(path: Path) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt
    bcrypt = crypt.crypt("pw-b", "$2b$05$abcdefghijklmnopqrstuu")
    path.write_text(
        f"alice:{apr1_crypt(b'pw-a', b'12345678')}\n"
        f"bob:{bcrypt}\n"
        "carol:{SHA}"
        + base64.b64encode(__import__("hashlib").sha1(b"pw-c").digest()).decode()
        + "\n"
        "dave:plaintext\n"
    )
    return path


def test_htpasswd_schemes(tmp_path):
    ht = Htpasswd(write_htpasswd(tmp_path / "htpasswd"))
    assert ht.verify("alice", "pw-a") and not ht.verify("alice", "pw-b")
    assert ht.verify("bob", "pw-b") and not ht.verify("bob", "pw-a")
    assert ht.verify("carol", "pw-c")
    assert not ht.verify("dave", "plaintext")  # plain text is refused
    assert not ht.verify("nobody", "x")


def test_basic_auth(serve, tmp_path):
    htpasswd = write_htpasswd(tmp_path / "htpasswd")

    async def scenario(client):
        resp = await client.get("/v2/")
        assert resp.status == 401
        assert resp.headers["WWW-Authenticate"].startswith("Basic ")
        resp = await client.get("/v2/", headers=basic("alice", "wrong"))
        assert resp.status == 401
        resp = await client.get("/v2/", headers=basic("alice", "pw-a"))
        assert resp.status == 200

    serve(scenario, htpasswd=htpasswd)


def test_token_auth_flow(serve, tmp_path):
    htpasswd = write_htpasswd(tmp_path / "htpasswd")
    key = tmp_path / "key"
    key.write_bytes(b"0123456789abcdef0123456789abcdef")

    async def scenario(client):
        resp = await client.get("/v2/x/tags/list")
        assert resp.status == 401
        challenge = resp.headers["WWW-Authenticate"]
        assert challenge.startswith('Bearer realm="http://realm/token"')
        assert 'scope="repository:x:pull"' in challenge
        resp = await client.get(
            "/token?service=ketch-test&scope=repository:x:pull,push", headers=basic("bob", "pw-b")
        )
        assert resp.status == 200
        token = (await resp.json())["token"]
        auth = {"Authorization": f"Bearer {token}"}
        resp = await client.post(
            f"/v2/x/blobs/uploads/?digest={sha256(b'a')}", data=b"a", headers=auth
        )
        assert resp.status == 201
        resp = await client.get(f"/v2/y/blobs/{sha256(b'a')}", headers=auth)
        assert resp.status == 401
        assert 'error="insufficient_scope"' in resp.headers["WWW-Authenticate"]
        resp = await client.get(
            "/v2/x/tags/list", headers={"Authorization": "Bearer " + token[:-2] + "xx"}
        )
        assert resp.status == 401
        resp = await client.get("/token?service=ketch-test&scope=repository:x:pull")
        assert resp.status == 401

    serve(
        scenario,
        htpasswd=htpasswd,
        token_realm="http://realm/token",
        token_issuer="ketch-test",
        token_key=key,
    )


def test_token_expiry_and_issuer():
    authority = TokenAuthority(b"k" * 32, "iss", "svc", lifetime=10)
    token = authority.issue(
        "u", [{"type": "repository", "name": "x", "actions": ["pull"]}], now=1000
    )
    claims = authority.verify(token, now=1005)
    assert TokenAuthority.allows(claims, "x", "pull") and not TokenAuthority.allows(
        claims, "x", "push"
    )
    from ketch.errors import PermissionDenied

    with pytest.raises(PermissionDenied, match="expired"):
        authority.verify(token, now=2000)
    with pytest.raises(PermissionDenied, match="issuer"):
        TokenAuthority(b"k" * 32, "other", "svc").verify(token, now=1005)


def test_garbage_collect_sweeps_unreferenced(serve, tmp_path):
    async def scenario(client):
        await push_image(client, "x", "v1", [b"kept"])
        await push_blob(client, "x", b"orphan")

    serve(scenario)
    storage = FilesystemStorage(tmp_path / "registry")
    dry = garbage_collect(storage, dry_run=True)
    assert dry.removed == (sha256(b"orphan"),)
    assert storage.blob_size(sha256(b"orphan")) == 6
    result = garbage_collect(storage)
    assert result.removed == (sha256(b"orphan"),) and result.freed_bytes == 6
    assert storage.blob_size(sha256(b"orphan")) is None
    assert storage.blob_size(sha256(b"kept")) == 4


def test_token_with_deeply_nested_json_is_refused():
    from ketch.errors import PermissionDenied

    authority = TokenAuthority(b"k" * 32, "iss", "svc")
    deep = base64.urlsafe_b64encode(b"[" * 100_000 + b"]" * 100_000).decode().rstrip("=")
    with pytest.raises(PermissionDenied, match="malformed token"):
        authority.verify(f"{deep}.{deep}.c2ln")
