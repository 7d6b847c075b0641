"""Acceptance fixtures: the real ``ketch`` command on a private root per test.

``k`` is a ``Ketch`` (from the CLI integration fixtures) bound to ``<tmp_path>/root``
with ``busybox:latest`` loaded; its finalizer force-removes every container,
unmounts what is left under the root, kills stray processes and removes the
runtime's parent cgroups this test created.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.cli.conftest import Ketch, cleanup_root, load_busybox


@pytest.fixture(scope="session")
def acceptance_image_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("acceptance-image") / "root"
    load_busybox(root)
    return root


@pytest.fixture
def k(tmp_path: Path, acceptance_image_root: Path) -> Iterator[Ketch]:
    root = tmp_path / "root"
    shutil.copytree(acceptance_image_root, root, symlinks=True)
    ketch = Ketch(root)
    parents = set(Path("/sys/fs/cgroup").glob("*/ketch"))
    try:
        yield ketch
    finally:
        cleanup_root(ketch)
        for parent in Path("/sys/fs/cgroup").glob("*/ketch"):
            if parent not in parents:
                with contextlib.suppress(OSError):
                    parent.rmdir()
