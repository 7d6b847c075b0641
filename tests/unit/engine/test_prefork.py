"""The early monitor's plumbing: what its fork keeps open, and a monitor that died early."""

from __future__ import annotations

import os
import sys

from ketch.engine._monitor import _detach_stdio
from ketch.engine._prefork import Preforked


class _FileFinder:
    """A meta path finder that reads modules from an open file (as ``ketch._bundle``'s)."""

    def __init__(self, fd: int) -> None:
        self._fd = fd

    def fileno(self) -> int:
        return self._fd

    def find_spec(self, *args: object) -> None:
        return None


def _in_child(check: object) -> int:
    """Run ``check()`` in a forked child; its exit status (0: it returned True)."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        code = 1
        try:
            code = 0 if check() else 2  # type: ignore[operator]
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def _is_open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True


def test_detach_keeps_what_the_importer_reads_and_closes_the_rest() -> None:
    kept_r, kept_w = os.pipe()
    importer_fd = os.open("/dev/null", os.O_RDONLY | os.O_CLOEXEC)
    other = os.open("/dev/null", os.O_RDONLY | os.O_CLOEXEC)
    finder = _FileFinder(importer_fd)
    sys.meta_path.insert(0, finder)  # type: ignore[arg-type]
    try:
        def check() -> bool:
            _detach_stdio({kept_r})
            return _is_open(kept_r) and _is_open(importer_fd) and not _is_open(other)

        assert _in_child(check) == 0
    finally:
        sys.meta_path.remove(finder)  # type: ignore[arg-type]
        for fd in (kept_r, kept_w, importer_fd, other):
            os.close(fd)


def test_a_monitor_that_died_before_launch_is_an_error() -> None:
    go_r, go_w = os.pipe()
    report_r, report_w = os.pipe()
    for fd in (go_r, report_w):  # as the monitor's exit leaves them
        os.close(fd)
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the intermediate process of the double fork
        os._exit(0)
    early = Preforked(go_w, report_r, pid)
    report = early.launch({"cid": "x", "container_dir": "/nonexistent", "bundle": "/nonexistent"})
    assert report == {"ok": False, "error": "the container monitor died while starting", "code": 125}


def test_the_preload_lists_name_modules_that_exist() -> None:
    """The monitor's preload skips names that do not import (it is an optimisation);
    a module renamed in the runtime would silently put its import back on the start path."""
    import importlib

    from ketch.engine._monitor import _EXIT_MODULES, _RUNTIME_MODULES

    for name in (*_RUNTIME_MODULES, *_EXIT_MODULES):
        importlib.import_module(name)
