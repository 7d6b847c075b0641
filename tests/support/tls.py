"""A self-signed certificate for 127.0.0.1, made with openssl, for TLS tests."""

from __future__ import annotations

import subprocess
from pathlib import Path

__all__ = ["make_cert"]


def make_cert(directory: Path) -> tuple[Path, Path]:
    """(certificate, key) in ``directory``: RSA 2048, one day, CN and IP SAN 127.0.0.1."""
    key, cert = directory / "server.key", directory / "server.crt"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
         "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True,
        capture_output=True,
    )
    return cert, key
