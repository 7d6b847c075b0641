"""OCI image-spec 1.1 and Docker image schema 2 records and media types.

Manifests, indexes (and Docker manifest lists), descriptors and image configs as
frozen records.  ``parse_*`` take the raw bytes of a document and raise
``InvalidArgument`` naming the bad field; ``*_to_json`` give the canonical bytes
ketch writes (compact JSON, keys in spec order, empty optional fields left out).
The checks the bundled JSON schemas make (schemaVersion, media type and digest
grammar, sizes) are done here directly: cheaper than compiling the schemas on
the hot path.  Docker's image config keys are CamelCase ("Env", "Cmd", ...).
"""

import json
import re
from collections.abc import Mapping

from ketch.errors import InvalidArgument
from ketch.oci._decode import decode
from ketch.oci._record import Record, spec_field
from ketch.oci.digest import parse_digest

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, TypeVar

    R = TypeVar("R", "Manifest", "Index")

__all__ = [
    "ANNOTATION_REF_NAME",
    "DOCKER_CONFIG",
    "DOCKER_FOREIGN_LAYER",
    "DOCKER_LAYER_GZIP",
    "DOCKER_MANIFEST_LIST",
    "DOCKER_MANIFEST_V2",
    "INDEX_MEDIA_TYPES",
    "LAYER_MEDIA_TYPES",
    "MANIFEST_MEDIA_TYPES",
    "MAX_JSON_DEPTH",
    "MEDIA_TYPE_OCI_CONFIG",
    "MEDIA_TYPE_OCI_EMPTY",
    "MEDIA_TYPE_OCI_INDEX",
    "MEDIA_TYPE_OCI_LAYER",
    "MEDIA_TYPE_OCI_LAYER_GZIP",
    "MEDIA_TYPE_OCI_LAYER_NONDIST",
    "MEDIA_TYPE_OCI_LAYER_NONDIST_GZIP",
    "MEDIA_TYPE_OCI_LAYER_NONDIST_ZSTD",
    "MEDIA_TYPE_OCI_LAYER_ZSTD",
    "MEDIA_TYPE_OCI_MANIFEST",
    "ContainerConfig",
    "Descriptor",
    "HealthConfig",
    "History",
    "ImageConfig",
    "Index",
    "Manifest",
    "Platform",
    "RootFS",
    "descriptor_to_json",
    "detect_media_type",
    "encode_record",
    "image_config_to_json",
    "index_to_json",
    "is_foreign_layer",
    "layer_compression",
    "manifest_to_json",
    "parse_image_config",
    "parse_index",
    "parse_json",
    "parse_manifest",
    "to_json_bytes",
]

MEDIA_TYPE_OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MEDIA_TYPE_OCI_INDEX = "application/vnd.oci.image.index.v1+json"
MEDIA_TYPE_OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
MEDIA_TYPE_OCI_EMPTY = "application/vnd.oci.empty.v1+json"
MEDIA_TYPE_OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
MEDIA_TYPE_OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
MEDIA_TYPE_OCI_LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"
MEDIA_TYPE_OCI_LAYER_NONDIST = "application/vnd.oci.image.layer.nondistributable.v1.tar"
MEDIA_TYPE_OCI_LAYER_NONDIST_GZIP = "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
MEDIA_TYPE_OCI_LAYER_NONDIST_ZSTD = "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd"
DOCKER_MANIFEST_V2 = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar"
DOCKER_FOREIGN_LAYER = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"

# image documents nest a handful of levels; anything deeper is hostile (and would
# exhaust the interpreter's recursion limit in the parser or when encoded again)
MAX_JSON_DEPTH = 64

ANNOTATION_REF_NAME = "org.opencontainers.image.ref.name"
ANNOTATION_CREATED = "org.opencontainers.image.created"

MANIFEST_MEDIA_TYPES = frozenset({MEDIA_TYPE_OCI_MANIFEST, DOCKER_MANIFEST_V2})
INDEX_MEDIA_TYPES = frozenset({MEDIA_TYPE_OCI_INDEX, DOCKER_MANIFEST_LIST})
LAYER_MEDIA_TYPES = frozenset(
    {
        MEDIA_TYPE_OCI_LAYER,
        MEDIA_TYPE_OCI_LAYER_GZIP,
        MEDIA_TYPE_OCI_LAYER_ZSTD,
        MEDIA_TYPE_OCI_LAYER_NONDIST,
        MEDIA_TYPE_OCI_LAYER_NONDIST_GZIP,
        MEDIA_TYPE_OCI_LAYER_NONDIST_ZSTD,
        DOCKER_LAYER,
        DOCKER_LAYER_GZIP,
        DOCKER_FOREIGN_LAYER,
    }
)

_MEDIA_TYPE_RE = re.compile(
    r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}"
)


class Platform(Record):
    architecture: str
    os: str
    os_version: str | None = spec_field(default=None, json="os.version")
    os_features: tuple[str, ...] = spec_field(default=(), json="os.features")
    variant: str | None = None
    features: tuple[str, ...] = ()

    def __str__(self) -> str:
        text = f"{self.os}/{self.architecture}"
        return f"{text}/{self.variant}" if self.variant else text


class Descriptor(Record):
    media_type: str
    digest: str
    size: int
    urls: tuple[str, ...] = ()
    annotations: Mapping[str, str] | None = None
    platform: Platform | None = None
    artifact_type: str | None = None
    data: str | None = None  # base64 embedded content (image-spec 1.1)


class Manifest(Record):
    schema_version: int
    media_type: str | None
    config: Descriptor
    layers: tuple[Descriptor, ...]
    subject: Descriptor | None = None
    annotations: Mapping[str, str] | None = None
    artifact_type: str | None = None


class Index(Record):
    schema_version: int
    media_type: str | None
    manifests: tuple[Descriptor, ...]
    subject: Descriptor | None = None
    annotations: Mapping[str, str] | None = None
    artifact_type: str | None = None


class HealthConfig(Record):
    test: tuple[str, ...] = spec_field(default=(), json="Test")
    interval: int | None = spec_field(default=None, json="Interval")
    timeout: int | None = spec_field(default=None, json="Timeout")
    start_period: int | None = spec_field(default=None, json="StartPeriod")
    start_interval: int | None = spec_field(default=None, json="StartInterval")
    retries: int | None = spec_field(default=None, json="Retries")


class ContainerConfig(Record):
    """The execution parameters of an image config (``config``), with Docker's keys."""

    user: str | None = spec_field(default=None, json="User")
    exposed_ports: Mapping[str, object] | None = spec_field(default=None, json="ExposedPorts")
    env: tuple[str, ...] = spec_field(default=(), json="Env")
    entrypoint: tuple[str, ...] | None = spec_field(default=None, json="Entrypoint")
    cmd: tuple[str, ...] | None = spec_field(default=None, json="Cmd")
    volumes: Mapping[str, object] | None = spec_field(default=None, json="Volumes")
    working_dir: str | None = spec_field(default=None, json="WorkingDir")
    labels: Mapping[str, str] | None = spec_field(default=None, json="Labels")
    stop_signal: str | None = spec_field(default=None, json="StopSignal")
    args_escaped: bool | None = spec_field(default=None, json="ArgsEscaped")
    healthcheck: HealthConfig | None = spec_field(default=None, json="Healthcheck")
    on_build: tuple[str, ...] | None = spec_field(default=None, json="OnBuild")
    shell: tuple[str, ...] | None = spec_field(default=None, json="Shell")
    stop_timeout: int | None = spec_field(default=None, json="StopTimeout")


class RootFS(Record):
    type: str
    diff_ids: tuple[str, ...] = spec_field(json="diff_ids")


class History(Record):
    created: str | None = None
    created_by: str | None = spec_field(default=None, json="created_by")
    author: str | None = None
    comment: str | None = None
    empty_layer: bool | None = spec_field(default=None, json="empty_layer")


class ImageConfig(Record):
    architecture: str
    os: str
    config: ContainerConfig | None = None
    rootfs: RootFS = spec_field(default=RootFS("layers", ()))
    history: tuple[History, ...] = ()
    created: str | None = None
    author: str | None = None
    variant: str | None = None
    os_version: str | None = spec_field(default=None, json="os.version")
    os_features: tuple[str, ...] = spec_field(default=(), json="os.features")

    @property
    def platform(self) -> Platform:
        return Platform(
            architecture=self.architecture,
            os=self.os,
            os_version=self.os_version,
            os_features=self.os_features,
            variant=self.variant,
        )


# ---------------------------------------------------------------------- encoding


def encode_record(obj: "Any") -> "Any":
    """JSON form of a record tree: ``None`` and empty optional tuples are left out.

    Required fields (no default) are always written, so ``layers: []`` and
    ``diff_ids: []`` survive.
    """
    if isinstance(obj, Record):
        out: dict[str, Any] = {}
        for info in obj.__fields__:
            v = getattr(obj, info.name)
            if v is None or (v == () and not info.required):
                continue
            out[info.json] = encode_record(v)
        return out
    if isinstance(obj, tuple | list):
        return [encode_record(v) for v in obj]
    if isinstance(obj, Mapping):
        return {k: encode_record(v) for k, v in obj.items()}
    return obj


def to_json_bytes(obj: "Any") -> bytes:
    """Compact UTF-8 JSON of a record tree (what ketch stores and digests)."""
    return json.dumps(encode_record(obj), separators=(",", ":"), ensure_ascii=False).encode()


def manifest_to_json(manifest: Manifest) -> bytes:
    return to_json_bytes(manifest)


def index_to_json(index: Index) -> bytes:
    return to_json_bytes(index)


def image_config_to_json(config: ImageConfig) -> bytes:
    return to_json_bytes(config)


def descriptor_to_json(descriptor: Descriptor) -> "dict[str, Any]":
    result: dict[str, Any] = encode_record(descriptor)
    return result


# ---------------------------------------------------------------------- decoding


def parse_json(data: bytes | str, what: str) -> "Any":
    """Untrusted JSON text; ``InvalidArgument`` naming ``what`` if it is malformed or
    nested deeper than ``MAX_JSON_DEPTH`` arrays/objects."""
    try:
        doc = json.loads(data)
    except RecursionError as e:
        raise InvalidArgument(f"{what}: JSON nested too deeply") from e
    except (ValueError, UnicodeDecodeError) as e:
        raise InvalidArgument(f"{what}: not valid JSON: {e}") from e
    if isinstance(doc, dict | list):
        _check_depth(doc, what)
    return doc


def _check_depth(doc: "dict[str, Any] | list[Any]", what: str) -> None:
    level: list[Any] = [doc]
    depth = 1
    while level:
        if depth > MAX_JSON_DEPTH:
            raise InvalidArgument(f"{what}: JSON nested more than {MAX_JSON_DEPTH} levels deep")
        below: list[Any] = []
        for value in level:
            for item in value.values() if isinstance(value, dict) else value:
                if isinstance(item, dict | list):
                    below.append(item)
        level = below
        depth += 1


def _load(data: bytes, what: str) -> "dict[str, Any]":
    doc = parse_json(data, what)
    if not isinstance(doc, dict):
        raise InvalidArgument(f"{what}: expected a JSON object")
    return doc


def _without_nulls(value: "Any") -> "Any":
    """``value`` with the null members of its objects dropped (null reads as absent)."""
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def _check_schema(kind: str, doc: "dict[str, Any]", what: str) -> None:
    """The image-spec JSON schema of ``kind``, compiled ahead of time
    (``ketch.oci._gen_image_validators``); run after the field checks above, so it
    catches what they do not (date-time and URI formats, base64 data, int64 sizes...)."""
    from ketch.oci import _image_validators as generated

    validate = getattr(generated, f"validate_{kind}")
    try:
        validate(_without_nulls(doc))  # depth is bounded by parse_json: recursion is safe
    except generated.JsonSchemaValueException as e:
        raw = str(e)
        path, sep, rest = raw.partition(" ")
        if sep and path.startswith("data"):
            raise InvalidArgument(f"{what}{path[4:]}: {rest}") from None
        raise InvalidArgument(f"{what}: {raw}") from None


def _check_media_type(value: str | None, path: str) -> None:
    if value is not None and _MEDIA_TYPE_RE.fullmatch(value) is None:
        raise InvalidArgument(f"{path}: invalid media type {value!r}")


def _check_descriptor(d: Descriptor, path: str) -> None:
    _check_media_type(d.media_type, f"{path}.mediaType")
    try:
        parse_digest(d.digest)
    except InvalidArgument as e:
        raise InvalidArgument(f"{path}.digest: {e}") from e
    if d.size < 0:
        raise InvalidArgument(f"{path}.size: must not be negative")
    _check_media_type(d.artifact_type, f"{path}.artifactType")


def _check_schema_version(value: int, what: str) -> None:
    if value != 2:
        raise InvalidArgument(f"{what}.schemaVersion: expected 2, got {value}")


def _decode_typed(cls: "type[R]", doc: "dict[str, Any]", what: str) -> "R":
    # mediaType is optional in OCI documents but positional in the records
    if doc.get("mediaType") is None:
        return decode(cls, {**doc, "mediaType": ""}, what).replace(media_type=None)  # type: ignore[return-value]
    return decode(cls, doc, what)


def parse_manifest(data: bytes, *, what: str = "manifest") -> Manifest:
    """An image manifest (OCI or Docker schema 2) from its raw bytes."""
    doc = _load(data, what)
    if doc.get("manifests") is not None and doc.get("layers") is None:
        raise InvalidArgument(f"{what}: is an index, not a manifest")
    manifest = _decode_typed(Manifest, doc, what)
    _check_schema_version(manifest.schema_version, what)
    mt = manifest.media_type
    if mt is not None and mt not in MANIFEST_MEDIA_TYPES:
        raise InvalidArgument(f"{what}.mediaType: unexpected media type {mt!r}")
    _check_descriptor(manifest.config, f"{what}.config")
    for i, layer in enumerate(manifest.layers):
        _check_descriptor(layer, f"{what}.layers[{i}]")
    if manifest.subject is not None:
        _check_descriptor(manifest.subject, f"{what}.subject")
    _check_media_type(manifest.artifact_type, f"{what}.artifactType")
    _check_schema("manifest", doc, what)
    return manifest


def parse_index(data: bytes, *, what: str = "index") -> Index:
    """An image index (OCI) or manifest list (Docker) from its raw bytes."""
    doc = _load(data, what)
    if doc.get("layers") is not None and doc.get("manifests") is None:
        raise InvalidArgument(f"{what}: is a manifest, not an index")
    index = _decode_typed(Index, doc, what)
    _check_schema_version(index.schema_version, what)
    mt = index.media_type
    if mt is not None and mt not in INDEX_MEDIA_TYPES:
        raise InvalidArgument(f"{what}.mediaType: unexpected media type {mt!r}")
    for i, d in enumerate(index.manifests):
        _check_descriptor(d, f"{what}.manifests[{i}]")
        if d.platform is not None and (not d.platform.os or not d.platform.architecture):
            raise InvalidArgument(f"{what}.manifests[{i}].platform: os and architecture required")
    if index.subject is not None:
        _check_descriptor(index.subject, f"{what}.subject")
    _check_schema("index", doc, what)
    return index


def parse_image_config(data: bytes, *, what: str = "image config") -> ImageConfig:
    """An image config (OCI or Docker) from its raw bytes."""
    doc = _load(data, what)
    config = decode(ImageConfig, doc, what)
    if config.rootfs.type != "layers":
        raise InvalidArgument(f"{what}.rootfs.type: expected 'layers', got {config.rootfs.type!r}")
    for i, diff_id in enumerate(config.rootfs.diff_ids):
        try:
            parse_digest(diff_id)
        except InvalidArgument as e:
            raise InvalidArgument(f"{what}.rootfs.diff_ids[{i}]: {e}") from e
    _check_schema("config", doc, what)
    return config


def detect_media_type(data: bytes) -> str:
    """The media type a manifest or index document declares or implies."""
    doc = _load(data, "document")
    mt = doc.get("mediaType")
    if isinstance(mt, str) and mt:
        return mt
    if "manifests" in doc:
        return MEDIA_TYPE_OCI_INDEX
    if "config" in doc and "layers" in doc:
        return MEDIA_TYPE_OCI_MANIFEST
    raise InvalidArgument("document: neither a manifest nor an index")


def is_foreign_layer(media_type: str) -> bool:
    """True for layers that are not distributed with the image (Windows base layers)."""
    return media_type in (
        DOCKER_FOREIGN_LAYER,
        MEDIA_TYPE_OCI_LAYER_NONDIST,
        MEDIA_TYPE_OCI_LAYER_NONDIST_GZIP,
        MEDIA_TYPE_OCI_LAYER_NONDIST_ZSTD,
    )


def layer_compression(media_type: str) -> str:
    """``"gzip"``, ``"zstd"`` or ``""`` (plain tar) for a layer media type."""
    if media_type.endswith("+gzip") or media_type.endswith(".tar.gzip"):
        return "gzip"
    if media_type.endswith("+zstd"):
        return "zstd"
    if media_type in LAYER_MEDIA_TYPES:
        return ""
    raise InvalidArgument(f"unsupported layer media type {media_type!r}")
