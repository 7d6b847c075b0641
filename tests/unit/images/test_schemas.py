"""What ketch writes (manifests, indexes, configs, index.json) passes the bundled OCI schemas."""

import io
import json
import tarfile
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft4Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from ketch.content import ContentStore
from ketch.images.import_ import import_rootfs
from ketch.images.save import save_images
from ketch.images.store import ImageStore
from ketch.oci.image_spec import parse_manifest
from tests.support.images import busybox_layer, multilayer_image, store_image

SCHEMAS = Path(__file__).parents[3] / "src" / "ketch" / "oci" / "schemas" / "image"


def _retrieve(uri: str) -> Resource[Any]:
    doc = json.loads((SCHEMAS / uri.rsplit("/", 1)[-1]).read_text())
    return Resource.from_contents(doc, default_specification=DRAFT4)


def _validator(name: str) -> Draft4Validator:
    schema = json.loads((SCHEMAS / name).read_text())
    return Draft4Validator(schema, registry=Registry(retrieve=_retrieve))  # type: ignore[call-arg]


def _check(name: str, data: bytes) -> None:
    errors = sorted(_validator(name).iter_errors(json.loads(data)), key=str)
    assert not errors, errors[0].message


def test_schemas_reject_garbage() -> None:
    with pytest.raises(AssertionError):
        _check("image-manifest-schema.json", b'{"schemaVersion": 3}')


def test_imported_image_documents(content: ContentStore, images: ImageStore) -> None:
    record = import_rootfs(
        io.BytesIO(busybox_layer()), content, images, name="x", changes=["EXPOSE 80"]
    )
    manifest_bytes = content.read(record.target.digest)
    _check("image-manifest-schema.json", manifest_bytes)
    manifest = parse_manifest(manifest_bytes)
    _check("config-schema.json", content.read(manifest.config.digest))


def test_saved_index_json(content: ContentStore, images: ImageStore) -> None:
    store_image(content, images, multilayer_image(), "multi:1")
    buf = io.BytesIO()
    save_images(images, ["multi:1"], buf)
    with tarfile.open(fileobj=io.BytesIO(buf.getvalue())) as tar:
        index = tar.extractfile("index.json").read()  # type: ignore[union-attr]
        layout = tar.extractfile("oci-layout").read()  # type: ignore[union-attr]
    _check("image-index-schema.json", index)
    _check("image-layout-schema.json", layout)


def test_loaded_docker_archive_manifest(
    tmp_path: Path, content: ContentStore, images: ImageStore
) -> None:
    from ketch.images.load import load_path
    from tests.support.images import write_docker_archive

    loaded = load_path(
        write_docker_archive(tmp_path / "a.tar", multilayer_image(), ["m:1"], legacy=True),
        content,
        images,
    )
    _check("image-manifest-schema.json", content.read(loaded[0].target.digest))


def test_schemas_follow_references() -> None:
    bad_digest = {
        "schemaVersion": 2,
        "config": {"mediaType": "a/b", "digest": "nope", "size": 1},
        "layers": [{"mediaType": "a/b", "digest": "sha256:" + "a" * 64, "size": 1}],
    }
    with pytest.raises(AssertionError):
        _check("image-manifest-schema.json", json.dumps(bad_digest).encode())
