"""The same process section under runc and under ketch's process code: same view inside."""

import json
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest

from ketch.oci.runtime_spec import config_from_json
from tests.integration.process._child import run
from tests.support.bundle import default_config, write_bundle

pytestmark = [
    pytest.mark.root,
    pytest.mark.interop,
    pytest.mark.skipif(shutil.which("runc") is None, reason="runc is not installed"),
]

SCRIPT = (
    "grep -E '^(Cap|NoNewPrivs|Seccomp:)' /proc/self/status; id; umask; ulimit -n; ulimit -Hn;"
    " pwd; env | grep -v -E '^(PWD|SHLVL|HOSTNAME)=' | sort"
)


def _runc(bundle: Path, state_root: Path) -> tuple[int, str]:
    cid = f"ketch-parity-{uuid.uuid4().hex[:8]}"
    cmd = ["runc", "--root", str(state_root)]
    try:
        done = subprocess.run(
            [*cmd, "run", "--bundle", str(bundle), cid], capture_output=True, text=True, timeout=60
        )
    finally:
        subprocess.run([*cmd, "delete", "-f", cid], capture_output=True, timeout=60)
    return done.returncode, done.stdout


def _config(process: dict[str, Any], seccomp: dict[str, Any] | None = None) -> dict[str, Any]:
    config = default_config(["sh", "-c", SCRIPT])
    config["process"].update(process)
    if seccomp is not None:
        config["linux"]["seccomp"] = seccomp
    return config


CASES: dict[str, dict[str, Any]] = {
    "root-default": {},
    "user-groups-umask-ambient": {
        "user": {"uid": 1000, "gid": 1000, "additionalGids": [5, 1001], "umask": 63},
        "cwd": "/tmp",
        "env": ["PATH=/bin:/usr/bin", "A=1", "A=2", "TERM=dumb"],
        "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 2048, "soft": 100}],
        "capabilities": {
            "bounding": ["CAP_KILL", "CAP_CHOWN", "CAP_NET_RAW", "CAP_FUTURE"],
            "effective": ["CAP_KILL", "CAP_CHOWN"],
            "permitted": ["CAP_KILL", "CAP_CHOWN"],
            "inheritable": ["CAP_KILL", "CAP_NET_RAW"],
            "ambient": ["CAP_KILL", "CAP_CHOWN"],
        },
        "noNewPrivileges": False,
    },
    "no-caps-section": {"capabilities": None, "noNewPrivileges": False},
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_same_view_as_runc(tmp_path: Path, case: str) -> None:
    process = {k: v for k, v in CASES[case].items() if v is not None}
    config = _config(process)
    if CASES[case].get("capabilities", 1) is None:
        del config["process"]["capabilities"]
    bundle = write_bundle(tmp_path / "bundle", config)
    runc_code, runc_out = _runc(bundle, tmp_path / "runc-state")
    assert runc_code == 0, runc_out
    ours = config_from_json(json.loads((bundle / "config.json").read_text()))
    assert ours.process is not None
    code, out = run(bundle / "rootfs", ours.process, ours.linux)
    assert code == 0, out
    assert out == runc_out


def test_same_seccomp_behaviour_as_runc(tmp_path: Path) -> None:
    script = (
        "exec 2>&1; grep -E '^(Seccomp|NoNewPrivs):' /proc/self/status; mkdir /tmp/d;"
        " kill -0 $$ 2>/dev/null || echo k0-refused; kill -CONT $$ && echo kcont; uname -s"
    )
    config = default_config(["sh", "-c", script])
    config["linux"]["seccomp"] = {
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_AARCH64"],
        "syscalls": [
            {"names": ["mkdir", "mkdirat", "no_such_call"], "action": "SCMP_ACT_ERRNO", "errnoRet": 28},
            {
                "names": ["kill"],
                "action": "SCMP_ACT_ERRNO",
                "args": [{"index": 1, "value": 0, "op": "SCMP_CMP_EQ"}],
            },
        ],
    }
    bundle = write_bundle(tmp_path / "bundle", config)
    runc_code, runc_out = _runc(bundle, tmp_path / "runc-state")
    ours = config_from_json(json.loads((bundle / "config.json").read_text()))
    assert ours.process is not None
    code, out = run(bundle / "rootfs", ours.process, ours.linux)
    assert "No space left on device" in out and "kcont" in out and "k0-refused" in out, out
    assert (code, out) == (runc_code, runc_out)
