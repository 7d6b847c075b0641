"""``RegistryClient``: configuration shared by pull, push, login and search."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from ketch.registry.auth import Credentials, DockerConfig
from ketch.registry.client._transport import DEFAULT_CERTS_DIRS, Transport
from ketch.registry.config import RegistriesConfig, load_registries_config

__all__ = ["RegistryClient"]


class RegistryClient:
    """Where credentials and registry settings come from, and how hard to try.

    ``docker_config`` defaults to ``$DOCKER_CONFIG/config.json`` or
    ``~/.docker/config.json``; ``registries`` to ``/etc/ketch/registries.toml``.
    """

    def __init__(
        self,
        *,
        registries: RegistriesConfig | None = None,
        registries_path: Path | None = None,
        docker_config: DockerConfig | None = None,
        certs_dirs: tuple[Path, ...] = DEFAULT_CERTS_DIRS,
        concurrency: int = 4,
        retries: int = 4,
        backoff: float = 0.25,
        chunk_size: int | None = None,
    ) -> None:
        self.registries = (
            registries if registries is not None else load_registries_config(registries_path)
        )
        self.docker_config = docker_config if docker_config is not None else DockerConfig()
        self.certs_dirs = certs_dirs
        self.concurrency = max(1, concurrency)
        self.retries = retries
        self.backoff = backoff
        self.chunk_size = chunk_size

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> RegistryClient:
        """The CLI's client: ``KETCH_REGISTRIES_CONFIG`` overrides the registries.toml path;
        ``DOCKER_CONFIG`` the credentials directory."""
        env = os.environ if environ is None else environ
        path = env.get("KETCH_REGISTRIES_CONFIG")
        docker_dir = env.get("DOCKER_CONFIG")
        return cls(
            registries_path=Path(path) if path else None,
            docker_config=DockerConfig(Path(docker_dir) / "config.json") if docker_dir else None,
        )

    def credentials(self, host: str) -> Credentials | None:
        return self.docker_config.get(host)

    def transport(
        self, credentials: Credentials | None = None, host: str | None = None
    ) -> Transport:
        """A transport; ``credentials`` for ``host`` override the stored ones (login)."""

        def lookup(asked: str) -> Credentials | None:
            if credentials is not None and asked == host:
                return credentials
            return self.credentials(asked)

        return Transport(
            lookup,
            insecure=self.registries.insecure,
            certs_dirs=self.certs_dirs,
            retries=self.retries,
            backoff=self.backoff,
            connections=self.concurrency + 2,
        )
