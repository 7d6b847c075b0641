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


_PEER_RUN_DIRS = ("containerd", "containers", "docker", "libpod", "runc", "crun", "netns", "ketch")


def _cgroup_dirs() -> set[Path]:
    """Cgroup directories two levels deep in every mounted hierarchy."""
    found: set[Path] = set()
    for hierarchy in Path("/sys/fs/cgroup").iterdir():
        with contextlib.suppress(OSError):
            for child in hierarchy.iterdir():
                if child.is_dir():
                    found.add(child)
                    with contextlib.suppress(OSError):
                        found.update(p for p in child.iterdir() if p.is_dir())
    return found


@contextlib.contextmanager
def leave_host_as_found() -> Iterator[None]:
    """Undo what podman, dockerd (and its containerd) and `ip netns` leave on the host after
    they stop: their /run directories, the /run/netns bind, empty cgroups they made."""
    run_before = {name for name in _PEER_RUN_DIRS if (Path("/run") / name).exists()}
    cgroups_before = _cgroup_dirs()
    try:
        yield
    finally:
        for path in sorted(_cgroup_dirs() - cgroups_before, key=lambda p: -len(p.parts)):
            for sub in sorted(path.rglob("*"), key=lambda p: -len(p.parts)):
                if sub.is_dir():
                    with contextlib.suppress(OSError):
                        sub.rmdir()
            with contextlib.suppress(OSError):
                path.rmdir()  # only if empty: a cgroup still in use stays
        for name in _PEER_RUN_DIRS:
            path = Path("/run") / name
            if name in run_before or not path.exists():
                continue
            if name == "netns":
                subprocess.run(["umount", str(path)], capture_output=True)
                with contextlib.suppress(OSError):
                    path.rmdir()
            else:
                shutil.rmtree(path, ignore_errors=True)
