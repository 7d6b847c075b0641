"""Apply Dockerfile instructions to an image's container config (``import --change``,
``commit --change``): CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, USER, WORKDIR, VOLUME,
STOPSIGNAL and ONBUILD.  Bad input gets ``InvalidArgument`` naming the change.
"""

import json
import posixpath
import re
import shlex
from collections.abc import Sequence
from typing import Any

from ketch.errors import InvalidArgument
from ketch.oci.image_spec import ContainerConfig

__all__ = ["VALID_CHANGES", "apply_changes", "parse_exposed_ports"]

VALID_CHANGES = (
    "CMD",
    "ENTRYPOINT",
    "ENV",
    "EXPOSE",
    "LABEL",
    "ONBUILD",
    "STOPSIGNAL",
    "USER",
    "VOLUME",
    "WORKDIR",
)
_PORT_RE = re.compile(r"(\d+)(?:-(\d+))?(?:/(tcp|udp|sctp))?")
_SIGNAL_RE = re.compile(r"(?:SIG)?[A-Z0-9+-]+|\d+")


def _json_array(text: str) -> list[str] | None:
    """The JSON exec form, or None for the shell form."""
    if not text.startswith("["):
        return None
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return None  # docker treats a broken JSON array as shell form
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return None
    return value


def _words(text: str, what: str) -> list[str]:
    try:
        return shlex.split(text, posix=True)
    except ValueError as e:
        raise InvalidArgument(f"{what}: {e}") from e


def _pairs(text: str, what: str) -> dict[str, str]:
    words = _words(text, what)
    if not words:
        raise InvalidArgument(f"{what}: requires at least one argument")
    if "=" not in words[0]:  # legacy "ENV key value with spaces"
        key, _, value = text.strip().partition(" ")
        if not value.strip():
            raise InvalidArgument(f"{what}: must have two arguments")
        return {key: value.strip()}
    result = {}
    for word in words:
        key, sep, value = word.partition("=")
        if not sep or not key:
            raise InvalidArgument(f"{what}: syntax error - can't find = in {word!r}")
        result[key] = value
    return result


def parse_exposed_ports(specs: Sequence[str]) -> dict[str, object]:
    """``["80", "53/udp", "8000-8001"]`` -> ``{"80/tcp": {}, "53/udp": {}, ...}``."""
    ports: dict[str, object] = {}
    for spec in specs:
        m = _PORT_RE.fullmatch(spec.lower())
        if m is None:
            raise InvalidArgument(f"invalid containerPort: {spec}")
        start = int(m.group(1))
        end = int(m.group(2) or start)
        proto = m.group(3) or "tcp"
        if not 0 < start <= end <= 65535 or end - start > 65535:
            raise InvalidArgument(f"invalid range specified for container port: {spec}")
        for port in range(start, end + 1):
            ports[f"{port}/{proto}"] = {}
    return ports


def apply_changes(config: ContainerConfig | None, changes: Sequence[str]) -> ContainerConfig:
    """``config`` with each instruction of ``changes`` applied, in order."""
    current: dict[str, Any] = {}
    base = config or ContainerConfig()
    for info in base.__fields__:
        current[info.name] = getattr(base, info.name)
    for change in changes:
        _apply(current, change)
    return ContainerConfig(**current)


def _env_set(env: tuple[str, ...], key: str, value: str) -> tuple[str, ...]:
    kept = [e for e in env if e.partition("=")[0] != key]
    return (*kept, f"{key}={value}")


def _apply(current: dict[str, Any], change: str) -> None:
    text = change.strip()
    instruction, _, rest = text.partition(" ")
    if not instruction:
        raise InvalidArgument("empty change")
    upper = instruction.upper()
    rest = rest.strip()
    what = f"{upper} {rest}".strip()
    if upper not in VALID_CHANGES:
        raise InvalidArgument(f"{instruction} is not a valid change command")
    if upper in ("CMD", "ENTRYPOINT"):
        args = _json_array(rest)
        argv = tuple(args) if args is not None else ("/bin/sh", "-c", rest)
        current["cmd" if upper == "CMD" else "entrypoint"] = argv
        return
    if not rest:
        raise InvalidArgument(f"{upper} requires at least one argument")
    if upper == "ENV":
        env = tuple(current["env"] or ())
        for key, value in _pairs(rest, what).items():
            env = _env_set(env, key, value)
        current["env"] = env
    elif upper == "LABEL":
        labels = dict(current["labels"] or {})
        labels.update(_pairs(rest, what))
        current["labels"] = labels
    elif upper == "EXPOSE":
        ports = dict(current["exposed_ports"] or {})
        ports.update(parse_exposed_ports(_words(rest, what)))
        current["exposed_ports"] = ports
    elif upper == "USER":
        current["user"] = rest
    elif upper == "WORKDIR":
        base = current["working_dir"] or "/"
        current["working_dir"] = posixpath.normpath(posixpath.join(base, rest))
    elif upper == "VOLUME":
        args = _json_array(rest)
        paths = args if args is not None else rest.split()
        if not all(paths):
            raise InvalidArgument("VOLUME specified can not be an empty string")
        volumes = dict(current["volumes"] or {})
        volumes.update({p: {} for p in paths})
        current["volumes"] = volumes
    elif upper == "STOPSIGNAL":
        if _SIGNAL_RE.fullmatch(rest) is None:
            raise InvalidArgument(f"invalid stop signal {rest!r}")
        current["stop_signal"] = rest
    elif upper == "ONBUILD":
        trigger = rest.partition(" ")[0].upper()
        if trigger in ("ONBUILD", "FROM", "MAINTAINER"):
            raise InvalidArgument(f"{trigger} isn't allowed as an ONBUILD trigger")
        current["on_build"] = (*(current["on_build"] or ()), rest)
