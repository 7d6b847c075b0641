"""Fixtures for the rootfs tests: a busybox rootfs template copied into each bundle."""

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ketch.oci.runtime_spec import Config, config_from_json
from tests.support.bundle import busybox_rootfs, default_config

MakeBundle = Callable[..., tuple[Path, Config]]


@pytest.fixture(scope="session")
def busybox_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return busybox_rootfs(tmp_path_factory.mktemp("template") / "rootfs")


@pytest.fixture
def make_bundle(tmp_path: Path, busybox_template: Path) -> MakeBundle:
    """``make_bundle(patch=None, name="bundle")``: a bundle with a fresh busybox rootfs and the
    default config; ``patch(config_dict, rootfs_path)`` may change both before decoding."""

    def make(
        patch: Callable[[dict[str, Any], Path], None] | None = None, name: str = "bundle"
    ) -> tuple[Path, Config]:
        bundle = tmp_path / name
        bundle.mkdir()
        rootfs = bundle / "rootfs"
        shutil.copytree(busybox_template, rootfs, symlinks=True)
        config = default_config(["sh"])
        if patch is not None:
            patch(config, rootfs)
        (bundle / "config.json").write_text(json.dumps(config))
        return bundle, config_from_json(config)

    return make
