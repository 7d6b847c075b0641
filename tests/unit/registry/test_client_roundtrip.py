"""Client against the ketch server over loopback: push, pull, platforms, auth, progress."""

from __future__ import annotations

import base64
import json

import pytest

from ketch.errors import NotFound, PermissionDenied
from ketch.images.platforms import parse_platform
from ketch.registry.client import ProgressEvent, login, pull, push
from tests.support.images import busybox_image, multilayer_image, multiplatform_index, store_image

from .conftest import free_port


def test_push_then_pull_multilayer_identical_digests(registry, stores, client_factory):
    server = registry()
    src, dst = stores("src"), stores("dst")
    parts = multilayer_image()
    ref = f"{server.host}/lib/multi:v1"
    store_image(src.content, src.images, parts, ref)
    events: list[ProgressEvent] = []
    pushed = push(
        ref, content=src.content, images=src.images, progress=events.append, client=client_factory()
    )
    assert pushed.digest == parts.manifest_digest
    assert any(e.status == "Pushed" for e in events)
    assert events[-1].status.endswith(f"size: {len(parts.manifest)}")
    # a second push finds everything there
    events.clear()
    push(
        ref, content=src.content, images=src.images, progress=events.append, client=client_factory()
    )
    assert {e.status for e in events if e.id} >= {"Layer already exists"}

    events.clear()
    pulled = pull(
        ref, content=dst.content, images=dst.images, progress=events.append, client=client_factory()
    )
    assert pulled.digest == parts.manifest_digest
    for digest, data in parts.blobs().items():
        assert dst.content.read(digest) == data
    record = dst.images.get(ref)
    assert record.target.digest == parts.manifest_digest
    by_digest = dst.images.get(f"{server.host}/lib/multi@{parts.manifest_digest}")
    assert by_digest.name == f"{server.host}/lib/multi@{parts.manifest_digest}"
    assert events[-1].status.startswith("Status: Downloaded newer image")
    assert json.dumps(events[1].to_json())  # docker's JSON message shape
    # pulling again: everything exists
    events.clear()
    pull(
        ref, content=dst.content, images=dst.images, progress=events.append, client=client_factory()
    )
    assert events[-1].status.startswith("Status: Image is up to date")

    # by digest
    third = stores("third")
    pulled = pull(
        f"{server.host}/lib/multi@{parts.manifest_digest}",
        content=third.content,
        images=third.images,
        client=client_factory(),
    )
    assert pulled.digest == parts.manifest_digest


def test_pull_chooses_platform_from_index(registry, stores, client_factory):
    server = registry()
    amd = busybox_image(architecture="amd64")
    arm = busybox_image(architecture="arm64", variant="v8", labels={"arch": "arm"})
    index, parts = multiplatform_index({"linux/amd64": amd, "linux/arm64/v8": arm})
    src = stores("src")
    for digest, data in parts.blobs().items():
        src.content.ingest(data, expected=digest)
    from ketch.oci.image_spec import MEDIA_TYPE_OCI_INDEX, Descriptor
    from tests.support.images import sha256

    ref = f"{server.host}/multi:latest"
    src.images.put(ref, Descriptor(MEDIA_TYPE_OCI_INDEX, sha256(index), len(index)))
    push(ref, content=src.content, images=src.images, client=client_factory())

    dst = stores("dst")
    top = pull(
        ref,
        content=dst.content,
        images=dst.images,
        platform=parse_platform("linux/arm64"),
        client=client_factory(),
    )
    assert top.media_type == MEDIA_TYPE_OCI_INDEX
    assert dst.content.exists(arm.manifest_digest) and dst.content.exists(arm.config_digest)
    assert not dst.content.exists(amd.manifest_digest)
    with pytest.raises(NotFound, match="no matching manifest"):
        pull(
            ref,
            content=dst.content,
            images=dst.images,
            platform=parse_platform("linux/s390x"),
            client=client_factory(),
        )


def test_pull_unknown_and_all_tags(registry, stores, client_factory):
    server = registry()
    src = stores("src")
    parts = busybox_image()
    for tag in ("a", "b"):
        store_image(src.content, src.images, parts, f"{server.host}/x:{tag}")
        push(
            f"{server.host}/x:{tag}",
            content=src.content,
            images=src.images,
            client=client_factory(),
        )
    dst = stores("dst")
    with pytest.raises(NotFound):
        pull(
            f"{server.host}/x:nope", content=dst.content, images=dst.images, client=client_factory()
        )
    pull(
        f"{server.host}/x",
        content=dst.content,
        images=dst.images,
        all_tags=True,
        client=client_factory(),
    )
    names = sorted(r.name for r in dst.images.list())
    assert names == [
        f"{server.host}/x:a",
        f"{server.host}/x:b",
        f"{server.host}/x@{parts.manifest_digest}",
    ]


def test_chunked_push_and_cross_repo_mount(registry, stores, client_factory):
    server = registry()
    src = stores("src")
    parts = multilayer_image()
    store_image(src.content, src.images, parts, f"{server.host}/one:v1")
    push(
        f"{server.host}/one:v1",
        content=src.content,
        images=src.images,
        client=client_factory(chunk_size=4096),
    )
    store_image(src.content, src.images, parts, f"{server.host}/two:v1")
    events: list[ProgressEvent] = []
    push(
        f"{server.host}/two:v1",
        content=src.content,
        images=src.images,
        progress=events.append,
        client=client_factory(),
    )
    assert any(e.status == "Mounted from one" for e in events)
    dst = stores("dst")
    pull(f"{server.host}/two:v1", content=dst.content, images=dst.images, client=client_factory())
    assert dst.content.exists(parts.layers[0].digest)


def _basic(user: str, password: str) -> str:
    return base64.b64encode(f"{user}:{password}".encode()).decode()


def test_token_auth_login_push_pull(tmp_path, start_server, stores, client_factory):
    from ketch.registry.server import ServerConfig, create_app
    from ketch.registry.server.auth import apr1_crypt

    htpasswd = tmp_path / "htpasswd"
    htpasswd.write_text(f"alice:{apr1_crypt(b'secret', b'saltsalt')}\n")
    key = tmp_path / "key"
    key.write_bytes(b"k" * 32)
    port = free_port()  # the realm names the server's own /token endpoint
    config = ServerConfig(
        storage=tmp_path / "reg",
        htpasswd=htpasswd,
        token_realm=f"http://127.0.0.1:{port}/token",
        token_issuer="ketch-test",
        token_key=key,
    )
    host = start_server(create_app(config), port).host
    src = stores("src")
    parts = busybox_image()
    store_image(src.content, src.images, parts, f"{host}/private/app:v1")
    with pytest.raises(PermissionDenied):
        push(
            f"{host}/private/app:v1",
            content=src.content,
            images=src.images,
            client=client_factory(),
        )
    with pytest.raises(PermissionDenied):
        login(host, "alice", "wrong", client=client_factory())
    assert login(host, "alice", "secret", client=client_factory()) == host
    config_json = json.loads((tmp_path / "docker" / "config.json").read_text())
    assert config_json["auths"][host]["auth"] == _basic("alice", "secret")
    push(f"{host}/private/app:v1", content=src.content, images=src.images, client=client_factory())
    dst = stores("dst")
    pull(f"{host}/private/app:v1", content=dst.content, images=dst.images, client=client_factory())
    assert dst.content.exists(parts.manifest_digest)


def test_basic_auth_registry(tmp_path, registry, stores, client_factory):
    from ketch.registry.server.auth import apr1_crypt

    htpasswd = tmp_path / "htpasswd"
    htpasswd.write_text(f"bob:{apr1_crypt(b'pw', b'saltsalt')}\n")
    server = registry(htpasswd=htpasswd)
    src = stores("src")
    store_image(src.content, src.images, busybox_image(), f"{server.host}/app:v1")
    with pytest.raises(PermissionDenied, match="authentication required"):
        push(
            f"{server.host}/app:v1", content=src.content, images=src.images, client=client_factory()
        )
    login(server.host, "bob", "pw", client=client_factory())
    push(f"{server.host}/app:v1", content=src.content, images=src.images, client=client_factory())


def test_push_of_partial_index_pushes_a_present_manifest(registry, stores, client_factory):
    first, second = registry(), registry()
    amd = busybox_image(architecture="amd64")
    arm = busybox_image(architecture="arm64", variant="v8", labels={"arch": "arm"})
    index, parts = multiplatform_index({"linux/amd64": amd, "linux/arm64/v8": arm})
    src = stores("src")
    for digest, data in parts.blobs().items():
        src.content.ingest(data, expected=digest)
    from ketch.oci.image_spec import MEDIA_TYPE_OCI_INDEX, Descriptor
    from tests.support.images import sha256

    src.images.put(f"{first.host}/m:1", Descriptor(MEDIA_TYPE_OCI_INDEX, sha256(index), len(index)))
    push(f"{first.host}/m:1", content=src.content, images=src.images, client=client_factory())
    mid = stores("mid")  # holds the index and the arm64 image only
    pull(
        f"{first.host}/m:1",
        content=mid.content,
        images=mid.images,
        platform=parse_platform("linux/arm64"),
        client=client_factory(),
    )
    mid.images.put(f"{second.host}/m:1", mid.images.get(f"{first.host}/m:1").target)
    events: list[ProgressEvent] = []
    pushed = push(
        f"{second.host}/m:1",
        content=mid.content,
        images=mid.images,
        progress=events.append,
        client=client_factory(),
    )
    assert pushed.digest == arm.manifest_digest
    assert any("incomplete" in e.status for e in events)


def test_mount_of_shared_base_layer_from_another_image(registry, stores, client_factory):
    server = registry()
    src = stores("src")
    base, derived = busybox_image(), multilayer_image()  # derived starts with busybox's layer
    assert derived.layers[0].digest == base.layers[0].digest
    store_image(src.content, src.images, base, f"{server.host}/base:1")
    push(f"{server.host}/base:1", content=src.content, images=src.images, client=client_factory())
    store_image(src.content, src.images, derived, f"{server.host}/app:1")
    events: list[ProgressEvent] = []
    push(
        f"{server.host}/app:1",
        content=src.content,
        images=src.images,
        progress=events.append,
        client=client_factory(),
    )
    mounted = [e.id for e in events if e.status == "Mounted from base"]
    assert mounted == [derived.layers[0].digest.split(":")[1][:12]]
    assert sum(e.status == "Pushed" for e in events) == 2
