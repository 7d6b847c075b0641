"""The container's terminal: a pty of its own devpts, sent to the caller's console socket.

As runc does: the runtime connects to ``--console-socket`` before forking; the
init (inside the container, after ``enter_rootfs``) opens a pty, binds the slave
onto /dev/console, makes it its controlling terminal and stdio, and sends the
master over the socket with SCM_RIGHTS (containerd, conmon and ``recvtty`` expect
exactly that).
"""

import os

from ketch.errors import FailedPrecondition, InvalidArgument, NotFound
from ketch.oci.runtime_spec import Process

__all__ = [
    "ConsolePair",
    "connect_console_socket",
    "relay",
    "send_console",
    "setup_console",
]


def connect_console_socket(path: str) -> int:
    """Connect to the caller's unix socket; the connected fd (close-on-exec)."""
    import socket

    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(path)
    except FileNotFoundError:
        sock.close()
        raise NotFound(f"--console-socket {path}: no such socket") from None
    except OSError as e:
        sock.close()
        raise InvalidArgument(f"--console-socket {path}: {e.strerror or e}") from None
    return sock.detach()


def send_console(socket_fd: int, master: int, name: str = "/dev/ptmx") -> None:
    """Send the pty master over the connected socket (SCM_RIGHTS); closes the socket."""
    import socket

    sock = socket.socket(fileno=socket_fd)
    try:
        socket.send_fds(sock, [name.encode()], [master])
    finally:
        sock.close()


def setup_console(socket_fd: int, process: Process, *, bind_console: bool = True) -> None:
    """In the init, inside the rootfs: pty, /dev/console, controlling tty, stdio, send master."""
    from ketch.linux.pty import open_pty, set_controlling_tty, set_window_size
    from ketch.runtime.rootfs import console_bind

    ptmx = "/dev/pts/ptmx" if os.path.exists("/dev/pts/ptmx") else "/dev/ptmx"
    try:
        master, slave_path = open_pty(ptmx)
    except OSError as e:
        raise FailedPrecondition(f"process.terminal: cannot open a pty ({e.strerror})") from e
    try:
        slave = os.open(slave_path, os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)
        try:
            os.fchown(slave, process.user.uid, -1)
            if process.console_size is not None:
                size = process.console_size
                set_window_size(slave, size.height, size.width)
            if bind_console:
                console_bind(None, slave)
            send_console(socket_fd, master)
            os.setsid()
            set_controlling_tty(slave)
            for target in (0, 1, 2):
                os.dup2(slave, target)  # inheritable: the container process keeps them
        finally:
            if slave > 2:
                os.close(slave)
    finally:
        os.close(master)


class ConsolePair:
    """For ``run``/``exec`` with a terminal but no --console-socket (as runc does): the
    runtime keeps one end of a socket pair, receives the pty master and relays it."""

    __slots__ = ("child_fd", "parent")

    def __init__(self) -> None:
        import socket

        self.parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        child.set_inheritable(False)
        self.child_fd = child.detach()

    def receive_master(self) -> int:
        """The pty master the container sent (after its init/exec reported ready)."""
        import socket

        try:
            _, fds, _, _ = socket.recv_fds(self.parent, 64, 1)
        finally:
            self.parent.close()
        if not fds:
            raise FailedPrecondition("process.terminal: the container sent no pty")
        return fds[0]


def _copy_size(source: int, target: int) -> None:
    import fcntl
    import termios

    try:
        size = fcntl.ioctl(source, termios.TIOCGWINSZ, b"\0" * 8)
        fcntl.ioctl(target, termios.TIOCSWINSZ, size)
    except OSError:
        pass  # not a terminal


def relay(master: int, stdin: int = 0, stdout: int = 1) -> None:
    """Copy stdin to the pty and the pty to stdout until the container side closes.

    The runtime's terminal (when stdin is one) is put in raw mode meanwhile and its
    size is given to the pty, now and on SIGWINCH.
    """
    import _signal  # type: ignore[import-not-found]
    import select

    saved = None
    if os.isatty(stdin):
        import termios
        import tty

        saved = termios.tcgetattr(stdin)
        tty.setraw(stdin)
        _copy_size(stdin, master)
    previous = _signal.signal(_signal.SIGWINCH, lambda *_: _copy_size(stdin, master))
    poller = select.poll()
    poller.register(master, select.POLLIN)
    reading_stdin = True
    poller.register(stdin, select.POLLIN)
    try:
        while True:
            for fd, events in poller.poll():
                if fd == master:
                    try:
                        data = os.read(master, 65536)
                    except OSError:  # EIO: every slave fd is closed
                        data = b""
                    if not data:
                        return
                    view = memoryview(data)
                    while view:
                        view = view[os.write(stdout, view) :]
                elif reading_stdin:
                    data = os.read(stdin, 65536) if events & (select.POLLIN | select.POLLHUP) else b""
                    if not data:
                        poller.unregister(stdin)
                        reading_stdin = False
                        continue
                    os.write(master, data)
    finally:
        _signal.signal(_signal.SIGWINCH, previous)
        if saved is not None:
            import termios

            termios.tcsetattr(stdin, termios.TCSADRAIN, saved)
