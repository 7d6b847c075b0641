"""Pseudo-terminals in a given devpts: open the master, unlock it, name the slave, make it a ctty."""

import fcntl
import os
import struct

__all__ = ["open_pty", "set_controlling_tty", "set_window_size"]

_TIOCSCTTY = 0x540E
_TIOCSWINSZ = 0x5414
_TIOCGPTN = 0x80045430
_TIOCSPTLCK = 0x40045431


def open_pty(ptmx: str = "/dev/pts/ptmx") -> tuple[int, str]:
    """A new pty of the devpts instance behind ``ptmx``: (master fd, slave path).

    The slave path is named from that devpts (``<dir of ptmx>/<n>``), so a
    container's own ``/dev/pts`` instance is used, never the host's.
    """
    master = os.open(ptmx, os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)
    try:
        fcntl.ioctl(master, _TIOCSPTLCK, struct.pack("i", 0))
        number = struct.unpack("I", fcntl.ioctl(master, _TIOCGPTN, struct.pack("I", 0)))[0]
    except OSError:
        os.close(master)
        raise
    directory = os.path.dirname(ptmx) if os.path.basename(os.path.dirname(ptmx)) == "pts" else "/dev/pts"
    return master, f"{directory}/{number}"


def set_controlling_tty(fd: int) -> None:
    """TIOCSCTTY: make ``fd`` the controlling terminal of the caller (a session leader)."""
    fcntl.ioctl(fd, _TIOCSCTTY, 0)


def set_window_size(fd: int, rows: int, columns: int) -> None:
    fcntl.ioctl(fd, _TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
