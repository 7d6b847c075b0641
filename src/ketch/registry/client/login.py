"""Login (verify credentials against the registry, then store them), logout and search."""

from __future__ import annotations

from urllib.parse import urlencode

from ketch.errors import InvalidArgument, NotFound, PermissionDenied, Unavailable
from ketch.oci._record import Record
from ketch.registry.auth import Credentials
from ketch.registry.client._client import RegistryClient
from ketch.registry.client._transport import TRANSIENT, raise_for_status, read_error, read_json
from ketch.registry.config import DOCKER_HUB_DOMAIN, DOCKER_HUB_REGISTRY, host_of

__all__ = ["SearchResult", "login_sync", "logout", "registry_host", "search_sync"]

DOCKER_HUB_INDEX = "index.docker.io"


def registry_host(registry: str | None) -> str:
    """The API host of a registry argument (``None`` and docker.io mean Docker Hub)."""
    if not registry:
        return DOCKER_HUB_REGISTRY
    text = registry
    for scheme in ("https://", "http://"):
        if text.startswith(scheme):
            text = text[len(scheme) :]
    host = host_of(text)
    if host in (DOCKER_HUB_DOMAIN, DOCKER_HUB_INDEX, DOCKER_HUB_REGISTRY):
        return DOCKER_HUB_REGISTRY
    if not host or any(c in host for c in " \t@"):
        raise InvalidArgument(f"invalid registry {registry!r}")
    return host


def login_sync(client: RegistryClient, registry: str | None, username: str, password: str) -> str:
    """Check the credentials (a token for Bearer registries, /v2/ for Basic) and store them.

    Returns the registry host.  ``PermissionDenied`` if the registry refuses them.
    """
    if not username or not password:
        raise InvalidArgument("username and password are required")
    host = registry_host(registry)
    creds = Credentials(username, password)
    with client.transport(creds, host) as transport:
        transport.ping(host)
        resp = transport.request("GET", host, "/v2/", retry=False)
        status = resp.status
        message = read_error(resp)
        if status in (401, 403):
            raise PermissionDenied(
                f"login to {host} failed: unauthorized: incorrect username or password"
            )
        if status != 200:
            raise_for_status(status, f"login to {host}", message)
    client.docker_config.store(host, creds)
    return host


def logout(registry: str | None, *, client: RegistryClient | None = None) -> tuple[str, bool]:
    """Erase stored credentials; returns the host and whether there were any."""
    host = registry_host(registry)
    return host, (client or RegistryClient()).docker_config.erase(host)


class SearchResult(Record):
    name: str
    description: str = ""
    star_count: int = 0
    is_official: bool = False
    is_automated: bool = False


def search_sync(client: RegistryClient, term: str, *, limit: int = 25) -> list[SearchResult]:
    """Search a registry's v1 search API (Docker Hub by default; ``host/term`` elsewhere)."""
    if not term:
        raise InvalidArgument("search term must not be empty")
    if not 1 <= limit <= 100:
        raise InvalidArgument("limit must be between 1 and 100")
    host, sep, query = term.partition("/")
    if not sep or ("." not in host and ":" not in host and host != "localhost"):
        host, query = DOCKER_HUB_INDEX, term
    with client.transport() as transport:
        if host != DOCKER_HUB_INDEX:  # learn the scheme (plain HTTP on loopback)
            transport.ping(host)
        base = transport.base_url(host)
        url = base._replace(target="/v1/search?" + urlencode({"q": query, "n": str(limit)}))
        try:
            with transport.send("GET", url) as resp:
                if resp.status == 404:
                    raise NotFound(f"{host} has no search API")
                if resp.status != 200:
                    raise_for_status(resp.status, f"search on {host}", read_error(resp))
                doc = read_json(resp, f"search answer of {host}")
        except TRANSIENT as e:
            raise Unavailable(f"search on {host}: {e}") from e
    results = doc.get("results") if isinstance(doc, dict) else None
    out = []
    for item in results or ():
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            continue
        out.append(
            SearchResult(
                name=item["name"],
                description=str(item.get("description") or ""),
                star_count=int(item.get("star_count") or 0),
                is_official=bool(item.get("is_official")),
                is_automated=bool(item.get("is_automated")),
            )
        )
    return out[:limit]
