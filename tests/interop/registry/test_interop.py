"""ketch's registry client and server against real peers: distribution 2.8 and skopeo."""

from __future__ import annotations

import gzip
import json
import subprocess
from pathlib import Path

import pytest

from ketch.content import ContentStore
from ketch.images.store import ImageStore
from ketch.registry.auth import DockerConfig
from ketch.registry.client import RegistryClient, pull, push
from ketch.registry.config import RegistriesConfig
from tests.support.images import (
    busybox_image,
    multilayer_image,
    multiplatform_index,
    sha256,
    store_image,
    write_docker_archive,
)

pytestmark = pytest.mark.interop


def client(tmp_path: Path) -> RegistryClient:
    return RegistryClient(
        registries=RegistriesConfig(),
        docker_config=DockerConfig(tmp_path / "docker" / "config.json"),
        certs_dirs=(),
        backoff=0.0,
    )


def stores(root: Path) -> tuple[ContentStore, ImageStore]:
    content = ContentStore(root / "content")
    return content, ImageStore(root / "images", content)


def skopeo_inspect(skopeo: list[str], ref: str, raw: bool = False) -> dict:
    args = [*skopeo, "inspect", "--tls-verify=false"]
    if raw:
        args.append("--raw")
    out = subprocess.run([*args, f"docker://{ref}"], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def test_ketch_client_roundtrip_through_distribution(tmp_path, distribution, skopeo):
    parts = multilayer_image()
    ref = f"{distribution}/ketch/multi:v1"
    content, images = stores(tmp_path / "src")
    store_image(content, images, parts, ref)
    pushed = push(ref, content=content, images=images, client=client(tmp_path))
    assert pushed.digest == parts.manifest_digest
    # distribution stored exactly our manifest
    assert skopeo_inspect(skopeo, ref, raw=True) == json.loads(parts.manifest)
    inspected = skopeo_inspect(skopeo, ref)
    assert inspected["Digest"] == parts.manifest_digest
    assert inspected["Layers"] == [layer.digest for layer in parts.layers]

    content2, images2 = stores(tmp_path / "dst")
    pulled = pull(ref, content=content2, images=images2, client=client(tmp_path))
    assert pulled.digest == parts.manifest_digest
    for digest, data in parts.blobs().items():
        assert content2.read(digest) == data
    # chunked upload and a cross-repository mount on distribution
    chunked = RegistryClient(
        registries=RegistriesConfig(),
        docker_config=DockerConfig(tmp_path / "dc.json"),
        certs_dirs=(),
        chunk_size=64 * 1024,
    )
    ref2 = f"{distribution}/ketch/other:v1"
    store_image(content, images, parts, ref2)
    events = []
    push(ref2, content=content, images=images, client=chunked, progress=events.append)
    assert any(e.status == "Mounted from ketch/multi" for e in events)
    big = busybox_image(labels={"chunked": "yes"})
    ref3 = f"{distribution}/ketch/chunked:v1"
    store_image(content, images, big, ref3)
    push(ref3, content=content, images=images, client=chunked)
    assert skopeo_inspect(skopeo, ref3)["Digest"] == big.manifest_digest


def test_ketch_client_index_through_distribution(tmp_path, distribution):
    amd = busybox_image(architecture="amd64")
    arm = busybox_image(architecture="arm64", variant="v8", labels={"a": "arm"})
    index, parts = multiplatform_index({"linux/amd64": amd, "linux/arm64/v8": arm})
    content, images = stores(tmp_path / "src")
    for digest, data in parts.blobs().items():
        content.ingest(data, expected=digest)
    from ketch.oci.image_spec import MEDIA_TYPE_OCI_INDEX, Descriptor

    ref = f"{distribution}/ketch/index:v1"
    images.put(ref, Descriptor(MEDIA_TYPE_OCI_INDEX, sha256(index), len(index)))
    assert push(ref, content=content, images=images, client=client(tmp_path)).digest == sha256(
        index
    )
    content2, images2 = stores(tmp_path / "dst")
    from ketch.images.platforms import parse_platform

    pull(
        ref,
        content=content2,
        images=images2,
        platform=parse_platform("linux/arm64"),
        client=client(tmp_path),
    )
    assert content2.exists(arm.config_digest) and not content2.exists(amd.config_digest)


@pytest.mark.root
def test_skopeo_against_ketch_server_then_ketch_pull(tmp_path, ketch_registry, skopeo):
    parts = multilayer_image()
    archive = write_docker_archive(tmp_path / "image.tar", parts, ["x:tag"])
    target = f"docker://{ketch_registry}/x:tag"
    subprocess.run(
        [*skopeo, "copy", "--dest-tls-verify=false", f"docker-archive:{archive}", target],
        check=True,
        capture_output=True,
    )
    inspected = skopeo_inspect(skopeo, f"{ketch_registry}/x:tag")
    assert len(inspected["Layers"]) == len(parts.layers)  # skopeo compresses them its own way
    subprocess.run(
        [*skopeo, "copy", "--src-tls-verify=false", target, f"oci:{tmp_path / 'oci'}:tag"],
        check=True,
        capture_output=True,
    )
    layout_index = json.loads((tmp_path / "oci" / "index.json").read_text())
    [entry] = layout_index["manifests"]
    manifest = json.loads(
        (tmp_path / "oci" / "blobs" / "sha256" / entry["digest"].split(":")[1]).read_text()
    )
    assert [layer["digest"] for layer in manifest["layers"]] == inspected["Layers"]

    # what skopeo pushed, pulled by ketch and unpacked
    from ketch.snapshots import open_snapshotter

    content = ContentStore(tmp_path / "k" / "content")
    images = ImageStore(
        tmp_path / "k" / "images", content, open_snapshotter(tmp_path / "k" / "snap", "native")
    )
    top = pull(f"{ketch_registry}/x:tag", content=content, images=images, client=client(tmp_path))
    assert top.digest == inspected["Digest"]
    record = images.get(f"{ketch_registry}/x:tag")
    config = images.config(record)
    assert config.rootfs.diff_ids == tuple(layer.diff_id for layer in parts.layers)
    _, manifest_record = images.resolve_manifest(record)
    for layer, diff_id in zip(manifest_record.layers, config.rootfs.diff_ids, strict=True):
        assert sha256(gzip.decompress(content.read(layer.digest))) == diff_id
    try:
        from ketch.layers import apply_layer  # noqa: F401  (the layers helper's work)
    except ImportError:
        return
    chain_id = images.unpack(record)
    assert chain_id.startswith("sha256:")


def test_skopeo_copy_between_distribution_and_ketch(tmp_path, distribution, ketch_registry, skopeo):
    parts = busybox_image()
    archive = write_docker_archive(tmp_path / "bb.tar", parts, ["bb:1"])
    subprocess.run(
        [
            *skopeo,
            "copy",
            "--dest-tls-verify=false",
            f"docker-archive:{archive}",
            f"docker://{distribution}/bb:1",
        ],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [
            *skopeo,
            "copy",
            "--src-tls-verify=false",
            "--dest-tls-verify=false",
            f"docker://{distribution}/bb:1",
            f"docker://{ketch_registry}/copied/bb:1",
        ],
        check=True,
        capture_output=True,
    )
    a = skopeo_inspect(skopeo, f"{distribution}/bb:1", raw=True)
    b = skopeo_inspect(skopeo, f"{ketch_registry}/copied/bb:1", raw=True)
    assert a == b
    tags = subprocess.run(
        [*skopeo, "list-tags", "--tls-verify=false", f"docker://{ketch_registry}/copied/bb"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(tags.stdout)["Tags"] == ["1"]
    access = [json.loads(line) for line in (tmp_path / "access.log").read_text().splitlines()]
    assert any(e["method"] == "PUT" and "/manifests/" in e["path"] for e in access)


def test_skopeo_with_token_auth_against_ketch_server(tmp_path, ketch_registry_auth, skopeo):
    host, creds = ketch_registry_auth
    parts = busybox_image()
    archive = write_docker_archive(tmp_path / "bb.tar", parts, ["bb:1"])
    denied = subprocess.run(
        [
            *skopeo,
            "copy",
            "--dest-tls-verify=false",
            f"docker-archive:{archive}",
            f"docker://{host}/private/bb:1",
        ],
        capture_output=True,
        text=True,
    )
    assert denied.returncode != 0
    subprocess.run(
        [
            *skopeo,
            "copy",
            "--dest-tls-verify=false",
            "--dest-creds",
            creds,
            f"docker-archive:{archive}",
            f"docker://{host}/private/bb:1",
        ],
        check=True,
        capture_output=True,
    )
    out = subprocess.run(
        [
            *skopeo,
            "inspect",
            "--tls-verify=false",
            "--creds",
            creds,
            f"docker://{host}/private/bb:1",
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    assert len(json.loads(out.stdout)["Layers"]) == 1
    # and ketch's client with the same credentials through the docker config
    from ketch.registry.auth import Credentials

    docker_config = DockerConfig(tmp_path / "docker" / "config.json")
    docker_config.store(host, Credentials(*creds.split(":")))
    content, images = stores(tmp_path / "k")
    pulled = pull(f"{host}/private/bb:1", content=content, images=images, client=client(tmp_path))
    assert pulled.digest == json.loads(out.stdout)["Digest"]


def test_ketch_login_push_pull_with_distribution_htpasswd(tmp_path, distribution_htpasswd):
    from ketch.errors import PermissionDenied
    from ketch.registry.client import login

    host = distribution_htpasswd
    parts = busybox_image()
    content, images = stores(tmp_path / "src")
    store_image(content, images, parts, f"{host}/secure/bb:1")
    with pytest.raises(PermissionDenied):
        push(f"{host}/secure/bb:1", content=content, images=images, client=client(tmp_path))
    with pytest.raises(PermissionDenied):
        login(host, "ketch", "wrong", client=client(tmp_path))
    login(host, "ketch", "pw-ketch", client=client(tmp_path))
    push(f"{host}/secure/bb:1", content=content, images=images, client=client(tmp_path))
    content2, images2 = stores(tmp_path / "dst")
    pulled = pull(f"{host}/secure/bb:1", content=content2, images=images2, client=client(tmp_path))
    assert pulled.digest == parts.manifest_digest
