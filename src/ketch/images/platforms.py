"""Platforms: the host's, parsing ``os/arch[/variant]``, and matching index entries.

Matching follows the usual rules: the OS must be equal; the architecture equal
after normalization (``x86_64`` is ``amd64``, ``aarch64`` is ``arm64``); an arm64
host also runs ``arm`` v8/v7/v6/v5 images and prefers exact variants; a missing
variant matches the architecture's default.
"""

import os

from ketch.errors import InvalidArgument
from ketch.oci.image_spec import Platform

__all__ = [
    "format_platform",
    "host_platform",
    "normalize",
    "parse_platform",
    "platform_rank",
]

_ARCH_ALIASES = {
    "x86_64": ("amd64", None),
    "x86-64": ("amd64", None),
    "amd64": ("amd64", None),
    "aarch64": ("arm64", None),
    "arm64": ("arm64", None),
    "armhf": ("arm", "v7"),
    "armel": ("arm", "v6"),
    "armv7l": ("arm", "v7"),
    "armv6l": ("arm", "v6"),
    "armv5tel": ("arm", "v5"),
    "i386": ("386", None),
    "i686": ("386", None),
    "386": ("386", None),
    "ppc64le": ("ppc64le", None),
    "s390x": ("s390x", None),
    "riscv64": ("riscv64", None),
}


def normalize(p: Platform) -> Platform:
    """Canonical architecture names and default variants (arm64 -> v8, arm -> v7)."""
    arch, variant = _ARCH_ALIASES.get(p.architecture.lower(), (p.architecture.lower(), None))
    variant = p.variant or variant
    if arch == "arm64" and variant in (None, "8", "v8"):
        variant = "v8"
    if arch == "arm" and variant in (None, "7"):
        variant = "v7"
    if arch == "amd64" and variant == "v1":
        variant = None
    return Platform(
        architecture=arch,
        os=p.os.lower(),
        os_version=p.os_version,
        os_features=p.os_features,
        variant=variant,
    )


def host_platform() -> Platform:
    """The platform of this machine (``linux/amd64``, ``linux/arm64/v8``...)."""
    machine = os.uname().machine
    arch, variant = _ARCH_ALIASES.get(machine.lower(), (machine, None))
    return normalize(Platform(architecture=arch, os="linux", variant=variant))


def parse_platform(s: str) -> Platform:
    """``linux/amd64``, ``linux/arm/v7`` or ``amd64`` (OS defaults to linux)."""
    parts = s.strip().split("/")
    if not all(parts) or len(parts) > 3:
        raise InvalidArgument(f"invalid platform {s!r}: expected os/arch[/variant]")
    if len(parts) == 1:
        parts = ["linux", parts[0]]
    variant = parts[2] if len(parts) == 3 else None
    return normalize(Platform(architecture=parts[1], os=parts[0], variant=variant))


def format_platform(p: Platform) -> str:
    return str(p)


_ARM_FALLBACK = ("v8", "v7", "v6", "v5")


def platform_rank(want: Platform, have: Platform) -> int | None:
    """How well ``have`` serves ``want``: 0 is exact, larger is worse, None is no match."""
    w, h = normalize(want), normalize(have)
    if w.os != h.os:
        return None
    if w.architecture == h.architecture:
        if w.variant == h.variant:
            return 0
        if w.architecture == "arm" and w.variant in _ARM_FALLBACK and h.variant in _ARM_FALLBACK:
            wi, hi = _ARM_FALLBACK.index(w.variant), _ARM_FALLBACK.index(h.variant)
            return hi - wi if hi > wi else None  # older variants run on newer CPUs
        if w.architecture == "amd64" and h.variant is None:
            return 1
        return None
    if w.architecture == "arm64" and h.architecture == "arm" and h.variant in _ARM_FALLBACK:
        return 10 + _ARM_FALLBACK.index(h.variant)
    return None
