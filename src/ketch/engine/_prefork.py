"""The monitor of a ``run``, forked before its container exists (``Prepared``).

``ContainerService.run`` forks the monitor first: it imports the runtime
(``_monitor._preload``) on the other core while the caller creates the
container, mounts it and writes config.json, then waits for ``launch``.  The
caller imports only this module (``os``, ``_attach``'s sockets), not ``_monitor``
and its imports (the json log, the runtime client): the monitor imports them
itself, after the fork (they were ~1 ms of the caller's path).
"""

from __future__ import annotations

import os

from ketch.engine import _attach

TYPE_CHECKING = False
if TYPE_CHECKING:
    import _socket
    from collections.abc import Callable
    from typing import Any

    from ketch.engine import Engine
    from ketch.engine._monitor import MonitorSpec

__all__ = ["Preforked", "Prepared", "prefork", "read_report"]


class Preforked:
    """A monitor forked before its container exists; it imports the runtime meanwhile.

    ``launch(spec)`` hands it the container and returns its report; ``cancel()``
    (or dropping the pipe) makes it exit.  The intermediate process of the double
    fork is reaped then, not when forked: the caller goes on while it forks the
    monitor and exits (~1.5 ms of the caller's time before).
    """

    def __init__(self, go_fd: int, report_fd: int, middle: int) -> None:
        self._go = go_fd
        self._report = report_fd
        self._middle = middle

    def _reap(self) -> None:
        if self._middle > 0:
            try:  # noqa: SIM105 (contextlib is not worth importing here)
                os.waitpid(self._middle, 0)
            except ChildProcessError:
                pass
            self._middle = 0

    def launch(self, args: dict[str, Any]) -> dict[str, Any]:
        """Hand over the container (``_monitor.spec_args``' keys); the monitor's report."""
        from ketch.oci._json import dumps

        data = dumps(args).encode()
        try:
            os.write(self._go, data)
        except BrokenPipeError:  # it died (read_report says so), not the caller's stdout
            pass
        finally:
            os.close(self._go)
            self._go = -1
            self._reap()
        return read_report(self._report)

    def cancel(self) -> None:
        for fd in (self._go, self._report):
            if fd >= 0:
                try:  # noqa: SIM105
                    os.close(fd)
                except OSError:
                    pass
        self._go = self._report = -1
        self._reap()


def read_report(r: int) -> dict[str, Any]:
    """The monitor's one-line JSON report from pipe ``r`` (closed after)."""
    from ketch.oci._json import loads

    chunks = []
    while True:
        data = os.read(r, 65536)
        if not data:
            break
        chunks.append(data)
        if data.endswith(b"\n"):
            break
    os.close(r)
    text = b"".join(chunks).decode(errors="replace").strip()
    if not text:
        return {"ok": False, "error": "the container monitor died while starting", "code": 125}
    report: dict[str, Any] = loads(text, "the container monitor's report")
    return report


def prefork(
    client: _socket.socket | None, make_spec: Callable[[dict[str, Any]], MonitorSpec]
) -> Preforked:
    """Fork a monitor now (``ketch-runtime`` in-process): it imports the runtime
    while the caller creates the container, then waits for ``launch``."""
    go_r, go_w = os.pipe()
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        code = 0
        try:
            os.close(go_w)
            os.close(r)
            os.setsid()
            if os.fork() != 0:
                os._exit(0)
            from ketch.engine._monitor import serve_preforked

            serve_preforked(go_r, w, client, make_spec)
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    os.close(go_r)
    os.close(w)
    return Preforked(go_w, r, pid)


class Prepared:
    """What ``run`` sets up before its container exists: the attach pair, an early monitor.

    ``make_spec`` (in the monitor, once the container exists) builds its spec from
    ``spec_args``; an ``Engine``'s default one (``early_monitor``) uses the engine's
    container service, built in the monitor.
    """

    def __init__(
        self,
        engine: Engine,
        attach: dict[str, bool] | None,
        *,
        early: bool = True,
    ) -> None:
        self.attach = attach
        self.ours: _attach.Connection | None = None
        self.theirs: _attach.Connection | None = None
        if attach is not None:
            self.ours, self.theirs = _attach.socketpair()
        self.monitor: Preforked | None = None
        if early and engine.monitor == "fork" and _is_ketch_runtime(engine.runtime):
            _shared_imports()
            self.monitor = prefork(self.theirs, lambda args: _spec(engine, args))
        if attach is not None and self.ours is not None:
            # after the fork: the monitor reads it only once the container has started
            header = ", ".join(f'"{k}": {"true" if attach.get(k) else "false"}'
                               for k in ("stdin", "stdout", "stderr"))
            self.ours.sendall(("{" + header + "}\n").encode())

    def close(self) -> None:
        """Undo what was not used (the early monitor exits when its pipe closes)."""
        if self.monitor is not None:
            self.monitor.cancel()
            self.monitor = None
        for sock in (self.ours, self.theirs):
            if sock is not None:
                sock.close()
        self.ours = self.theirs = None


def _shared_imports() -> None:
    """What both sides import after the fork otherwise (measured: the caller mounts the
    rootfs and resolves the user with them, the runtime is built on them), imported once
    before it: the monitor's preload is the longer side (~1.5 ms less there)."""
    import ketch.engine._monitorfile
    import ketch.linux.fs
    import ketch.linux.mount
    import ketch.oci.runtime_spec  # noqa: F401


def _is_ketch_runtime(binary: str) -> bool:
    from ketch.engine._runtime_inproc import is_ketch_runtime

    return is_ketch_runtime(binary)


def _spec(engine: Engine, args: dict[str, Any]) -> MonitorSpec:
    from ketch.engine._start import monitor_spec

    return monitor_spec(engine.containers, args)
