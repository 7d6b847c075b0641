"""``run -it`` with a real pseudo-terminal: echo, resize, ctrl-p ctrl-q, attach."""

from __future__ import annotations

import fcntl
import os
import select
import signal
import struct
import subprocess
import termios
import time
from collections.abc import Iterator

import pytest

from tests.integration.cli.conftest import Ketch

pytestmark = pytest.mark.root


class Terminal:
    """A pty whose slave side is the stdio of a ketch process."""

    def __init__(self, ketch: Ketch, *args: str, rows: int = 30, cols: int = 100) -> None:
        self.master, slave = os.openpty()
        self.resize(rows, cols, fd=slave)
        self.proc = subprocess.Popen(ketch.argv(*args), stdin=slave, stdout=slave, stderr=slave,
                                     start_new_session=True)
        os.close(slave)
        self.seen = b""

    def resize(self, rows: int, cols: int, fd: int | None = None) -> None:
        fcntl.ioctl(self.master if fd is None else fd, termios.TIOCSWINSZ,
                    struct.pack("HHHH", rows, cols, 0, 0))

    def send(self, data: bytes) -> None:
        os.write(self.master, data)

    def expect(self, needle: bytes, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while needle not in self.seen:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{needle!r} not seen; got {self.seen!r}")
            ready, _, _ = select.select([self.master], [], [], left)
            if ready:
                try:
                    data = os.read(self.master, 4096)
                except OSError:
                    data = b""
                if not data:
                    raise AssertionError(f"EOF before {needle!r}; got {self.seen!r}")
                self.seen += data
        self.seen = self.seen[self.seen.index(needle) + len(needle):]

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        os.close(self.master)


@pytest.fixture
def terminals() -> Iterator[list[Terminal]]:
    made: list[Terminal] = []
    yield made
    for t in made:
        t.close()


SCRIPT = 'stty size; tty; read x; stty size; echo "got-$x"; read y; echo "then-$y"; exit $y'


def test_interactive_tty_resize_detach_attach(ketch: Ketch, terminals: list[Terminal]) -> None:
    t = Terminal(ketch, "run", "-it", "--name", "shell", "busybox", "sh", "-c", SCRIPT)
    terminals.append(t)
    t.expect(b"30 100")
    t.expect(b"/dev/pts/0")  # the container's own devpts
    t.resize(40, 120)
    t.proc.send_signal(signal.SIGWINCH)
    time.sleep(0.5)
    t.send(b"hello\r")
    t.expect(b"40 120")
    t.expect(b"got-hello")
    t.send(b"\x10\x11")  # ctrl-p ctrl-q
    assert t.proc.wait(timeout=15) == 0
    assert ketch.ok("inspect", "-f", "{{.State.Running}}", "shell") == "true\n"
    a = Terminal(ketch, "attach", "shell")
    terminals.append(a)
    time.sleep(0.5)
    a.send(b"3\r")
    a.expect(b"then-3")
    assert a.proc.wait(timeout=15) == 3
    assert ketch.ok("inspect", "-f", "{{.State.ExitCode}}", "shell") == "3\n"
    assert "got-hello" in ketch.ok("logs", "shell")


def test_exec_tty(ketch: Ketch, terminals: list[Terminal]) -> None:
    ketch.ok("run", "-d", "--name", "bg", "busybox", "sleep", "1000")
    t = Terminal(ketch, "exec", "-it", "bg", "sh", "-c", 'tty; read z; exit "$z"')
    terminals.append(t)
    t.expect(b"/dev/pts/")
    t.send(b"4\r")
    assert t.proc.wait(timeout=15) == 4
