import json

import pytest

from ketch.content import ContentStore
from ketch.errors import InvalidArgument, NotFound
from ketch.images.platforms import host_platform, parse_platform, platform_rank
from ketch.images.store import DANGLING_PREFIX, ImageStore, format_time
from ketch.oci.image_spec import Descriptor, Platform
from tests.support.images import (
    OCI_INDEX,
    busybox_image,
    multilayer_image,
    multiplatform_index,
    sha256,
    store_image,
)


def test_put_get_list_delete(content: ContentStore, images: ImageStore) -> None:
    parts = busybox_image()
    record = store_image(content, images, parts, "busybox")
    assert record.name == "docker.io/library/busybox:latest"
    assert record.target.digest == parts.manifest_digest
    for ref in (
        "busybox",
        "busybox:latest",
        "docker.io/library/busybox:latest",
        parts.config_digest,
        parts.config_digest[7:19],
        parts.config_digest[7:],
    ):
        assert images.get(ref).name == record.name, ref
    assert images.image_id(record) == parts.config_digest
    assert [r.name for r in images.list()] == [record.name]
    assert images.config(record).config.cmd == ("sh",)  # type: ignore[union-attr]
    assert images.size(record) == len(parts.config) + len(parts.layers[0].blob)
    images.delete("busybox")
    assert images.list() == []
    with pytest.raises(NotFound, match="No such image: busybox"):
        images.get("busybox")
    with pytest.raises(NotFound):
        images.delete("busybox")


def test_records_survive_a_new_store_object(content: ContentStore, images: ImageStore) -> None:
    store_image(content, images, busybox_image(), "busybox:1")
    again = ImageStore(images.root, content)
    assert again.get("busybox:1").target.digest == busybox_image().manifest_digest


def test_put_requires_content_and_manifest_type(content: ContentStore, images: ImageStore) -> None:
    with pytest.raises(NotFound):
        images.put(
            "x", Descriptor("application/vnd.oci.image.manifest.v1+json", "sha256:" + "1" * 64, 1)
        )
    d = content.ingest(b"{}")
    with pytest.raises(InvalidArgument, match="media type"):
        images.put("x", Descriptor("text/plain", d, 2))
    with pytest.raises(InvalidArgument, match="invalid reference"):
        images.put("UPPER", Descriptor("application/vnd.oci.image.manifest.v1+json", d, 2))


def test_retag_leaves_old_image_dangling(content: ContentStore, images: ImageStore) -> None:
    store_image(content, images, busybox_image(), "app:1")
    old = images.get("app:1")
    target = store_image(content, images, multilayer_image(), None)
    images.put("app:1", target)
    names = [r.name for r in images.list()]
    assert names == [f"{DANGLING_PREFIX}{old.target.digest}", "docker.io/library/app:1"]
    # naming the dangling target again drops the dangling record
    images.put("app:old", old.target)
    assert all(not r.is_dangling for r in images.list())


def test_get_by_digest_reference(content: ContentStore, images: ImageStore) -> None:
    parts = busybox_image()
    store_image(content, images, parts, "busybox:1")
    assert images.get(f"busybox@{parts.manifest_digest}").name.endswith("busybox:1")
    with pytest.raises(NotFound):
        images.get(f"other@{parts.manifest_digest}")


def test_ambiguous_and_corrupt(content: ContentStore, images: ImageStore) -> None:
    store_image(content, images, busybox_image(), "a")
    store_image(content, images, multilayer_image(), "b")
    with pytest.raises(NotFound):
        images.get("ffffffffffff")
    record_file = next((images.root / "records").glob("*.json"))
    record_file.write_text("{broken")
    with pytest.raises(InvalidArgument, match="corrupt"):
        images.list()


def test_format_time() -> None:
    assert format_time(0) == "1970-01-01T00:00:00.000000000Z"
    assert format_time(1.5) == "1970-01-01T00:00:01.500000000Z"


def _index_with(content: ContentStore, images: ImageStore, platforms: dict[str, object]) -> str:
    index, parts = multiplatform_index(platforms)  # type: ignore[arg-type]
    for digest, data in parts.blobs().items():
        content.ingest(data, expected=digest)
    images.put("multi", Descriptor(OCI_INDEX, sha256(index), len(index)))
    return sha256(index)


def test_platform_selection_from_index(content: ContentStore, images: ImageStore) -> None:
    amd = busybox_image(architecture="amd64")
    arm64 = busybox_image(architecture="arm64", variant="v8")
    armv7 = busybox_image(architecture="arm", variant="v7")
    _index_with(
        content, images, {"linux/amd64": amd, "linux/arm64/v8": arm64, "linux/arm/v7": armv7}
    )
    record = images.get("multi")
    d, _ = images.resolve_manifest(record, Platform("amd64", "linux"))
    assert d.digest == amd.manifest_digest
    d, _ = images.resolve_manifest(record, parse_platform("linux/arm64"))
    assert d.digest == arm64.manifest_digest
    d, _ = images.resolve_manifest(record, parse_platform("linux/arm/v7"))
    assert d.digest == armv7.manifest_digest
    with pytest.raises(NotFound):  # a v6 CPU cannot run v7
        images.resolve_manifest(record, parse_platform("linux/arm/v6"))
    with pytest.raises(NotFound, match="no manifest for platform"):
        images.resolve_manifest(record, parse_platform("linux/s390x"))
    assert len(images.platforms(record)) == 3
    assert images.image_id(record, Platform("amd64", "linux")) == amd.config_digest


def test_arm64_host_falls_back_to_arm(content: ContentStore, images: ImageStore) -> None:
    armv7 = busybox_image(architecture="arm", variant="v7")
    _index_with(content, images, {"linux/arm/v7": armv7})
    d, _ = images.resolve_manifest(images.get("multi"), parse_platform("linux/arm64"))
    assert d.digest == armv7.manifest_digest


def test_index_with_missing_platform_blobs(content: ContentStore, images: ImageStore) -> None:
    amd = busybox_image(architecture="amd64")
    arm = busybox_image(architecture="arm64")
    index = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
        {**arm.descriptor(), "platform": {"architecture": "arm64", "os": "linux"}},
        {**amd.descriptor(), "platform": {"architecture": "amd64", "os": "linux"}},
    ]}).encode()  # fmt: skip
    for digest, data in amd.blobs().items():
        content.ingest(data, expected=digest)
    content.ingest(index)
    record = images.put("partial", Descriptor(OCI_INDEX, sha256(index), len(index)))
    d, _ = images.resolve_manifest(record, Platform("amd64", "linux"))
    assert d.digest == amd.manifest_digest
    with pytest.raises(NotFound):
        images.resolve_manifest(record, Platform("arm64", "linux"))
    # an unresolvable image still has an ID: its target digest
    assert images.image_id(record, Platform("arm64", "linux")) == sha256(index)


def test_platform_rules() -> None:
    assert host_platform().os == "linux"
    assert parse_platform("linux/x86_64") == Platform("amd64", "linux")
    assert parse_platform("arm64").variant == "v8"
    assert parse_platform("linux/arm").variant == "v7"
    assert platform_rank(parse_platform("linux/arm64"), Platform("arm64", "linux")) == 0
    assert platform_rank(parse_platform("linux/amd64"), Platform("arm64", "linux")) is None
    assert platform_rank(parse_platform("linux/amd64"), Platform("amd64", "windows")) is None
    assert platform_rank(parse_platform("linux/arm/v7"), parse_platform("linux/arm/v6")) == 1
    assert platform_rank(parse_platform("linux/arm/v6"), parse_platform("linux/arm/v7")) is None
    with pytest.raises(InvalidArgument):
        parse_platform("linux//amd64")


def test_digest_name_must_match_target(content: ContentStore, images: ImageStore) -> None:
    parts = busybox_image()
    target = store_image(content, images, parts, None)
    images.put(f"busybox@{parts.manifest_digest}", target)
    with pytest.raises(InvalidArgument, match="does not match"):
        images.put(f"busybox@{sha256(b'other')}", target)


def test_concurrent_puts(content: ContentStore, images: ImageStore) -> None:
    import threading

    target = store_image(content, images, busybox_image(), None)
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            for j in range(5):
                images.put(f"app{i}:{j}", target)
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert len(images.list()) == 30
    assert not [p for p in (images.root / "records").iterdir() if not p.name.endswith(".json")]
