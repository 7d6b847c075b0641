"""Behaviour an acceptance review against docker 20.10 found different, pinned to docker's."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.integration.cli.conftest import Ketch

pytestmark = pytest.mark.root


def test_supplementary_groups_include_the_primary_group(ketch: Ketch) -> None:
    assert ketch.ok("run", "--rm", "-u", "app", "busybox", "id").strip().endswith(
        "groups=1000(app),1001(extra)")
    assert ketch.ok("run", "--rm", "-u", "1234:5678", "busybox", "id").strip().endswith(
        "groups=5678")
    assert ketch.ok("run", "--rm", "busybox", "id").strip().endswith("groups=0(root)")


def test_rm_force_of_a_missing_container_is_not_a_failure(ketch: Ketch) -> None:
    ketch.ok("create", "--name", "c1", "busybox", "true")
    proc = ketch("rm", "-f", "nosuch", "c1", "other")
    assert (proc.returncode, proc.stdout) == (0, "c1\n"), proc.stderr
    assert proc.stderr == "Error: No such container: nosuch\nError: No such container: other\n"
    assert ketch.container_ids() == []
    plain = ketch("rm", "nosuch")
    assert (plain.returncode, plain.stdout) == (1, "")
    assert "No such container: nosuch" in plain.stderr


def test_a_mount_over_the_root_is_refused(ketch: Ketch, tmp_path: Path) -> None:
    host = tmp_path / "dir"
    host.mkdir()
    for flag in (["-v", f"{host}:/"], ["-v", f"{host}://"], ["--mount", f"type=bind,src={host},target=/"]):
        proc = ketch("run", "--rm", *flag, "busybox", "true")
        assert proc.returncode == 125, (flag, proc.stderr)
        assert "invalid specification: destination can't be '/'" in proc.stderr
    assert ketch.container_ids() == []


def _status(ketch: Ketch, *opts: str) -> dict[str, str]:
    out = ketch.ok("run", "--rm", *opts, "busybox", "cat", "/proc/self/status")
    return dict(line.split(":\t", 1) for line in out.splitlines() if ":\t" in line)


def test_security_opt_takes_colon_or_equals_and_a_boolean(ketch: Ketch) -> None:
    assert _status(ketch, "--security-opt", "no-new-privileges:true")["NoNewPrivs"] == "1"
    assert _status(ketch, "--security-opt", "no-new-privileges=1")["NoNewPrivs"] == "1"
    assert _status(ketch, "--security-opt", "no-new-privileges:false")["NoNewPrivs"] == "0"
    assert _status(ketch)["Seccomp"] == "2"
    assert _status(ketch, "--security-opt", "seccomp:unconfined")["Seccomp"] == "0"
    bad = ketch("create", "--security-opt", "no-new-privileges:maybe", "busybox", "true")
    assert bad.returncode == 125 and "no-new-privileges:maybe" in bad.stderr
    assert ketch.container_ids() == []


def test_ulimit_minus_one_is_unlimited(ketch: Ketch) -> None:
    # (memlock=-1:-1 as well in docker; root here lacks CAP_SYS_RESOURCE to raise memlock)
    out = ketch.ok("run", "--rm", "--ulimit", "core=-1", "--ulimit", "fsize=-1:-1",
                   "--ulimit", "stack=8388608:-1", "busybox", "sh", "-c",
                   "ulimit -c; ulimit -f; ulimit -H -f; ulimit -s; ulimit -H -s")
    assert out.split() == ["unlimited", "unlimited", "unlimited", "8192", "unlimited"]
    bad = ketch("create", "--ulimit", "core=-1:100", "busybox", "true")
    assert bad.returncode == 125 and "soft limit must be less than or equal to hard limit" in bad.stderr


def test_dns_flags_replace_the_hosts_settings(ketch: Ketch) -> None:
    out = ketch.ok("run", "--rm", "--dns", "9.9.9.9", "--dns", "1.1.1.1", "--dns-search",
                   "example.org", "--dns-option", "ndots:2", "busybox", "cat", "/etc/resolv.conf")
    assert out == "search example.org\nnameserver 9.9.9.9\nnameserver 1.1.1.1\noptions ndots:2\n"
    only = ketch.ok("run", "--rm", "--dns", "9.9.9.9", "busybox", "cat", "/etc/resolv.conf")
    assert [ln for ln in only.splitlines() if ln.startswith("nameserver")] == ["nameserver 9.9.9.9"]


def test_a_bad_stop_signal_is_refused_at_create(ketch: Ketch) -> None:
    for cmd in ("create", "run"):
        proc = ketch(cmd, "--stop-signal", "NOPE", "busybox", "true")
        assert proc.returncode == 125 and "Invalid signal: NOPE" in proc.stderr, proc.stderr
    assert ketch.container_ids() == []
    ketch.ok("create", "--name", "c1", "--stop-signal", "SIGUSR1", "busybox", "true")


def test_exec_failures_exit_126(ketch: Ketch, tmp_path: Path) -> None:
    host = tmp_path / "vol"
    (host / "sub").mkdir(parents=True)
    ketch.ok("run", "-d", "--name", "c1", "-v", f"{host}:/vol", "busybox", "sleep", "60")
    user = ketch("exec", "-u", "nosuchuser", "c1", "true")
    assert user.returncode == 126
    assert "unable to find user nosuchuser: no matching entries in passwd file" in user.stderr
    cwd = ketch("exec", "-w", "/nonexist", "c1", "true")
    assert cwd.returncode == 126
    assert "OCI runtime exec failed" in cwd.stderr and 'chdir to cwd ("/nonexist")' in cwd.stderr
    assert "ketch-runtime" not in cwd.stderr
    assert ketch.ok("exec", "-w", "/vol/sub", "c1", "pwd") == "/vol/sub\n"  # inside a bind: fine
    assert ketch.ok("exec", "-w", "/proc/sys", "c1", "pwd") == "/proc/sys\n"


def test_cp_follow_link_copies_the_target_resolved_in_the_container(
    ketch: Ketch, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    host_secret = tmp_path / "host-only"
    host_secret.write_text("host\n")
    ketch.ok("run", "-d", "--name", "c1", "busybox", "sleep", "60")
    ketch.ok("exec", "c1", "sh", "-c", "ln -s /etc/passwd /pl; ln -s pl /rel; "
             f"ln -s ../../../../../..{host_secret} /esc; mkdir -p {host_secret.parent}; "
             f"echo inside > {host_secret}")
    ketch.ok("cp", "-L", "c1:/pl", str(out / "plL"))
    passwd = ketch.ok("exec", "c1", "cat", "/etc/passwd")
    assert not (out / "plL").is_symlink() and (out / "plL").read_text() == passwd
    ketch.ok("cp", "-L", "c1:/rel", str(out))  # a chain: /rel -> pl -> /etc/passwd, named rel
    assert (out / "rel").read_text() == passwd
    ketch.ok("cp", "c1:/pl", str(out / "plain"))  # without -L the link itself
    assert os.readlink(out / "plain") == "/etc/passwd"
    # a link climbing out of / stays in the container: the host file is never read
    ketch.ok("cp", "-L", "c1:/esc", str(out / "esc"))
    assert (out / "esc").read_text() == "inside\n"


def test_ps_filter_before_and_since(ketch: Ketch) -> None:
    for name in ("c1", "c2", "c3"):
        ketch.ok("create", "--name", name, "busybox", "true")

    def names(*filters: str) -> list[str]:
        argv = [a for f in filters for a in ("--filter", f)]
        return ketch.ok("ps", "-a", *argv, "--format", "{{.Names}}").split()

    assert names("before=c3") == ["c2", "c1"]
    assert names("since=c1") == ["c3", "c2"]
    assert names("since=c1", "before=c3") == ["c2"]
    missing = ketch("ps", "-a", "--filter", "before=nosuch")
    assert missing.returncode == 1 and "No such container: nosuch" in missing.stderr


def test_cpus_beyond_the_host_are_refused_in_dockers_words(ketch: Ketch) -> None:
    count = len(os.sched_getaffinity(0))
    cpus = ketch("run", "--rm", "--cpus", str(count + 3), "busybox", "true")
    assert cpus.returncode == 125
    assert (f"Range of CPUs is from 0.01 to {count}.00, as there are only {count} CPUs available"
            in cpus.stderr)
    cpuset = ketch("run", "--rm", "--cpuset-cpus", "99", "busybox", "true")
    assert cpuset.returncode == 125
    assert "Requested CPUs are not available - requested 99, available: " in cpuset.stderr
    bad = ketch("create", "--cpuset-cpus", "1-a", "busybox", "true")
    assert bad.returncode == 125 and "Invalid value 1-a for cpuset cpus" in bad.stderr
    assert ketch.container_ids() == []
    assert ketch.ok("run", "--rm", "--cpuset-cpus", "0", "--cpus", "1", "busybox", "echo", "ok") == "ok\n"


def test_a_bind_mount_without_source_is_refused(ketch: Ketch) -> None:
    proc = ketch("run", "--rm", "--mount", "type=bind,target=/m", "busybox", "true")
    assert proc.returncode == 125
    assert 'invalid mount config for type "bind": field Source must not be empty' in proc.stderr
    assert ketch.container_ids() == []


def test_template_labels_and_errors_as_docker(ketch: Ketch) -> None:
    ketch.ok("run", "-d", "--name", "lab", "-l", "app=web", "busybox", "sleep", "30")
    out = ketch.ok("ps", "--format", '{{.Names}} {{.Label "app"}} [{{.Label "none"}}]')
    assert out == "lab web []\n"
    state = ketch.ok("inspect", "-f",
                     "{{if .State.Paused}}p{{else if .State.Running}}r{{else}}s{{end}}", "lab")
    assert state == "r\n"
    missing = ketch("inspect", "-f", "{{.Bogus}}", "lab")
    assert missing.returncode == 1 and 'map has no entry for key "Bogus"' in missing.stderr
    unparsable = ketch("inspect", "-f", "{{if}}", "lab")
    assert unparsable.returncode == 64 and "template parsing error" in unparsable.stderr
    ps_bad = ketch("ps", "--format", "{{if}}")
    assert ps_bad.returncode == 1 and "failed to parse template" in ps_bad.stderr
    ketch.ok("rm", "-f", "lab")


def test_cp_never_replaces_a_device_node_on_the_host(ketch: Ketch, tmp_path: Path) -> None:
    ketch.ok("run", "-d", "--name", "src", "busybox", "sleep", "30")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    refused = ketch("cp", "src:/etc/passwd", str(fifo))
    assert refused.returncode != 0 and "not a regular file or directory" in refused.stderr
    assert fifo.is_fifo()
    ketch.ok("rm", "-f", "src")
