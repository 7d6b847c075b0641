"""The lean parser of ``run``/``create`` agrees with argparse, or leaves the line to it."""

from __future__ import annotations

import sys

import pytest

from ketch.cli._context import CommandParser
from ketch.cli.commands import create, run
from ketch.cli.commands._args import parse_with_command

AGREE = [
    ["busybox"],
    ["--rm", "busybox", "true"],
    ["-it", "--rm", "busybox", "sh", "-c", "echo hi"],
    ["-itd", "--name", "web", "busybox"],
    ["-e", "A=1", "-eB=2", "--env", "C=3", "--env=D=4", "busybox", "-e", "x"],
    ["-ite", "A=1", "busybox"],
    ["--name=", "--entrypoint", "", "img"],
    ["-v", "/a:/b", "--volume", "/c:/d:ro", "-m", "64m", "--net", "host", "img", "ls"],
    ["--network=host", "--restart", "always", "--sig-proxy=false", "-h", "box", "img"],
    ["-u", "1:2", "-w", "/w", "--cap-add", "NET_ADMIN", "--cap-drop", "ALL", "img"],
    ["--read-only", "--privileged", "--init", "-a", "stdout", "img", "--rm"],
    ["-", "x"],
]

FALL_BACK = [
    ["--help"],
    ["--na", "x", "img"],  # an abbreviation: argparse's business
    ["--bogus", "img"],
    ["-x", "img"],
    ["--rm=1", "img"],
    ["-e=A", "img"],
    ["--pids-limit", "-1", "img"],
    ["--", "img", "cmd"],
    ["--name"],
    ["--rm"],
    [],
]


def _argparse(module: object, argv: list[str]) -> dict[str, object]:
    parser = CommandParser(prog="ketch run", add_help=False)
    parser.add_argument("--help", action="help")
    module.configure(parser)  # type: ignore[attr-defined]
    return vars(parse_with_command(parser, argv))


@pytest.mark.parametrize("argv", AGREE)
def test_agrees_with_argparse(argv: list[str]) -> None:
    quick = run.quick_parse(argv)
    assert quick is not None
    assert vars(quick) == _argparse(run, argv)


@pytest.mark.parametrize("argv", AGREE)
def test_create_agrees_with_argparse(argv: list[str]) -> None:
    argv = [a for a in argv if a not in ("-itd", "--sig-proxy=false", "--rm")]
    quick = create.quick_parse(argv)
    assert quick is not None
    assert vars(quick) == _argparse(create, argv)


@pytest.mark.parametrize("argv", FALL_BACK)
def test_leaves_the_rest_to_argparse(argv: list[str]) -> None:
    assert run.quick_parse(argv) is None


def test_defaults_are_fresh_lists() -> None:
    first = run.quick_parse(["-e", "A=1", "img"])
    second = run.quick_parse(["img"])
    assert first is not None and second is not None
    assert vars(first)["env"] == ["A=1"] and vars(second)["env"] == []


def test_run_path_does_not_import_argparse() -> None:
    import subprocess

    code = (
        "import sys; from ketch.cli.commands import run;"
        "a = run.quick_parse(['--rm', '-e', 'A=1', 'busybox', 'true']);"
        "from ketch.cli.commands._create_flags import create_request; create_request(a, detach=False);"
        "sys.exit('argparse' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
