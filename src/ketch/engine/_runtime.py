"""Drive the OCI runtime through runc's command line (``ketch-runtime`` or ``runc``)."""

from __future__ import annotations

import os

from ketch.engine._exitcode import with_exit_code
from ketch.errors import FailedPrecondition, NotFound, PermissionDenied, Unavailable
from ketch.oci import _json

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["RuntimeClient", "runtime_error"]

def _clean(stderr: str) -> str:
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    if not lines:
        return ""
    line = lines[-1]
    import re  # only on an error: the monitor imports this module

    match = re.search(r'msg="((?:[^"\\]|\\.)*)"', line)
    if match:
        return match.group(1).replace('\\"', '"').replace("\\\\", "\\")
    return line.removeprefix("ketch-runtime: ").removeprefix("runc: ")


def runtime_error(what: str, stderr: str) -> Exception:
    """A ketch error for a failed runtime call; exec failures carry docker's exit codes."""
    message = _clean(stderr) or f"{what} failed"
    lowered = message.lower()
    if "executable file not found" in lowered or "no such file or directory" in lowered:
        error: Exception = NotFound(f"failed to create task for container: {message}")
        with_exit_code(error, 127)
        return error
    if "permission denied" in lowered and "exec" in lowered:
        error = PermissionDenied(f"failed to create task for container: {message}")
        with_exit_code(error, 126)
        return error
    if "does not exist" in lowered or "not exist" in lowered:
        return NotFound(message)
    if "not running" in lowered or "not paused" in lowered or "paused" in lowered:
        return FailedPrecondition(message)
    return Unavailable(f"{what}: {message}")


class RuntimeClient:
    """Calls of one runtime binary with its state under ``root``."""

    def __init__(self, binary: str, root: str | os.PathLike[str]) -> None:
        self.binary = binary
        self.root = os.fspath(root)

    def argv(self, *args: str) -> list[str]:
        return [self.binary, "--root", self.root, *args]

    def _run(self, what: str, *args: str, input_: bytes | None = None) -> str:
        try:
            import subprocess  # not at import time: the in-process runtime never needs it

            proc = subprocess.run(
                self.argv(*args), input=input_, capture_output=True, check=False
            )
        except FileNotFoundError as e:
            raise Unavailable(f"OCI runtime {self.binary!r} not found") from e
        if proc.returncode != 0:
            raise runtime_error(what, proc.stderr.decode(errors="replace"))
        return proc.stdout.decode(errors="replace")

    def start(self, cid: str) -> None:
        self._run("start", "start", cid)

    def kill(self, cid: str, signal: int | str, *, all_: bool = False) -> None:
        self._run("kill", "kill", *(("--all",) if all_ else ()), cid, str(signal))

    def delete(self, cid: str, *, force: bool = True) -> None:
        self._run("delete", "delete", *(("--force",) if force else ()), cid)

    def pause(self, cid: str) -> None:
        self._run("pause", "pause", cid)

    def resume(self, cid: str) -> None:
        self._run("resume", "resume", cid)

    def state(self, cid: str) -> dict[str, Any] | None:
        try:
            out = self._run("state", "state", cid)
        except NotFound:
            return None
        doc: dict[str, Any] = _json.loads(out, f"{self.binary} state")
        return doc

    def ps(self, cid: str) -> list[int]:
        out = self._run("ps", "ps", "--format", "json", cid)
        pids = _json.loads(out or "[]", f"{self.binary} ps") or []
        return [int(p) for p in pids]

    def update(self, cid: str, resources: dict[str, Any]) -> None:
        self._run("update", "update", "-r", "-", cid, input_=_json.dumps(resources).encode())

    def stats(self, cid: str) -> dict[str, Any]:
        out = self._run("events", "events", "--stats", cid)
        doc: dict[str, Any] = _json.loads(out.strip().splitlines()[-1], f"{self.binary} events") if out.strip() else {}
        return doc
