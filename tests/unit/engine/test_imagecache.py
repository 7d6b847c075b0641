"""The per-reference image cache: hits, invalidation by the records directory, racy stamps."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from ketch.engine import _imagecache
from ketch.engine._imagecache import ImageCache


def _change(cache: ImageCache) -> None:
    """What tag/pull/rmi do to the records directory, one clock tick later (file times are
    coarse: a change in the same tick is what the racy-stamp rule is for)."""
    time.sleep(0.02)
    Path(cache.records, f"{time.time_ns()}.json").write_text("{}")


RESOLVED = ("sha256:" + "a" * 64, {"Env": ["PATH=/bin"], "Cmd": ["sh"]}, "sha256:" + "b" * 64)


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ImageCache:
    monkeypatch.setattr(_imagecache, "_RACY_NS", 0)
    (tmp_path / "records").mkdir()
    return ImageCache(str(tmp_path / "cache" / "images.json"), str(tmp_path / "records"))


def test_hit_after_put(cache: ImageCache) -> None:
    assert cache.get("busybox") is None
    cache.put("busybox", RESOLVED, cache.stamp())
    assert cache.get("busybox") == RESOLVED
    assert cache.get("busybox:latest") is None
    assert os.stat(cache.path).st_mode & 0o777 == 0o600


def test_any_record_change_drops_everything(cache: ImageCache) -> None:
    cache.put("busybox", RESOLVED, cache.stamp())
    _change(cache)
    assert cache.get("busybox") is None
    cache.put("other", RESOLVED, cache.stamp())
    assert cache.get("other") == RESOLVED and cache.get("busybox") is None


def test_change_while_resolving_is_not_cached(cache: ImageCache) -> None:
    stamp = cache.stamp()
    _change(cache)
    cache.put("busybox", RESOLVED, stamp)
    assert cache.get("busybox") is None


def test_recent_stamp_is_not_trusted(tmp_path: Path) -> None:
    (tmp_path / "records").mkdir()
    cache = ImageCache(str(tmp_path / "images.json"), str(tmp_path / "records"))
    cache.put("busybox", RESOLVED, cache.stamp())  # the directory was made just now
    assert cache.get("busybox") is None


@pytest.mark.parametrize("content", [b"", b"{", b"[]", b'{"version": 1, "entries": []}',
                                     b'{"version": 2, "stamp": null, "entries": {}}'])
def test_unreadable_cache_is_a_miss(cache: ImageCache, content: bytes) -> None:
    cache.put("busybox", RESOLVED, cache.stamp())
    Path(cache.path).write_bytes(content)
    assert cache.get("busybox") is None
    cache.put("busybox", RESOLVED, cache.stamp())
    assert cache.get("busybox") == RESOLVED


def test_foreign_entry_is_a_miss(cache: ImageCache) -> None:
    import json

    cache.put("busybox", RESOLVED, cache.stamp())
    doc = json.loads(Path(cache.path).read_bytes())
    doc["entries"]["busybox"] = ["sha256:x", "not a dict", "y"]
    Path(cache.path).write_text(json.dumps(doc))
    assert cache.get("busybox") is None


def test_no_records_directory(tmp_path: Path) -> None:
    cache = ImageCache(str(tmp_path / "images.json"), str(tmp_path / "missing"))
    cache.put("busybox", RESOLVED, cache.stamp())
    assert cache.get("busybox") is None and not os.path.exists(cache.path)
