import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from ketch.content import ContentStore
from ketch.errors import Conflict, InvalidArgument, NotFound
from ketch.oci.digest import digest_bytes


@pytest.fixture
def store(tmp_path: Path) -> ContentStore:
    return ContentStore(tmp_path / "content")


def test_ingest_read_info_walk_delete(store: ContentStore) -> None:
    d = store.ingest(b"hello")
    assert d == digest_bytes(b"hello")
    assert store.exists(d) and store.read(d) == b"hello"
    assert store.info(d).size == 5
    assert store.path(d).read_bytes() == b"hello"
    assert [i.digest for i in store.walk()] == [d]
    with store.open(d) as f:
        assert f.read() == b"hello"
    store.delete(d)
    assert not store.exists(d)
    with pytest.raises(NotFound):
        store.info(d)
    with pytest.raises(NotFound):
        store.delete(d)


def test_blob_is_read_only_and_sha512(store: ContentStore) -> None:
    d512 = digest_bytes(b"x", "sha512")
    assert store.ingest(b"x", expected=d512) == d512
    assert store.path(d512).parent.name == "sha512"
    assert store.path(d512).stat().st_mode & 0o777 == 0o444


def test_nothing_visible_before_commit(store: ContentStore) -> None:
    d = digest_bytes(b"abcdef")
    w = store.writer("ref-1", expected=d, total=6)
    w.write(b"abcdef")
    assert not store.exists(d)
    assert list(store.walk()) == []
    assert store.ingests()[0].offset == 6
    assert w.commit() == d
    assert store.exists(d) and store.ingests() == []


def test_commit_size_mismatch_discards(store: ContentStore) -> None:
    w = store.writer("ref")
    w.write(b"abc")
    with pytest.raises(InvalidArgument, match="size mismatch"):
        w.commit(size=4)
    assert store.ingests() == [] and list(store.walk()) == []


def test_commit_digest_mismatch_discards(store: ContentStore) -> None:
    w = store.writer("ref", expected=digest_bytes(b"other"))
    w.write(b"abc")
    with pytest.raises(InvalidArgument, match="digest mismatch"):
        w.commit()
    assert store.ingests() == [] and list(store.walk()) == []
    with pytest.raises(InvalidArgument, match="digest mismatch"):
        store.ingest(b"abc", expected=digest_bytes(b"zzz"))
    assert list(store.walk()) == []


def test_write_beyond_total_refused(store: ContentStore) -> None:
    with store.writer("ref", total=2) as w, pytest.raises(InvalidArgument):
        w.write(b"abc")


def test_resume_after_close(store: ContentStore) -> None:
    data = os.urandom(100_000)
    d = digest_bytes(data)
    w = store.writer("resume", expected=d, total=len(data))
    w.write(data[:40_000])
    w.close()
    w2 = store.writer("resume")
    assert w2.offset == 40_000 and w2.expected == d and w2.total == len(data)
    w2.write(data[40_000:])
    assert w2.commit() == d
    assert store.read(d) == data


def test_truncate_for_resume_after_failure(store: ContentStore) -> None:
    with store.writer("t") as w:
        w.write(b"good-garbage")
        w.truncate(4)
        assert w.offset == 4
        w.write(b"!")
        assert w.commit() == digest_bytes(b"good!")


def test_new_expected_restarts_ingest(store: ContentStore) -> None:
    with store.writer("r", expected=digest_bytes(b"one")) as w:
        w.write(b"on")
    with store.writer("r", expected=digest_bytes(b"two")) as w:
        assert w.offset == 0
        w.write(b"two")
        w.commit()


def test_commit_of_existing_blob_drops_ingest(store: ContentStore) -> None:
    d = store.ingest(b"same")
    with store.writer("again") as w:
        w.write(b"same")
        assert w.commit() == d
    assert store.ingests() == []


def test_same_ref_is_exclusive(store: ContentStore) -> None:
    w = store.writer("busy")
    with pytest.raises(Conflict):
        store.writer("busy")
    with pytest.raises(Conflict):
        store.abort("busy")
    w.close()
    store.abort("busy")
    assert store.ingests() == []
    with pytest.raises(NotFound):
        store.abort("busy")


def test_waiting_writer_gets_the_ref_after_commit(store: ContentStore) -> None:
    first = store.writer("shared")
    first.write(b"payload")
    got: list[int] = []

    def second() -> None:
        with store.writer("shared", wait=True) as w:
            got.append(w.offset)

    t = threading.Thread(target=second)
    t.start()
    first.commit()
    t.join(10)
    assert got == [0]  # the committed ingest is gone; the waiter starts fresh


def test_concurrent_writers_threads(store: ContentStore) -> None:
    blobs = [os.urandom(50_000) for _ in range(8)] + [b"dup"] * 4
    errors: list[BaseException] = []

    def work(i: int, data: bytes) -> None:
        try:
            with store.writer(f"t-{i}", expected=digest_bytes(data)) as w:
                for j in range(0, len(data), 4096):
                    w.write(data[j : j + 4096])
                w.commit()
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i, b)) for i, b in enumerate(blobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert {i.digest for i in store.walk()} == {digest_bytes(b) for b in blobs}
    assert store.ingests() == []


def test_concurrent_writers_processes(store: ContentStore) -> None:
    code = (
        "import sys; from pathlib import Path; from ketch.content import ContentStore\n"
        "s = ContentStore(Path(sys.argv[1]))\n"
        "data = (sys.argv[2] * 20000).encode()\n"
        "for k in range(5):\n"
        "    s.ingest(data)\n"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", code, str(store.root), str(i % 2)])
        for i in range(4)
    ]
    assert [p.wait(60) for p in procs] == [0, 0, 0, 0]
    assert {i.digest for i in store.walk()} == {
        digest_bytes(b"0" * 20000),
        digest_bytes(b"1" * 20000),
    }
    assert store.ingests() == []


def test_ingest_stream_failure_leaves_nothing(store: ContentStore) -> None:
    class Broken:
        def __init__(self) -> None:
            self.n = 0

        def read(self, _: int) -> bytes:
            self.n += 1
            if self.n > 2:
                raise OSError("connection reset")
            return b"x" * 10

    with pytest.raises(OSError):
        store.ingest_stream(Broken())  # type: ignore[arg-type]
    assert store.ingests() == [] and list(store.walk()) == []


def test_read_max_size(store: ContentStore) -> None:
    d = store.ingest(b"x" * 100)
    with pytest.raises(InvalidArgument):
        store.read(d, max_size=99)
    assert len(store.read(d, max_size=100)) == 100


def test_bad_digest_argument(store: ContentStore) -> None:
    with pytest.raises(InvalidArgument):
        store.exists("sha256:nothex")
    with pytest.raises(InvalidArgument):
        store.writer("")


def test_prune_ingests(store: ContentStore) -> None:
    w = store.writer("old")
    w.write(b"x")
    w.close()
    held = store.writer("held")
    assert store.prune_ingests(0) == 1
    assert [s.ref for s in store.ingests()] == ["held"]
    held.close()


def test_refs_are_only_names(store: ContentStore, tmp_path: Path) -> None:
    with store.writer("../../../escape") as w:
        w.write(b"x")
    assert [p.parent.parent for p in store.root.rglob("data")] == [store.root / "ingest"]
    assert not (tmp_path / "escape").exists()
    assert store.ingests()[0].ref == "../../../escape"
