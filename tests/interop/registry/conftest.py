"""Peers for the registry interop tests: distribution (docker-registry) and ketch's server."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

DISTRIBUTION = "/usr/bin/docker-registry"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer in {timeout}s")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def start_distribution(tmp_path: Path, auth: str = "") -> tuple[subprocess.Popen[bytes], int]:
    if not os.path.exists(DISTRIBUTION):
        pytest.skip("docker-registry (distribution) is not installed")
    port = free_port()
    config = tmp_path / "distribution.yml"
    config.write_text(
        "version: 0.1\n"
        "log:\n  level: error\n  accesslog:\n    disabled: true\n"
        f"storage:\n  filesystem:\n    rootdirectory: {tmp_path / 'distribution'}\n"
        "  delete:\n    enabled: true\n"
        f"http:\n  addr: 127.0.0.1:{port}\n" + auth
    )
    proc = subprocess.Popen(
        [DISTRIBUTION, "serve", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return proc, port


@pytest.fixture
def distribution(tmp_path: Path) -> Iterator[str]:
    """A distribution 2.8 registry on a free loopback port; yields ``127.0.0.1:<port>``."""
    proc, port = start_distribution(tmp_path)
    try:
        wait_ready(f"http://127.0.0.1:{port}/v2/", proc)
        yield f"127.0.0.1:{port}"
    finally:
        stop(proc)


@pytest.fixture
def distribution_htpasswd(tmp_path: Path) -> Iterator[str]:
    """distribution with htpasswd (bcrypt) Basic auth; user ``ketch``, password ``pw-ketch``."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt
    htpasswd = tmp_path / "htpasswd"
    htpasswd.write_text(
        f"ketch:{crypt.crypt('pw-ketch', crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16))}\n"
    )
    proc, port = start_distribution(
        tmp_path, f"auth:\n  htpasswd:\n    realm: ketch-test\n    path: {htpasswd}\n"
    )
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=1)
            except urllib.error.HTTPError as e:
                if e.code == 401:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("distribution with htpasswd did not start")
            time.sleep(0.1)
        yield f"127.0.0.1:{port}"
    finally:
        stop(proc)


def start_ketch_registry(
    tmp_path: Path, *extra: str, port: int | None = None
) -> subprocess.Popen[bytes]:
    port = port or free_port()
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from ketch.cli import main; sys.exit(main())",
            "registry",
            "serve",
            "--addr",
            f"127.0.0.1:{port}",
            "--storage",
            str(tmp_path / "ketch-registry"),
            "--access-log",
            str(tmp_path / "access.log"),
            *extra,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@pytest.fixture
def ketch_registry(tmp_path: Path) -> Iterator[str]:
    """``ketch registry serve`` as a separate process; yields ``127.0.0.1:<port>``."""
    port = free_port()
    proc = start_ketch_registry(tmp_path, port=port)
    try:
        wait_ready(f"http://127.0.0.1:{port}/v2/", proc)
        yield f"127.0.0.1:{port}"
    finally:
        stop(proc)


@pytest.fixture
def ketch_registry_auth(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """``ketch registry serve`` with a bcrypt htpasswd and its own token endpoint;
    yields (host, "user:password")."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt
    htpasswd = tmp_path / "htpasswd"
    htpasswd.write_text(
        f"skopeo:{crypt.crypt('s3cret', crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16))}\n"
    )
    key = tmp_path / "token.key"
    key.write_bytes(os.urandom(32).hex().encode())
    port = free_port()
    proc = start_ketch_registry(
        tmp_path,
        "--htpasswd",
        str(htpasswd),
        "--token-realm",
        f"http://127.0.0.1:{port}/token",
        "--token-issuer",
        "ketch-interop",
        "--token-key",
        str(key),
        port=port,
    )
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=1)
            except urllib.error.HTTPError as e:
                if e.code == 401:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("ketch registry with auth did not start")
            time.sleep(0.1)
        yield f"127.0.0.1:{port}", "skopeo:s3cret"
    finally:
        stop(proc)


@pytest.fixture
def skopeo() -> list[str]:
    """The skopeo command, run in a private mount namespace with a tmpfs over /var/lib so
    that its blob-info cache (/var/lib/containers/cache for root) is not left on the host."""
    path = shutil.which("skopeo")
    if path is None:
        pytest.skip("skopeo is not installed")
    if os.geteuid() != 0:  # rootless skopeo keeps its cache under $HOME instead
        return [path]
    return [
        "unshare",
        "--mount",
        "--propagation",
        "private",
        "sh",
        "-c",
        'mount -t tmpfs tmpfs /var/lib && exec "$0" "$@"',
        path,
    ]
