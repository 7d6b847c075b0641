"""Registry configuration: mirrors and insecure registries (``/etc/ketch/registries.toml``).

In the spirit of containers-registries.conf(5)::

    [[registry]]
    prefix = "docker.io"              # what references it applies to (domain[/path])
    location = "registry-1.docker.io" # where to go instead (default: the prefix)
    insecure = false                  # allow plain HTTP and unverified TLS
    blocked = false                   # refuse pulls and pushes

    [[registry.mirror]]               # tried first for pulls, in order
    location = "mirror.example:5000"
    insecure = true

The longest matching prefix wins (matching whole path components).  Loopback
registries (127.0.0.0/8, ::1, localhost) may always use plain HTTP.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ketch.errors import InvalidArgument, PermissionDenied
from ketch.oci._record import Record

__all__ = [
    "DEFAULT_CONFIG_PATH",
    "DOCKER_HUB_DOMAIN",
    "DOCKER_HUB_REGISTRY",
    "Endpoint",
    "RegistriesConfig",
    "RegistryEntry",
    "host_of",
    "is_loopback",
    "load_registries_config",
]

DEFAULT_CONFIG_PATH = Path("/etc/ketch/registries.toml")
DOCKER_HUB_DOMAIN = "docker.io"
DOCKER_HUB_REGISTRY = "registry-1.docker.io"


class Endpoint(Record):
    """One place to talk to for a repository: ``host`` (``name[:port]``) and the path there."""

    host: str
    repository: str
    insecure: bool = False
    mirror: bool = False


class RegistryEntry(Record):
    """One ``[[registry]]`` table."""

    prefix: str
    location: str
    insecure: bool = False
    blocked: bool = False
    mirrors: tuple[Endpoint, ...] = ()


def host_of(location: str) -> str:
    """The ``host[:port]`` part of a location such as ``host:5000/path``."""
    return location.split("/", 1)[0]


def is_loopback(host: str) -> bool:
    """True for ``localhost``, 127.0.0.0/8 and ::1 (with or without a port)."""
    name = host
    if name.startswith("["):
        name = name[1:].split("]", 1)[0]
    elif name.count(":") == 1:
        name = name.split(":", 1)[0]
    if name == "localhost" or name.endswith(".localhost"):
        return True
    if name.startswith("127.") and name.replace(".", "").isdigit():
        parts = name.split(".")
        return len(parts) == 4 and all(p.isdigit() and int(p) < 256 for p in parts)
    if not name or not (name[0].isdigit() or ":" in name):
        return False  # a DNS name: no address parsing
    import ipaddress

    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _matches(prefix: str, name: str) -> bool:
    return name == prefix or name.startswith(prefix + "/")


class RegistriesConfig(Record):
    """The parsed configuration; ``endpoints`` says where a repository lives."""

    registries: tuple[RegistryEntry, ...] = ()

    def entry(self, name: str) -> RegistryEntry | None:
        """The entry with the longest prefix matching ``domain/path``."""
        best: RegistryEntry | None = None
        for entry in self.registries:
            if _matches(entry.prefix, name) and (
                best is None or len(entry.prefix) > len(best.prefix)
            ):
                best = entry
        return best

    def endpoints(self, domain: str, path: str, *, pull: bool = True) -> list[Endpoint]:
        """Mirrors first (for pulls), then the primary location of ``domain/path``."""
        name = f"{domain}/{path}"
        entry = self.entry(name)
        if entry is None:
            host = DOCKER_HUB_REGISTRY if domain == DOCKER_HUB_DOMAIN else domain
            return [Endpoint(host=host, repository=path)]
        if entry.blocked:
            raise PermissionDenied(f"registry {entry.prefix} is blocked by configuration")
        rest = name[len(entry.prefix) :]
        out = []
        if pull:
            for mirror in entry.mirrors:
                out.append(_relocate(mirror.host, rest, mirror.insecure, mirror=True))
        location = entry.location
        if location == DOCKER_HUB_DOMAIN:
            location = DOCKER_HUB_REGISTRY
        out.append(_relocate(location, rest, entry.insecure, mirror=False))
        return out

    def insecure(self, host: str) -> bool:
        """True if ``host`` is configured insecure (as a location or a mirror)."""
        for entry in self.registries:
            if host_of(entry.location) == host and entry.insecure:
                return True
            if any(m.host.split("/", 1)[0] == host and m.insecure for m in entry.mirrors):
                return True
        return False


def _relocate(location: str, rest: str, insecure: bool, *, mirror: bool) -> Endpoint:
    host, _, base = location.partition("/")
    repository = (base + rest).strip("/") if base else rest.strip("/")
    if not repository:
        raise InvalidArgument(f"registry location {location!r} leaves no repository path")
    return Endpoint(host=host, repository=repository, insecure=insecure, mirror=mirror)


def _bool(table: dict[str, Any], key: str, where: str) -> bool:
    value = table.get(key, False)
    if not isinstance(value, bool):
        raise InvalidArgument(f"{where}.{key}: expected a boolean")
    return value


def _location(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value or " " in value or "://" in value:
        raise InvalidArgument(f"{where}: expected host[:port][/path], got {value!r}")
    return value.rstrip("/")


def parse_registries_config(text: str, source: str = "registries.toml") -> RegistriesConfig:
    """Parse the TOML text; ``InvalidArgument`` names the bad key."""
    import tomllib

    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise InvalidArgument(f"{source}: {e}") from e
    tables = doc.get("registry", [])
    if not isinstance(tables, list):
        raise InvalidArgument(f"{source}: [[registry]] must be an array of tables")
    entries = []
    for i, table in enumerate(tables):
        where = f"{source}: registry[{i}]"
        if not isinstance(table, dict):
            raise InvalidArgument(f"{where}: expected a table")
        location = table.get("location")
        prefix = table.get("prefix", location)
        prefix = _location(prefix, f"{where}.prefix")
        location = _location(location if location is not None else prefix, f"{where}.location")
        mirrors = []
        for j, mirror in enumerate(table.get("mirror", [])):
            mwhere = f"{where}.mirror[{j}]"
            if not isinstance(mirror, dict):
                raise InvalidArgument(f"{mwhere}: expected a table")
            mirrors.append(
                Endpoint(
                    host=_location(mirror.get("location"), f"{mwhere}.location"),
                    repository="",
                    insecure=_bool(mirror, "insecure", mwhere),
                    mirror=True,
                )
            )
        entries.append(
            RegistryEntry(
                prefix=prefix,
                location=location,
                insecure=_bool(table, "insecure", where),
                blocked=_bool(table, "blocked", where),
                mirrors=tuple(mirrors),
            )
        )
    return RegistriesConfig(registries=tuple(entries))


def load_registries_config(path: Path | None = None) -> RegistriesConfig:
    """Read ``path`` (default ``/etc/ketch/registries.toml``); a missing file is no config."""
    path = DEFAULT_CONFIG_PATH if path is None else path
    try:
        text = path.read_text()
    except FileNotFoundError:
        return RegistriesConfig()
    except OSError as e:
        raise InvalidArgument(f"cannot read {path}: {e.strerror}") from e
    return parse_registries_config(text, str(path))
