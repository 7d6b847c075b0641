"""Fixtures for driving ``ketch-runtime`` as a user does: a fresh --root per test.

``rt`` runs the real console script; its finalizer force-deletes every container
left under its root and checks that no cgroup of them remains.  ``make_bundle``
writes a busybox bundle whose cgroup path is unique to the test (one level, so
the whole cgroup goes with the container).
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.bundle import busybox_rootfs, default_config, write_bundle

KETCH_RUNTIME = str(Path(sys.executable).parent / "ketch-runtime")
CGROUP_ROOT = "/sys/fs/cgroup"


class Runtime:
    """``ketch-runtime --root <tmp>`` with helpers; every container is deleted at the end."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.cgroup_paths: list[str] = []

    def __call__(
        self, *args: str, check: bool = False, timeout: float = 30, **kwargs: Any
    ) -> subprocess.CompletedProcess[str]:
        """Run the CLI; stdout/stderr go through files, as a detached container keeps
        its copies of them open (a pipe would never reach end-of-file)."""
        if isinstance(kwargs.get("input"), str):
            kwargs["input"] = kwargs["input"].encode()
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            result = subprocess.run(
                [KETCH_RUNTIME, "--root", str(self.root), *args],
                stdout=kwargs.pop("stdout", out),
                stderr=err,
                timeout=timeout,
                check=False,
                **kwargs,
            )
            out.seek(0)
            err.seek(0)
            done = subprocess.CompletedProcess(
                result.args, result.returncode, out.read().decode(), err.read().decode()
            )
        if check and done.returncode != 0:
            raise AssertionError(f"ketch-runtime {' '.join(args)}: {done.returncode}: {done.stderr}")
        return done

    def state(self, container_id: str) -> dict[str, Any]:
        result = self("state", container_id, check=True)
        data: dict[str, Any] = json.loads(result.stdout)
        return data

    def status(self, container_id: str) -> str:
        return str(self.state(container_id)["status"])

    def cleanup(self) -> None:
        if self.root.exists():
            for name in os.listdir(self.root):
                self("delete", "--force", name)
        for path in self.cgroup_paths:
            for controller in os.listdir(CGROUP_ROOT):
                leftover = f"{CGROUP_ROOT}/{controller}{path}"
                if os.path.isdir(leftover):
                    os.rmdir(leftover)  # best effort, then fail below
                    raise AssertionError(f"cgroup left behind: {leftover}")


@pytest.fixture
def rt(tmp_path: Path) -> Iterator[Runtime]:
    runtime = Runtime(tmp_path / "root")
    try:
        yield runtime
    finally:
        runtime.cleanup()


@pytest.fixture(scope="session")
def busybox(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return busybox_rootfs(tmp_path_factory.mktemp("busybox") / "rootfs")


BundleFactory = Callable[..., Path]


@pytest.fixture
def open_dir() -> Iterator[Path]:
    """A temporary directory every user can traverse (pytest's are 0700: a user
    namespace's root could not reach a rootfs below them)."""
    path = Path(tempfile.mkdtemp(prefix="ketch-rt-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def make_bundle(tmp_path: Path, busybox: Path, rt: Runtime) -> BundleFactory:
    """``make_bundle(args, name=..., patch=fn(config))`` -> bundle directory."""

    def make(
        args: list[str],
        name: str = "bundle",
        patch: Callable[[dict[str, Any]], None] | None = None,
        base: Path | None = None,
        **kw: Any,
    ) -> Path:
        config = default_config(args, **kw)
        cgroup = f"/ketch-test-{uuid.uuid4().hex[:12]}"
        config["linux"]["cgroupsPath"] = cgroup
        rt.cgroup_paths.append(cgroup)
        if patch is not None:
            patch(config)
        bundle = (base or tmp_path) / name
        rootfs = bundle / config["root"]["path"]
        if not rootfs.exists():
            bundle.mkdir(parents=True, exist_ok=True)
            shutil.copytree(busybox, rootfs, symlinks=True)
        return write_bundle(bundle, config)

    return make
