"""Fixtures for driving the real ``ketch`` command on a private root.

``ketch`` gives a ``Ketch`` bound to ``<tmp_path>/root`` with the busybox test
image loaded as ``busybox:latest``; its finalizer force-removes every
container, unmounts whatever is left under the root and kills stray
processes, so a failing test leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent
# the console script may not be installed in a fresh checkout: run the entry point directly
KETCH = [sys.executable, "-c", "import sys; from ketch.cli import main; sys.exit(main())"]
RUNTIME = os.environ.get("KETCH_TEST_RUNTIME") or str(BIN / "ketch-runtime")


class Ketch:
    def __init__(self, root: Path, runtime: str = RUNTIME) -> None:
        self.root = root
        self.runtime = runtime

    def argv(self, *args: str) -> list[str]:
        return [*KETCH, "--root", str(self.root), "--runtime", self.runtime, *args]

    def __call__(
        self, *args: str, input: bytes | None = None, timeout: float = 60, check: bool = False
    ) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            self.argv(*args), input=input.decode() if input is not None else None,
            capture_output=True, text=True, timeout=timeout,
            stdin=subprocess.DEVNULL if input is None else None,
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"ketch {' '.join(args)} -> {proc.returncode}: {proc.stderr}")
        return proc

    def ok(self, *args: str, **kwargs: object) -> str:
        return self(*args, check=True, **kwargs).stdout  # type: ignore[arg-type]

    def container_ids(self) -> list[str]:
        d = self.root / "containers"
        return [n for n in os.listdir(d) if len(n) == 64] if d.exists() else []


def load_busybox(root: Path) -> None:
    from ketch.engine import Engine
    from tests.support.images import busybox_image, store_image

    engine = Engine(root)
    store_image(engine.content, engine.images, busybox_image(), "busybox:latest")


def _mounts_under(root: Path) -> list[str]:
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            target = line.split()[4].replace("\\040", " ")
            if target.startswith(str(root)):
                out.append(target)
    return out


def _monitor_pids(root: Path) -> list[int]:
    """Processes whose cwd or open files are under ``root`` (monitors, stray runtimes)."""
    pids = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        with contextlib.suppress(OSError):
            if os.readlink(f"/proc/{name}/cwd").startswith(str(root)):
                pids.append(int(name))
    return pids


def cleanup_root(k: Ketch) -> None:
    for cid in k.container_ids():
        with contextlib.suppress(Exception):
            k("rm", "-f", cid, timeout=60)
    for cid in k.container_ids():  # whatever rm could not handle: the runtime's own delete
        with contextlib.suppress(Exception):
            subprocess.run([k.runtime, "--root", str(k.root / "runtime"), "delete", "--force", cid],
                           capture_output=True, timeout=30)
    for pid in _monitor_pids(k.root):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    for _ in range(50):
        mounts = _mounts_under(k.root)
        if not mounts:
            break
        for target in sorted(mounts, reverse=True):
            subprocess.run(["umount", "-l", target], capture_output=True)
        time.sleep(0.05)


@pytest.fixture(scope="session")
def busybox_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A root with the busybox image, copied into each test's root (loading costs ~1 s)."""
    root = tmp_path_factory.mktemp("ketch-image") / "root"
    load_busybox(root)
    return root


@pytest.fixture
def ketch(tmp_path: Path, busybox_root: Path) -> Iterator[Ketch]:
    import shutil

    root = tmp_path / "root"
    shutil.copytree(busybox_root, root, symlinks=True)
    k = Ketch(root)
    parents = [p for p in Path("/sys/fs/cgroup").glob("*/ketch")]
    try:
        yield k
    finally:
        cleanup_root(k)
        for parent in Path("/sys/fs/cgroup").glob("*/ketch"):  # the runtime's parent cgroup
            if parent not in parents:
                with contextlib.suppress(OSError):
                    parent.rmdir()
