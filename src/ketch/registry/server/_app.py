"""The aiohttp application: routing, authentication, errors and the access log."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from ketch.errors import InvalidArgument, KetchError, NotFound, PermissionDenied
from ketch.registry._grammar import is_name
from ketch.registry.server import _blobs, _manifests
from ketch.registry.server._errors import RegistryError, error_response
from ketch.registry.server._state import MAY_PULL, STATE, USER, ServerConfig, State
from ketch.registry.server.auth import parse_basic, parse_scope
from ketch.registry.server.storage import FilesystemStorage, Storage

__all__ = ["create_app"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_ROUTES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"/v2/(?P<name>.+)/blobs/uploads/?"), "uploads"),
    (re.compile(r"/v2/(?P<name>.+)/blobs/uploads/(?P<id>[^/]+)"), "upload"),
    (re.compile(r"/v2/(?P<name>.+)/blobs/(?P<digest>[^/]+)"), "blob"),
    (re.compile(r"/v2/(?P<name>.+)/manifests/(?P<reference>[^/]+)"), "manifest"),
    (re.compile(r"/v2/(?P<name>.+)/tags/list"), "tags"),
    (re.compile(r"/v2/(?P<name>.+)/referrers/(?P<digest>[^/]+)"), "referrers"),
]

_ACTIONS = {"GET": "pull", "HEAD": "pull", "DELETE": "delete"}


def _route(path: str) -> tuple[str, dict[str, str]]:
    for pattern, kind in _ROUTES:
        match = pattern.fullmatch(path)
        if match is not None:
            groups = match.groupdict()
            if not is_name(groups["name"]):
                raise RegistryError("NAME_INVALID", {"name": groups["name"]})
            return kind, groups
    raise RegistryError("NAME_UNKNOWN", f"no route for {path}", status=404)


def _challenge(state: State, scope: str | None, error: str | None = None) -> dict[str, str]:
    if state.tokens is not None:
        value = f'Bearer realm="{state.config.token_realm}",service="{state.tokens.service}"'
        if scope:
            value += f',scope="{scope}"'
        if error:
            value += f',error="{error}"'
        return {"WWW-Authenticate": value}
    return {"WWW-Authenticate": 'Basic realm="ketch-registry"'}


async def _authorize(request: web.Request, state: State, name: str | None, action: str) -> None:
    """Check the request's credentials for ``action`` on repository ``name``."""
    if state.htpasswd is None and state.tokens is None:
        return
    header = request.headers.get("Authorization", "")
    scope = f"repository:{name}:{action}" if name else None
    if state.tokens is not None:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise RegistryError("UNAUTHORIZED", None, headers=_challenge(state, scope))
        try:
            claims = state.tokens.verify(token.strip())
        except PermissionDenied as e:
            raise RegistryError(
                "UNAUTHORIZED", str(e), headers=_challenge(state, scope, "invalid_token")
            ) from e
        request[USER] = str(claims.get("sub"))
        tokens = state.tokens
        request[MAY_PULL] = lambda other: tokens.allows(claims, other, "pull")
        if name is not None and not tokens.allows(claims, name, action):
            raise RegistryError(
                "UNAUTHORIZED",
                f"token does not grant {action} on {name}",
                headers=_challenge(state, scope, "insufficient_scope"),
            )
        return
    assert state.htpasswd is not None
    creds = parse_basic(header)
    # bcrypt is slow on purpose: checked in a thread, the loop keeps serving
    if creds is None or not await asyncio.to_thread(state.htpasswd.verify, *creds):
        raise RegistryError("UNAUTHORIZED", None, headers=_challenge(state, scope))
    request[USER] = creds[0]


async def _v2(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    path = request.path
    if path in ("/v2", "/v2/"):
        await _authorize(request, state, None, "")
        return web.json_response({})
    if path == "/v2/_catalog":
        await _authorize(request, state, None, "")
        page, next_last = _manifests.paginate(
            request, state.storage.repositories(), state.config.max_page
        )
        headers = {}
        if next_last is not None:
            headers["Link"] = f'</v2/_catalog?n={request.query["n"]}&last={next_last}>; rel="next"'
        return web.json_response({"repositories": page}, headers=headers)
    kind, groups = _route(path)
    name = groups["name"]
    action = _ACTIONS.get(request.method, "push")
    await _authorize(request, state, name, action)
    try:
        if kind == "uploads":
            return await _blobs.uploads(request, name)
        if kind == "upload":
            return await _blobs.upload(request, name, groups["id"])
        if kind == "blob":
            return await _blobs.blob(request, name, groups["digest"])
        if kind == "manifest":
            return await _manifests.manifest(request, name, groups["reference"])
        if kind == "tags":
            return await _manifests.tags_list(request, name)
        return await _manifests.referrers(request, name, groups["digest"])
    except InvalidArgument as e:  # storage refused a name, tag or digest
        raise RegistryError("NAME_INVALID", str(e)) from e


async def _token(request: web.Request) -> web.StreamResponse:
    """The token endpoint (``--token-realm`` pointing at ``/token`` with ``--htpasswd``)."""
    state = request.app[STATE]
    if state.tokens is None or state.htpasswd is None:
        raise RegistryError("UNSUPPORTED", "this server issues no tokens", status=404)
    creds = parse_basic(request.headers.get("Authorization", ""))
    if creds is None or not await asyncio.to_thread(state.htpasswd.verify, *creds):
        raise RegistryError(
            "UNAUTHORIZED", None, headers={"WWW-Authenticate": 'Basic realm="ketch-token"'}
        )
    if request.query.get("service", state.tokens.service) != state.tokens.service:
        raise RegistryError("DENIED", "unknown service")
    access = []
    for scope in request.query.getall("scope", []):
        for part in scope.split(" "):
            parsed = parse_scope(part)
            if parsed is not None and parsed[0] == "repository" and is_name(parsed[1]):
                access.append({"type": "repository", "name": parsed[1], "actions": parsed[2]})
    token = state.tokens.issue(creds[0], access)
    return web.json_response(
        {"token": token, "access_token": token, "expires_in": state.tokens.lifetime}
    )


def _access_logger(log: Callable[[str], None] | None) -> Any:
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        started = time.monotonic()
        try:
            response = await handler(request)
        except RegistryError as e:
            response = error_response(e, request.method)
        except NotFound as e:
            response = error_response(RegistryError("NAME_UNKNOWN", str(e)), request.method)
        except KetchError as e:
            response = error_response(RegistryError("DENIED", str(e), status=400), request.method)
        except web.HTTPException as e:
            response = e
        response.headers["Docker-Distribution-API-Version"] = "registry/2.0"
        if log is not None:
            entry = {
                "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "remote": request.remote,
                "method": request.method,
                "path": request.path,
                "query": request.query_string or None,
                "status": response.status,
                "duration_ms": round((time.monotonic() - started) * 1000, 2),
                "request_bytes": request.content_length,
                "user": request.get(USER),
                "user_agent": request.headers.get("User-Agent"),
            }
            log(json.dumps(entry, separators=(",", ":")))
        return response

    return middleware


def create_app(
    config: ServerConfig,
    *,
    storage: Storage | None = None,
    log: Callable[[str], None] | None = None,
) -> web.Application:
    """The registry web application over ``storage`` (default: the filesystem at config.storage).

    ``log`` receives one JSON line per request (the access log).
    """
    app = web.Application(middlewares=[_access_logger(log)], client_max_size=1 << 20)
    app[STATE] = State(
        config, storage if storage is not None else FilesystemStorage(config.storage)
    )
    app.router.add_route("GET", "/token", _token)
    app.router.add_route("*", "/v2", _v2)
    app.router.add_route("*", "/v2/{tail:.*}", _v2)
    return app
