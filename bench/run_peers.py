"""Private podman and dockerd instances for bench/run (own roots under /var/tmp, own netns)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

PODMAN_FLAGS = ["--runtime", "runc", "--cgroup-manager=cgroupfs", "--events-backend=file"]
PODMAN_RUN_FLAGS = ["--ulimit", "nofile=20000:20000", "--ulimit", "nproc=32768:32768",
                    "--network", "none"]


class Podman:
    def __init__(self, base: Path) -> None:
        self.base = base
        self.argv = ["podman", "--root", str(base / "root"), "--runroot", str(base / "run"),
                     *PODMAN_FLAGS]

    def load(self, archive: Path) -> None:
        subprocess.run([*self.argv, "load", "-i", str(archive)], check=True, capture_output=True)

    def run_argv(self, image: str, *cmd: str) -> list[str]:
        return [*self.argv, "run", "--rm", *PODMAN_RUN_FLAGS, image, *cmd]

    def close(self) -> None:
        subprocess.run([*self.argv, "system", "reset", "--force"], capture_output=True)
        subprocess.run(["umount", "-R", "-l", str(self.base)], capture_output=True)


class Docker:
    """dockerd in its own network namespace, data/exec roots and socket under ``base``."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.netns = f"ketchbench{os.getpid()}"
        self.sock = base / "d.sock"
        self.proc: subprocess.Popen[bytes] | None = None
        self.cli = ["docker", "-H", f"unix://{self.sock}"]

    def start(self) -> None:
        subprocess.run(["ip", "netns", "add", self.netns], check=True)
        log = open(self.base / "dockerd.log", "wb")  # noqa: SIM115 - closed with the process
        self.proc = subprocess.Popen(
            # nsenter, not "ip netns exec": that remounts /sys and hides the cgroup mounts
            ["nsenter", f"--net=/var/run/netns/{self.netns}", "dockerd",
             "--data-root", str(self.base / "data"), "--exec-root", str(self.base / "x"),
             "--pidfile", str(self.base / "d.pid"), "-H", f"unix://{self.sock}",
             "--iptables=false", "--ip6tables=false", "--bridge=none"],
            stdout=log, stderr=log, start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if subprocess.run([*self.cli, "version"], capture_output=True).returncode == 0:
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.2)
        tail = (self.base / "dockerd.log").read_text(errors="replace")[-2000:]
        raise RuntimeError(f"dockerd did not start:\n{tail}")

    def load(self, archive: Path) -> None:
        subprocess.run([*self.cli, "load", "-i", str(archive)], check=True, capture_output=True)

    def run_argv(self, image: str, *cmd: str) -> list[str]:
        return [*self.cli, "run", "--rm", "--network", "none", image, *cmd]

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        subprocess.run(["ip", "netns", "del", self.netns], capture_output=True)
        subprocess.run(["umount", "-R", "-l", str(self.base)], capture_output=True)


@contextlib.contextmanager
def workdir(prefix: str) -> Iterator[Path]:
    base = Path("/var/tmp") / f"{prefix}{os.getpid()}"
    base.mkdir(mode=0o700)
    try:
        yield base
    finally:
        shutil.rmtree(base, ignore_errors=True)
