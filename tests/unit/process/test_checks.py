"""Environment, rlimits, scheduling names and PATH lookup (pure)."""

import os
import resource
from pathlib import Path

import pytest

from ketch.errors import InvalidArgument, NotFound, PermissionDenied
from ketch.oci.runtime_spec import (
    IOPriority,
    Linux,
    Personality,
    POSIXRlimit,
    Process,
    Scheduler,
)
from ketch.runtime._process_checks import (
    RLIMITS,
    check_rlimits,
    check_scheduling,
    lookup_path,
    process_environment,
    rlimit_value,
)
from ketch.runtime.process import resolve_executable, validate_process


def test_rlimit_numbers_match_the_platform() -> None:
    checked = 0
    for name, number in RLIMITS.items():
        if hasattr(resource, name):  # Python lacks RLIMIT_LOCKS
            assert getattr(resource, name) == number, name
            checked += 1
    assert checked >= 15 and len(RLIMITS) == 16
    assert RLIMITS["RLIMIT_LOCKS"] == 10


def test_rlimits_checked_and_converted() -> None:
    p = Process(cwd="/", rlimits=(
        POSIXRlimit(type="RLIMIT_NOFILE", soft=512, hard=1024),
        POSIXRlimit(type="RLIMIT_CORE", soft=2**64 - 1, hard=2**64 - 1),
    ))
    assert check_rlimits(p) == [
        (7, 512, 1024, "RLIMIT_NOFILE"), (4, 2**64 - 1, 2**64 - 1, "RLIMIT_CORE"),
    ]
    assert rlimit_value(2**64 - 1) == resource.RLIM_INFINITY
    assert rlimit_value(1024) == 1024


@pytest.mark.parametrize(
    ("rlimits", "message"),
    [
        ((POSIXRlimit(type="RLIMIT_BOGUS", soft=1, hard=1),), r"rlimits\[0\]\.type: unknown rlimit"),
        ((POSIXRlimit(type="RLIMIT_NOFILE", soft=2, hard=1),), r"soft limit 2 exceeds hard limit 1"),
        ((POSIXRlimit(type="RLIMIT_NOFILE", soft=-1, hard=1),), r"limits must be 0 to 2\^64-1"),
        (
            (POSIXRlimit(type="RLIMIT_NOFILE", soft=1, hard=1),) * 2,
            r"rlimits\[1\]\.type: RLIMIT_NOFILE is set twice",
        ),
    ],
)
def test_bad_rlimits(rlimits: tuple[POSIXRlimit, ...], message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        check_rlimits(Process(cwd="/", rlimits=rlimits))


def test_environment_last_value_wins_and_bad_entries_are_named() -> None:
    env = process_environment(Process(cwd="/", env=("A=1", "B=x=y", "A=2", "C=")))
    assert env == {"A": "2", "B": "x=y", "C": ""}
    assert list(env) == ["A", "B", "C"]
    with pytest.raises(InvalidArgument, match=r"process\.env\[1\]: 'NOEQUALS' is not NAME=value"):
        process_environment(Process(cwd="/", env=("A=1", "NOEQUALS")))
    with pytest.raises(InvalidArgument, match=r"process\.env\[0\]"):
        process_environment(Process(cwd="/", env=("=value",)))


@pytest.mark.parametrize(
    ("process", "linux", "message"),
    [
        (Process(cwd="/", oom_score_adj=1001), None, "oomScoreAdj: 1001"),
        (Process(cwd="/", scheduler=Scheduler(policy="SCHED_NOPE")), None, "unknown policy"),
        (
            Process(cwd="/", scheduler=Scheduler(policy="SCHED_OTHER", flags=("X",))),
            None,
            r"scheduler\.flags\[0\]: unknown flag",
        ),
        (Process(cwd="/", io_priority=IOPriority(class_="IOPRIO_CLASS_X")), None, "unknown class"),
        (
            Process(cwd="/", io_priority=IOPriority(class_="IOPRIO_CLASS_BE", priority=8)),
            None,
            "priority: 8 is not in 0..7",
        ),
        (Process(cwd="/"), Linux(personality=Personality(domain="BSD")), "not LINUX or LINUX32"),
        (
            Process(cwd="/"),
            Linux(personality=Personality(domain="LINUX", flags=("F",))),
            "personality.flags",
        ),
    ],
)
def test_bad_scheduling(process: Process, linux: Linux | None, message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        check_scheduling(process, linux)


def test_validate_process_names_missing_host_lsm(monkeypatch: pytest.MonkeyPatch) -> None:
    from ketch.errors import NotImplementedByHost

    if os.path.exists("/sys/fs/selinux/enforce"):
        pytest.skip("this host has SELinux")
    with pytest.raises(NotImplementedByHost, match=r"process\.selinuxLabel"):
        validate_process(Process(cwd="/", args=("sh",), selinux_label="system_u:x"), None)
    with pytest.raises(InvalidArgument, match=r"process\.args"):
        validate_process(Process(cwd="/"), None)


def _exe(path: Path, mode: int = 0o755) -> Path:
    path.write_text("#!/bin/sh\n")
    path.chmod(mode)
    return path


def test_lookup_path_searches_path_in_order(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    _exe(a / "tool", 0o644)  # not executable: skipped
    _exe(b / "tool")
    (a / "dir").mkdir()
    assert lookup_path("tool", f"{a}:{b}") == str(b / "tool")
    with pytest.raises(NotFound, match=r'exec: "dir": executable file not found in \$PATH'):
        lookup_path("dir", str(a))
    with pytest.raises(NotFound, match=r'exec: "nope": executable file not found in \$PATH'):
        lookup_path("nope", f"{a}:{b}")


def test_lookup_with_slash_is_used_as_is(tmp_path: Path) -> None:
    tool = _exe(tmp_path / "tool")
    assert lookup_path(str(tool), "") == str(tool)
    _exe(tmp_path / "plain", 0o644)
    with pytest.raises(PermissionDenied, match=r'exec: ".*plain": permission denied'):
        lookup_path(str(tmp_path / "plain"), "")
    with pytest.raises(NotFound, match=r"no such file or directory"):
        lookup_path(str(tmp_path / "missing"), "")


def test_resolve_executable_uses_process_path(tmp_path: Path) -> None:
    tool = _exe(tmp_path / "tool")
    p = Process(cwd="/", args=("tool",), env=(f"PATH={tmp_path}",))
    assert resolve_executable(p) == str(tool)
    # without PATH in env, the default PATH is searched
    assert resolve_executable(Process(cwd="/", args=("sh",))) in ("/usr/bin/sh", "/bin/sh")


def test_cpu_lists() -> None:
    from ketch.runtime._process_checks import check_cpu_affinity, cpu_list

    assert cpu_list("0-3,7", "x") == {0, 1, 2, 3, 7}
    assert cpu_list("5", "x") == {5}
    for bad in ("", "a", "3-1", "-1", "0-99999"):
        with pytest.raises(InvalidArgument, match="x: "):
            cpu_list(bad, "x")
    p = Process(cwd="/", exec_cpu_affinity={"initial": "0", "final": "1-2"})
    assert check_cpu_affinity(p) == {"initial": {0}, "final": {1, 2}}
    with pytest.raises(InvalidArgument, match=r"execCPUAffinity\.later: unknown stage"):
        check_cpu_affinity(Process(cwd="/", exec_cpu_affinity={"later": "0"}))


@pytest.mark.parametrize(
    ("user", "message"),
    [
        ({"uid": -1}, r"process\.user\.uid: -1 is not a valid id"),
        ({"gid": 2**32 - 1}, r"process\.user\.gid: 4294967295"),  # (gid_t)-1: "unchanged"
        ({"additional_gids": (5, -1)}, r"additionalGids\[1\]"),
        ({"umask": 0o1000}, r"process\.user\.umask"),
    ],
)
def test_ids_that_would_mean_unchanged_are_refused(user: dict[str, object], message: str) -> None:
    from ketch.oci.runtime_spec import User
    from ketch.runtime._process_checks import check_user

    with pytest.raises(InvalidArgument, match=message):
        check_user(Process(cwd="/", user=User(**user)))  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument, match=message):
        validate_process(Process(cwd="/", args=("sh",), user=User(**user)), None)  # type: ignore[arg-type]
