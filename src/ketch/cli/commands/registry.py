"""Run a registry (OCI distribution spec 1.1) or collect its garbage.

``ketch registry serve [--addr 127.0.0.1:5000] [--storage DIR] [--tls-cert F --tls-key F]
[--htpasswd F] [--token-realm URL --token-issuer NAME --token-key F] [--read-only]
[--delete-enabled] [--access-log FILE|-] [--workers N]``
``ketch registry garbage-collect --storage DIR [--dry-run]``
"""

from __future__ import annotations

import argparse
from pathlib import Path

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ketch.cli._context import CliContext

__all__ = ["DEFAULT_STORAGE", "configure", "run"]

DEFAULT_STORAGE = "/var/lib/ketch/registry"


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="COMMAND")
    sub.required = True
    serve = sub.add_parser("serve", help="serve a registry")
    serve.add_argument("--addr", default="127.0.0.1:5000", help="listen address host:port")
    serve.add_argument("--storage", default=DEFAULT_STORAGE, help="storage directory")
    serve.add_argument("--tls-cert", type=Path)
    serve.add_argument("--tls-key", type=Path)
    serve.add_argument("--htpasswd", type=Path, help="htpasswd file (bcrypt, {SHA}, apr1)")
    serve.add_argument("--token-realm", help="Bearer token realm URL")
    serve.add_argument("--token-issuer", help="token issuer")
    serve.add_argument("--token-service", help="token service (default: the issuer)")
    serve.add_argument("--token-key", type=Path, help="file with the HS256 token key")
    serve.add_argument("--read-only", action="store_true")
    serve.add_argument("--delete-enabled", action="store_true")
    serve.add_argument(
        "--access-log", default="-", help="JSON access log file ('-': stderr, '' off)"
    )
    serve.add_argument(
        "--workers", type=int, default=1, help="server processes sharing the socket (default 1)"
    )
    gc = sub.add_parser("garbage-collect", help="remove unreferenced blobs")
    gc.add_argument("--storage", default=DEFAULT_STORAGE, help="storage directory")
    gc.add_argument("--dry-run", action="store_true")


def _split_addr(addr: str) -> tuple[str, int]:
    from ketch.cli._context import UsageError

    host, sep, port = addr.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) < 65536:
        raise UsageError(f"invalid --addr {addr!r}: expected host:port")
    host = host.strip("[]") or "0.0.0.0"
    return host, int(port)


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    from ketch.registry.server import FilesystemStorage, ServerConfig, garbage_collect, serve

    storage = Path(args.storage).absolute()
    if args.action == "garbage-collect":
        result = garbage_collect(FilesystemStorage(storage), dry_run=args.dry_run)
        verb = "would remove" if args.dry_run else "removed"
        for digest in result.removed:
            ctx.stdout.write(f"{verb} {digest}\n")
        ctx.stdout.write(
            f"{result.marked} blobs marked, {len(result.removed)} {verb} "
            f"({result.freed_bytes} bytes), {result.expired_uploads} stale uploads removed\n"
        )
        return 0
    host, port = _split_addr(args.addr)
    config = ServerConfig(
        storage=storage,
        read_only=args.read_only,
        delete_enabled=args.delete_enabled,
        htpasswd=args.htpasswd,
        token_realm=args.token_realm,
        token_issuer=args.token_issuer,
        token_service=args.token_service,
        token_key=args.token_key,
    )
    log_file = None
    if args.access_log == "-":

        def log(line: str) -> None:
            ctx.stderr.write(line + "\n")
            ctx.stderr.flush()

    elif args.access_log:
        log_file = open(args.access_log, "a", buffering=1)  # noqa: SIM115

        def log(line: str) -> None:
            assert log_file is not None
            log_file.write(line + "\n")

    else:
        log = None  # type: ignore[assignment]

    def ready(url: str) -> None:
        ctx.stdout.write(f"ketch registry listening on {url} (storage {storage})\n")
        ctx.stdout.flush()

    try:
        return serve(
            config,
            host,
            port,
            tls_cert=args.tls_cert,
            tls_key=args.tls_key,
            log=log,
            ready=ready,
            workers=args.workers,
        )
    finally:
        if log_file is not None:
            log_file.close()
