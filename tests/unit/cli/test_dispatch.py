"""The dispatcher: command table, lazy imports, docker's messages and exit codes."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

from ketch.cli import COMMANDS, main


def test_every_command_module_has_the_interface() -> None:
    mine = [name for name, module in COMMANDS.items() if module not in (
        "images", "image_cmd", "tag", "rmi", "load", "save", "import_", "history",
        "pull", "push", "login", "logout", "search", "registry")]
    for name in mine:
        module = importlib.import_module(f"ketch.cli.commands.{COMMANDS[name]}")
        assert callable(module.configure) and callable(module.run), name


def test_only_the_chosen_command_is_imported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for mod in [m for m in sys.modules if m.startswith("ketch.cli.commands.")]:
        del sys.modules[mod]
    assert main(["--root", str(tmp_path), "wait", "ghost"]) == 1
    loaded = {m for m in sys.modules if m.startswith("ketch.cli.commands.")}
    assert "ketch.cli.commands.run" not in loaded and "ketch.cli.commands.ps" not in loaded


def test_unknown_command_and_flag(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--root", str(tmp_path), "frobnicate"]) == 125
    assert "'frobnicate' is not a ketch command" in capsys.readouterr().err
    assert main(["--root", str(tmp_path), "ps", "--bogus"]) == 125
    err = capsys.readouterr().err
    assert "unrecognized arguments: --bogus" in err and "See 'ketch ps --help'." in err


def test_engine_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--root", str(tmp_path), "rm", "ghost"]) == 1
    assert capsys.readouterr().err == "Error response from daemon: No such container: ghost\n"
    assert main(["--root", str(tmp_path), "inspect", "ghost"]) == 1
    captured = capsys.readouterr()
    assert captured.out == "[]\n" and "Traceback" not in captured.err
    assert main(["--root", str(tmp_path), "ps", "--format", "{{.Nope"]) == 1  # docker: exit 1
    assert "failed to parse template" in capsys.readouterr().err


def test_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 0
    out = capsys.readouterr().out
    assert "run" in out and "ps" in out
