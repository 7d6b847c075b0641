"""Image documents read from archives and registries are checked against the bundled
image-spec schemas at run time, by validators generated ahead of time."""

import json
from pathlib import Path

import pytest

from ketch.errors import InvalidArgument
from ketch.oci import _gen_image_validators
from ketch.oci.image_spec import (
    MEDIA_TYPE_OCI_MANIFEST,
    parse_image_config,
    parse_index,
    parse_manifest,
)

D = "sha256:" + "a" * 64
LAYER = {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": D, "size": 3}


def _manifest(**changes: object) -> bytes:
    doc: dict[str, object] = {
        "schemaVersion": 2,
        "mediaType": MEDIA_TYPE_OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": D, "size": 2},
        "layers": [LAYER],
    }
    doc.update(changes)
    return json.dumps(doc).encode()


def _config(**changes: object) -> bytes:
    doc: dict[str, object] = {
        "architecture": "amd64",
        "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": []},
    }
    doc.update(changes)
    return json.dumps(doc).encode()


def test_generated_validators_are_current() -> None:
    current = Path(_gen_image_validators.TARGET).read_text()
    assert current == _gen_image_validators.generate(), (
        "run: python -m ketch.oci._gen_image_validators"
    )


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (
            _manifest(layers=[{**LAYER, "urls": ["not a uri"]}]),
            r"^manifest\.layers\[0\]\.urls\[0\]: must be uri$",
        ),
        (
            _manifest(layers=[{**LAYER, "size": 2**70}]),
            r"^manifest\.layers\[0\]\.size: must be smaller than or equal to",
        ),
    ],
)
def test_manifest_schema(document: bytes, message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        parse_manifest(document)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"created": "yesterday"}, r"^image config\.created: must be date-time$"),
        (
            {"history": [{"created": "2024-13-01T00:00:00Z"}]},
            r"^image config\.history\[0\]\.created: must be date-time$",
        ),
    ],
)
def test_config_schema(changes: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        parse_image_config(_config(**changes))


def test_config_without_rootfs() -> None:
    doc = {"architecture": "amd64", "os": "linux"}
    with pytest.raises(InvalidArgument, match=r"^image config\.rootfs: is required$"):
        parse_image_config(json.dumps(doc).encode())


def test_index_schema() -> None:
    doc = {
        "schemaVersion": 2,
        "manifests": [{**LAYER, "mediaType": MEDIA_TYPE_OCI_MANIFEST, "urls": ["::"]}],
    }
    with pytest.raises(InvalidArgument, match=r"^index\.manifests\[0\]\.urls\[0\]: must be uri$"):
        parse_index(json.dumps(doc).encode())


def test_what_docker_writes_is_accepted() -> None:
    """Null members (docker's "Env": null) read as absent; an image may have no layers."""
    config = parse_image_config(
        _config(
            created="2024-05-01T10:11:12.123456789Z",
            config={"Env": None, "Cmd": None, "Entrypoint": None, "Volumes": None, "User": ""},
            history=[{"created": "2024-05-01T10:11:12Z", "created_by": "x", "empty_layer": True}],
        )
    )
    assert config.config is not None and config.config.env == ()
    assert parse_manifest(_manifest(layers=[])).layers == ()
