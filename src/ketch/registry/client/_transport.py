"""HTTP to registries: scheme choice, TLS, the auth challenge/token flow, retries, redirects.

One ``Transport`` serves one pull or push; its connection pool is shared by the
threads that fetch blobs.  For each host it pings ``/v2/`` once to learn the scheme
(HTTPS; plain HTTP only for hosts configured insecure or on loopback) and the auth
challenge.  Bearer tokens are cached per (host, scope); Basic credentials are sent
only to the host they belong to.  TLS contexts are built only for HTTPS hosts.
"""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from ketch.errors import InvalidArgument, NotFound, PermissionDenied, Unavailable
from ketch.oci.image_spec import parse_json
from ketch.registry.auth import Credentials
from ketch.registry.client._challenge import Challenge, parse_challenges
from ketch.registry.client._http import (
    URL,
    Body,
    FileBody,
    Pool,
    Response,
    TransferError,
    join_url,
    parse_url,
)
from ketch.registry.config import is_loopback

__all__ = [
    "DEFAULT_CERTS_DIRS",
    "MAX_JSON_RESPONSE",
    "TRANSIENT",
    "Transport",
    "basic_auth",
    "raise_for_status",
    "read_error",
    "read_json",
]

DEFAULT_CERTS_DIRS = (Path("/etc/ketch/certs.d"), Path("/etc/docker/certs.d"))
MAX_JSON_RESPONSE = 4 << 20  # token, tags list and search answers
_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
TRANSIENT = (OSError, TransferError)


def basic_auth(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def _tls_error(e: BaseException) -> bool:
    import ssl

    return isinstance(e, ssl.SSLError | ssl.CertificateError)


class _Token:
    __slots__ = ("expires", "value")

    def __init__(self, value: str, expires: float) -> None:
        self.value = value
        self.expires = expires


class Transport:
    """Requests to registry hosts with authentication and retries (thread-safe)."""

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
        self._connections = connections
        self.pool = Pool(user_agent=user_agent)
        self._schemes: dict[str, str] = {}
        self._challenges: dict[str, Challenge | None] = {}
        self._tokens: dict[tuple[str, tuple[str, ...]], _Token] = {}
        self._ssl: dict[str, Any] = {}
        self._lock = threading.Lock()  # the caches above
        self._host_locks: dict[str, threading.Lock] = {}

    def __enter__(self) -> Transport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.pool.close()

    def _host_lock(self, key: str) -> threading.Lock:
        with self._lock:
            return self._host_locks.setdefault(key, threading.Lock())

    # -- TLS and scheme ----------------------------------------------------------

    def ssl_for(self, host: str) -> Any:
        """Verification with system CAs plus ``<certs.d>/<host>/*.crt``; off if insecure."""
        with self._lock:
            if host in self._ssl:
                return self._ssl[host]
        import ssl

        if self._insecure(host):
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
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
        ctx.set_alpn_protocols(["http/1.1"])
        with self._lock:
            return self._ssl.setdefault(host, ctx)

    def _ssl_url(self, url: URL) -> Any:
        return self.ssl_for(url.host) if url.scheme == "https" else None

    def base_url(self, host: str) -> URL:
        return parse_url(f"{self._schemes.get(host, 'https')}://{host}/")

    def send(
        self, method: str, url: URL, headers: dict[str, str] | None = None, body: Body = None
    ) -> Response:
        """One request, no auth, retries or redirects (the caller releases the response)."""
        return self.pool.request(method, url, headers, body, context=self._ssl_url(url))

    def ping(self, host: str) -> None:
        """Learn the scheme and auth challenge of ``host`` (once)."""
        if host in self._challenges:
            return
        with self._host_lock(host):
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
                    url = parse_url(f"{scheme}://{host}/v2/")
                except ValueError as e:
                    raise InvalidArgument(f"invalid registry host {host!r}") from e
                try:
                    with self.send("GET", url) as resp:
                        resp.read(65536)
                except TRANSIENT as e:
                    last = e
                    if _tls_error(e) and scheme == schemes[-1]:
                        raise Unavailable(f"{host}: TLS verification failed: {e}") from e
                    continue
                if resp.status not in (200, 401):  # e.g. 400 "HTTP to an HTTPS server"
                    last = Unavailable(f"{scheme}://{host}/v2/ answered {resp.status}")
                    continue
                self._schemes[host] = scheme
                if resp.status == 401:
                    self._challenges[host] = _pick(resp.header_all("www-authenticate"))
                else:
                    self._challenges[host] = None
                return
            raise Unavailable(f"cannot reach registry {host}: {last}") from last

    # -- authentication ----------------------------------------------------------

    def _token(self, host: str, challenge: Challenge, scopes: tuple[str, ...]) -> str:
        key = (host, scopes)
        cached = self._tokens.get(key)
        if cached is not None and cached.expires > time.monotonic():
            return cached.value
        with self._host_lock(f"token {host} {scopes}"):
            cached = self._tokens.get(key)
            if cached is not None and cached.expires > time.monotonic():
                return cached.value
            return self._new_token(host, challenge, scopes)

    def _new_token(self, host: str, challenge: Challenge, scopes: tuple[str, ...]) -> str:
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
            headers["Authorization"] = basic_auth(creds.username, creds.password)
        try:
            realm_url = parse_url(realm)
        except ValueError as e:
            raise PermissionDenied(f"{host}: token realm {realm!r} is not an HTTP URL") from e
        if realm_url.scheme == "http" and not (
            is_loopback(realm_url.hostname) or self._insecure(realm_url.host)
        ):
            headers = {}  # never send a password in the clear
        if query:
            sep = "&" if "?" in realm_url.target else "?"
            realm_url = realm_url._replace(target=realm_url.target + sep + urlencode(query))
        try:
            with self.send("GET", realm_url, headers) as resp:
                if resp.status in (401, 403):
                    raise PermissionDenied(
                        f"{host}: authentication failed"
                        + (" (check the username and password)" if creds else "")
                    )
                if resp.status != 200:
                    raise Unavailable(f"{host}: token service answered {resp.status}")
                doc = read_json(resp, f"{host}: token service answer")
        except TRANSIENT as e:
            raise Unavailable(f"{host}: token service unreachable: {e}") from e
        token = doc.get("token") or doc.get("access_token") if isinstance(doc, dict) else None
        if not isinstance(token, str) or not token:
            raise Unavailable(f"{host}: token service returned no token")
        expires_in = doc.get("expires_in", 60)
        lifetime = expires_in if isinstance(expires_in, int) and expires_in > 0 else 60
        self._tokens[(host, scopes)] = _Token(token, time.monotonic() + max(lifetime - 10, 5))
        return token

    def authorization(self, host: str, scopes: tuple[str, ...]) -> str | None:
        """The ``Authorization`` header value for ``host`` and ``scopes`` (None: anonymous)."""
        self.ping(host)
        challenge = self._challenges.get(host)
        if challenge is None:
            return None
        if challenge.scheme == "bearer":
            return f"Bearer {self._token(host, challenge, scopes)}"
        creds = self._credentials(host)
        if creds is None:
            raise PermissionDenied(f"{host}: authentication required (run ketch login {host})")
        return basic_auth(creds.username, creds.password)

    # -- requests ----------------------------------------------------------------

    def request(
        self,
        method: str,
        host: str,
        path_or_url: str | URL,
        *,
        scopes: tuple[str, ...] = (),
        headers: Mapping[str, str] | None = None,
        data: Body = None,
        params: Mapping[str, str] | None = None,
        retry: bool = True,
        follow_redirects: bool = True,
    ) -> Response:
        """Send a request, answering one auth challenge and retrying transient failures.

        The caller reads and releases the response.  A ``data`` iterable is sent
        once (no retry).  Redirects are followed by hand, without the Authorization
        header when they lead to another host.
        """
        self.ping(host)
        base = self.base_url(host)
        url = path_or_url if isinstance(path_or_url, URL) else join_url(base, path_or_url)
        if params:
            sep = "&" if "?" in url.target else "?"
            url = url._replace(target=url.target + sep + urlencode(list(params.items())))
        replayable = data is None or not _is_iterable_body(data)
        attempts = self.retries if (retry and replayable) else 1
        reauthorized = False
        attempt = 0
        while True:
            attempt += 1
            send_headers = dict(headers or {})
            # credentials go only to the registry itself, not to an absolute Location
            # (an upload session or blob) on another origin
            if url.origin == base.origin:
                authorization = self.authorization(host, scopes)
                if authorization is not None:
                    send_headers["Authorization"] = authorization
            try:
                resp = self._send(method, host, url, send_headers, data, follow_redirects)
            except TRANSIENT as e:
                if attempt >= max(attempts, 1):
                    raise Unavailable(
                        f"{host}: {method} {url.path} failed: {e or type(e).__name__}"
                    ) from e
                time.sleep(self.backoff * 2 ** (attempt - 1))
                continue
            if resp.status == 401 and not reauthorized and replayable:
                challenge = _pick(resp.header_all("www-authenticate"))
                resp.release()
                if challenge is None:
                    raise PermissionDenied(f"{host}: unauthorized")
                self._challenges[host] = challenge
                with self._lock:
                    for key in [k for k in self._tokens if k[0] == host and k[1] == scopes]:
                        del self._tokens[key]
                reauthorized = True
                continue
            if resp.status in _RETRY_STATUSES and attempt < attempts:
                delay = self.backoff * 2 ** (attempt - 1)
                retry_after = resp.header("retry-after") or ""
                if retry_after.isdigit():
                    delay = min(float(retry_after), 30.0)
                resp.release()
                time.sleep(delay)
                continue
            return resp

    def _send(
        self,
        method: str,
        host: str,
        url: URL,
        headers: dict[str, str],
        data: Body,
        follow_redirects: bool,
    ) -> Response:
        origin = url.origin
        for _ in range(6):
            resp = self.send(method, url, headers, data)
            if not follow_redirects or resp.status not in (301, 302, 303, 307, 308):
                return resp
            location = resp.header("location")
            resp.release()
            if not location:
                raise Unavailable(f"{host}: redirect without a Location")
            try:
                target = join_url(url, location)
            except ValueError as e:
                raise Unavailable(f"{host}: redirect to {location!r} refused") from e
            if target.origin != origin:
                headers = {k: v for k, v in headers.items() if k.lower() != "authorization"}
            if (
                url.scheme == "https"
                and target.scheme == "http"
                and not is_loopback(target.hostname)
            ):
                raise Unavailable(f"{host}: redirect from HTTPS to HTTP refused")
            url = target
            if resp.status == 303:
                method, data = "GET", None
        raise Unavailable(f"{host}: too many redirects")


def _is_iterable_body(data: Body) -> bool:
    return not isinstance(data, bytes | bytearray | FileBody)


def _pick(headers: list[str]) -> Challenge | None:
    challenges = [c for header in headers for c in parse_challenges(header)]
    for scheme in ("bearer", "basic"):
        for c in challenges:
            if c.scheme == scheme:
                return c
    return None


def read_error(resp: Response) -> str:
    """A one-line summary of a registry error response (the spec's JSON errors if any)."""
    try:
        body = resp.read(65536)
    except TRANSIENT:
        body = b""
    finally:
        resp.release()
    try:
        import json

        doc = json.loads(body)
        errors = doc.get("errors") if isinstance(doc, dict) else None
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            first = errors[0]
            return f"{first.get('code', resp.status)}: {first.get('message', '')}".strip()
    except (ValueError, RecursionError):
        pass
    return f"HTTP {resp.status}"


def read_json(resp: Response, what: str) -> Any:
    """The JSON body of ``resp`` (at most ``MAX_JSON_RESPONSE`` bytes); ``InvalidArgument``
    naming ``what`` if it is larger, malformed or nested too deeply."""
    data = resp.read(MAX_JSON_RESPONSE + 1)
    if len(data) > MAX_JSON_RESPONSE:
        raise InvalidArgument(f"{what}: larger than {MAX_JSON_RESPONSE} bytes")
    return parse_json(data, what)


def raise_for_status(status: int, what: str, message: str) -> None:
    """Map an unexpected registry status to the error tree."""
    if status in (401, 403):
        raise PermissionDenied(f"{what}: {message}")
    if status == 404:
        raise NotFound(f"{what}: {message}")
    if status in (400, 405, 409, 413, 416):
        raise InvalidArgument(f"{what}: {message}")
    raise Unavailable(f"{what}: {message}")
