"""``exec -t``: the runtime hands over the pty master on a console socket; relay it here.

The runtime runs the process detached; this process is a child subreaper, so the
process is reparented to it and its exit status can be collected with waitpid.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import select
import signal
import socket
import struct
import subprocess
import tempfile
import termios

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["run_exec_tty"]

_PR_SET_CHILD_SUBREAPER = 36


def _set_size(master: int, fd: int) -> None:
    with contextlib.suppress(OSError):
        size = os.get_terminal_size(fd)
        fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", size.lines, size.columns, 0, 0))


def run_exec_tty(
    make_argv: Callable[[str, str], list[str]],
    *,
    stdin_fd: int | None,
    stdout_fd: int,
    detach_keys: bytes,
) -> int:
    """Run the exec (``make_argv(console_socket, pid_file)``) and relay its terminal."""
    from ketch.errors import Unavailable
    from ketch.linux.prctl import prctl

    prctl(_PR_SET_CHILD_SUBREAPER, 1)
    with tempfile.TemporaryDirectory(prefix="ketch-exec-") as tmp:
        sock_path, pid_file = os.path.join(tmp, "c.sock"), os.path.join(tmp, "pid")
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(sock_path)
        listener.listen(1)
        listener.settimeout(0.05)
        proc = subprocess.Popen(make_argv(sock_path, pid_file), stdin=subprocess.DEVNULL,
                                stderr=subprocess.PIPE)
        master = -1
        while master < 0:
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                if proc.poll() is not None:
                    break
                continue
            with conn:
                _, fds, _, _ = socket.recv_fds(conn, 1024, 1)
            if fds:
                master = fds[0]
        _, err = proc.communicate()
        listener.close()
        if proc.returncode != 0 or master < 0:
            from ketch.engine._runtime import runtime_error

            raise runtime_error("exec", err.decode(errors="replace")) if err else Unavailable(
                "exec: the runtime sent no terminal")
        with open(pid_file) as f:
            pid = int(f.read().strip())
    return _relay(master, pid, stdin_fd, stdout_fd, detach_keys)


def _relay(master: int, pid: int, stdin_fd: int | None, stdout_fd: int, detach_keys: bytes) -> int:
    raw = None
    if stdin_fd is not None and os.isatty(stdin_fd):
        import tty

        raw = termios.tcgetattr(stdin_fd)
        tty.setraw(stdin_fd)
        _set_size(master, stdin_fd)
    wake_r, wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    old_wake = signal.set_wakeup_fd(wake_w)
    old = signal.signal(signal.SIGWINCH, lambda *_: None)
    pidfd = os.pidfd_open(pid)
    fds = [master, wake_r, pidfd] + ([stdin_fd] if stdin_fd is not None else [])
    matched = 0
    try:
        while True:
            ready, _, _ = select.select(fds, [], [])
            if wake_r in ready:
                with contextlib.suppress(BlockingIOError):
                    os.read(wake_r, 64)
                if stdin_fd is not None:
                    _set_size(master, stdin_fd)
            if master in ready:
                try:
                    data = os.read(master, 65536)
                except OSError:
                    data = b""
                if data:
                    os.write(stdout_fd, data)
                else:
                    fds.remove(master)
            if stdin_fd is not None and stdin_fd in ready:
                data = os.read(stdin_fd, 65536)
                if not data:
                    fds.remove(stdin_fd)
                    continue
                out = bytearray()
                for b in data:
                    if detach_keys and b == detach_keys[matched]:
                        matched += 1
                        if matched == len(detach_keys):
                            return 0
                        continue
                    if matched:
                        out += detach_keys[:matched]
                        matched = 0
                    out.append(b)
                if out:
                    os.write(master, bytes(out))
            if pidfd in ready:
                _, status = os.waitpid(pid, 0)
                with contextlib.suppress(OSError):  # what the process wrote last
                    os.set_blocking(master, False)
                    while data := os.read(master, 65536):
                        os.write(stdout_fd, data)
                return os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)
    finally:
        signal.signal(signal.SIGWINCH, old)
        signal.set_wakeup_fd(old_wake)
        for fd in (wake_r, wake_w, pidfd, master):
            with contextlib.suppress(OSError):
                os.close(fd)
        if raw is not None and stdin_fd is not None:
            termios.tcsetattr(stdin_fd, termios.TCSADRAIN, raw)
