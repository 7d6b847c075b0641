"""The ContainerService API the daemon will call: docker-shaped requests and documents."""

from __future__ import annotations

import json
import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest

from ketch.engine import Engine, _attach
from ketch.errors import Conflict, InvalidArgument, NotFound
from tests.integration.cli.conftest import Ketch

pytestmark = pytest.mark.root


@pytest.fixture
def engine(ketch: Ketch) -> Engine:
    # "exec": the monitor is a fresh interpreter, never a fork of the test process
    return Engine(ketch.root, runtime=ketch.runtime, monitor="exec")


def _drain(sock: object) -> tuple[bytes, bytes, int]:
    reader = _attach.FrameReader()
    out, err, code = b"", b"", -1
    while code < 0:
        data = sock.recv(65536)  # type: ignore[attr-defined]
        if not data:
            break
        for kind, payload in reader.feed(data):
            if kind == _attach.STDOUT:
                out += payload
            elif kind == _attach.STDERR:
                err += payload
            elif kind == _attach.EXIT:
                code = json.loads(payload)["StatusCode"]
    return out, err, code


def test_create_start_attach_inspect_remove(engine: Engine) -> None:
    svc = engine.containers
    cid = svc.create({"Image": "busybox", "Cmd": ["sh", "-c", "echo o; echo e >&2; exit 2"],
                      "Labels": {"a": "b"}}, {"Memory": 32 << 20}, name="api1")
    sock = svc.start(cid, attach={"stdin": False, "stdout": True, "stderr": True})
    assert sock is not None
    with sock:
        assert _drain(sock) == (b"o\n", b"e\n", 2)
    doc = svc.inspect("api1")
    assert doc["State"]["Status"] == "exited" and doc["State"]["ExitCode"] == 2
    assert doc["HostConfig"]["Memory"] == 32 << 20 and doc["Config"]["Labels"] == {"a": "b"}
    [summary] = svc.summaries(all_=True)
    assert summary["Id"] == cid and summary["Names"] == ["/api1"] and summary["State"] == "exited"
    assert [e.data for e in svc.logs(cid)] == [b"o\n", b"e\n"]
    svc.remove(cid)
    with pytest.raises(NotFound):
        svc.get(cid)


def test_errors_are_typed(engine: Engine) -> None:
    svc = engine.containers
    with pytest.raises(NotFound, match="No such image"):
        svc.create({"Image": "nosuch:1"})
    with pytest.raises(InvalidArgument):
        svc.create({"Image": "busybox"}, {"Memory": 5})
    cid = svc.create({"Image": "busybox", "Cmd": ["sleep", "100"]}, {})
    svc.start(cid)
    with pytest.raises(Conflict, match="container is running"):
        svc.remove(cid)
    with pytest.raises(Conflict):
        svc.unpause(cid)
    svc.stop(cid, timeout=0)
    assert svc.wait(cid) == 137
    with pytest.raises(Conflict, match="is not running"):
        svc.kill(cid)
    svc.remove(cid)


def test_concurrent_creates_with_one_name(ketch: Ketch) -> None:
    def create(_: int) -> int:
        return subprocess.run(ketch.argv("create", "--name", "same", "busybox", "true"),
                              capture_output=True).returncode

    with ThreadPoolExecutor(4) as pool:
        codes = sorted(pool.map(create, range(4)))
    assert codes == [0, 125, 125, 125]
    assert len(ketch.container_ids()) == 1


def test_attach_and_resize(engine: Engine) -> None:
    svc = engine.containers
    cid = svc.create({"Image": "busybox", "Tty": True, "OpenStdin": True,
                      "Cmd": ["sh", "-c", "read line; stty size; echo got-$line"]}, {})
    svc.start(cid)
    with svc.attach(cid, stdin=True) as sock:
        svc.resize(cid, 33, 99)
        sock.sendall(_attach.frame(_attach.STDIN, b"x\n"))
        out, _, code = _drain(sock)
    assert code == 0
    assert b"33 99" in out and b"got-x" in out
    with pytest.raises(Conflict, match="stopped container"):
        svc.attach(cid)
    with pytest.raises(InvalidArgument):
        svc.resize(cid, 0, 10)
