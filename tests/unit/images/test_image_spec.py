import json

import pytest

from ketch.errors import InvalidArgument
from ketch.oci.image_spec import (
    DOCKER_MANIFEST_LIST,
    MEDIA_TYPE_OCI_INDEX,
    MEDIA_TYPE_OCI_MANIFEST,
    ContainerConfig,
    Descriptor,
    ImageConfig,
    Manifest,
    RootFS,
    detect_media_type,
    image_config_to_json,
    layer_compression,
    manifest_to_json,
    parse_image_config,
    parse_index,
    parse_manifest,
)
from tests.support.images import busybox_image

D = "sha256:" + "a" * 64


def _manifest(**changes: object) -> bytes:
    doc: dict[str, object] = {
        "schemaVersion": 2,
        "mediaType": MEDIA_TYPE_OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": D, "size": 2},
        "layers": [
            {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": D, "size": 3}
        ],
    }
    doc.update(changes)
    return json.dumps(doc).encode()


def test_parse_manifest_round_trip() -> None:
    parts = busybox_image()
    m = parse_manifest(parts.manifest)
    assert m.config.digest == parts.config_digest
    assert manifest_to_json(m) == parts.manifest  # canonical form is what we build


def test_manifest_media_type_optional() -> None:
    doc = json.loads(_manifest())
    del doc["mediaType"]
    m = parse_manifest(json.dumps(doc).encode())
    assert m.media_type is None
    assert "mediaType" not in json.loads(manifest_to_json(m))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"schemaVersion": 1}, "manifest.schemaVersion: expected 2"),
        ({"schemaVersion": "2"}, "manifest.schemaVersion: expected an integer"),
        ({"config": None}, "manifest.config: required field is missing"),
        ({"layers": {}}, "manifest.layers: expected an array"),
        ({"mediaType": "text/plain"}, "manifest.mediaType: unexpected media type"),
        (
            {"layers": [{"mediaType": "x/y", "digest": "sha256:zz", "size": 1}]},
            "manifest.layers[0].digest: invalid digest",
        ),
        (
            {"layers": [{"mediaType": "x/y", "digest": D, "size": -1}]},
            "manifest.layers[0].size: must not be negative",
        ),
        (
            {"layers": [{"mediaType": "bad type", "digest": D, "size": 1}]},
            "manifest.layers[0].mediaType: invalid media type",
        ),
        ({"manifests": [], "layers": None}, "is an index, not a manifest"),
    ],
)
def test_manifest_errors_name_the_field(changes: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        parse_manifest(_manifest(**changes))
    assert message in str(info.value)


def test_not_json() -> None:
    with pytest.raises(InvalidArgument, match="not valid JSON"):
        parse_manifest(b"{nope")
    with pytest.raises(InvalidArgument, match="expected a JSON object"):
        parse_index(b"[]")


def test_parse_index_and_platforms() -> None:
    doc = {
        "schemaVersion": 2,
        "mediaType": DOCKER_MANIFEST_LIST,
        "manifests": [
            {"mediaType": MEDIA_TYPE_OCI_MANIFEST, "digest": D, "size": 1,
             "platform": {"architecture": "arm", "os": "linux", "variant": "v7",
                          "os.features": ["x"]}},
        ],
    }  # fmt: skip
    index = parse_index(json.dumps(doc).encode())
    p = index.manifests[0].platform
    assert p is not None and (p.architecture, p.variant, p.os_features) == ("arm", "v7", ("x",))
    assert str(p) == "linux/arm/v7"
    doc["manifests"][0]["platform"] = {"architecture": "", "os": "linux"}  # type: ignore[index]
    with pytest.raises(InvalidArgument, match=r"manifests\[0\].platform"):
        parse_index(json.dumps(doc).encode())
    with pytest.raises(InvalidArgument, match="is a manifest"):
        parse_index(_manifest())


def test_image_config_docker_keys() -> None:
    config = ImageConfig(
        architecture="amd64",
        os="linux",
        config=ContainerConfig(
            env=("A=1",), cmd=("sh",), working_dir="/w", exposed_ports={"80/tcp": {}}
        ),
        rootfs=RootFS(type="layers", diff_ids=(D,)),
    )
    data = image_config_to_json(config)
    doc = json.loads(data)
    assert doc["config"] == {
        "ExposedPorts": {"80/tcp": {}},
        "Env": ["A=1"],
        "Cmd": ["sh"],
        "WorkingDir": "/w",
    }
    assert doc["rootfs"] == {"type": "layers", "diff_ids": [D]}
    assert parse_image_config(data) == config


def test_image_config_errors() -> None:
    with pytest.raises(InvalidArgument, match=r"image config\.rootfs\.diff_ids\[0\]"):
        parse_image_config(
            b'{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["x"]}}'
        )
    with pytest.raises(InvalidArgument, match=r"rootfs\.type"):
        parse_image_config(
            b'{"architecture":"amd64","os":"linux","rootfs":{"type":"x","diff_ids":[]}}'
        )
    with pytest.raises(InvalidArgument, match=r"image config\.architecture: required"):
        parse_image_config(b'{"os":"linux"}')
    with pytest.raises(InvalidArgument, match=r"config\.Env: expected an array"):
        parse_image_config(b'{"architecture":"a","os":"linux","config":{"Env":"A=1"}}')


def test_empty_layers_are_kept_when_encoding() -> None:
    m = Manifest(2, MEDIA_TYPE_OCI_MANIFEST, Descriptor("a/b", D, 1), ())
    assert json.loads(manifest_to_json(m))["layers"] == []


def test_detect_and_compression() -> None:
    assert detect_media_type(b'{"manifests":[]}') == MEDIA_TYPE_OCI_INDEX
    assert detect_media_type(_manifest()) == MEDIA_TYPE_OCI_MANIFEST
    assert layer_compression("application/vnd.oci.image.layer.v1.tar+gzip") == "gzip"
    assert layer_compression("application/vnd.docker.image.rootfs.diff.tar.gzip") == "gzip"
    assert layer_compression("application/vnd.oci.image.layer.v1.tar+zstd") == "zstd"
    assert layer_compression("application/vnd.oci.image.layer.v1.tar") == ""
    with pytest.raises(InvalidArgument):
        layer_compression("text/plain")


DEEP = b'{"a":' * 100_000 + b"1" + b"}" * 100_000


@pytest.mark.parametrize(
    "parse", [parse_manifest, parse_index, parse_image_config, detect_media_type]
)
def test_deeply_nested_documents_are_invalid_not_a_crash(parse) -> None:
    """Past the parser's recursion limit: InvalidArgument naming the document."""
    what = {detect_media_type: "document"}.get(parse, "doc x")
    kwargs = {} if parse is detect_media_type else {"what": "doc x"}
    with pytest.raises(InvalidArgument, match=rf"^{what}: JSON nested too deeply"):
        parse(DEEP, **kwargs)


def test_nesting_inside_opaque_values_is_bounded() -> None:
    """Nesting the parser accepts but encoding again could not (opaque ExposedPorts values)."""
    deep = "[" * 300 + "]" * 300
    doc = f'{{"architecture":"amd64","os":"linux","config":{{"ExposedPorts":{{"80/tcp":{deep}}}}}}}'
    with pytest.raises(InvalidArgument, match=r"^config y: JSON nested more than 64 levels"):
        parse_image_config(doc.encode(), what="config y")
    shallow = "[" * 60 + "]" * 60
    ok = (
        f'{{"architecture":"amd64","os":"linux","config":{{"ExposedPorts":{{"80/tcp":{{"x":{shallow}}}}}}},'
        '"rootfs":{"type":"layers","diff_ids":[]}}'
    )
    config = parse_image_config(ok.encode())
    assert parse_image_config(image_config_to_json(config)) == config
