"""``ketch registry serve`` as a process: TLS flags, read-only, access log, shutdown."""

from __future__ import annotations

import json
import signal
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from .conftest import free_port, stop

pytestmark = pytest.mark.interop


def test_serve_with_tls_and_read_only(tmp_path):
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    port = free_port()
    log = tmp_path / "access.log"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from ketch.cli import main; sys.exit(main())",
            "registry",
            "serve",
            "--addr",
            f"127.0.0.1:{port}",
            "--storage",
            str(tmp_path / "reg"),
            "--tls-cert",
            str(cert),
            "--tls-key",
            str(key),
            "--read-only",
            "--access-log",
            str(log),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        context = ssl.create_default_context(cafile=str(cert))
        deadline = time.monotonic() + 15
        while True:
            try:
                with urllib.request.urlopen(f"https://127.0.0.1:{port}/v2/", context=context) as r:
                    assert r.status == 200
                    assert r.headers["Docker-Distribution-API-Version"] == "registry/2.0"
                    break
            except (urllib.error.URLError, ConnectionError):
                assert proc.poll() is None and time.monotonic() < deadline
                time.sleep(0.1)
        request = urllib.request.Request(
            f"https://127.0.0.1:{port}/v2/x/blobs/uploads/", method="POST"
        )
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(request, context=context)
        assert caught.value.code == 405
        assert json.loads(caught.value.read())["errors"][0]["code"] == "UNSUPPORTED"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
        out = proc.stdout.read().decode() if proc.stdout else ""
        assert f"listening on https://127.0.0.1:{port}" in out
        entries = [json.loads(line) for line in log.read_text().splitlines()]
        assert [e["status"] for e in entries][-1] == 405
    finally:
        stop(proc)


def test_serve_refuses_bad_flags(tmp_path):
    run = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from ketch.cli import main; sys.exit(main())",
            "registry",
            "serve",
            "--storage",
            str(tmp_path / "r"),
            "--tls-cert",
            str(tmp_path / "x"),
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert run.returncode != 0
    assert "--tls-cert and --tls-key go together" in run.stderr
