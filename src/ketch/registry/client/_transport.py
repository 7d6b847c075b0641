"""HTTP to registries: scheme choice, TLS, the auth challenge/token flow, retries, redirects.

One ``Transport`` serves one pull or push (it owns an aiohttp session).  For each
host it pings ``/v2/`` once to learn the scheme (HTTPS; plain HTTP only for hosts
configured insecure or on loopback) and the auth challenge.  Bearer tokens are
cached per (host, scope); Basic credentials are sent only to the host they belong to.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import aiohttp
from yarl import URL

from ketch.errors import InvalidArgument, NotFound, PermissionDenied, Unavailable
from ketch.registry.auth import Credentials
from ketch.registry.client._challenge import Challenge, parse_challenges
from ketch.registry.config import is_loopback

__all__ = ["DEFAULT_CERTS_DIRS", "Transport", "raise_for_status", "read_error"]

DEFAULT_CERTS_DIRS = (Path("/etc/ketch/certs.d"), Path("/etc/docker/certs.d"))
_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_TRANSIENT = (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError, asyncio.TimeoutError)


class _Token:
    __slots__ = ("expires", "value")

    def __init__(self, value: str, expires: float) -> None:
        self.value = value
        self.expires = expires


class Transport:
    """Requests to registry hosts with authentication and retries."""

    def __init__(
        self,
        credentials: Callable[[str], Credentials | None],
        *,
        insecure: Callable[[str], bool] = lambda host: False,
        certs_dirs: tuple[Path, ...] = DEFAULT_CERTS_DIRS,
        retries: int = 4,
        backoff: float = 0.25,
        user_agent: str = "ketch/0.1",
        connections: int = 8,
    ) -> None:
        self._credentials = credentials
        self._insecure = insecure
        self._certs_dirs = certs_dirs
        self.retries = retries
        self.backoff = backoff
        self._user_agent = user_agent
        self._connections = connections
        self._session: aiohttp.ClientSession | None = None
        self._schemes: dict[str, str] = {}
        self._challenges: dict[str, Challenge | None] = {}
        self._tokens: dict[tuple[str, tuple[str, ...]], _Token] = {}
        self._ssl: dict[str, ssl.SSLContext | bool] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def __aenter__(self) -> Transport:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._connections),
                headers={"User-Agent": self._user_agent},
                timeout=aiohttp.ClientTimeout(total=None, connect=30, sock_read=120),
                auto_decompress=False,
                read_bufsize=1 << 22,
            )
        return self._session

    # -- TLS and scheme ----------------------------------------------------------

    def ssl_for(self, host: str) -> ssl.SSLContext | bool:
        """Verification with system CAs plus ``<certs.d>/<host>/*.crt``; off if insecure."""
        if host in self._ssl:
            return self._ssl[host]
        context: ssl.SSLContext | bool
        if self._insecure(host):
            context = False
        else:
            ctx = ssl.create_default_context()
            for base in self._certs_dirs:
                directory = base / host
                if not directory.is_dir():
                    continue
                for entry in sorted(directory.iterdir()):
                    try:
                        if entry.suffix == ".crt":
                            ctx.load_verify_locations(cafile=str(entry))
                        elif entry.suffix == ".cert":
                            key = entry.with_suffix(".key")
                            ctx.load_cert_chain(str(entry), str(key))
                    except (OSError, ssl.SSLError) as e:
                        raise InvalidArgument(f"bad certificate {entry}: {e}") from e
            context = ctx
        self._ssl[host] = context
        return context

    def _ssl_url(self, url: URL) -> ssl.SSLContext | bool:
        if url.scheme != "https":
            return False
        name = url.host or ""
        if ":" in name:
            name = f"[{name}]"
        return self.ssl_for(name if url.port in (None, 443) else f"{name}:{url.port}")

    def base_url(self, host: str) -> URL:
        return URL(f"{self._schemes.get(host, 'https')}://{host}")

    async def ping(self, host: str) -> None:
        """Learn the scheme and auth challenge of ``host`` (once)."""
        if host in self._challenges:
            return
        lock = self._locks.setdefault(host, asyncio.Lock())
        async with lock:
            if host in self._challenges:
                return
            # loopback: plain HTTP first (a TLS server there answers it with an error and
            # HTTPS follows); insecure hosts elsewhere: HTTPS first, then HTTP
            if is_loopback(host):
                schemes = ["http", "https"]
            elif self._insecure(host):
                schemes = ["https", "http"]
            else:
                schemes = ["https"]
            last: Exception | None = None
            for scheme in schemes:
                try:
                    async with self.session.get(
                        f"{scheme}://{host}/v2/",
                        ssl=self.ssl_for(host) if scheme == "https" else False,
                        allow_redirects=False,
                    ) as resp:
                        await resp.read()
                        if resp.status not in (200, 401):  # e.g. 400 "HTTP to an HTTPS server"
                            last = Unavailable(f"{scheme}://{host}/v2/ answered {resp.status}")
                            continue
                        self._schemes[host] = scheme
                        if resp.status == 401:
                            self._challenges[host] = _pick(
                                resp.headers.getall("WWW-Authenticate", [])
                            )
                        else:
                            self._challenges[host] = None
                        return
                except (aiohttp.ClientConnectorCertificateError, aiohttp.ClientSSLError) as e:
                    last = e
                    if scheme == schemes[-1]:
                        raise Unavailable(f"{host}: TLS verification failed: {e}") from e
                except (TimeoutError, aiohttp.ClientError) as e:
                    last = e
            raise Unavailable(f"cannot reach registry {host}: {last}") from last

    # -- authentication ----------------------------------------------------------

    async def _token(self, host: str, challenge: Challenge, scopes: tuple[str, ...]) -> str:
        key = (host, scopes)
        cached = self._tokens.get(key)
        if cached is not None and cached.expires > time.monotonic():
            return cached.value
        realm = challenge.params.get("realm")
        if not realm:
            raise PermissionDenied(f"{host}: Bearer challenge without a realm")
        query: list[tuple[str, str]] = []
        if challenge.params.get("service"):
            query.append(("service", challenge.params["service"]))
        query.extend(("scope", scope) for scope in scopes)
        creds = self._credentials(host)
        headers = {}
        if creds is not None:
            headers["Authorization"] = aiohttp.encode_basic_auth(creds.username, creds.password)
        realm_url = URL(realm)
        if realm_url.scheme not in ("https", "http"):
            raise PermissionDenied(f"{host}: token realm {realm!r} is not an HTTP URL")
        if realm_url.scheme == "http" and not (
            is_loopback(realm_url.host or "") or self._insecure(realm_url.host or "")
        ):
            headers = {}  # never send a password in the clear
        try:
            async with self.session.get(
                realm_url.update_query(query),
                headers=headers,
                ssl=self.ssl_for(f"{realm_url.host}") if realm_url.scheme == "https" else False,
            ) as resp:
                if resp.status in (401, 403):
                    raise PermissionDenied(
                        f"{host}: authentication failed"
                        + (" (check the username and password)" if creds else "")
                    )
                if resp.status != 200:
                    raise Unavailable(f"{host}: token service answered {resp.status}")
                doc = await resp.json(content_type=None)
        except (TimeoutError, aiohttp.ClientError) as e:
            raise Unavailable(f"{host}: token service unreachable: {e}") from e
        token = doc.get("token") or doc.get("access_token") if isinstance(doc, dict) else None
        if not isinstance(token, str) or not token:
            raise Unavailable(f"{host}: token service returned no token")
        expires_in = doc.get("expires_in", 60)
        lifetime = expires_in if isinstance(expires_in, int) and expires_in > 0 else 60
        self._tokens[key] = _Token(token, time.monotonic() + max(lifetime - 10, 5))
        return token

    async def authorization(self, host: str, scopes: tuple[str, ...]) -> str | None:
        """The ``Authorization`` header value for ``host`` and ``scopes`` (None: anonymous)."""
        await self.ping(host)
        challenge = self._challenges.get(host)
        if challenge is None:
            return None
        if challenge.scheme == "bearer":
            return f"Bearer {await self._token(host, challenge, scopes)}"
        creds = self._credentials(host)
        if creds is None:
            raise PermissionDenied(f"{host}: authentication required (run ketch login {host})")
        return aiohttp.encode_basic_auth(creds.username, creds.password)

    # -- requests ----------------------------------------------------------------

    async def request(
        self,
        method: str,
        host: str,
        path_or_url: str | URL,
        *,
        scopes: tuple[str, ...] = (),
        headers: Mapping[str, str] | None = None,
        data: Any = None,
        params: Mapping[str, str] | None = None,
        retry: bool = True,
        follow_redirects: bool = True,
    ) -> aiohttp.ClientResponse:
        """Send a request, answering one auth challenge and retrying transient failures.

        The caller reads and releases the response.  ``data`` that is not bytes is sent
        once (no retry).  Redirects are followed by hand, without the Authorization
        header when they lead to another host.
        """
        await self.ping(host)
        base = self.base_url(host)
        url = path_or_url if isinstance(path_or_url, URL) else URL(str(path_or_url))
        if not url.is_absolute():
            url = base.join(url)
        if params:
            url = url.update_query(params)
        replayable = data is None or isinstance(data, bytes | bytearray)
        attempts = self.retries if (retry and replayable) else 1
        reauthorized = False
        attempt = 0
        while True:
            attempt += 1
            send_headers = dict(headers or {})
            # credentials go only to the registry itself, not to an absolute Location
            # (an upload session or blob) on another origin
            if (url.scheme, url.host, url.port) == (base.scheme, base.host, base.port):
                authorization = await self.authorization(host, scopes)
                if authorization is not None:
                    send_headers["Authorization"] = authorization
            try:
                resp = await self._send(method, host, url, send_headers, data, follow_redirects)
            except _TRANSIENT as e:
                if attempt >= attempts:
                    raise Unavailable(
                        f"{host}: {method} {url.path} failed: {e or type(e).__name__}"
                    ) from e
                await asyncio.sleep(self.backoff * 2 ** (attempt - 1))
                continue
            if resp.status == 401 and not reauthorized and replayable:
                challenge = _pick(resp.headers.getall("WWW-Authenticate", []))
                resp.release()
                if challenge is None:
                    raise PermissionDenied(f"{host}: unauthorized")
                self._challenges[host] = challenge
                for key in [k for k in self._tokens if k[0] == host and k[1] == scopes]:
                    del self._tokens[key]
                reauthorized = True
                continue
            if resp.status in _RETRY_STATUSES and attempt < attempts:
                delay = self.backoff * 2 ** (attempt - 1)
                retry_after = resp.headers.get("Retry-After", "")
                if retry_after.isdigit():
                    delay = min(float(retry_after), 30.0)
                resp.release()
                await asyncio.sleep(delay)
                continue
            return resp

    async def _send(
        self,
        method: str,
        host: str,
        url: URL,
        headers: dict[str, str],
        data: Any,
        follow_redirects: bool,
    ) -> aiohttp.ClientResponse:
        origin = (url.scheme, url.host, url.port)
        for _ in range(6):
            resp = await self.session.request(
                method,
                url,
                headers=headers,
                data=data,
                allow_redirects=False,
                ssl=self._ssl_url(url),
            )
            if not follow_redirects or resp.status not in (301, 302, 303, 307, 308):
                return resp
            location = resp.headers.get("Location")
            resp.release()
            if not location:
                raise Unavailable(f"{host}: redirect without a Location")
            target = url.join(URL(location))
            if target.scheme not in ("http", "https"):
                raise Unavailable(f"{host}: redirect to {target.scheme!r} refused")
            if (target.scheme, target.host, target.port) != origin:
                headers = {k: v for k, v in headers.items() if k.lower() != "authorization"}
            if (
                url.scheme == "https"
                and target.scheme == "http"
                and not is_loopback(target.host or "")
            ):
                raise Unavailable(f"{host}: redirect from HTTPS to HTTP refused")
            url = target
            if resp.status == 303:
                method, data = "GET", None
        raise Unavailable(f"{host}: too many redirects")


def _pick(headers: list[str]) -> Challenge | None:
    challenges = [c for header in headers for c in parse_challenges(header)]
    for scheme in ("bearer", "basic"):
        for c in challenges:
            if c.scheme == scheme:
                return c
    return None


async def read_error(resp: aiohttp.ClientResponse) -> str:
    """A one-line summary of a registry error response (the spec's JSON errors if any)."""
    try:
        body = await resp.read()
    finally:
        resp.release()
    try:
        import json

        doc = json.loads(body[:65536])
        errors = doc.get("errors") if isinstance(doc, dict) else None
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            first = errors[0]
            return f"{first.get('code', resp.status)}: {first.get('message', '')}".strip()
    except (ValueError, RecursionError):
        pass
    return f"HTTP {resp.status}"


def raise_for_status(status: int, what: str, message: str) -> None:
    """Map an unexpected registry status to the error tree."""
    if status in (401, 403):
        raise PermissionDenied(f"{what}: {message}")
    if status == 404:
        raise NotFound(f"{what}: {message}")
    if status in (400, 405, 409, 413, 416):
        raise InvalidArgument(f"{what}: {message}")
    raise Unavailable(f"{what}: {message}")
