"""create's cached image resolution: used when valid, dropped when images change."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ketch.engine import Engine, _imagecache
from ketch.errors import NotFound
from tests.integration.cli.conftest import Ketch

pytestmark = pytest.mark.root


@pytest.fixture
def engine(ketch: Ketch, monkeypatch: pytest.MonkeyPatch) -> Engine:
    monkeypatch.setattr(_imagecache, "_RACY_NS", 0)  # the image was loaded a moment ago
    return Engine(ketch.root, runtime=ketch.runtime, monitor="exec")


def _entries(engine: Engine) -> dict[str, list[object]]:
    doc = json.loads((Path(engine.root) / "cache" / "images.json").read_bytes())
    entries: dict[str, list[object]] = doc["entries"]
    return entries


def test_second_create_uses_the_cache_and_rmi_drops_it(engine: Engine) -> None:
    svc = engine.containers
    first = svc.create({"Image": "busybox", "Cmd": ["true"]})
    image_id, config, top = _entries(engine)["busybox"]
    assert image_id == svc.get(first)["Image"] and isinstance(config, dict) and top
    # a cache hit yields the same record
    second = svc.create({"Image": "busybox", "Cmd": ["true"]})
    assert svc.get(second)["Image"] == image_id
    assert svc.get(second)["Config"]["Env"] == svc.get(first)["Config"]["Env"]
    for cid in (first, second):
        svc.remove(cid)
    engine.images.delete("busybox:latest")
    with pytest.raises(NotFound, match="No such image"):
        svc.create({"Image": "busybox", "Cmd": ["true"]})


def test_a_pruned_snapshot_is_unpacked_again(engine: Engine) -> None:
    svc = engine.containers
    svc.remove(svc.create({"Image": "busybox", "Cmd": ["true"]}))
    _, _, top = _entries(engine)["busybox"]
    engine.snapshotter.remove(str(top))  # what an image prune does to an unused image
    cid = svc.create({"Image": "busybox", "Cmd": ["true"]})
    assert engine.snapshotter.stat(str(top)) is not None
    svc.remove(cid)
