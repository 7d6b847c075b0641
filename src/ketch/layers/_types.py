"""Records of the layer package: apply limits and results."""

from ketch.oci._record import Record

__all__ = ["DEFAULT_LIMITS", "ApplyLimits", "ApplyResult", "DiffResult"]


class ApplyLimits(Record):
    """Bounds on what one layer may cost; past them the apply stops with an error.

    ``max_bytes``: uncompressed tar bytes (decompression bombs); ``max_entries``:
    members; ``max_name``: bytes of a member or link name; ``max_header``: bytes
    of one PAX or GNU long-name header; ``allow_devices``: whether character and
    block device members may be created (``PermissionDenied`` if not).
    """

    max_bytes: int = 64 << 30
    max_entries: int = 4_000_000
    max_name: int = 4096
    max_header: int = 1 << 20
    allow_devices: bool = True


DEFAULT_LIMITS = ApplyLimits()


class ApplyResult(Record):
    """What applying a layer found: the digest and size of its uncompressed tar."""

    diff_id: str
    size: int


class DiffResult(Record):
    """A layer written by ``diff_layer``: uncompressed digest, blob digest and size, media type."""

    diff_id: str
    digest: str
    size: int
    media_type: str
