"""Image references in Docker's grammar: ``[registry[:port]/]path[:tag][@digest]``.

``parse_reference`` normalizes as the docker CLI does: no registry means
``docker.io``, a one-component path on Docker Hub gains ``library/``,
``index.docker.io`` becomes ``docker.io``, and a bare name gets the default
tag.  Error messages are Docker's.
"""

import re

from ketch.errors import InvalidArgument
from ketch.oci._record import Record
from ketch.oci.digest import parse_digest

__all__ = [
    "DEFAULT_DOMAIN",
    "Reference",
    "is_image_id_prefix",
    "parse_reference",
]

DEFAULT_DOMAIN = "docker.io"
LEGACY_DEFAULT_DOMAIN = "index.docker.io"
OFFICIAL_PREFIX = "library/"
NAME_TOTAL_LENGTH_MAX = 255

_ALNUM = r"[a-z0-9]+"
_SEPARATOR = r"(?:[_.]|__|[-]+)"
_PATH_COMPONENT = rf"{_ALNUM}(?:{_SEPARATOR}{_ALNUM})*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN_NAME = rf"{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*"
_IPV6 = r"\[(?:[a-fA-F0-9:]+)\]"
_HOST = rf"(?:{_DOMAIN_NAME}|{_IPV6})"
_DOMAIN = rf"{_HOST}(?::[0-9]+)?"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9a-fA-F]{32,}"
_NAME = rf"(?:{_DOMAIN}/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"
_REFERENCE_RE = re.compile(rf"({_NAME})(?::({_TAG}))?(?:@({_DIGEST}))?")
_ANCHORED_ID_RE = re.compile(r"[a-f0-9]{64}")
_ID_PREFIX_RE = re.compile(r"(?:sha256:)?[a-f0-9]{1,64}")
_PATH_RE = re.compile(rf"{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*")


class Reference(Record):
    """A normalized reference; ``tag`` and ``digest`` may each be absent."""

    domain: str
    path: str
    tag: str | None = None
    digest: str | None = None

    @property
    def name(self) -> str:
        """``docker.io/library/busybox``."""
        return f"{self.domain}/{self.path}"

    @property
    def repository_path(self) -> str:
        """The path within the registry (``library/busybox``)."""
        return self.path

    def string(self) -> str:
        """The full normalized form, ``docker.io/library/busybox:latest[@sha256:...]``."""
        text = self.name
        if self.tag is not None:
            text += f":{self.tag}"
        if self.digest is not None:
            text += f"@{self.digest}"
        return text

    def familiar_name(self) -> str:
        """The name as docker shows it (``busybox``, ``user/app``, ``ex.com/app``)."""
        if self.domain != DEFAULT_DOMAIN:
            return self.name
        path = self.path
        if path.startswith(OFFICIAL_PREFIX) and path.count("/") == 1:
            return path[len(OFFICIAL_PREFIX) :]
        return path

    def familiar(self) -> str:
        """``busybox:latest`` (tag and digest as present)."""
        text = self.familiar_name()
        if self.tag is not None:
            text += f":{self.tag}"
        if self.digest is not None:
            text += f"@{self.digest}"
        return text

    def with_tag(self, tag: str | None) -> "Reference":
        return Reference(self.domain, self.path, tag, self.digest)

    def with_digest(self, digest: str | None) -> "Reference":
        return Reference(self.domain, self.path, self.tag, digest)

    def __str__(self) -> str:
        return self.string()


def _split_domain(name: str) -> tuple[str, str]:
    i = name.find("/")
    first = name[:i]
    if i == -1 or (
        not any(c in first for c in ".:") and first != "localhost" and first.lower() == first
    ):
        domain, remainder = DEFAULT_DOMAIN, name
    else:
        domain, remainder = first, name[i + 1 :]
    if domain == LEGACY_DEFAULT_DOMAIN:
        domain = DEFAULT_DOMAIN
    if domain == DEFAULT_DOMAIN and "/" not in remainder:
        remainder = OFFICIAL_PREFIX + remainder
    return domain, remainder


def parse_reference(s: str, *, default_tag: str | None = "latest") -> Reference:
    """Parse and normalize ``s``; ``default_tag`` is added when neither tag nor
    digest is given (pass ``None`` to keep a bare name)."""
    if not s:
        raise InvalidArgument(
            "invalid reference format: repository name must have at least one component"
        )
    if _ANCHORED_ID_RE.fullmatch(s):
        raise InvalidArgument(
            f"invalid repository name ({s}), cannot specify 64-byte hexadecimal strings"
        )
    domain, remainder = _split_domain(s)
    # split tag and digest off the remainder, which holds no domain
    tagged, _, digest = remainder.partition("@")
    path, _, tag = tagged.partition(":")
    if path.lower() != path:
        raise InvalidArgument(
            f"invalid reference format: repository name ({path}) must be lowercase"
        )
    m = _REFERENCE_RE.fullmatch(s)
    if m is None:
        if _REFERENCE_RE.fullmatch(s.lower()) is not None:
            raise InvalidArgument("invalid reference format: repository name must be lowercase")
        raise InvalidArgument("invalid reference format")
    if len(m.group(1)) > NAME_TOTAL_LENGTH_MAX:
        raise InvalidArgument(
            f"repository name must not be more than {NAME_TOTAL_LENGTH_MAX} characters"
        )
    digest_value = m.group(3)
    if digest_value is not None:
        algorithm = digest_value.partition(":")[0]
        if algorithm not in ("sha256", "sha512"):
            raise InvalidArgument("unsupported digest algorithm")
        parse_digest(digest_value)
    tag_value = m.group(2)
    if tag_value is None and digest_value is None:
        tag_value = default_tag
    del tag, digest
    return Reference(domain=domain, path=path, tag=tag_value, digest=digest_value)


def is_image_id_prefix(s: str) -> bool:
    """True if ``s`` may be a (short) image ID: hex, optionally ``sha256:``-prefixed."""
    return _ID_PREFIX_RE.fullmatch(s) is not None


def is_repository_path(path: str) -> bool:
    return _PATH_RE.fullmatch(path) is not None
