"""The distribution spec's grammar for repository names, tags and digests."""

import re

__all__ = [
    "DIGEST_ALGORITHMS",
    "MAX_NAME_LENGTH",
    "is_digest",
    "is_name",
    "is_tag",
    "split_digest",
]

MAX_NAME_LENGTH = 255

_COMPONENT = r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*"
_NAME_RE = re.compile(rf"{_COMPONENT}(?:/{_COMPONENT})*")
_TAG_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,127}")
_DIGEST_RE = re.compile(r"[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+")

# the algorithms this code can verify, with the length of their hex encoding
DIGEST_ALGORITHMS = {"sha256": 64, "sha512": 128}
_HEX_RE = re.compile(r"[a-f0-9]+")


def is_name(name: str) -> bool:
    """True for a repository name such as ``library/busybox``."""
    return len(name) <= MAX_NAME_LENGTH and _NAME_RE.fullmatch(name) is not None


def is_tag(tag: str) -> bool:
    """True for a tag such as ``1.36-musl``."""
    return _TAG_RE.fullmatch(tag) is not None


def is_digest(value: str) -> bool:
    """True for a digest this code can verify (``sha256:<64 hex>`` or ``sha512:<128 hex>``)."""
    return split_digest(value) is not None


def split_digest(value: str) -> tuple[str, str] | None:
    """``(algorithm, hex)`` of a supported, well-formed digest, else None."""
    if _DIGEST_RE.fullmatch(value) is None:
        return None
    algorithm, _, encoded = value.partition(":")
    length = DIGEST_ALGORITHMS.get(algorithm)
    if length is None or len(encoded) != length or _HEX_RE.fullmatch(encoded) is None:
        return None
    return algorithm, encoded
