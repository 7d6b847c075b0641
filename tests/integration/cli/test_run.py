"""``ketch run``/``create``/``start``: output, exit codes, flags, bad input."""

from __future__ import annotations

import json
import os

import pytest

from tests.integration.cli.conftest import Ketch

pytestmark = pytest.mark.root


def test_run_rm_echo_hello(ketch: Ketch) -> None:
    proc = ketch("run", "--rm", "busybox", "echo", "hello")
    assert (proc.returncode, proc.stdout) == (0, "hello\n"), proc.stderr
    assert ketch.container_ids() == []
    assert ketch.ok("ps", "-a", "-q") == ""


def test_create_rm_removes_the_container_when_it_exits_after_start(ketch: Ketch) -> None:
    cid = ketch.ok("create", "--rm", "--name", "gone", "busybox", "sh", "-c", "echo bye; exit 4").strip()
    assert ketch.ok("inspect", "-f", "{{.HostConfig.AutoRemove}}", "gone").strip() == "true"
    proc = ketch("start", "-a", "gone")
    assert (proc.returncode, proc.stdout) == (4, "bye\n"), proc.stderr
    assert cid not in ketch.container_ids()
    assert ketch.ok("ps", "-a", "-q") == ""


def test_exit_codes(ketch: Ketch) -> None:
    assert ketch("run", "--rm", "busybox", "sh", "-c", "exit 3").returncode == 3
    missing = ketch("run", "--rm", "busybox", "nosuchcmd")
    assert missing.returncode == 127
    assert 'exec: "nosuchcmd": executable file not found in $PATH' in missing.stderr
    assert ketch("run", "--rm", "busybox", "/etc/passwd").returncode == 126
    assert ketch.container_ids() == []  # --rm also removes containers that failed to start


def test_stdout_and_stderr_are_separate(ketch: Ketch) -> None:
    proc = ketch("run", "--rm", "busybox", "sh", "-c", "echo out; echo err >&2")
    assert proc.stdout == "out\n"
    assert proc.stderr == "err\n"


def test_stdin_with_interactive(ketch: Ketch) -> None:
    proc = ketch("run", "--rm", "-i", "busybox", "sh", "-c", "tr a-z A-Z", input=b"shout\n")
    assert (proc.returncode, proc.stdout) == (0, "SHOUT\n"), proc.stderr


def test_flags_env_workdir_entrypoint_hostname(ketch: Ketch, tmp_path: os.PathLike[str]) -> None:
    env_file = os.path.join(tmp_path, "env")
    with open(env_file, "w") as f:
        f.write("# comment\nFROM_FILE=yes\n")
    script = 'echo "$FOO $FROM_FILE $(pwd) $(hostname)"'
    out = ketch.ok(
        "run", "--rm", "-e", "FOO=bar", "--env-file", env_file, "-w", "/work/dir",
        "--hostname", "box1", "--entrypoint", "sh", "busybox", "-c", script,
    )
    assert out == "bar yes /work/dir box1\n"
    bad = ketch("run", "--rm", "-u", "nosuchuser", "busybox", "true")
    assert bad.returncode == 125 and "unable to find user nosuchuser" in bad.stderr
    assert ketch.container_ids() == []


def test_user_name_and_uid(ketch: Ketch) -> None:
    out = ketch.ok("run", "--rm", "-u", "app", "-w", "/home/app", "busybox", "sh", "-c",
                   'echo "$(id -u):$(id -g) $(id -G) $HOME $(stat -c %u .)"')
    assert out == "1000:1000 1000 1001 /home/app 1000\n"
    assert ketch.ok("run", "--rm", "-u", "4321:99", "busybox", "id", "-u") == "4321\n"


def test_read_only_tmpfs_and_bind(ketch: Ketch, tmp_path: os.PathLike[str]) -> None:
    host = os.path.join(tmp_path, "share")
    os.mkdir(host)
    with open(os.path.join(host, "in"), "w") as f:
        f.write("from host\n")
    script = (
        "cat /data/in; echo back > /data/out; touch /x 2>/dev/null || echo rootfs-ro; "
        "touch /scratch/ok && echo tmpfs-rw; grep ' /scratch ' /proc/mounts | cut -d' ' -f3"
    )
    out = ketch.ok("run", "--rm", "--read-only", "--tmpfs", "/scratch", "-v", f"{host}:/data",
                   "busybox", "sh", "-c", script)
    assert out.split("\n")[:4] == ["from host", "rootfs-ro", "tmpfs-rw", "tmpfs"]
    with open(os.path.join(host, "out")) as f:
        assert f.read() == "back\n"
    ro = ketch("run", "--rm", "-v", f"{host}:/data:ro", "busybox", "touch", "/data/nope")
    assert ro.returncode != 0


def test_resources_written_to_the_bundle(ketch: Ketch) -> None:
    cid = ketch.ok("create", "-m", "64m", "--pids-limit", "50", "--cpus", "0.5",
                   "--ulimit", "nofile=512:1024", "--cap-drop", "NET_RAW", "busybox", "true").strip()
    ketch.ok("start", cid)
    ketch.ok("wait", cid)
    with open(ketch.root / "containers" / cid / "bundle" / "config.json") as f:
        spec = json.load(f)
    res = spec["linux"]["resources"]
    assert res["memory"]["limit"] == 64 << 20
    assert res["pids"]["limit"] == 50
    assert res["cpu"]["quota"] == 50000 and res["cpu"]["period"] == 100000
    assert {"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 512} in spec["process"]["rlimits"]
    assert "CAP_NET_RAW" not in spec["process"]["capabilities"]["bounding"]
    assert spec["linux"]["seccomp"]["defaultAction"] == "SCMP_ACT_ERRNO"


def test_cap_drop_visible_in_proc_status(ketch: Ketch) -> None:
    def caps(*flags: str) -> int:
        out = ketch.ok("run", "--rm", *flags, "busybox", "grep", "CapBnd", "/proc/self/status")
        return int(out.split()[1], 16)

    default = caps()
    assert default & (1 << 13)  # CAP_NET_RAW is in docker's default set
    assert not default & (1 << 21)  # CAP_SYS_ADMIN is not
    assert caps("--cap-drop", "NET_RAW") == default & ~(1 << 13)
    assert caps("--cap-add", "SYS_ADMIN") & (1 << 21)
    with open("/proc/self/status") as f:
        host = int(next(line for line in f if line.startswith("CapBnd")).split()[1], 16)
    assert caps("--privileged") == host  # all we can grant
    out = ketch.ok("run", "--rm", "--privileged", "busybox", "sh", "-c",
                   "test -c /dev/kmsg && echo devices; grep -c . /proc/kcore >/dev/null 2>&1; "
                   "cat /proc/self/attr/current 2>/dev/null; echo done")
    assert out.startswith("devices\n") and out.endswith("done\n")


def test_bad_input(ketch: Ketch) -> None:
    missing = ketch("run", "--rm", "--pull", "never", "nosuchimage")
    assert missing.returncode == 125
    assert "No such image: nosuchimage" in missing.stderr
    bad_ref = ketch("run", "--rm", "BAD//ref", "true")
    assert bad_ref.returncode == 125
    bad_mem = ketch("run", "--rm", "-m", "foo", "busybox", "true")
    assert bad_mem.returncode == 125 and "invalid size: 'foo'" in bad_mem.stderr
    small = ketch("run", "--rm", "-m", "1k", "busybox", "true")
    assert small.returncode == 125 and "Minimum memory limit allowed is 6MB" in small.stderr
    bad_cap = ketch("create", "--cap-add", "NOT_A_CAP", "busybox")
    assert bad_cap.returncode == 125 and "unknown capability" in bad_cap.stderr
    bad_name = ketch("create", "--name", "-bad name", "busybox")
    assert bad_name.returncode == 125 and "Invalid container name" in bad_name.stderr
    unknown_flag = ketch("run", "--no-such-flag", "busybox")
    assert unknown_flag.returncode == 125
    assert ketch.container_ids() == []  # nothing half-made
    ketch.ok("create", "--name", "taken", "busybox")
    dup = ketch("create", "--name", "taken", "busybox")
    assert dup.returncode == 125 and 'The container name "/taken" is already in use' in dup.stderr
    assert len(ketch.container_ids()) == 1
    assert "Traceback" not in dup.stderr + bad_ref.stderr + missing.stderr


def test_init_reaps_and_forwards(ketch: Ketch) -> None:
    from ketch.engine._start import find_init
    from ketch.errors import NotImplementedByHost

    try:
        find_init()
    except NotImplementedByHost:
        pytest.skip("no catatonit or tini on this host")
    out = ketch.ok("run", "--rm", "--init", "busybox", "sh", "-c", "cat /proc/1/cmdline | tr '\\0' ' '")
    assert out.startswith("/dev/init -- sh -c")


def test_runtime_driven_as_a_command(ketch: Ketch, monkeypatch: pytest.MonkeyPatch) -> None:
    """The runc-CLI path (any runtime binary), not the in-process ketch-runtime one."""
    monkeypatch.setenv("KETCH_RUNTIME_EXEC", "1")
    proc = ketch("run", "--rm", "busybox", "sh", "-c", "echo out; echo err >&2; exit 5")
    assert (proc.returncode, proc.stdout, proc.stderr) == (5, "out\n", "err\n")
    cid = ketch.ok("run", "-d", "busybox", "sleep", "100").strip()
    assert ketch.ok("exec", cid, "echo", "in") == "in\n"
    ketch.ok("rm", "-f", cid)
    assert ketch.container_ids() == []


def test_monitor_as_a_fresh_interpreter(ketch: Ketch, monkeypatch: pytest.MonkeyPatch) -> None:
    """``Engine(monitor="exec")``: what a threaded caller (the daemon) uses instead of fork."""
    monkeypatch.setenv("KETCH_MONITOR", "exec")
    proc = ketch("run", "--rm", "-i", "busybox", "sh", "-c", "cat; exit 6", input=b"piped\n")
    assert (proc.returncode, proc.stdout) == (6, "piped\n"), proc.stderr
    cid = ketch.ok("run", "-d", "busybox", "sleep", "100").strip()
    ketch.ok("stop", "-t", "0", cid)
    assert ketch.ok("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", cid) == "exited 137\n"
    assert ketch("run", "--rm", "busybox", "nosuch").returncode == 127


def test_oom_killed(ketch: Ketch) -> None:
    proc = ketch("run", "--name", "hog", "-m", "8m", "busybox", "sh", "-c",
                 'x=$(head -c 60000000 /dev/zero | tr "\\0" a); echo survived')
    assert proc.returncode == 137 and "survived" not in proc.stdout
    assert ketch.ok("inspect", "-f", "{{.State.OOMKilled}}", "hog") == "true\n"
