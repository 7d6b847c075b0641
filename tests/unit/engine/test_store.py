"""Container records on disk, names, log reading, attach frames."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from ketch.engine import _attach
from ketch.engine._logs import parse_time, read_log
from ketch.engine._names import check_name, random_name
from ketch.engine._store import ContainerStore
from ketch.errors import InvalidArgument, NotFound


def _doc(cid: str, name: str) -> dict[str, object]:
    return {"ID": cid, "Name": name, "State": {"Running": False}}


def test_store_resolve(tmp_path: Path) -> None:
    store = ContainerStore(tmp_path / "containers")
    a, b = "ab" + "0" * 62, "ac" + "1" * 62
    for cid, name in ((a, "/one"), (b, "/two")):
        store.ensure()
        os.mkdir(store.dir(cid))
        store.save(_doc(cid, name))
    assert store.resolve(a) == a
    assert store.resolve("two") == b and store.resolve("/one") == a
    assert store.resolve("ab") == a
    with pytest.raises(InvalidArgument, match="multiple IDs"):
        store.resolve("a")
    with pytest.raises(NotFound, match="No such container: zz"):
        store.resolve("zz")
    assert store.name_taken("/two") == b
    hidden = store.hide(a)
    assert store.ids() == [b] and store.hidden() == [(a, hidden)]
    assert not list(tmp_path.glob("containers/*/.*.tmp"))  # durable writes leave no temp file


def test_names() -> None:
    assert check_name("web-1.x") == "/web-1.x"
    for bad in ("-x", "a", "has space", "ü"):
        with pytest.raises(InvalidArgument):
            check_name(bad)
    assert "_" in random_name()


def test_read_log_tail_since_follow(tmp_path: Path) -> None:
    log = tmp_path / "c-json.log"
    lines = [
        {"log": "one\n", "stream": "stdout", "time": "2024-01-01T00:00:00.000000001Z"},
        {"log": "two\n", "stream": "stderr", "time": "2024-01-01T00:00:10Z"},
        {"log": "three", "stream": "stdout", "time": "2024-01-01T00:00:20Z"},
    ]
    log.write_text("".join(json.dumps(line) + "\n" for line in lines))
    assert [e.data for e in read_log(str(log))] == [b"one\n", b"two\n", b"three"]
    assert [e.stream for e in read_log(str(log), tail=2)] == ["stderr", "stdout"]
    assert list(read_log(str(log), tail=0)) == []
    since = parse_time("2024-01-01T00:00:05Z")
    assert [e.data for e in read_log(str(log), since=since)] == [b"two\n", b"three"]
    until = parse_time("2024-01-01T00:00:15Z")
    assert [e.data for e in read_log(str(log), until=until)] == [b"one\n", b"two\n"]
    followed = read_log(str(log), follow=True, running=lambda: False)
    assert len(list(followed)) == 3
    assert list(read_log(str(tmp_path / "missing"))) == []


def test_parse_time() -> None:
    now = 1_700_000_000.0
    assert parse_time("10m", now) == now - 600
    assert parse_time("1700000000") == 1_700_000_000
    assert parse_time("2024-01-01T00:00:00+01:00") == parse_time("2023-12-31T23:00:00Z")
    with pytest.raises(InvalidArgument):
        parse_time("yesterday")
    assert time.time() - parse_time("1s") < 5


def test_attach_frames() -> None:
    reader = _attach.FrameReader()
    data = _attach.frame(_attach.STDOUT, b"hello") + _attach.frame(_attach.EXIT, b'{"StatusCode":3}')
    assert reader.feed(data[:7]) == []
    assert reader.feed(data[7:]) == [(1, b"hello"), (0x10, b'{"StatusCode":3}')]


def test_json_log_lines(tmp_path: Path) -> None:
    from ketch.engine._jsonlog import LINE_MAX, JsonLog

    log = JsonLog(str(tmp_path / "l.log"))
    log.write(3, "stdout", b"a\nb")
    log.write(4, "stderr", b"err\n")
    log.write(3, "stdout", b"c\n" + b"x" * (LINE_MAX + 5))
    log.flush(3, "stdout")
    entries = [json.loads(line) for line in (tmp_path / "l.log").read_text().splitlines()]
    assert [(e["stream"], e["log"]) for e in entries[:3]] == [
        ("stdout", "a\n"), ("stderr", "err\n"), ("stdout", "bc\n")]
    assert [len(e["log"]) for e in entries[3:]] == [LINE_MAX, 5]
    assert all(e["time"].endswith("Z") for e in entries)


def test_half_made_containers(tmp_path: Path) -> None:
    store = ContainerStore(tmp_path / "containers")
    store.ensure()
    done, broken = "a" * 64, "b" * 64
    os.mkdir(store.dir(done))
    store.save(_doc(done, "/ok"))
    os.mkdir(store.dir(broken))  # a create killed before its record was written
    emptied = "c" * 64  # an --rm container's unsynced record after a host crash
    os.mkdir(store.dir(emptied))
    open(f"{store.dir(emptied)}/config.v2.json", "wb").close()
    assert store.ids() == [done]
    assert sorted(store.half_made()) == [broken, emptied]


def test_top_chain_id_matches_the_images_package() -> None:
    from ketch.engine.containers import _top_chain_id
    from ketch.images.unpack import chain_ids

    ids = tuple(f"sha256:{c * 64}" for c in "abc")
    for n in range(4):
        assert _top_chain_id(ids[:n]) == (chain_ids(ids[:n])[-1] if n else "")
