"""Run rootfs code in throw-away namespaces and report back through a pipe.

``in_container(body, ...)`` forks a "host" child that unshares a mount namespace
(made private, so nothing can reach the real host, then optionally rshared to
act like a systemd host), pid and cgroup namespaces; it forks the container
child, which unshares its own mount namespace and calls ``body()``.  ``body``
returns a JSON-able value or raises; either is reported.  The host child then
reports the mount points that appeared in its namespace while the container
ran (leaks).  Both children always ``os._exit`` and die by ``alarm`` if stuck.

The "host" child's namespace stands in for the real host: it starts as a copy
of the real table, so a leak shows there exactly as it would on the host,
while the real host stays unreachable (the copy is made private first).  The
real table is not compared: other tests on the machine change it at any time.

With ``userns=True`` the container child first unshares a user namespace that
the host child maps (identity, 0..65535), then mount, pid, network, ipc and cgroup
namespaces owned by it, and runs ``body`` as pid 1: mknod is refused there and
inherited mount flags are locked, as for a rootless or userns container.
"""

import ctypes
import json
import os
import signal
import traceback
from collections.abc import Callable
from typing import Any

CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWPID = 0x20000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
CLONE_NEWIPC = 0x08000000
USERNS_SIZE = 65536  # the identity map 0..65535: root stays root, but only inside the userns
MS_REC = 0x4000
MS_PRIVATE = 1 << 18
MS_SHARED = 1 << 20

_libc = ctypes.CDLL(None, use_errno=True)


def _unshare(flags: int) -> None:
    if _libc.unshare(flags) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"unshare: {os.strerror(err)}")


def _mount(source: str | None, target: str, flags: int) -> None:
    if (
        _libc.mount(source and source.encode(), target.encode(), None, ctypes.c_ulong(flags), None)
        != 0
    ):
        err = ctypes.get_errno()
        raise OSError(err, f"mount {target}: {os.strerror(err)}")


def mount_points(path: str = "/proc/self/mountinfo") -> list[str]:
    with open(path) as f:
        return [line.split(" ")[4] for line in f]


def _send(fd: int, kind: str, value: Any) -> None:
    data = (json.dumps({"kind": kind, "value": value}) + "\n").encode()
    while data:
        data = data[os.write(fd, data) :]


def _report_errors(w: int, fn: Callable[[], None]) -> None:
    try:
        fn()
    except BaseException as e:
        _send(
            w,
            "error",
            {"type": type(e).__name__, "message": str(e), "trace": traceback.format_exc()},
        )


def _run_body(w: int, body: Callable[[], Any]) -> None:
    _send(w, "result", body())


def _container(w: int, body: Callable[[], Any]) -> None:
    _unshare(CLONE_NEWNS)
    _run_body(w, body)


def _container_userns(w: int, body: Callable[[], Any], ready: int, mapped: int) -> None:
    """unshare a user namespace, let the host map it, then mount, pid, net, cgroup namespaces;
    run ``body`` as pid 1 of the new pid namespace."""
    _unshare(CLONE_NEWUSER)
    os.write(ready, b"u")
    if os.read(mapped, 1) != b"m":
        raise RuntimeError("the host did not map the user namespace")
    _unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWCGROUP)
    pid = os.fork()
    if pid == 0:
        try:
            _report_errors(w, lambda: _run_body(w, body))
        finally:
            os._exit(0)
    os.waitpid(pid, 0)


def _host(
    w: int,
    body: Callable[[], Any],
    shared_host: bool,
    cgroupns: bool,
    userns: bool,
    host_setup: Callable[[], None] | None,
) -> None:
    _unshare(CLONE_NEWNS)
    _mount(None, "/", MS_REC | MS_PRIVATE)  # cut every tie to the real host first
    if shared_host:
        _mount(None, "/", MS_REC | MS_SHARED)
    if host_setup is not None:
        host_setup()
    before = mount_points()
    if not userns:
        _unshare(CLONE_NEWPID | (CLONE_NEWCGROUP if cgroupns else 0))
    ready_r, ready_w = os.pipe()
    mapped_r, mapped_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        signal.alarm(60)
        try:
            if userns:
                _report_errors(w, lambda: _container_userns(w, body, ready_w, mapped_r))
            else:
                _report_errors(w, lambda: _container(w, body))
        finally:
            os._exit(0)
    if userns and os.read(ready_r, 1) == b"u":
        for name in ("uid_map", "gid_map"):
            with open(f"/proc/{pid}/{name}", "w") as f:
                f.write(f"0 0 {USERNS_SIZE}\n")
        os.write(mapped_w, b"m")
    os.waitpid(pid, 0)
    after = mount_points()
    _send(w, "leaks", [p for p in after if p not in before])


class Outcome:
    def __init__(self, messages: list[dict[str, Any]]) -> None:
        self.result: Any = None
        self.error: dict[str, str] | None = None
        self.leaks: list[str] | None = None
        for msg in messages:
            if msg["kind"] == "result":
                self.result = msg["value"]
            elif msg["kind"] == "error":
                self.error = msg["value"]
            elif msg["kind"] == "leaks":
                self.leaks = msg["value"]

    def ok(self) -> Any:
        assert self.error is None, self.error["trace"]
        assert self.leaks == [], f"mounts leaked to the host: {self.leaks}"
        return self.result


def in_container(
    body: Callable[[], Any],
    *,
    shared_host: bool = False,
    cgroupns: bool = True,
    userns: bool = False,
    host_setup: Callable[[], None] | None = None,
) -> Outcome:
    """Run ``body`` in a container child (see module doc); collect what it reported.

    ``host_setup`` runs first in the "host" namespace (e.g. to make a mount there)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        signal.alarm(90)
        try:
            _report_errors(w, lambda: _host(w, body, shared_host, cgroupns, userns, host_setup))
        finally:
            os._exit(0)
    os.close(w)
    chunks = []
    with os.fdopen(r, "rb") as f:
        chunks.append(f.read())
    os.waitpid(pid, 0)
    messages = [json.loads(line) for line in b"".join(chunks).decode().splitlines() if line]
    return Outcome(messages)
