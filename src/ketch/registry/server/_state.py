"""What every handler shares: the server configuration, storage and authorities."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from aiohttp import web

from ketch.oci._record import Record
from ketch.registry.server.auth import Htpasswd, TokenAuthority
from ketch.registry.server.storage import Storage

__all__ = ["MAY_PULL", "STATE", "USER", "ServerConfig", "State"]


class ServerConfig(Record):
    """Settings of one ``ketch registry serve`` process."""

    storage: Path
    read_only: bool = False
    delete_enabled: bool = False
    htpasswd: Path | None = None
    token_realm: str | None = None
    token_issuer: str | None = None
    token_service: str | None = None
    token_key: Path | None = None
    max_manifest_size: int = 4 << 20
    max_blob_size: int = 64 << 30
    max_page: int = 10000


class State:
    """Per-application state (the storage backend and the authenticators)."""

    def __init__(self, config: ServerConfig, storage: Storage) -> None:
        self.config = config
        self.storage = storage
        self.upload_locks: dict[str, asyncio.Lock] = {}
        self.htpasswd = Htpasswd(config.htpasswd) if config.htpasswd is not None else None
        self.tokens: TokenAuthority | None = None
        if config.token_realm is not None:
            if config.token_key is None or config.token_issuer is None:
                from ketch.errors import InvalidArgument

                raise InvalidArgument("token auth needs --token-issuer and --token-key")
            try:
                key = config.token_key.read_bytes().strip()
            except OSError as e:
                from ketch.errors import InvalidArgument

                raise InvalidArgument(f"cannot read token key {config.token_key}") from e
            self.tokens = TokenAuthority(
                key, config.token_issuer, config.token_service or config.token_issuer
            )


STATE = web.AppKey("ketch-registry-state", State)
USER = web.RequestKey("ketch-registry-user", str)
# whether the authenticated client may pull from another repository (cross-repo mounts)
MAY_PULL: web.RequestKey[Callable[[str], bool]] = web.RequestKey("ketch-registry-may-pull")
