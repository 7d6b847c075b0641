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

__all__ = ["connect_console_socket", "send_console", "setup_console"]


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
