"""The per-container monitor: a double-forked, session-leading process per run.

It creates and starts the container through the runtime (so the container's
init is its child: it is a child subreaper), holds the container's stdio (pipes,
or the pty master received over ``--console-socket``), writes the json-file
log, relays attach clients (``_attach``), reaps, records the exit and cleans up
through the ``finish`` callback, then tells attached clients the exit status.
Containers outlive the command that started them.
"""

from __future__ import annotations

import _signal  # type: ignore[import-not-found]  # signal's C half: no enum import
import errno
import fcntl
import os
import select
import time

from ketch.engine import _attach
from ketch.engine._jsonlog import JsonLog
from ketch.engine._monitorfile import MONITOR_FILE, live_monitor, process_start_time
from ketch.engine._prefork import read_report
from ketch.engine._runtime import runtime_error
from ketch.engine._store import now_rfc3339
from ketch.errors import InvalidArgument
from ketch.oci import _json

TYPE_CHECKING = False
if TYPE_CHECKING:
    import _socket
    from collections.abc import Callable
    from typing import Any

    from ketch.engine._runtime import RuntimeClient

__all__ = [
    "MONITOR_FILE",
    "MonitorSpec",
    "live_monitor",
    "process_start_time",
    "serve_preforked",
    "spawn_monitor",
    "spec_args",
]

_PR_SET_CHILD_SUBREAPER = 36
_MAX_HEADER = 4096  # an attach client's JSON header line
_MSG_PEEK = 2


class MonitorSpec:
    """What the monitor needs; ``finish(exit_code, error)`` runs in the monitor at the end."""

    def __init__(
        self,
        *,
        cid: str,
        container_dir: str,
        bundle: str,
        runtime: RuntimeClient,
        tty: bool,
        open_stdin: bool,
        stdin_once: bool,
        log_path: str,
        finish: Callable[[int, str, Callable[[], None]], None],
        failed: Callable[[str, int], None],
    ) -> None:
        self.cid = cid
        self.container_dir = container_dir
        self.bundle = bundle
        self.runtime = runtime
        self.tty = tty
        self.open_stdin = open_stdin
        self.stdin_once = stdin_once
        self.log_path = log_path
        self.finish = finish
        self.failed = failed


def spawn_monitor(
    spec: MonitorSpec, client: _socket.socket | None, *, engine: dict[str, str] | None = None
) -> dict[str, Any]:
    """Start the monitor; returns its report: ``{"ok": True, "pid": ...}`` or an error.

    Without ``engine`` the monitor is a fork of this process (the CLI: single
    threaded, ketch already imported).  With ``engine`` (``root``, ``runtime``,
    ``snapshotter``) a fresh interpreter runs ``python -m ketch.engine._monitor``
    and rebuilds the engine: for a threaded caller such as the daemon, which
    must not fork.
    """
    r, w = os.pipe()
    if engine is not None:
        _exec_monitor(spec, client, engine, w)
    else:
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child
            code = 0
            try:
                os.close(r)
                os.setsid()
                if os.fork() != 0:
                    os._exit(0)
                keep = {w} | ({client.fileno()} if client is not None else set())
                _detach_stdio(keep)
                _Monitor(spec, w, client).run()
            except BaseException:
                code = 1
            finally:
                os._exit(code)
        os.close(w)
        os.waitpid(pid, 0)
    return read_report(r)


def spec_args(spec: MonitorSpec) -> dict[str, Any]:
    """The JSON-able part of ``spec`` (what a monitor started early or exec'd is told)."""
    return {
        "cid": spec.cid, "container_dir": spec.container_dir, "bundle": spec.bundle,
        "tty": spec.tty, "open_stdin": spec.open_stdin, "stdin_once": spec.stdin_once,
        "log_path": spec.log_path,
    }


# what the runtime's create/start import (measured: sys.modules before and after), and
# the engine's modules the monitor's spec needs: loaded while the caller creates the container
_RUNTIME_MODULES = (
    "ketch.linux.prctl", "ketch.runtime.container", "ketch.runtime.create",
    "ketch.runtime.start", "ketch.oci.validate", "ketch.oci._runtime_config_validator",
    "ketch.runtime.process", "ketch.runtime.rootfs", "ketch.runtime._process_seccomp",
    "ketch.runtime._seccomp_rules", "ketch.cgroups", "ketch.cgroups.devices",
    "ketch.cgroups._validate", "ketch.cgroups._v1_set", "ketch.linux.seccomp",
    "ketch.cgroups._paths", "ketch.cgroups._v1", "ketch.linux.clone",
    "ketch.runtime._rootfs_cgroup", "ketch.linux.mountinfo",
    "ketch.engine.containers", "ketch.engine._start",
)
# what the exit path imports between the container's exit and the client's EXIT frame
# (runtime delete, the rootfs unmount: ~3.5 ms there before): loaded while it runs
_EXIT_MODULES = ("ketch.runtime.delete", "ketch.snapshots.mount")


def _preload(names: tuple[str, ...] = _RUNTIME_MODULES) -> None:
    for name in names:
        try:  # noqa: SIM105 (contextlib costs an import)
            __import__(name)  # not importlib.import_module: the package imports warnings
        except ImportError:  # an optimisation only: names may move
            pass


def serve_preforked(
    go_r: int, report_w: int, client: _socket.socket | None,
    make_spec: Callable[[dict[str, Any]], MonitorSpec],
) -> None:  # pragma: no cover - runs in the monitor forked by ``_prefork.prefork``
    """The early monitor: preload the runtime, wait for the container, monitor it."""
    keep = {report_w, go_r} | ({client.fileno()} if client is not None else set())
    _detach_stdio(keep)
    _preload()
    data = b""
    while chunk := os.read(go_r, 65536):
        data += chunk
    if not data:  # cancelled
        os._exit(0)
    _Monitor(make_spec(_json.loads(data, "monitor spec")), report_w, client).run()


def _exec_monitor(
    spec: MonitorSpec, client: _socket.socket | None, engine: dict[str, str], report_fd: int
) -> None:
    import subprocess
    import sys

    fds = [report_fd] + ([client.fileno()] if client is not None else [])
    args = {
        **spec_args(spec), "engine": engine, "report_fd": report_fd,
        "client_fd": client.fileno() if client is not None else -1,
    }
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "ketch.engine._monitor", _json.dumps(args)],
            pass_fds=fds, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True, cwd="/",
        )
    finally:
        os.close(report_fd)
    proc.wait()  # the intermediate process exits as soon as the monitor is forked off


def _exec_main(argv: list[str]) -> None:  # pragma: no cover - runs in the monitor
    """``python -m ketch.engine._monitor ARGS``: rebuild the engine, fork off, monitor."""
    from pathlib import Path

    from ketch.engine import Engine

    args = _json.loads(argv[0], "monitor spec")
    if os.fork() != 0:
        os._exit(0)
    report_fd, client_fd = int(args["report_fd"]), int(args["client_fd"])
    client = _attach.Connection(client_fd) if client_fd >= 0 else None
    keep = {report_fd} | ({client_fd} if client_fd >= 0 else set())
    _detach_stdio(keep)
    conf = args["engine"]
    engine = Engine(Path(conf["root"]), runtime=conf["runtime"], snapshotter=conf["snapshotter"])
    svc = engine.containers
    cid = args["cid"]
    spec = MonitorSpec(
        cid=cid, container_dir=args["container_dir"], bundle=args["bundle"],
        runtime=svc.runtime, tty=bool(args["tty"]), open_stdin=bool(args["open_stdin"]),
        stdin_once=bool(args["stdin_once"]), log_path=args["log_path"],
        finish=lambda code, error, notify: svc.finish(cid, code, error, notify),
        failed=lambda message, code: None,
    )
    code = 0
    try:
        _Monitor(spec, report_fd, client).run()
    except BaseException:
        code = 1
    finally:
        os._exit(code)


def _detach_stdio(keep: set[int]) -> None:
    """Point 0-2 at /dev/null and close every other inherited fd but ``keep``."""
    null = os.open("/dev/null", os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    if null > 2:
        os.close(null)
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd > 2 and fd not in keep:
            try:  # noqa: SIM105 (contextlib costs an import)
                os.close(fd)
            except OSError:
                pass
    _signal.signal(_signal.SIGINT, _signal.SIG_DFL)
    _signal.signal(_signal.SIGHUP, _signal.SIG_IGN)


class _Client:
    def __init__(self, sock: _socket.socket, want: dict[str, bool]) -> None:
        self.sock = sock
        self.stdin = bool(want.get("stdin"))
        self.streams = {
            _attach.STDOUT: bool(want.get("stdout")),
            _attach.STDERR: bool(want.get("stderr")),
        }
        self.reader = _attach.FrameReader()


class _Monitor:
    def __init__(
        self,
        spec: MonitorSpec,
        report_fd: int,
        client: _socket.socket | None,
    ) -> None:
        self.spec = spec
        self.report_fd = report_fd
        self.first_client = client
        self.sel = _Poller()
        self.clients: list[_Client] = []
        self.stdin_w: int | None = None
        self.master: int | None = None
        self.outputs: dict[int, int] = {}  # fd -> stream kind
        self.log: JsonLog | None = None
        self.exit_status: int | None = None
        self.pid = 0

    # ------------------------------------------------------------------ start
    def _report(self, doc: dict[str, Any]) -> None:
        if self.report_fd < 0:
            return
        try:  # noqa: SIM105 (contextlib costs an import)
            os.write(self.report_fd, _json.dumps(doc).encode() + b"\n")
        except OSError:
            pass
        os.close(self.report_fd)
        self.report_fd = -1

    def _fail(self, message: str, code: int) -> None:
        try:  # noqa: SIM105 (contextlib costs an import)
            os.unlink(MONITOR_FILE)
        except OSError:
            pass
        try:  # noqa: SIM105 (contextlib costs an import)
            self.spec.runtime.delete(self.spec.cid, force=True)
        except Exception:
            pass
        self.spec.failed(message, code)
        self._report({"ok": False, "error": message, "code": code})

    def run(self) -> None:
        import gc

        from ketch.linux.prctl import prctl

        # long-lived, unlike the command it was forked from; but what that command allocated
        # with the collector off (every module) would make the first collection walk it all
        # (~4 ms, on the start path): park it in the permanent generation first
        gc.freeze()
        gc.enable()

        spec = self.spec
        prctl(_PR_SET_CHILD_SUBREAPER, 1)
        os.chdir(spec.container_dir)  # pins nothing of the caller's (and names its owner)
        dfd = os.open(spec.container_dir, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        # who monitors this container, for readers when the starter dies before recording it
        try:
            with open(MONITOR_FILE, "w") as f:
                f.write(f"{os.getpid()} {process_start_time(os.getpid())}\n")
        except OSError:
            pass
        path = _attach.socket_path(dfd)
        listener = _attach.listen(path)
        self.log = JsonLog(spec.log_path)
        try:
            started = self._create_and_start(dfd)
        except Exception as e:
            self._fail(str(e), int(getattr(e, "exit_code", 125)))
            return
        if not started:
            return
        self._report({
            "ok": True,
            "pid": self.pid,
            "monitor_pid": os.getpid(),
            "monitor_start": process_start_time(os.getpid()),
            "started_at": now_rfc3339(),
        })
        if self.first_client is not None:
            self._add_client(self.first_client, None)
        self.sel.register(listener, "listen")
        _preload(_EXIT_MODULES)
        self._loop()
        for fd in list(self.outputs):
            self._drain(fd)
        error = ""
        code = self.exit_status if self.exit_status is not None else 137
        _signal.signal(_signal.SIGCHLD, _signal.SIG_DFL)
        notified: list[bool] = []

        def notify() -> None:
            """Tell attached clients the exit status (called once the state is recorded)."""
            if notified:
                return
            notified.append(True)
            try:  # noqa: SIM105 (contextlib costs an import)
                os.unlink(path)
            except OSError:
                pass
            listener.close()
            message = _attach.frame(_attach.EXIT, _json.dumps({"StatusCode": code}).encode())
            for c in self.clients:
                try:
                    c.sock.setblocking(True)
                    c.sock.sendall(message)
                    c.sock.close()
                except OSError:
                    pass

        try:
            spec.finish(code, error, notify)
        finally:
            notify()
            try:  # noqa: SIM105 (contextlib costs an import)
                os.unlink(MONITOR_FILE)  # relative: the (possibly renamed) container dir
            except OSError:
                pass

    def _create_and_start(self, dfd: int) -> bool:
        from ketch.engine._runtime_inproc import InProcessRuntime, is_ketch_runtime

        spec = self.spec
        pid_file = os.path.join(spec.container_dir, "init.pid")
        if spec.tty:
            null = os.open("/dev/null", os.O_RDWR | os.O_CLOEXEC)
            stdio = (null, null, null)
            close_after = [null]
        else:
            out_r, out_w = os.pipe()
            err_r, err_w = os.pipe()
            if spec.open_stdin:
                in_r, in_w = os.pipe()
                self.stdin_w = in_w
                os.set_blocking(in_w, False)
            else:
                in_r = os.open("/dev/null", os.O_RDONLY | os.O_CLOEXEC)
            stdio = (in_r, out_w, err_w)
            close_after = [in_r, out_w, err_w]
            self.outputs = {out_r: _attach.STDOUT, err_r: _attach.STDERR}
        inproc = InProcessRuntime(spec.runtime.root) if is_ketch_runtime(spec.runtime.binary) else None
        try:
            if inproc is not None:
                self.pid = self._create_inproc(inproc, pid_file, stdio)
            else:
                self._create_exec(dfd, pid_file, stdio)
        except Exception as e:
            err = e if hasattr(e, "exit_code") else runtime_error("create", str(e))
            self._fail(str(err), int(getattr(err, "exit_code", 125)))
            return False
        finally:
            for fd in close_after:
                os.close(fd)
        if not self.pid:  # the runtime ran as a command wrote it
            with open(pid_file) as f:
                self.pid = int(f.read().strip())
        if self.master is not None:
            self.outputs = {self.master: _attach.STDOUT}
        _signal.signal(_signal.SIGCHLD, lambda *_: None)
        self.wake_r, wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        _signal.set_wakeup_fd(wake_w)
        try:
            if inproc is not None:
                inproc.start(spec.cid)
            else:
                spec.runtime.start(spec.cid)
        except Exception as e:
            self._fail(str(e), int(getattr(e, "exit_code", 125)))
            return False
        return True

    def _create_inproc(self, inproc: Any, pid_file: str, stdio: tuple[int, int, int]) -> int:
        spec = self.spec
        ours: _socket.socket | None = None
        console_fd = None
        if spec.tty:
            ours, theirs = _attach.socketpair()
            console_fd = theirs.detach()
        try:
            pid = int(inproc.create(spec.cid, spec.bundle, pid_file, stdio, console_fd))
            if ours is not None:
                ours.settimeout(10)
                master = _attach.recv_fd(ours)
                if master is None:
                    raise OSError(errno.EPROTO, "the runtime sent no terminal")
                self.master = master
                import termios  # noqa: F401 (for resizes; only with a terminal: ~0.5 ms)
        finally:
            if ours is not None:
                ours.close()
        return pid

    def _create_exec(self, dfd: int, pid_file: str, stdio: tuple[int, int, int]) -> None:
        """``<runtime> create`` as a command; its errors arrive on the stderr it was given."""
        spec = self.spec
        argv = spec.runtime.argv("create", "--bundle", spec.bundle, "--pid-file", pid_file)
        console: _socket.socket | None = None
        errors_r, errors_w = os.pipe()
        if spec.tty:
            console = _attach.listen(f"/proc/self/fd/{dfd}/console.sock", 1)
            # sun_path holds 108 bytes: name the container dir through our cwd's magic link
            argv += ["--console-socket", f"/proc/{os.getpid()}/cwd/console.sock"]
        argv.append(spec.cid)
        # the runtime writes its own errors to the stderr it was given: with a tty that is a
        # pipe of ours; without, the container's stderr pipe, read back below on failure
        stderr = errors_w if spec.tty else stdio[2]
        import subprocess  # only for a runtime run as a command

        proc = subprocess.Popen(argv, stdin=stdio[0], stdout=stdio[1], stderr=stderr,
                                cwd=spec.container_dir)
        os.close(errors_w)
        try:
            if console is not None:
                console.settimeout(0.05)
                while self.master is None:
                    try:
                        conn = _attach.accept(console)
                    except TimeoutError:
                        if proc.poll() is not None:
                            break
                        continue
                    with conn:
                        self.master = _attach.recv_fd(conn)
                    if self.master is not None:
                        import termios  # noqa: F401 (for resizes; only with a terminal)
                console.close()
                try:  # noqa: SIM105 (contextlib costs an import)
                    os.unlink(f"/proc/self/fd/{dfd}/console.sock")
                except OSError:
                    pass
            rc = proc.wait()
            if rc != 0:
                source = errors_r if spec.tty else next(
                    fd for fd, kind in self.outputs.items() if kind == _attach.STDERR)
                os.set_blocking(source, False)
                text = b""
                try:  # noqa: SIM105 (contextlib costs an import)
                    text = os.read(source, 65536)
                except OSError:
                    pass
                raise runtime_error("create", text.decode(errors="replace"))
        finally:
            os.close(errors_r)

    # ------------------------------------------------------------------- loop
    def _add_client(self, sock: _socket.socket, header: bytes | None) -> None:
        if header is None:
            header = _read_header(sock)
            if header is None:
                sock.close()
                return
        try:
            want = _json.loads(header, "attach header")
        except InvalidArgument:
            sock.close()
            return
        sock.setblocking(True)
        sock.settimeout(10)
        client = _Client(sock, want)
        self.clients.append(client)
        self.sel.register(sock, client)

    def _drop_client(self, client: _Client) -> None:
        try:  # noqa: SIM105 (contextlib costs an import)
            self.sel.unregister(client.sock)
        except (KeyError, ValueError):
            pass
        try:  # noqa: SIM105 (contextlib costs an import)
            self.clients.remove(client)
        except ValueError:
            pass
        client.sock.close()
        if client.stdin and self.spec.stdin_once:
            self._close_stdin()

    def _close_stdin(self) -> None:
        if self.stdin_w is not None:
            os.close(self.stdin_w)
            self.stdin_w = None

    def _loop(self) -> None:
        for fd in self.outputs:
            os.set_blocking(fd, False)
            self.sel.register(fd, "output")
        self.sel.register(self.wake_r, "wake")
        self._reap()
        while self.exit_status is None:
            for fd, obj, data in self.sel.select(1.0):
                if data == "output":
                    self._read_output(fd)
                elif data == "wake":
                    try:  # noqa: SIM105 (contextlib costs an import)
                        os.read(self.wake_r, 512)
                    except BlockingIOError:
                        pass
                    self._reap()
                elif data == "listen":
                    try:  # noqa: SIM105 (contextlib costs an import)
                        self._add_client(_attach.accept(obj), None)
                    except OSError:
                        pass
                elif isinstance(data, _Client):
                    self._client_input(data)
            if self.exit_status is None:
                self._reap()

    def _reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            if pid == self.pid:
                self.exit_status = (
                    os.WEXITSTATUS(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)
                )

    def _client_input(self, client: _Client) -> None:
        try:
            data = client.sock.recv(65536)
        except OSError:
            data = b""
        if not data:
            self._drop_client(client)
            return
        for kind, payload in client.reader.feed(data):
            if kind == _attach.STDIN and client.stdin:
                self._write_stdin(payload)
            elif kind == _attach.CLOSE_STDIN and client.stdin:
                if self.master is None:
                    self._close_stdin()
            elif kind == _attach.RESIZE and self.master is not None:
                try:
                    rows, cols = (int(x) for x in payload.split())
                    import struct
                    import termios  # already imported with the terminal (see _create_inproc)

                    fcntl.ioctl(self.master, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
                except (ValueError, OSError):
                    pass

    def _write_stdin(self, data: bytes) -> None:
        fd = self.master if self.master is not None else self.stdin_w
        if fd is None:
            return
        deadline = time.monotonic() + 5
        while data and time.monotonic() < deadline:
            try:
                n = os.write(fd, data)
                data = data[n:]
            except BlockingIOError:
                time.sleep(0.01)
            except OSError:
                return

    def _read_output(self, fd: int) -> bool:
        try:
            data = os.read(fd, 65536)
        except BlockingIOError:
            return True
        except OSError as e:  # EIO from a pty master once the other side is gone
            if e.errno != errno.EIO:
                raise
            data = b""
        kind = self.outputs.get(fd, _attach.STDOUT)
        if not data:
            if self.log is not None:
                self.log.flush(fd, "stdout" if kind == _attach.STDOUT else "stderr")
            try:  # noqa: SIM105 (contextlib costs an import)
                self.sel.unregister(fd)
            except (KeyError, ValueError):
                pass
            self.outputs.pop(fd, None)
            os.close(fd)
            return False
        if self.log is not None:
            self.log.write(fd, "stdout" if kind == _attach.STDOUT else "stderr", data)
        message = _attach.frame(kind, data)
        for client in list(self.clients):
            if client.streams.get(kind):
                try:
                    client.sock.sendall(message)
                except OSError:
                    self._drop_client(client)
        return True

    def _drain(self, fd: int) -> None:
        deadline = time.monotonic() + 2
        while fd in self.outputs and time.monotonic() < deadline:
            try:
                if not self._read_output(fd):
                    return
            except OSError:
                return
            if fd in self.outputs:
                r, _, _ = _select([fd], 0.05)
                if not r and self.master is not None:
                    break
        if fd in self.outputs and self.log is not None:
            self.log.flush(fd, "stdout" if self.outputs[fd] == _attach.STDOUT else "stderr")


def _read_header(sock: _socket.socket) -> bytes | None:
    """The client's JSON header line (None: closed, too long, or no line within 5 s).

    The usual whole line is peeked and read at once, leaving any frames behind it;
    a line that arrives in pieces is read a byte at a time."""
    sock.settimeout(5)
    try:
        data = sock.recv(_MAX_HEADER, _MSG_PEEK)
        end = data.find(b"\n")
        if end >= 0:
            return _recv_exactly(sock, end + 1)
        line = b""
        while not line.endswith(b"\n"):
            chunk = sock.recv(1)
            if not chunk or len(line) >= _MAX_HEADER:
                return None
            line += chunk
        return line
    except OSError:
        return None


def _recv_exactly(sock: _socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            break
        data += chunk
    return data


def _select(fds: list[int], timeout: float) -> tuple[list[int], list[int], list[int]]:
    return select.select(fds, [], [], timeout)


class _Poller:
    """Readiness to read of fds and sockets, each with its data: ``epoll`` directly
    (``selectors`` imports ``collections``, ~1.5 ms with ``socket``)."""

    def __init__(self) -> None:
        self._epoll = select.epoll()
        self._entries: dict[int, tuple[Any, Any]] = {}

    def register(self, obj: Any, data: Any) -> None:
        fd = obj if isinstance(obj, int) else obj.fileno()
        self._epoll.register(fd, select.EPOLLIN)
        self._entries[fd] = (obj, data)

    def unregister(self, obj: Any) -> None:
        """Forget ``obj`` (``KeyError`` if not registered); before it is closed."""
        fd = obj if isinstance(obj, int) else obj.fileno()
        del self._entries[fd]
        try:  # noqa: SIM105 (contextlib costs an import)
            self._epoll.unregister(fd)
        except OSError:
            pass

    def select(self, timeout: float) -> list[tuple[int, Any, Any]]:
        """``(fd, obj, data)`` of each registered one that is ready (or hung up)."""
        return [(fd, *self._entries[fd]) for fd, _ in self._epoll.poll(timeout)
                if fd in self._entries]


if __name__ == "__main__":  # pragma: no cover
    import sys

    _exec_main(sys.argv[1:])
