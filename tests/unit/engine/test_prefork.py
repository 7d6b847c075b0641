"""The early monitor's plumbing: a monitor that died early, the preload lists."""

from __future__ import annotations

import os

from ketch.engine._prefork import Preforked


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
