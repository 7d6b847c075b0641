"""Container IDs, the state directory and the status derived from what is observed."""

import os
from pathlib import Path

import pytest

from ketch.errors import AlreadyExists, InvalidArgument, NotFound
from ketch.runtime.state import (
    CREATED,
    PAUSED,
    RUNNING,
    STOPPED,
    ContainerState,
    StateDir,
    derive_status,
    now_rfc3339,
    validate_id,
)


@pytest.mark.parametrize("good", ["a", "abc-123", "x_y.z+1", "A" * 1024, "..."])
def test_valid_ids(good: str) -> None:
    assert validate_id(good) == good


@pytest.mark.parametrize("bad", ["", ".", "..", "a/b", "../x", "a b", "é", "a\nb", "a" * 1025, "a:b"])
def test_invalid_ids(bad: str) -> None:
    with pytest.raises(InvalidArgument):
        validate_id(bad)


@pytest.mark.parametrize(
    ("alive", "fifo", "frozen", "status"),
    [
        (False, True, True, STOPPED),
        (False, False, False, STOPPED),
        (True, True, False, CREATED),
        (True, True, True, CREATED),
        (True, False, True, PAUSED),
        (True, False, False, RUNNING),
    ],
)
def test_derive_status(alive: bool, fifo: bool, frozen: bool, status: str) -> None:
    assert derive_status(alive=alive, fifo_exists=fifo, frozen=frozen) == status


def _state(cid: str = "c1") -> ContainerState:
    return ContainerState(
        id=cid,
        bundle="/b",
        rootfs="/b/rootfs",
        pid=42,
        start_time=1234,
        created=now_rfc3339(),
        config={"ociVersion": "1.3.0", "annotations": {"k": "v"}},
        cgroup_paths={"memory": "/sys/fs/cgroup/memory/x"},
    )


def test_state_dir_round_trip(tmp_path: Path) -> None:
    store = StateDir(str(tmp_path / "root"))
    assert store.ids() == []
    store.reserve("c1")
    assert store.ids() == []  # no state.json yet: not listed
    store.save(_state())
    assert store.ids() == ["c1"]
    loaded = store.load("c1")
    assert loaded == _state().replace(created=loaded.created)
    assert loaded.annotations == {"k": "v"}
    assert [n for n in os.listdir(tmp_path / "root" / "c1")] == ["state.json"]  # no temp files
    store.remove("c1")
    assert not (tmp_path / "root" / "c1").exists()


def test_duplicate_and_unknown(tmp_path: Path) -> None:
    store = StateDir(str(tmp_path))
    store.reserve("dup")
    with pytest.raises(AlreadyExists, match="'dup' already exists"):
        store.reserve("dup")
    with pytest.raises(NotFound, match="'nope' does not exist"):
        store.load("nope")
    with pytest.raises(InvalidArgument):
        store.load("../etc")


def test_corrupt_state_is_an_error(tmp_path: Path) -> None:
    store = StateDir(str(tmp_path))
    store.reserve("bad")
    (tmp_path / "bad" / "state.json").write_text("{")
    with pytest.raises(InvalidArgument, match="not valid JSON"):
        store.load("bad")


def test_rfc3339() -> None:
    stamp = now_rfc3339()
    assert len(stamp) == len("2024-01-01T00:00:00.000000000Z") and stamp.endswith("Z")


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({"ociVersion": "1.3.0"}, False),
        ({"hooks": {}}, False),
        ({"hooks": {"poststart": []}}, False),
        ({"hooks": {"poststop": [{"path": "/x"}]}}, False),
        ({"hooks": {"poststart": [{"path": "/x"}]}}, True),
        ({"hooks": "junk"}, True),  # the decoder reports it
        ("junk", True),
    ],
)
def test_may_have_hooks_skips_decoding_only_without_hooks(config: object, expected: bool) -> None:
    from ketch.runtime.container import may_have_hooks

    base = _state()
    state = ContainerState(
        id=base.id,
        bundle=base.bundle,
        rootfs=base.rootfs,
        pid=base.pid,
        start_time=base.start_time,
        created=base.created,
        config=config,
    )
    assert may_have_hooks(state, "poststart") is expected
