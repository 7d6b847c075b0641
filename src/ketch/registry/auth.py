"""Registry credentials in a docker ``config.json`` and docker-credential helpers.

``DockerConfig(path)`` reads ``auths`` (base64 ``user:password``), ``credsStore`` and
``credHelpers``; helpers are ``docker-credential-<name>`` programs speaking the
get/store/erase protocol on stdin/stdout.  The default path is
``$DOCKER_CONFIG/config.json``, else ``~/.docker/config.json``.  Docker Hub's key is
``https://index.docker.io/v1/``, as docker writes it.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

from ketch.errors import InvalidArgument, NotFound, Unavailable
from ketch.oci._record import Record

__all__ = [
    "DOCKER_HUB_AUTH_KEY",
    "Credentials",
    "DockerConfig",
    "auth_key",
    "default_docker_config_path",
]

DOCKER_HUB_AUTH_KEY = "https://index.docker.io/v1/"
_HUB_HOSTS = ("docker.io", "index.docker.io", "registry-1.docker.io")


class Credentials(Record):
    """A username and its password (or token)."""

    username: str
    password: str

    def __repr__(self) -> str:  # never print the secret
        return f"Credentials(username={self.username!r}, password=***)"


def auth_key(registry: str) -> str:
    """The key docker uses in ``auths`` for ``registry`` (a host or a URL)."""
    host = _host(registry)
    return DOCKER_HUB_AUTH_KEY if host in _HUB_HOSTS else host


def _host(key: str) -> str:
    text = key
    for scheme in ("https://", "http://"):
        if text.startswith(scheme):
            text = text[len(scheme) :]
    return text.split("/", 1)[0]


def default_docker_config_path() -> Path:
    base = os.environ.get("DOCKER_CONFIG")
    if base:
        return Path(base) / "config.json"
    return Path.home() / ".docker" / "config.json"


class DockerConfig:
    """Credentials for registries, as docker keeps them."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path if path is not None else default_docker_config_path()

    def _load(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_bytes())
        except FileNotFoundError:
            return {}
        except RecursionError as e:
            raise InvalidArgument(f"docker config {self.path}: JSON nested too deeply") from e
        except (OSError, ValueError) as e:
            raise InvalidArgument(f"cannot read docker config {self.path}: {e}") from e
        if not isinstance(data, dict):
            raise InvalidArgument(f"docker config {self.path}: expected a JSON object")
        return data

    def _save(self, data: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "w") as f:
                json.dump(data, f, indent="\t")
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def _helper(self, data: dict[str, Any], key: str) -> str | None:
        helpers = data.get("credHelpers")
        host = _host(key)
        if isinstance(helpers, dict):
            for name in (key, host):
                if isinstance(helpers.get(name), str):
                    return str(helpers[name])
        store = data.get("credsStore")
        return store if isinstance(store, str) and store else None

    def _entry(self, auths: dict[str, Any], key: str) -> Any:
        if key in auths:
            return auths[key]
        for stored, value in auths.items():  # keys may be URLs: https://host/v1/
            if _host(stored) == _host(key) or (
                key == DOCKER_HUB_AUTH_KEY and _host(stored) in _HUB_HOSTS
            ):
                return value
        return None

    def get(self, registry: str) -> Credentials | None:
        """The credentials for ``registry``, or None (anonymous)."""
        key = auth_key(registry)
        data = self._load()
        helper = self._helper(data, key)
        if helper is not None:
            return _helper_get(helper, key)
        auths = data.get("auths")
        if not isinstance(auths, dict):
            return None
        entry = self._entry(auths, key)
        if not isinstance(entry, dict):
            return None
        encoded = entry.get("auth")
        if isinstance(encoded, str) and encoded:
            try:
                user, sep, password = base64.b64decode(encoded).decode().partition(":")
            except (ValueError, UnicodeDecodeError) as e:
                raise InvalidArgument(f"docker config: bad auth entry for {key}") from e
            if sep:
                return Credentials(user, password)
        name, secret = entry.get("username"), entry.get("password")
        if isinstance(name, str) and isinstance(secret, str) and name:
            return Credentials(name, secret)
        return None

    def store(self, registry: str, credentials: Credentials) -> None:
        """Save credentials (in the helper if one is configured)."""
        key = auth_key(registry)
        data = self._load()
        helper = self._helper(data, key)
        auths = data.setdefault("auths", {})
        if not isinstance(auths, dict):
            raise InvalidArgument(f"docker config {self.path}: auths must be an object")
        if helper is not None:
            _run_helper(
                helper,
                "store",
                json.dumps(
                    {
                        "ServerURL": key,
                        "Username": credentials.username,
                        "Secret": credentials.password,
                    }
                ),
            )
            auths[key] = {}
        else:
            token = base64.b64encode(f"{credentials.username}:{credentials.password}".encode())
            auths[key] = {"auth": token.decode()}
        self._save(data)

    def erase(self, registry: str) -> bool:
        """Remove stored credentials; False if there were none."""
        key = auth_key(registry)
        data = self._load()
        helper = self._helper(data, key)
        found = False
        if helper is not None:
            try:
                _run_helper(helper, "erase", key)
                found = True
            except NotFound:
                pass
        auths = data.get("auths")
        if isinstance(auths, dict):
            for stored in list(auths):
                if stored == key or _host(stored) == _host(key):
                    del auths[stored]
                    found = True
            self._save(data)
        return found


def _run_helper(helper: str, action: str, payload: str) -> str:
    program = f"docker-credential-{helper}"
    if "/" in helper or not helper.replace("-", "").replace("_", "").replace(".", "").isalnum():
        raise InvalidArgument(f"bad credential helper name {helper!r}")
    import subprocess  # only for credential helpers: not on every pull's path

    try:
        result = subprocess.run(
            [program, action], input=payload, capture_output=True, text=True, timeout=60
        )
    except FileNotFoundError as e:
        raise Unavailable(f"credential helper {program} is not installed") from e
    except subprocess.TimeoutExpired as e:
        raise Unavailable(f"credential helper {program} timed out") from e
    if result.returncode != 0:
        message = (result.stdout or result.stderr).strip()
        if "credentials not found" in message.lower():
            raise NotFound(f"{program}: {message}")
        raise Unavailable(
            f"{program} {action} failed: {message.splitlines()[0] if message else result.returncode}"
        )
    return result.stdout


def _helper_get(helper: str, key: str) -> Credentials | None:
    try:
        out = _run_helper(helper, "get", key)
    except NotFound:
        return None
    try:
        doc = json.loads(out)
    except (ValueError, RecursionError) as e:
        raise Unavailable(f"docker-credential-{helper} get: output is not JSON") from e
    user, secret = doc.get("Username"), doc.get("Secret")
    if not isinstance(user, str) or not isinstance(secret, str) or not secret:
        return None
    return Credentials(user, secret)
