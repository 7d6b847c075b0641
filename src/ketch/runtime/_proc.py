"""What /proc says about a process: whether it still runs and when it started."""

__all__ = ["process_start_time"]


def process_start_time(pid: int) -> int | None:
    """The start time (clock ticks after boot) of a live ``pid``; None if gone or a zombie.

    A pid can be reused: callers compare this with the start time they recorded.
    """
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    except OSError:
        return None
    # "pid (comm) S ppid ...": comm may hold spaces and parentheses; split after the last ')'
    fields = data[data.rfind(b")") + 2 :].split()
    if len(fields) < 20 or fields[0] in (b"Z", b"X", b"x"):
        return None
    return int(fields[19])
