import gzip
import io
import json
import tarfile
from pathlib import Path

import pytest

from ketch.content import ContentStore
from ketch.errors import InvalidArgument, NotFound, ResourceExhausted
from ketch.images.load import load_archive, load_path
from ketch.images.save import save_images, save_to_path
from ketch.images.store import ImageStore
from tests.support.images import (
    busybox_image,
    multilayer_image,
    sha256,
    store_image,
    write_docker_archive,
    write_oci_archive,
    write_oci_layout,
)


def _state(content: ContentStore, images: ImageStore) -> tuple[list[str], set[str], list[object]]:
    return (
        [r.name for r in images.list()],
        {i.digest for i in content.walk()},
        content.ingests(),
    )


def test_docker_archive_legacy_layout(
    tmp_path: Path, content: ContentStore, images: ImageStore
) -> None:
    parts = multilayer_image()
    path = write_docker_archive(tmp_path / "a.tar", parts, ["app:1", "app:2"], legacy=True)
    loaded = load_path(path, content, images)
    assert [x.name for x in loaded] == ["app:1", "app:2"]
    assert {x.image_id for x in loaded} == {parts.config_digest}
    record = images.get("app:1")
    config = images.config(record)
    assert config.rootfs.diff_ids == tuple(layer.diff_id for layer in parts.layers)


def test_docker_archive_blobs_layout_compressed_stream(
    tmp_path: Path, content: ContentStore, images: ImageStore
) -> None:
    parts = busybox_image()
    path = write_docker_archive(tmp_path / "a.tar", parts, ["busybox:latest"])
    stream = io.BytesIO(gzip.compress(path.read_bytes()))
    loaded = load_archive(stream, content, images)
    assert loaded[0].name == "busybox:latest" and loaded[0].image_id == parts.config_digest


def test_untagged_archive_is_dangling(
    tmp_path: Path, content: ContentStore, images: ImageStore
) -> None:
    parts = busybox_image()
    loaded = load_path(write_docker_archive(tmp_path / "a.tar", parts, []), content, images)
    assert loaded[0].name is None
    assert images.list()[0].is_dangling
    assert images.get(parts.config_digest[7:19]).is_dangling


def test_oci_layout_dir_and_archive(
    tmp_path: Path, content: ContentStore, images: ImageStore
) -> None:
    parts = multilayer_image()
    loaded = load_path(
        write_oci_layout(tmp_path / "layout", parts, "ex.com/multi:1"), content, images
    )
    assert loaded[0].name == "ex.com/multi:1"
    assert loaded[0].target.digest == parts.manifest_digest  # OCI keeps the manifest as is
    loaded = load_path(write_oci_archive(tmp_path / "o.tar", parts, "latest"), content, images)
    assert loaded[0].name is None  # a bare tag names nothing


def test_save_load_round_trip_identical_digests(
    tmp_path: Path, content: ContentStore, images: ImageStore
) -> None:
    a = store_image(content, images, multilayer_image(), "multi:1")
    b = store_image(content, images, busybox_image(), "busybox")
    images.put("busybox:other", b.target)
    out = tmp_path / "saved.tar"
    save_to_path(images, ["multi:1", "busybox", "busybox:other"], out)
    with tarfile.open(out) as tar:
        names = tar.getnames()
        manifest = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
        index = json.load(tar.extractfile("index.json"))  # type: ignore[arg-type]
    assert {"oci-layout", "index.json", "manifest.json", "repositories"} <= set(names)
    assert sorted(t for e in manifest for t in e["RepoTags"]) == [
        "busybox:latest",
        "busybox:other",
        "multi:1",
    ]
    assert len(index["manifests"]) == 3
    content2 = ContentStore(tmp_path / "c2")
    images2 = ImageStore(tmp_path / "i2", content2)
    load_path(out, content2, images2)
    assert [(r.name, r.target) for r in images.list()] == [
        (r.name, r.target) for r in images2.list()
    ]
    assert images2.image_id(images2.get("multi:1")) == images.image_id(a)


def test_save_oci_only_and_by_id(tmp_path: Path, content: ContentStore, images: ImageStore) -> None:
    parts = busybox_image()
    store_image(content, images, parts, "busybox")
    buf = io.BytesIO()
    save_images(images, [parts.config_digest[7:19]], buf, oci_only=True)
    with tarfile.open(fileobj=io.BytesIO(buf.getvalue())) as tar:
        names = tar.getnames()
        index = json.load(tar.extractfile("index.json"))  # type: ignore[arg-type]
    assert "manifest.json" not in names
    assert "annotations" not in index["manifests"][0]  # saved by ID: no name


def test_save_missing_image_writes_nothing(tmp_path: Path, images: ImageStore) -> None:
    out = tmp_path / "x.tar"
    with pytest.raises(NotFound):
        save_to_path(images, ["nope"], out)
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


# ------------------------------------------------------------------ hostile archives


def _tar(members: dict[str, bytes], links: dict[str, str] | None = None) -> io.BytesIO:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type, info.linkname = tarfile.SYMTYPE, target
            tar.addfile(info)
    buf.seek(0)
    return buf


def _docker_members() -> dict[str, bytes]:
    p = busybox_image()
    cfg = p.config_digest[7:]
    layer = p.layers[0].diff_id[7:]
    return {
        f"{cfg}.json": p.config,
        f"{layer}/layer.tar": p.layers[0].tar,
        "manifest.json": json.dumps(
            [{"Config": f"{cfg}.json", "RepoTags": ["evil:1"], "Layers": [f"{layer}/layer.tar"]}]
        ).encode(),
    }


def _assert_clean(content: ContentStore, images: ImageStore) -> None:
    names, blobs, ingests = _state(content, images)
    assert names == [] and blobs == set() and ingests == []


@pytest.mark.parametrize(
    ("mutate", "error"),
    [
        (lambda m: m.update({"../escape": b"x"}), "leaves the archive"),
        (lambda m: m.update({"/abs": b"x"}), "is absolute"),
        (lambda m: m.pop("manifest.json"), "neither manifest.json nor index.json"),
        (lambda m: m.update({"manifest.json": b"{not json"}), "manifest.json: not valid JSON"),
        (lambda m: m.update({"manifest.json": b"{}"}), "expected a JSON array"),
        (
            lambda m: m.update(
                {"manifest.json": json.dumps([{"Config": "../x.json", "Layers": []}]).encode()}
            ),
            "leaves the archive",
        ),
        (
            lambda m: m.update(
                {"manifest.json": json.dumps([{"Config": "missing.json", "Layers": []}]).encode()}
            ),
            "archive has no file 'missing.json'",
        ),
        (
            lambda m: m.update({k: b"garbage tar" for k in list(m) if k.endswith("layer.tar")}),
            "does not match the config",
        ),
        (
            lambda m: m.update(
                {
                    "manifest.json": json.dumps(
                        [
                            {
                                "Config": next(
                                    k for k in m if k.endswith(".json") and k != "manifest.json"
                                ),
                                "RepoTags": ["BAD"],
                                "Layers": [next(k for k in m if k.endswith("layer.tar"))],
                            }
                        ]
                    ).encode()
                }
            ),
            "must be lowercase",
        ),
    ],
)
def test_hostile_docker_archives(
    mutate: object, error: str, content: ContentStore, images: ImageStore
) -> None:
    members = _docker_members()
    mutate(members)  # type: ignore[operator]
    with pytest.raises(InvalidArgument, match=error):
        load_archive(_tar(members), content, images)
    _assert_clean(content, images)


def test_symlink_out_of_archive(content: ContentStore, images: ImageStore) -> None:
    members = _docker_members()
    with pytest.raises(InvalidArgument, match="outside the archive"):
        load_archive(_tar(members, {"x/layer.tar": "../../etc/passwd"}), content, images)
    _assert_clean(content, images)


def test_symlinked_layer_inside_archive_is_followed(
    content: ContentStore, images: ImageStore
) -> None:
    members = _docker_members()
    layer_name = next(k for k in members if k.endswith("layer.tar"))
    data = members.pop(layer_name)
    members["real/layer.tar"] = data
    loaded = load_archive(_tar(members, {layer_name: "../real/layer.tar"}), content, images)
    assert loaded[0].name == "evil:1"


def test_huge_manifest_json(
    content: ContentStore, images: ImageStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ketch.images._archive_read as reader

    monkeypatch.setattr(reader, "MAX_METADATA_SIZE", 1000)
    members = _docker_members()
    members["manifest.json"] = b" " * 2000
    with pytest.raises(ResourceExhausted, match=r"manifest\.json"):
        load_archive(_tar(members), content, images)
    _assert_clean(content, images)


def test_oci_blob_digest_mismatch(
    tmp_path: Path, content: ContentStore, images: ImageStore
) -> None:
    parts = busybox_image()
    layout = write_oci_layout(tmp_path / "l", parts, "ex.com/a:1")
    (layout / "blobs" / "sha256" / parts.config_digest[7:]).write_bytes(b"tampered")
    with pytest.raises(InvalidArgument, match="digest mismatch"):
        load_path(layout, content, images)
    _assert_clean(content, images)


def test_oci_missing_blob(tmp_path: Path, content: ContentStore, images: ImageStore) -> None:
    parts = busybox_image()
    layout = write_oci_layout(tmp_path / "l", parts, "ex.com/a:1")
    (layout / "blobs" / "sha256" / parts.layers[0].digest[7:]).unlink()
    with pytest.raises(InvalidArgument, match="missing from the archive"):
        load_path(layout, content, images)
    _assert_clean(content, images)


def test_oci_size_mismatch(tmp_path: Path, content: ContentStore, images: ImageStore) -> None:
    parts = busybox_image()
    target = {**parts.descriptor(), "size": len(parts.manifest) + 1}
    layout = write_oci_layout(tmp_path / "l", parts, "ex.com/a:1", index_target=target)
    with pytest.raises(InvalidArgument, match="bytes, expected"):
        load_path(layout, content, images)
    _assert_clean(content, images)


def test_not_a_tar_and_truncated(content: ContentStore, images: ImageStore, tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument):
        load_archive(io.BytesIO(b"hello, not a tar" * 100), content, images)
    whole = write_docker_archive(tmp_path / "a.tar", busybox_image()).read_bytes()
    with pytest.raises(InvalidArgument):
        load_archive(io.BytesIO(whole[: len(whole) // 2]), content, images)
    _assert_clean(content, images)


def test_failed_load_keeps_existing_blobs(
    tmp_path: Path, content: ContentStore, images: ImageStore
) -> None:
    parts = busybox_image()
    store_image(content, images, parts, "busybox")
    before = _state(content, images)
    members = _docker_members()
    members["manifest.json"] = b"[1]"
    with pytest.raises(InvalidArgument):
        load_archive(_tar(members), content, images)
    assert _state(content, images) == before
    assert sha256(parts.config) in before[1]


def test_multiplatform_oci_layout(
    tmp_path: Path, content: ContentStore, images: ImageStore
) -> None:
    from tests.support.images import OCI_INDEX, multiplatform_index

    amd = busybox_image(architecture="amd64")
    arm = busybox_image(architecture="arm64", variant="v8")
    index, parts = multiplatform_index({"linux/amd64": amd, "linux/arm64/v8": arm})
    target = {"mediaType": OCI_INDEX, "digest": sha256(index), "size": len(index)}
    layout = write_oci_layout(tmp_path / "l", parts, "ex.com/multi:1", index_target=target)
    loaded = load_path(layout, content, images)
    assert loaded[0].target.digest == sha256(index)
    assert loaded[0].image_id == amd.config_digest  # the host's (amd64) manifest
    out = tmp_path / "saved.tar"
    save_to_path(images, ["ex.com/multi:1"], out)
    content2 = ContentStore(tmp_path / "c2")
    images2 = ImageStore(tmp_path / "i2", content2)
    assert load_path(out, content2, images2)[0].target.digest == sha256(index)
    assert {i.digest for i in content2.walk()} == {i.digest for i in content.walk()}


def test_load_keeps_only_image_blobs(
    tmp_path: Path, content: ContentStore, images: ImageStore
) -> None:
    parts = multilayer_image()
    load_path(
        write_docker_archive(tmp_path / "a.tar", parts, ["m:1"], legacy=True), content, images
    )
    record = images.get("m:1")
    from ketch.images.gc import reachable

    assert {i.digest for i in content.walk()} == reachable(images, record.target)[0]


def test_load_over_an_existing_name(
    tmp_path: Path, content: ContentStore, images: ImageStore
) -> None:
    old = busybox_image()
    store_image(content, images, old, "app:1")
    new = multilayer_image()
    loaded = load_path(write_docker_archive(tmp_path / "a.tar", new, ["app:1"]), content, images)
    assert loaded[0].replaced_id == old.config_digest
    assert images.list()[0].is_dangling  # the old image lost its name
    again = load_path(write_docker_archive(tmp_path / "b.tar", new, ["app:1"]), content, images)
    assert again[0].replaced_id is None


def test_deeply_nested_index_json_is_invalid(
    tmp_path: Path, content: ContentStore, images: ImageStore
) -> None:
    layout = write_oci_layout(tmp_path / "layout", busybox_image())
    (layout / "index.json").write_bytes(b"[" * 100_000 + b"]" * 100_000)
    before = _state(content, images)
    with pytest.raises(InvalidArgument, match=r"index\.json: JSON nested too deeply"):
        load_path(layout, content, images)
    assert _state(content, images) == before
