"""Run the registry application until SIGINT or SIGTERM."""

from __future__ import annotations

import ssl
from collections.abc import Callable
from pathlib import Path

from aiohttp import web

from ketch.errors import InvalidArgument
from ketch.registry.server._app import create_app
from ketch.registry.server._state import ServerConfig

__all__ = ["serve"]


def _tls(cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as e:
        raise InvalidArgument(f"cannot load TLS certificate {cert} / key {key}: {e}") from e
    return context


def serve(
    config: ServerConfig,
    host: str,
    port: int,
    *,
    tls_cert: Path | None = None,
    tls_key: Path | None = None,
    log: Callable[[str], None] | None = None,
    ready: Callable[[str], None] | None = None,
) -> None:
    """Serve until interrupted; ``ready`` is called with the listening URL."""
    if (tls_cert is None) != (tls_key is None):
        raise InvalidArgument("--tls-cert and --tls-key go together")
    context = _tls(tls_cert, tls_key) if tls_cert is not None and tls_key is not None else None
    app = create_app(config, log=log)
    scheme = "https" if context else "http"

    def announce(_message: object) -> None:
        if ready is not None:
            shown = f"[{host}]" if ":" in host else host
            ready(f"{scheme}://{shown}:{port}")

    web.run_app(
        app,
        host=host,
        port=port,
        ssl_context=context,
        print=announce,
        access_log=None,
        handle_signals=True,
        shutdown_timeout=5.0,
        handler_args={"read_bufsize": 1 << 22},
    )
