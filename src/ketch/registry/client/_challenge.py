"""Parse ``WWW-Authenticate`` challenges (RFC 7235): ``Bearer realm="...",service="..."``."""

from __future__ import annotations

import re

from ketch.oci._record import Record

__all__ = ["Challenge", "parse_challenges"]

_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_PARAM = re.compile(rf'\s*({_TOKEN})\s*=\s*(?:"((?:[^"\\]|\\.)*)"|({_TOKEN}))\s*,?')
_SCHEME = re.compile(rf"\s*({_TOKEN})(?:\s+|$)")


class Challenge(Record):
    """One challenge: the scheme in lower case and its parameters."""

    scheme: str
    params: dict[str, str]

    def __hash__(self) -> int:
        return hash((self.scheme, tuple(sorted(self.params.items()))))


def parse_challenges(header: str) -> list[Challenge]:
    """Every challenge in one header value; unparsable text ends the list."""
    out: list[Challenge] = []
    pos = 0
    while pos < len(header):
        scheme = _SCHEME.match(header, pos)
        if scheme is None:
            break
        pos = scheme.end()
        params: dict[str, str] = {}
        while pos < len(header):
            param = _PARAM.match(header, pos)
            if param is None:
                break
            value = param.group(2)
            value = re.sub(r"\\(.)", r"\1", value) if value is not None else param.group(3)
            params[param.group(1).lower()] = value
            pos = param.end()
        out.append(Challenge(scheme.group(1).lower(), params))
        while pos < len(header) and header[pos] in ", ":
            pos += 1
    return out
