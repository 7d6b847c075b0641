"""Start and stop the registry benchmark's servers: distribution and ``ketch registry serve``."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

__all__ = ["Server", "start_distribution", "start_ketch"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self, proc: subprocess.Popen[bytes], host: str) -> None:
        self.proc = proc
        self.host = host

    def wait(self) -> Server:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server {self.host} exited with {self.proc.returncode}")
            try:
                with urllib.request.urlopen(f"http://{self.host}/v2/", timeout=1):
                    return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"server {self.host} did not start")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start_distribution(storage: Path) -> Server:
    port = _free_port()
    config = storage.with_suffix(".yml")
    config.write_text(
        "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n"
        f"storage:\n  filesystem:\n    rootdirectory: {storage}\n"
        f"http:\n  addr: 127.0.0.1:{port}\n"
    )
    proc = subprocess.Popen(
        ["/usr/bin/docker-registry", "serve", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return Server(proc, f"127.0.0.1:{port}").wait()


def start_ketch(storage: Path) -> Server:
    port = _free_port()
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
            str(storage),
            "--access-log",
            "",
            "--workers",  # distribution uses every core too
            str(os.cpu_count() or 1),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return Server(proc, f"127.0.0.1:{port}").wait()
