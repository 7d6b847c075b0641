"""Command-line splitting and docker's flag values."""

from __future__ import annotations

import argparse

import pytest

from ketch.cli._context import CommandParser, UsageError
from ketch.cli.commands import _create_flags, run
from ketch.cli.commands._args import parse_bytes, split_at_positional


def _parser() -> argparse.ArgumentParser:
    p = CommandParser(prog="ketch run", add_help=False)
    run.configure(p)
    return p


@pytest.mark.parametrize(
    ("argv", "head", "tail"),
    [
        (["busybox", "ls", "-l"], ["busybox"], ["ls", "-l"]),
        (["-it", "--rm", "busybox", "sh"], ["-it", "--rm", "busybox"], ["sh"]),
        (["-e", "A=1", "-eB=2", "busybox", "-e"], ["-e", "A=1", "-eB=2", "busybox"], ["-e"]),
        (["--name=x", "-v", "/a:/b", "img"], ["--name=x", "-v", "/a:/b", "img"], []),
        (["-itd", "img", "--", "x"], ["-itd", "img"], ["--", "x"]),
        (["-m", "64m", "--", "img", "cmd"], ["-m", "64m", "img"], ["cmd"]),
    ],
)
def test_split_at_image(argv: list[str], head: list[str], tail: list[str]) -> None:
    assert split_at_positional(_parser(), argv) == (head, tail)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("1024", 1024), ("64m", 64 << 20), ("1g", 1 << 30), ("1.5k", 1536), ("512MB", 512 << 20),
     ("2 GiB", 2 << 30)],
)
def test_parse_bytes(value: str, expected: int) -> None:
    assert parse_bytes(value, "-m") == expected


@pytest.mark.parametrize("value", ["foo", "-1", "12x", ""])
def test_parse_bytes_rejects(value: str) -> None:
    with pytest.raises(UsageError, match="invalid size"):
        parse_bytes(value, "-m, --memory")


def _request(*argv: str) -> tuple[dict[str, object], dict[str, object]]:
    from ketch.cli.commands._args import parse_with_command

    args = parse_with_command(_parser(), list(argv))
    return _create_flags.create_request(args, detach=False)


def test_create_request_maps_flags() -> None:
    config, host = _request(
        "-it", "-e", "A=1", "-w", "/w", "-u", "1:2", "--entrypoint", "sh", "-l", "k=v",
        "--read-only", "--tmpfs", "/t:size=1m", "-v", "/h:/c:ro", "-m", "64m", "--cpus", "1.5",
        "--pids-limit", "10", "--ulimit", "nofile=10:20", "--cap-add", "NET_ADMIN",
        "--security-opt", "no-new-privileges", "--restart", "on-failure:3", "--init",
        "--stop-signal", "SIGINT", "--stop-timeout", "3", "busybox", "-c", "true",
    )
    assert config["Entrypoint"] == ["sh"] and config["Cmd"] == ["-c", "true"]
    assert config["Tty"] and config["OpenStdin"] and config["StdinOnce"]
    assert config["Labels"] == {"k": "v"} and config["StopTimeout"] == 3
    assert host["Memory"] == 64 << 20 and host["NanoCpus"] == 1_500_000_000
    assert host["Ulimits"] == [{"Name": "nofile", "Soft": 10, "Hard": 20}]
    assert host["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 3}
    assert host["Tmpfs"] == {"/t": "size=1m"} and host["Binds"] == ["/h:/c:ro"]


@pytest.mark.parametrize(
    "argv",
    [["--ulimit", "nofile", "img"], ["--ulimit", "nofile=5:1", "img"], ["--cpus", "x", "img"],
     ["--restart", "sometimes", "img"], ["--pids-limit", "many", "img"], ["--mount", "type=bind", "img"]],
)
def test_create_request_rejects(argv: list[str]) -> None:
    with pytest.raises(UsageError):
        _request(*argv)


def test_entrypoint_empty_string_resets() -> None:
    config, _ = _request("--entrypoint", "", "img")
    assert config["Entrypoint"] == [""]


def test_detach_keys() -> None:
    from ketch.cli.commands._session import DEFAULT_DETACH_KEYS, parse_detach_keys
    from ketch.errors import InvalidArgument

    assert parse_detach_keys(None) == DEFAULT_DETACH_KEYS == b"\x10\x11"
    assert parse_detach_keys("ctrl-a,x") == b"\x01x"
    assert parse_detach_keys("ctrl-@,ctrl-[") == b"\x00\x1b"
    with pytest.raises(InvalidArgument):
        parse_detach_keys("ctrl-aa")
