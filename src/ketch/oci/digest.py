"""Content digests (OCI image-spec "Digests"): parse, compute, stream.

A digest is ``<algorithm>:<encoded>``; ketch verifies ``sha256`` (64 lowercase
hex) and ``sha512`` (128 lowercase hex).  Anything else is ``InvalidArgument``.
"""

import hashlib
import re

from ketch.errors import InvalidArgument

__all__ = [
    "ALGORITHMS",
    "Digester",
    "digest_bytes",
    "hex_of",
    "is_digest",
    "parse_digest",
]

# the algorithms ketch can verify, with the length of their hex encoding
ALGORITHMS = {"sha256": 64, "sha512": 128}

_DIGEST_RE = re.compile(r"([a-z0-9]+(?:[+._-][a-z0-9]+)*):([a-zA-Z0-9=_-]+)")
_HEX_RE = re.compile(r"[a-f0-9]+")


def parse_digest(s: str) -> tuple[str, str]:
    """``(algorithm, hex)`` of a supported digest; ``InvalidArgument`` otherwise."""
    if not isinstance(s, str):
        raise InvalidArgument(f"invalid digest {s!r}: expected a string")
    m = _DIGEST_RE.fullmatch(s)
    if m is None:
        raise InvalidArgument(f"invalid digest {s!r}: expected <algorithm>:<hex>")
    algorithm, encoded = m.group(1), m.group(2)
    length = ALGORITHMS.get(algorithm)
    if length is None:
        raise InvalidArgument(f"invalid digest {s!r}: unsupported algorithm {algorithm!r}")
    if len(encoded) != length or _HEX_RE.fullmatch(encoded) is None:
        raise InvalidArgument(
            f"invalid digest {s!r}: {algorithm} needs {length} lowercase hex characters"
        )
    return algorithm, encoded


def is_digest(s: str) -> bool:
    """True for a well-formed digest of a supported algorithm."""
    try:
        parse_digest(s)
    except InvalidArgument:
        return False
    return True


def hex_of(s: str) -> str:
    """The encoded part of a valid digest (``sha256:abc...`` -> ``abc...``)."""
    return parse_digest(s)[1]


def _check_algorithm(algorithm: str) -> None:
    if algorithm not in ALGORITHMS:
        raise InvalidArgument(f"unsupported digest algorithm {algorithm!r}")


def digest_bytes(data: bytes, algorithm: str = "sha256") -> str:
    """The digest of ``data``."""
    _check_algorithm(algorithm)
    return f"{algorithm}:{hashlib.new(algorithm, data).hexdigest()}"


class Digester:
    """Streaming digest: ``update`` chunks, ``digest()`` at any point."""

    __slots__ = ("_hash", "algorithm")

    def __init__(self, algorithm: str = "sha256") -> None:
        _check_algorithm(algorithm)
        self.algorithm = algorithm
        self._hash = hashlib.new(algorithm)

    def update(self, data: bytes) -> None:
        self._hash.update(data)

    def digest(self) -> str:
        return f"{self.algorithm}:{self._hash.hexdigest()}"
