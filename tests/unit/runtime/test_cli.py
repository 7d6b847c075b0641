"""The runc-compatible command line: flags, signals, sizes, and the documents it prints."""

import json
from pathlib import Path

import pytest

from ketch.errors import InvalidArgument
from ketch.oci.validate import validate_runtime_config
from ketch.runtime_cli import main
from ketch.runtime_cli._args import Flag, parse
from ketch.runtime_cli._create_flags import CREATE_FLAGS
from ketch.runtime_cli._v_events import parse_duration
from ketch.runtime_cli._v_exec import FLAGS as EXEC_FLAGS
from ketch.runtime_cli._v_kill import parse_signal
from ketch.runtime_cli._v_run import FLAGS as RUN_FLAGS
from ketch.runtime_cli._v_update import FLAGS as UPDATE_FLAGS
from ketch.runtime_cli._v_update import parse_bytes, resources_from_flags
from tests.unit.runtime._schemas import validator


def test_create_flags_as_containerd_passes_them() -> None:
    argv = ["--bundle", "/b", "--pid-file", "/p", "--console-socket=/s", "--no-pivot", "--no-new-keyring", "--preserve-fds", "2", "ctr1"]
    values, rest = parse(argv, CREATE_FLAGS, "create")
    assert rest == ["ctr1"]
    assert values["bundle"] == "/b" and values["pid_file"] == "/p"
    assert values["console_socket"] == "/s" and values["no_pivot"] and values["preserve_fds"] == 2


def test_short_go_style_and_bool_values() -> None:
    values, rest = parse(["-b", "x", "-detach=false", "-d=true", "id"], RUN_FLAGS, "run")
    assert values["bundle"] == "x" and values["detach"] is True and rest == ["id"]


def test_exec_stops_at_the_first_positional() -> None:
    values, rest = parse(["-e", "A=1", "--env", "B=2", "-t", "--user", "1:2", "--cap", "CAP_KILL", "c", "sh", "-c", "x"], EXEC_FLAGS, "exec")
    assert values["env"] == ["A=1", "B=2"] and values["tty"] and values["user"] == "1:2"
    assert values["cap"] == ["CAP_KILL"]
    assert rest == ["c", "sh", "-c", "x"]
    _, rest = parse(["--", "-c"], EXEC_FLAGS, "exec")
    assert rest == ["-c"]


def test_flag_errors() -> None:
    with pytest.raises(InvalidArgument, match="not defined: --nope"):
        parse(["--nope", "x"], CREATE_FLAGS, "create")
    with pytest.raises(InvalidArgument, match="needs an argument"):
        parse(["--bundle"], CREATE_FLAGS, "create")
    with pytest.raises(InvalidArgument, match="expected a number"):
        parse(["--preserve-fds", "x"], CREATE_FLAGS, "create")
    with pytest.raises(InvalidArgument, match="true or false"):
        parse(["--flag=maybe"], (Flag("flag"),), "t")


@pytest.mark.parametrize(
    ("text", "number"),
    [("9", 9), ("KILL", 9), ("SIGKILL", 9), ("sigterm", 15), ("term", 15), ("SIGUSR1", 10), ("WINCH", 28), ("RTMIN", 34), ("SIGRTMIN+2", 36), ("RTMAX-1", 63)],
)
def test_signals(text: str, number: int) -> None:
    assert parse_signal(text) == number


@pytest.mark.parametrize("text", ["", "0", "65", "SIGNOPE", "RTMIN+40", "-9"])
def test_bad_signals(text: str) -> None:
    with pytest.raises(InvalidArgument):
        parse_signal(text)


def test_update_flags_make_resources() -> None:
    values, rest = parse(["--memory", "64m", "--memory-swap", "-1", "--cpu-shares", "512", "--cpu-quota", "50000", "--cpu-period", "100000", "--cpuset-cpus", "0-1", "--pids-limit", "9", "--blkio-weight", "300", "c"], UPDATE_FLAGS, "update")
    assert rest == ["c"]
    assert resources_from_flags(values) == {
        "memory": {"limit": 64 << 20, "swap": -1},
        "cpu": {"shares": 512, "quota": 50000, "period": 100000, "cpus": "0-1"},
        "pids": {"limit": 9},
        "blockIO": {"weight": 300},
    }
    assert parse_bytes("1g", "memory") == 1 << 30
    assert parse_bytes("512KiB", "memory") == 512 << 10
    assert parse_bytes("4096", "memory") == 4096
    with pytest.raises(InvalidArgument):
        parse_bytes("lots", "memory")


def test_durations() -> None:
    assert parse_duration("5s") == 5
    assert parse_duration("1m30s") == 90
    assert parse_duration("250ms") == pytest.approx(0.25)
    for bad in ("", "5", "x", "0s"):
        with pytest.raises(InvalidArgument):
            parse_duration(bad)


def test_features_document_is_valid(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["features"]) == 0
    doc = json.loads(capsys.readouterr().out)
    validator("features-schema.json").validate(doc)
    assert doc["ociVersionMax"] == "1.3.0"
    assert "user" in doc["linux"]["namespaces"]
    assert doc["linux"]["cgroup"]["systemd"] is False


def test_spec_writes_a_valid_config_and_never_overwrites(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["spec", "--bundle", str(tmp_path)]) == 0
    config = json.loads((tmp_path / "config.json").read_text())
    validate_runtime_config(config)
    assert config["process"]["args"] == ["sh"] and config["root"]["path"] == "rootfs"
    assert main(["spec", "--bundle", str(tmp_path)]) == 1
    assert "already exists" in capsys.readouterr().err
    rootless = tmp_path / "rootless"
    rootless.mkdir()
    assert main(["spec", "--rootless", "-b", str(rootless)]) == 0
    config = json.loads((rootless / "config.json").read_text())
    validate_runtime_config(config)
    assert {"type": "user"} in config["linux"]["namespaces"]


def test_errors_are_one_line_and_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = str(tmp_path)
    cases = [
        (["--root", root, "frob"], "no such command 'frob'"),
        (["--root", root, "state"], "expected exactly one argument"),
        (["--root", root, "state", "ghost"], "container 'ghost' does not exist"),
        (["--root", root, "--systemd-cgroup", "list"], "--systemd-cgroup"),
        (["--root", root, "--log-format", "xml", "list"], "--log-format"),
        (["--root", root, "list", "--format", "yaml"], "--format"),
        (["--root", root, "update", "c"], "nothing to update"),
    ]
    for argv, message in cases:
        assert main(argv) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("ketch-runtime: ") and message in err, err


def test_log_file_records_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = tmp_path / "runtime.log"
    assert main(["--root", str(tmp_path), "--log", str(log), "kill", "ghost", "KILL"]) == 1
    assert 'level=error msg="container \'ghost\' does not exist"' in log.read_text()
    capsys.readouterr()


def test_list_of_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--root", str(tmp_path / "none"), "list", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    assert main(["--root", str(tmp_path / "none"), "list"]) == 0
    assert capsys.readouterr().out.split() == ["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]


def test_version_and_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert "spec: 1.3.0" in capsys.readouterr().out
    assert main([]) == 0
    assert "usage: ketch-runtime" in capsys.readouterr().out


