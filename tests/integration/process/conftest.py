"""A busybox rootfs shared by the process tests (read-mostly; tests that write use /tmp)."""

from pathlib import Path

import pytest

from tests.support.bundle import busybox_rootfs


@pytest.fixture(scope="module")
def rootfs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return busybox_rootfs(tmp_path_factory.mktemp("process") / "rootfs")
