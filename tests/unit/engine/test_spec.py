"""The OCI config a container gets: Docker's defaults, flags, and schema validity."""

from __future__ import annotations

from typing import Any

import pytest

from ketch.engine._create import check_host_config, merge_image_config, new_record
from ketch.engine._seccomp_default import CLONE_NS_FLAGS, seccomp_profile
from ketch.engine._spec import DEFAULT_CAPS, build_spec, capabilities_for, parse_bind
from ketch.engine._user import ExecUser
from ketch.errors import InvalidArgument
from ketch.oci.runtime_spec import config_from_json
from ketch.oci.validate import validate_runtime_config

CID = "ab" * 32
IMAGE = {"Env": ["PATH=/bin", "A=image"], "Cmd": ["sh"], "WorkingDir": "/srv",
         "Labels": {"from": "image"}}


def _record(config: dict[str, Any] | None = None, host: dict[str, Any] | None = None) -> dict[str, Any]:
    merged = merge_image_config({"Image": "busybox", **(config or {})}, IMAGE)
    return new_record(CID, "/x", merged, check_host_config(host or {}), "sha256:" + "0" * 64,
                      {"Key": CID, "Kind": "overlayfs", "Parent": ""}, "/c")


def _spec(config: dict[str, Any] | None = None, host: dict[str, Any] | None = None) -> dict[str, Any]:
    return build_spec(_record(config, host), ExecUser(0, 0, (10,), "/root"), rootfs="/c/rootfs",
                      container_dir="/c")


def test_default_spec_is_valid_and_docker_like() -> None:
    spec = _spec()
    validate_runtime_config(spec)
    config_from_json(spec)
    proc = spec["process"]
    assert proc["args"] == ["sh"] and proc["cwd"] == "/srv"
    assert proc["env"][:2] == ["PATH=/bin", "A=image"] or "PATH=/bin" in proc["env"]
    assert f"HOSTNAME={CID[:12]}" in proc["env"] and "HOME=/root" in proc["env"]
    assert proc["user"] == {"uid": 0, "gid": 0, "additionalGids": [10]}
    assert tuple(proc["capabilities"]["bounding"]) == DEFAULT_CAPS
    assert spec["hostname"] == CID[:12]
    dests = [m["destination"] for m in spec["mounts"]]
    for d in ("/proc", "/dev", "/dev/pts", "/sys", "/sys/fs/cgroup", "/dev/mqueue", "/dev/shm",
              "/etc/resolv.conf", "/etc/hostname", "/etc/hosts"):
        assert d in dests
    linux = spec["linux"]
    assert {"type": "network"} in linux["namespaces"]  # --network none: its own, empty netns
    assert "/proc/kcore" in linux["maskedPaths"] and "/proc/sys" in linux["readonlyPaths"]
    assert linux["seccomp"]["defaultAction"] == "SCMP_ACT_ERRNO"
    assert linux["resources"]["devices"][0] == {"allow": False, "access": "rwm"}


def test_entrypoint_resets_cmd_and_env_merges() -> None:
    rec = _record({"Entrypoint": ["echo"], "Env": ["A=flag", "B=2"]})
    assert (rec["Path"], rec["Args"]) == ("echo", [])
    assert rec["Config"]["Env"] == ["PATH=/bin", "A=flag", "B=2"]
    assert rec["Config"]["Labels"] == {"from": "image"}
    rec = _record({"Cmd": ["ls", "-l"]})
    assert (rec["Path"], rec["Args"]) == ("ls", ["-l"])


def test_flags_reach_the_spec() -> None:
    spec = _spec(
        {"Hostname": "h", "WorkingDir": "/w", "Tty": True},
        {"Memory": 64 << 20, "PidsLimit": 9, "NanoCpus": 500_000_000, "CpuShares": 512,
         "CpusetCpus": "0", "Ulimits": [{"Name": "nofile", "Soft": 1, "Hard": 2}],
         "CapDrop": ["net_raw"], "CapAdd": ["SYS_ADMIN"], "ReadonlyRootfs": True,
         "SecurityOpt": ["no-new-privileges"], "Tmpfs": {"/t": "size=1m"},
         "Binds": ["/tmp:/data:ro"], "NetworkMode": "host"},
    )
    validate_runtime_config(spec)
    res = spec["linux"]["resources"]
    assert res["memory"] == {"limit": 64 << 20, "swap": 128 << 20}
    assert res["pids"] == {"limit": 9}
    assert res["cpu"] == {"shares": 512, "period": 100000, "quota": 50000, "cpus": "0"}
    caps = spec["process"]["capabilities"]["bounding"]
    assert "CAP_NET_RAW" not in caps and "CAP_SYS_ADMIN" in caps
    assert spec["process"]["noNewPrivileges"] is True and spec["process"]["terminal"] is True
    assert spec["root"]["readonly"] is True and spec["hostname"] == "h"
    assert {"type": "network"} not in spec["linux"]["namespaces"]
    mounts = {m["destination"]: m for m in spec["mounts"]}
    assert mounts["/data"]["source"] == "/tmp" and "ro" in mounts["/data"]["options"]
    assert mounts["/t"]["type"] == "tmpfs" and "size=1m" in mounts["/t"]["options"]
    # CAP_SYS_ADMIN lets clone make namespaces: no argument filter then
    names = {n for rule in spec["linux"]["seccomp"]["syscalls"] for n in rule["names"]}
    assert "mount" in names


def test_privileged_and_unconfined() -> None:
    spec = _spec(host={"Privileged": True})
    assert "seccomp" not in spec["linux"] and "maskedPaths" not in spec["linux"]
    assert len(spec["process"]["capabilities"]["bounding"]) > 30
    assert "seccomp" not in _spec(host={"SecurityOpt": ["seccomp=unconfined"]})["linux"]


def test_bad_host_config() -> None:
    for bad in ({"Memory": 1024}, {"CapAdd": ["NOPE"]}, {"NetworkMode": "bridge"},
                {"RestartPolicy": {"Name": "sometimes"}},
                {"AutoRemove": True, "RestartPolicy": {"Name": "always"}},
                {"Binds": ["relative:/x"]}, {"Tmpfs": {"rel": ""}}):
        with pytest.raises(InvalidArgument):
            check_host_config(bad)
    with pytest.raises(InvalidArgument, match="security-opt"):
        _spec(host={"SecurityOpt": ["bogus"]})
    with pytest.raises(InvalidArgument, match="no command"):
        merge_image_config({"Image": "x"}, {})


def test_capabilities_all_and_drop_all() -> None:
    assert capabilities_for({"CapDrop": ["ALL"], "CapAdd": ["CHOWN"]}) == ("CAP_CHOWN",)
    assert len(capabilities_for({"CapAdd": ["ALL"]})) > 30


def test_parse_bind() -> None:
    assert parse_bind("/a/../b:/c:ro,rshared") == ("/b", "/c", ["ro", "rshared"])
    for bad in ("/a", "/a:relative", "/a:/b:bogus", "named:/b"):
        with pytest.raises(InvalidArgument):
            parse_bind(bad)


def test_seccomp_profile_shape() -> None:
    profile = seccomp_profile("x86_64", DEFAULT_CAPS)
    rules = profile["syscalls"]
    assert isinstance(rules, list)
    allowed = set(rules[0]["names"])
    assert {"read", "write", "execve", "openat", "exit_group"} <= allowed
    assert not {"mount", "reboot", "init_module", "kexec_load", "bpf", "unshare", "ptrace"} & allowed
    clone = next(r for r in rules if r["names"] == ["clone"])
    assert clone["args"][0]["value"] == CLONE_NS_FLAGS
    assert profile["architectures"] == ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]
