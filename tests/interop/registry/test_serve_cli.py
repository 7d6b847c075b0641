"""``ketch registry serve`` as a process: TLS flags, read-only, access log, shutdown."""

from __future__ import annotations

import json
import os
import signal
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from tests.support.tls import make_cert

from .conftest import free_port, stop

pytestmark = pytest.mark.interop


def test_serve_with_tls_and_read_only(tmp_path):
    cert, key = make_cert(tmp_path)
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


def test_serve_with_two_workers(tmp_path):
    from ketch.content import ContentStore
    from ketch.images.store import ImageStore
    from ketch.registry.auth import DockerConfig
    from ketch.registry.client import RegistryClient, pull, push
    from ketch.registry.config import RegistriesConfig
    from tests.support.images import multilayer_image, store_image

    port = free_port()
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
            "--workers",
            "2",
            "--access-log",
            "",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        from .conftest import wait_ready

        wait_ready(f"http://127.0.0.1:{port}/v2/", proc)
        children = subprocess.run(
            ["pgrep", "-P", str(proc.pid)], capture_output=True, text=True
        ).stdout.split()
        assert len(children) == 2
        client = RegistryClient(
            registries=RegistriesConfig(),
            docker_config=DockerConfig(tmp_path / "d.json"),
            certs_dirs=(),
            chunk_size=32 * 1024,
        )
        parts = multilayer_image()
        ref = f"127.0.0.1:{port}/w/app:1"
        content = ContentStore(tmp_path / "c1")
        images = ImageStore(tmp_path / "i1", content)
        store_image(content, images, parts, ref)
        push(ref, content=content, images=images, client=client)
        content2 = ContentStore(tmp_path / "c2")
        images2 = ImageStore(tmp_path / "i2", content2)
        assert (
            pull(ref, content=content2, images=images2, client=client).digest
            == parts.manifest_digest
        )
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0
        for child in children:  # reaped by the parent before it exited
            assert not os.path.exists(f"/proc/{child}")
    finally:
        stop(proc)
