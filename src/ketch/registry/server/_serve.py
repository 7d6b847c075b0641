"""Run the registry application until SIGINT or SIGTERM, in one or several processes.

With ``workers > 1`` the listening socket is made here, then that many processes are
forked (before any event loop or thread exists) and all accept on it: blob transfers
(sendfile, hashing) then use every core.  The parent forwards SIGINT/SIGTERM and waits.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import ssl
from collections.abc import Callable
from pathlib import Path

from aiohttp import web

from ketch.errors import InvalidArgument, Unavailable
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


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(1024)
        sock.setblocking(False)
    except OSError as e:
        sock.close()
        raise Unavailable(f"cannot listen on {host}:{port}: {e.strerror}") from e
    return sock


def serve(
    config: ServerConfig,
    host: str,
    port: int,
    *,
    tls_cert: Path | None = None,
    tls_key: Path | None = None,
    log: Callable[[str], None] | None = None,
    ready: Callable[[str], None] | None = None,
    workers: int = 1,
) -> int:
    """Serve until interrupted; ``ready`` is called with the listening URL.

    Returns 0, or 1 if a worker process failed.
    """
    if (tls_cert is None) != (tls_key is None):
        raise InvalidArgument("--tls-cert and --tls-key go together")
    if not 1 <= workers <= 64:
        raise InvalidArgument(f"--workers must be between 1 and 64, not {workers}")
    context = _tls(tls_cert, tls_key) if tls_cert is not None and tls_key is not None else None
    create_app(config)  # check the configuration (htpasswd, token key) before listening
    sock = _listen(host, port)
    bound_port = sock.getsockname()[1]
    scheme = "https" if context else "http"
    shown = f"[{host}]" if ":" in host else host
    url = f"{scheme}://{shown}:{bound_port}"
    if workers == 1:
        _run(config, sock, context, log, ready, url)
        return 0
    children = []
    for index in range(workers):
        pid = os.fork()
        if pid == 0:  # the child serves until SIGTERM/SIGINT
            code = 0
            try:
                _run(config, sock, context, log, ready if index == 0 else None, url)
            except BaseException:
                code = 1
            finally:
                os._exit(code)
        children.append(pid)
    sock.close()

    def forward(signum: int, _frame: object) -> None:
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGTERM)

    previous = {s: signal.signal(s, forward) for s in (signal.SIGTERM, signal.SIGINT)}
    failed = False
    try:
        for child in children:
            while True:
                try:
                    _, status = os.waitpid(child, 0)
                    break
                except InterruptedError:
                    continue
            failed = failed or os.waitstatus_to_exitcode(status) != 0
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    return 1 if failed else 0


def _run(
    config: ServerConfig,
    sock: socket.socket,
    context: ssl.SSLContext | None,
    log: Callable[[str], None] | None,
    ready: Callable[[str], None] | None,
    url: str,
) -> None:
    app = create_app(config, log=log)

    def announce(_message: object) -> None:
        if ready is not None:
            ready(url)

    web.run_app(
        app,
        sock=sock,
        ssl_context=context,
        print=announce,
        access_log=None,
        handle_signals=True,
        shutdown_timeout=5.0,
        read_bufsize=1 << 22,  # a RequestHandler argument, passed through to the server
    )
