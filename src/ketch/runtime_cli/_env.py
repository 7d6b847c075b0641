"""The global flags (``--root``, ``--log``...) and how messages reach the user."""

import os
import sys
import time

__all__ = ["Globals"]


class Globals:
    """runc's global flags, parsed once by ``main`` and handed to every verb."""

    __slots__ = ("debug", "log", "log_format", "root", "systemd_cgroup")

    def __init__(
        self,
        root: str = "/run/ketch",
        log: str | None = None,
        log_format: str = "text",
        debug: bool = False,
        systemd_cgroup: bool = False,
    ) -> None:
        self.root = root
        self.log = log
        self.log_format = log_format
        self.debug = debug
        self.systemd_cgroup = systemd_cgroup

    def store(self) -> "StateDir":
        from ketch.runtime.state import StateDir

        return StateDir(self.root)

    def _log_line(self, level: str, message: str) -> str:
        now = time.time()
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1e9):09d}Z"
        if self.log_format == "json":
            from ketch.oci._json import dumps

            return dumps({"level": level, "msg": message, "time": stamp}) + "\n"
        return f'time="{stamp}" level={level} msg="{message}"\n'

    def emit(self, level: str, message: str) -> None:
        """An ``error``/``warning`` line to stderr and, with ``--log``, to the log file."""
        if self.log:
            try:
                fd = os.open(self.log, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
                try:
                    os.write(fd, self._log_line(level, message).encode())
                finally:
                    os.close(fd)
            except OSError:
                pass
        prefix = "" if level == "error" else f"{level}: "
        try:
            sys.stderr.write(f"ketch-runtime: {prefix}{message}\n")
            sys.stderr.flush()
        except (OSError, ValueError):
            pass

    def warn(self, message: str) -> None:
        self.emit("warning", message)


TYPE_CHECKING = False
if TYPE_CHECKING:
    from ketch.runtime.state import StateDir
