"""apply_process + exec_process in a real child: capabilities, user, umask, limits, cwd, env."""

import os
from pathlib import Path

import pytest

from ketch.oci.runtime_spec import (
    Capabilities,
    IOPriority,
    Linux,
    Personality,
    POSIXRlimit,
    Process,
    Scheduler,
    User,
)
from tests.integration.process._child import SETUP_FAILED, run
from tests.support.bundle import DEFAULT_CAPS

pytestmark = pytest.mark.root

CAPS = tuple(DEFAULT_CAPS)
# DEFAULT_CAPS as a mask: CHOWN 0, DAC_OVERRIDE 1, FOWNER 3, FSETID 4, KILL 5, SETGID 6,
# SETUID 7, SETPCAP 8, NET_BIND_SERVICE 10, NET_RAW 13, SYS_CHROOT 18, MKNOD 27,
# AUDIT_WRITE 29, SETFCAP 31
DEFAULT_MASK = "00000000a80425fb"
STATUS = "grep -E '^(Cap|NoNewPrivs|Seccomp:|SigIgn)' /proc/self/status"


def status(out: str) -> dict[str, str]:
    fields = {}
    for line in out.splitlines():
        key, sep, value = line.partition(":\t")
        if sep:
            fields[key] = value.strip()
    return fields


def sh(script: str, **kw: object) -> Process:
    fields: dict[str, object] = {
        "cwd": "/",
        "args": ("sh", "-c", script),
        "env": ("PATH=/bin",),
        "capabilities": Capabilities(bounding=CAPS, effective=CAPS, permitted=CAPS),
    }
    fields.update(kw)
    return Process(**fields)  # type: ignore[arg-type]


def test_non_root_user_groups_caps_and_ambient(rootfs: Path) -> None:
    process = sh(
        f"{STATUS}; id; umask; ulimit -n; ulimit -Hn; echo HOME=$HOME",
        user=User(uid=1000, gid=1000, additional_gids=(5, 6), umask=0o027),
        capabilities=Capabilities(
            bounding=CAPS, effective=CAPS, permitted=CAPS,
            inheritable=("CAP_KILL",), ambient=("CAP_KILL", "CAP_CHOWN"),
        ),
        rlimits=(POSIXRlimit(type="RLIMIT_NOFILE", hard=1024, soft=512),),
        no_new_privileges=True,
    )
    code, out = run(rootfs, process)
    assert code == 0, out
    st = status(out)
    # a non-root user keeps only the ambient set across execve; CAP_CHOWN is not
    # inheritable, so it cannot be ambient
    assert st["CapAmb"] == st["CapEff"] == st["CapPrm"] == st["CapInh"] == "0000000000000020"
    assert st["CapBnd"] == DEFAULT_MASK
    assert st["NoNewPrivs"] == "1"
    assert st["Seccomp"] == "0"
    assert "uid=1000(app) gid=1000(app) groups=5,6" in out
    assert "\n0027\n512\n1024\n" in out
    assert "HOME=/home/app" in out  # from the container's /etc/passwd


def test_root_user_gets_bounding_set(rootfs: Path) -> None:
    code, out = run(rootfs, sh(f"{STATUS}; id -u; umask"))
    assert code == 0, out
    st = status(out)
    assert st["CapBnd"] == st["CapEff"] == st["CapPrm"] == DEFAULT_MASK
    assert st["CapInh"] == st["CapAmb"] == "0000000000000000"
    assert st["NoNewPrivs"] == "0"
    assert st["SigIgn"] == "0000000000000000"  # Python's SIG_IGN for SIGPIPE/SIGXFSZ undone
    assert "\n0\n0022\n" in out  # default umask as runc


def test_no_capabilities_section_means_none(rootfs: Path) -> None:
    code, out = run(rootfs, sh(STATUS, capabilities=None))
    assert code == 0, out
    st = status(out)
    assert {st[k] for k in ("CapBnd", "CapEff", "CapPrm", "CapInh", "CapAmb")} == {
        "0000000000000000"
    }


def test_capability_the_runtime_lacks_is_a_clear_error(rootfs: Path) -> None:
    # root on this host has no CAP_SYS_RESOURCE in its bounding set; on hosts that do,
    # the cap is simply granted
    have = os.popen("grep CapBnd /proc/self/status").read().split()[1]
    lacking = not int(have, 16) >> 24 & 1
    caps = (*CAPS, "CAP_SYS_RESOURCE")
    code, out = run(
        rootfs, sh(STATUS, capabilities=Capabilities(bounding=caps, effective=caps, permitted=caps))
    )
    if lacking:
        assert code == SETUP_FAILED
        assert "PermissionDenied: process.capabilities" in out
        assert "CAP_SYS_RESOURCE" in out
    else:
        assert code == 0, out


def test_oom_score_adj_cwd_and_env(rootfs: Path) -> None:
    process = sh(
        "cat /proc/self/oom_score_adj; pwd; echo $FOO $HOME",
        cwd="/tmp",
        env=("PATH=/bin", "FOO=1", "FOO=2", "HOME=/custom"),
        oom_score_adj=500,
    )
    code, out = run(rootfs, process)
    assert code == 0, out
    assert out.splitlines() == ["500", "/tmp", "2 /custom"]


def test_scheduler_io_priority_and_personality(rootfs: Path) -> None:
    process = sh(
        "cut -d' ' -f19,41 /proc/self/stat; ionice; uname -m",
        scheduler=Scheduler(policy="SCHED_BATCH", nice=7),
        io_priority=IOPriority(class_="IOPRIO_CLASS_IDLE"),
    )
    linux = Linux(personality=Personality(domain="LINUX32"))
    code, out = run(rootfs, process, linux)
    assert code == 0, out
    lines = out.splitlines()
    assert lines[0] == "7 3"  # nice 7, policy SCHED_BATCH
    assert lines[1].startswith("idle")
    if os.uname().machine == "x86_64":
        assert lines[2] == "i686"


def test_rlimit_above_the_runtime_hard_limit_is_refused(rootfs: Path) -> None:
    import resource

    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if hard == resource.RLIM_INFINITY:
        pytest.skip("no finite hard limit to exceed")
    can_raise = "CAP_SYS_RESOURCE" in os.popen("capsh --print 2>/dev/null").read()
    process = sh("ulimit -n", rlimits=(POSIXRlimit(type="RLIMIT_NOFILE", hard=hard + 1, soft=hard + 1),))
    code, out = run(rootfs, process)
    if can_raise:
        assert code == 0, out
    else:
        assert code == SETUP_FAILED
        assert "process.rlimits: cannot set RLIMIT_NOFILE" in out


def test_missing_cwd_and_program_are_clear_errors(rootfs: Path) -> None:
    code, out = run(rootfs, sh("true", cwd="/nonexistent"))
    assert code == SETUP_FAILED
    assert "NotFound: process.cwd: /nonexistent" in out
    code, out = run(rootfs, Process(cwd="/", args=("no-such-program",), env=("PATH=/bin",)))
    assert code == SETUP_FAILED
    assert 'exec: "no-such-program": executable file not found in $PATH' in out


def test_preserve_fds_and_close_the_rest(rootfs: Path) -> None:
    def open_fds() -> None:
        fd = os.open("/", os.O_RDONLY)
        os.dup2(fd, 3, inheritable=True)
        os.dup2(fd, 4, inheritable=True)
        os.dup2(fd, 9, inheritable=True)

    code, out = run(rootfs, sh("ls /proc/self/fd"), before=open_fds, preserve_fds=1)
    assert code == 0, out
    fds = {int(x) for x in out.split()}
    assert 3 in fds  # preserved
    # everything above 2 + preserve_fds is closed on exec (ls opens its own dir as 4)
    assert not {5, 9} & fds


def test_exec_cpu_affinity_final_and_nondumpable(rootfs: Path) -> None:
    from ketch.linux.prctl import prctl

    cpus = sorted(os.sched_getaffinity(0))
    seen: dict[str, int] = {}

    def dumpable() -> None:
        seen["dumpable"] = prctl(3)  # PR_GET_DUMPABLE, after make_nondumpable
        if seen["dumpable"] != 0:
            raise AssertionError("still dumpable")

    process = sh(
        "grep Cpus_allowed_list /proc/self/status",
        exec_cpu_affinity={"final": str(cpus[-1])},
    )
    code, out = run(rootfs, process, before=dumpable)
    assert code == 0, out
    assert out.split() == ["Cpus_allowed_list:", str(cpus[-1])]


def test_lsm_labels_need_the_lsm(rootfs: Path) -> None:
    if os.path.isdir("/sys/kernel/security/apparmor") or os.path.exists("/sys/fs/selinux/enforce"):
        pytest.skip("this host has an LSM that could apply the label")
    code, out = run(rootfs, sh("true", apparmor_profile="docker-default"))
    assert code == SETUP_FAILED
    assert "NotImplementedByHost: process.apparmorProfile: set but this host has no AppArmor" in out
    code, out = run(rootfs, sh("true", selinux_label="system_u:system_r:container_t:s0"))
    assert code == SETUP_FAILED
    assert "NotImplementedByHost: process.selinuxLabel: set but this host has no SELinux" in out
