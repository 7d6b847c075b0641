"""The client side of an attach: relay stdio and a terminal to the monitor's socket."""

from __future__ import annotations

import _signal as signal  # type: ignore[import-not-found]  # the C half: signal imports enum
import os
import select
import struct

TYPE_CHECKING = False
if TYPE_CHECKING:
    import _socket
    from collections.abc import Callable
    from typing import IO

__all__ = ["DEFAULT_DETACH_KEYS", "parse_detach_keys", "relay", "terminal_size", "write_bytes"]

DEFAULT_DETACH_KEYS = b"\x10\x11"  # ctrl-p ctrl-q


def parse_detach_keys(text: str | None) -> bytes:
    if not text:
        return DEFAULT_DETACH_KEYS
    out = bytearray()
    for key in text.split(","):
        key = key.strip().lower()
        if key.startswith("ctrl-") and len(key) == 6:
            ch = key[5]
            out.append({"@": 0, "[": 27, "\\": 28, "]": 29, "^": 30, "_": 31}.get(ch, (ord(ch) & 0x1F)))
        elif len(key) == 1:
            out.append(ord(key))
        else:
            from ketch.errors import InvalidArgument

            raise InvalidArgument(f"Invalid detach keys ({text}) provided")
    return bytes(out)


def terminal_size(fd: int) -> tuple[int, int] | None:
    try:
        size = os.get_terminal_size(fd)
    except OSError:
        return None
    return size.lines, size.columns


def write_bytes(stream: IO[str], data: bytes) -> None:
    buffer = getattr(stream, "buffer", None)
    if buffer is not None:
        buffer.write(data)
        buffer.flush()
    else:
        stream.write(data.decode(errors="replace"))
        stream.flush()


def relay(
    sock: _socket.socket,
    *,
    stdout: IO[str],
    stderr: IO[str],
    stdin_fd: int | None,
    tty: bool,
    detach_keys: bytes = DEFAULT_DETACH_KEYS,
    on_signal: Callable[[int], None] | None = None,
) -> int | None:
    """Relay until the container exits (its exit code) or the user detaches (None)."""
    from ketch.engine import _attach

    raw_state = None
    if tty and stdin_fd is not None and os.isatty(stdin_fd):
        import termios
        import tty as tty_mod

        raw_state = termios.tcgetattr(stdin_fd)
        tty_mod.setraw(stdin_fd)
    wake_r, wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    pending: list[int] = []

    def handler(signum: int, _frame: object) -> None:
        pending.append(signum)

    old_wake = signal.set_wakeup_fd(wake_w)
    watched = [signal.SIGWINCH] if tty else [signal.SIGINT, signal.SIGTERM, signal.SIGHUP]
    old = {s: signal.signal(s, handler) for s in watched}
    if tty and stdin_fd is not None:
        size = terminal_size(stdin_fd)
        if size:
            sock.sendall(_attach.frame(_attach.RESIZE, f"{size[0]} {size[1]}".encode()))
    reader = _attach.FrameReader()
    matched = 0
    fds: list[int] = [sock.fileno(), wake_r]
    if stdin_fd is not None:
        fds.append(stdin_fd)
    try:
        while True:
            try:
                ready, _, _ = select.select(fds, [], [])
            except InterruptedError:
                ready = []
            if wake_r in ready:
                try:  # noqa: SIM105 (contextlib costs an import)
                    os.read(wake_r, 64)
                except BlockingIOError:
                    pass
                while pending:
                    signum = pending.pop(0)
                    if signum == signal.SIGWINCH and stdin_fd is not None:
                        size = terminal_size(stdin_fd)
                        if size:
                            sock.sendall(_attach.frame(_attach.RESIZE, f"{size[0]} {size[1]}".encode()))
                    elif on_signal is not None:
                        on_signal(signum)
            if sock.fileno() in ready:
                data = sock.recv(65536)
                if not data:
                    return -1  # no exit status: the caller asks the engine
                for kind, payload in reader.feed(data):
                    if kind == _attach.STDOUT:
                        write_bytes(stdout, payload)
                    elif kind == _attach.STDERR:
                        write_bytes(stderr, payload)
                    elif kind == _attach.EXIT:
                        from ketch.oci._json import loads

                        return int(loads(payload, "exit status")["StatusCode"])
            if stdin_fd is not None and stdin_fd in ready:
                data = os.read(stdin_fd, 65536)
                if not data:
                    sock.sendall(_attach.frame(_attach.CLOSE_STDIN, b""))
                    fds.remove(stdin_fd)
                    continue
                if tty and detach_keys:
                    out = bytearray()
                    for b in data:
                        if b == detach_keys[matched]:
                            matched += 1
                            if matched == len(detach_keys):
                                return None
                            continue
                        if matched:
                            out += detach_keys[:matched]
                            matched = 0
                        out.append(b)
                    data = bytes(out)
                if data:
                    sock.sendall(_attach.frame(_attach.STDIN, data))
    finally:
        for s, h in old.items():
            signal.signal(s, h)
        signal.set_wakeup_fd(old_wake)
        os.close(wake_r)
        os.close(wake_w)
        if raw_state is not None:
            import termios

            termios.tcsetattr(stdin_fd, termios.TCSADRAIN, raw_state)  # type: ignore[arg-type]
        sock.close()


_ = struct
