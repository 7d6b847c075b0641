"""Acceptance: ``ketch`` behaves as a docker user expects on daily commands.

Each expectation was checked against docker (20.10, the Debian dockerd) and
podman on this machine: output shape, exit codes (125 engine, 126 cannot
invoke, 127 not found, else the container's code) and "nothing half-made on
disk" after bad input.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.integration.cli.conftest import Ketch

pytestmark = pytest.mark.root


def _fails_cleanly(k: Ketch, *args: str, code: int, message: str) -> None:
    """``ketch *args`` fails with ``code`` naming ``message`` and leaves no container."""
    before = sorted(k.container_ids())
    proc = k(*args)
    assert proc.returncode == code, (proc.returncode, proc.stderr)
    assert message in proc.stderr, proc.stderr
    assert proc.stdout == ""
    assert sorted(k.container_ids()) == before


def test_exit_codes_follow_docker(k: Ketch) -> None:
    assert k("run", "--rm", "busybox", "sh", "-c", "exit 3").returncode == 3
    _fails_cleanly(k, "run", "--rm", "busybox", "nosuchcmd", code=127,
                   message='"nosuchcmd": executable file not found in $PATH')
    _fails_cleanly(k, "run", "--rm", "busybox", "/etc/passwd", code=126,
                   message="permission denied")
    _fails_cleanly(k, "run", "--rm", "--bogus", "busybox", "true", code=125, message="--bogus")
    _fails_cleanly(k, "run", "--rm", "BAD::ref", "true", code=125,
                   message="invalid reference format")
    # detached: the failed start is reported with 127 and the container stays "Created"
    proc = k("run", "-d", "--name", "nf", "busybox", "nosuchcmd")
    assert proc.returncode == 127, proc.stderr
    assert k.ok("ps", "-a", "--format", "{{.Names}} {{.Status}}") == "nf Created\n"


def test_ps_and_inspect_templates(k: Ketch) -> None:
    k.ok("run", "-d", "--name", "web", "busybox", "sleep", "100")
    assert k("run", "--name", "done1", "busybox", "sh", "-c", "exit 7").returncode == 7
    k.ok("create", "--name", "made", "busybox", "true")

    running = k.ok("ps", "--format", "{{.Names}} {{.Status}}").splitlines()
    assert len(running) == 1 and running[0].startswith("web Up ")
    lines = k.ok("ps", "-a", "--format", "{{.Names}} {{.Status}}").splitlines()
    assert [line.split()[0] for line in lines] == ["made", "done1", "web"]  # newest first
    assert lines[0] == "made Created"
    assert lines[1].startswith("done1 Exited (7) ")
    assert k.ok("ps", "-a", "--filter", "status=exited", "--format", "{{.Names}}") == "done1\n"
    assert [len(i) for i in k.ok("ps", "-q").split()] == [12]
    assert [len(i) for i in k.ok("ps", "-q", "--no-trunc").split()] == [64]
    header = k.ok("ps").splitlines()[0].split()
    assert header == ["CONTAINER", "ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"]

    out = k.ok("inspect", "-f", "{{.State.ExitCode}} {{.State.Status}} {{.Name}}",
               "done1", "web", "made")
    assert out == "7 exited /done1\n0 running /web\n0 created /made\n"
    assert k.ok("inspect", "--format", "{{json .State.Running}}", "web") == "true\n"
    missing = k("inspect", "nosuch")
    assert (missing.returncode, missing.stdout.strip()) == (1, "[]")
    assert "No such object: nosuch" in missing.stderr


def test_logs_tail_and_streams(k: Ketch) -> None:
    k.ok("run", "--name", "lg", "busybox", "sh", "-c", "echo one; echo two; echo three")
    assert k.ok("logs", "--tail", "1", "lg") == "three\n"
    assert k.ok("logs", "--tail", "2", "lg") == "two\nthree\n"
    assert k.ok("logs", "--tail", "0", "lg") == ""
    stamped = k.ok("logs", "-t", "--tail", "1", "lg")
    assert stamped.endswith("Z three\n") and stamped[:4].isdigit()
    k.ok("run", "--name", "both", "busybox", "sh", "-c", "echo out; echo err >&2")
    proc = k("logs", "both")
    assert (proc.stdout, proc.stderr) == ("out\n", "err\n")
    bad = k("logs", "--tail", "bogus", "lg")
    assert bad.returncode == 125 and "bogus" in bad.stderr


def test_name_conflicts_and_rm_of_running(k: Ketch) -> None:
    cid = k.ok("run", "-d", "--name", "web", "busybox", "sleep", "100").strip()
    _fails_cleanly(k, "run", "--name", "web", "busybox", "true", code=125,
                   message=f'The container name "/web" is already in use by container "{cid}"')
    _fails_cleanly(k, "create", "--name", "bad/name", "busybox", "true", code=125,
                   message="Invalid container name (bad/name)")
    proc = k("rm", "web")
    assert proc.returncode == 1 and "container is running" in proc.stderr
    assert k.ok("ps", "-q", "--no-trunc") == cid + "\n"
    k.ok("create", "--name", "other", "busybox", "true")
    assert k("rename", "other", "web").returncode == 1
    assert k.ok("rm", "-f", "web") == "web\n"
    assert k.ok("ps", "-a", "--format", "{{.Names}}") == "other\n"


def test_env_file_user_workdir(k: Ketch, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env_file = tmp_path / "envf"
    env_file.write_text('# comment\nA=1\n\nB=two words\nFROMHOST\nE="quoted"\n')
    monkeypatch.setenv("FROMHOST", "yes")
    out = k.ok("run", "--rm", "--env-file", str(env_file), "-e", "X=y", "busybox", "env")
    env = set(out.splitlines())
    assert {"A=1", "B=two words", "FROMHOST=yes", 'E="quoted"', "X=y"} <= env
    assert not any(line.startswith("#") for line in env)
    assert k.ok("run", "--rm", "-u", "nobody", "busybox", "id", "-u") == "65534\n"
    assert k.ok("run", "--rm", "-u", "1234:5678", "busybox", "id", "-g") == "5678\n"
    _fails_cleanly(k, "run", "--rm", "-u", "nosuchuser", "busybox", "id", code=125,
                   message="unable to find user nosuchuser")
    # docker creates a missing working directory
    assert k.ok("run", "--rm", "-w", "/nonexist/dir", "busybox", "pwd") == "/nonexist/dir\n"
    assert k.ok("run", "--rm", "--entrypoint", "echo", "busybox", "a", "b") == "a b\n"


def test_bind_mounts(k: Ketch, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "f").write_text("hostfile\n")
    assert k.ok("run", "--rm", "-v", f"{data}:/d", "busybox", "cat", "/d/f") == "hostfile\n"
    ro = k("run", "--rm", "-v", f"{data}:/d:ro", "busybox", "touch", "/d/z")
    assert ro.returncode == 1 and "Read-only file system" in ro.stderr
    # -v creates a missing host directory; --mount refuses a missing source
    fresh = tmp_path / "fresh"
    k.ok("run", "--rm", "-v", f"{fresh}:/d", "busybox", "true")
    assert fresh.is_dir()
    _fails_cleanly(k, "run", "--rm", "--mount", f"type=bind,source={tmp_path}/none,target=/m",
                   "busybox", "true", code=125, message="bind source path does not exist")
    assert not (tmp_path / "none").exists()


def test_resources_as_docker_records_and_applies_them(k: Ketch) -> None:
    k.ok("run", "-d", "--name", "res", "-m", "64m", "--memory-swap", "-1", "--cpus", "0.5",
         "--cpu-shares", "512", "--pids-limit", "50", "--ulimit", "nofile=1024:2048",
         "busybox", "sleep", "100")
    host = k.ok("inspect", "-f", "{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}} "
                "{{.HostConfig.NanoCpus}} {{.HostConfig.CpuShares}} {{.HostConfig.PidsLimit}}",
                "res")
    assert host == "67108864 -1 500000000 512 50\n"
    seen = k.ok("exec", "res", "sh", "-c",
                "cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.cfs_period_us"
                " /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max;"
                " ulimit -n; ulimit -Hn")
    assert seen.split() == ["50000", "100000", "67108864", "50", "1024", "2048"]


def test_bad_resource_values_leave_nothing(k: Ketch) -> None:
    _fails_cleanly(k, "run", "--rm", "-m", "foo", "busybox", "true", code=125,
                   message='invalid argument "foo"')
    _fails_cleanly(k, "run", "--rm", "--ulimit", "nofile=2048:1024", "busybox", "true",
                   code=125, message="soft limit must be less than or equal to hard limit")
    _fails_cleanly(k, "run", "--rm", "-m", "64m", "--memory-swap", "32m", "busybox", "true",
                   code=125, message="memoryswap limit should be larger than memory limit")
    _fails_cleanly(k, "run", "--rm", "--cap-add", "BOGUS", "busybox", "true", code=125,
                   message="BOGUS")
    _fails_cleanly(k, "run", "--rm", "--rm", "--restart", "always", "busybox", "true",
                   code=125, message="restart policy")


def test_exec_states_and_codes(k: Ketch) -> None:
    k.ok("run", "-d", "--name", "web", "busybox", "sleep", "100")
    k.ok("create", "--name", "made", "busybox", "true")
    out = k.ok("exec", "-e", "FOO=bar", "-w", "/tmp", "-u", "1000", "web",
               "sh", "-c", "echo $FOO; pwd; id -u")
    assert out == "bar\n/tmp\n1000\n"
    assert k("exec", "web", "sh", "-c", "exit 5").returncode == 5
    assert k("exec", "web", "nosuch").returncode == 127
    stopped = k("exec", "made", "true")
    assert stopped.returncode == 1 and "is not running" in stopped.stderr
    k.ok("pause", "web")
    assert k.ok("ps", "--format", "{{.Status}}").rstrip().endswith("(Paused)")
    paused = k("exec", "web", "true")
    assert paused.returncode == 1 and "paused" in paused.stderr
    k.ok("unpause", "web")
    k.ok("kill", "-s", "SIGUSR1", "web")  # sleep as pid 1 ignores it
    assert k("kill", "-s", "NOPE", "web").returncode == 1
    k.ok("kill", "web")
    assert k.ok("wait", "web") == "137\n"
    assert k("kill", "web").returncode == 1  # not running any more


def test_cp_directories_and_symlinks(k: Ketch, tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "a").write_text("a\n")
    (src / "sub" / "b").write_text("b\n")
    os.symlink("a", src / "link")
    k.ok("run", "-d", "--name", "cc", "busybox", "sh", "-c",
         "mkdir -p /d/s && echo in > /d/s/f && ln -s s/f /d/pl && ln -s /etc/passwd /d/abs && sleep 100")
    k.ok("cp", str(src), "cc:/")
    k.ok("cp", str(src / "sub"), "cc:/tmp/newdir")  # a new name: the directory is renamed
    inside = k.ok("exec", "cc", "sh", "-c", "cat /src/sub/b; readlink /src/link; ls /tmp/newdir")
    assert inside == "b\na\nb\n"
    out = tmp_path / "out"
    out.mkdir()
    k.ok("cp", "cc:/d", str(out))
    assert (out / "d" / "s" / "f").read_text() == "in\n"
    assert os.readlink(out / "d" / "pl") == "s/f"  # copied as links, not followed
    assert os.readlink(out / "d" / "abs") == "/etc/passwd"
    k.ok("cp", "cc:/d/s/.", str(out / "dot"))
    assert os.listdir(out / "dot") == ["f"]
    missing = k("cp", "cc:/nonexist", str(out))
    assert missing.returncode == 1 and "Could not find the file /nonexist" in missing.stderr


def test_images_tag_rmi_history(k: Ketch) -> None:
    k.ok("tag", "busybox", "myrepo/bb:v1")
    rows = k.ok("images", "--format", "{{.Repository}}:{{.Tag}}").split()
    assert sorted(rows) == ["busybox:latest", "myrepo/bb:v1"]
    bad = k("tag", "busybox", "Bad:Tag:x")
    assert bad.returncode == 1 and "invalid reference format" in bad.stderr
    assert k("tag", "nosuch", "x:1").returncode == 1
    assert k.ok("rmi", "myrepo/bb:v1") == "Untagged: myrepo/bb:v1\n"
    k.ok("run", "--name", "user", "busybox", "true")
    in_use = k("rmi", "busybox")
    assert in_use.returncode == 1 and "conflict: unable to remove repository reference" \
        in in_use.stderr
    assert k.ok("images", "-q") != ""
    assert k.ok("history", "--format", "{{.CreatedBy}}", "busybox") == "ADD busybox /\n"


def test_export_import_change_commit(k: Ketch, tmp_path: Path) -> None:
    k.ok("run", "--name", "ex", "busybox", "sh", "-c", "echo made > /made")
    tar = tmp_path / "ex.tar"
    k.ok("export", "-o", str(tar), "ex")
    k.ok("import", "--change", 'CMD ["cat", "/made"]', "--change", "ENV A=1", str(tar), "imp:1")
    assert k.ok("run", "--rm", "imp:1") == "made\n"
    assert k.ok("image", "inspect", "-f", "{{.Config.Env}}", "imp:1") == "[A=1]\n"
    bad = k("import", "--change", "BOGUS x", str(tar), "imp:2")
    assert bad.returncode == 1 and "BOGUS" in bad.stderr
    k.ok("commit", "-c", 'ENTRYPOINT ["cat"]', "ex", "com:1")
    assert k.ok("run", "--rm", "com:1", "/made") == "made\n"
    saved = tmp_path / "s.tar"
    k.ok("save", "-o", str(saved), "com:1")
    assert saved.stat().st_size > 0
    missing = k("save", "-o", str(tmp_path / "x.tar"), "nosuch")
    assert missing.returncode == 1 and not (tmp_path / "x.tar").exists()


def test_stop_signal_timeout_init_and_restart_record(k: Ketch) -> None:
    k.ok("run", "-d", "--name", "ss", "--stop-signal", "SIGUSR1", "busybox", "sh", "-c",
         'trap "exit 9" USR1; while :; do sleep 0.1; done')
    k.ok("run", "-d", "--name", "st", "--stop-timeout", "1", "--restart", "on-failure:3",
         "-l", "a=b", "-l", "c", "busybox", "sleep", "100")
    k.ok("run", "-d", "--name", "in", "--init", "busybox", "sleep", "100")
    assert k.ok("inspect", "-f", "{{.Config.StopSignal}}", "ss") == "SIGUSR1\n"
    recorded = k.ok("inspect", "-f", "{{.Config.StopTimeout}} {{.HostConfig.RestartPolicy.Name}}"
                    " {{.HostConfig.RestartPolicy.MaximumRetryCount}} {{.Config.Labels}}", "st")
    assert recorded == "1 on-failure 3 map[a:b c:]\n"
    assert k.ok("ps", "--filter", "label=a=b", "--format", "{{.Names}} {{.Labels}}") \
        == "st a=b,c=\n"
    assert k.ok("stop", "ss", "st", "in") == "ss\nst\nin\n"
    codes = k.ok("inspect", "-f", "{{.State.ExitCode}}", "ss", "st", "in").split()
    # the stop signal is the trapped one; sleep as pid 1 ignores SIGTERM and is killed
    # after --stop-timeout; --init forwards SIGTERM to sleep
    assert codes == ["9", "137", "143"]
    assert k.ok("ps", "-q") == ""
