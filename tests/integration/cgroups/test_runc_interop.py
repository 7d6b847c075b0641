"""Our stats of a runc container's cgroup have the shape and numbers of ``runc events --stats``."""

import json
import shutil
import subprocess

import pytest

from ketch.cgroups import open_manager
from ketch.cgroups.stats import stats_to_json
from tests.support.bundle import busybox_rootfs, default_config

pytestmark = [
    pytest.mark.root,
    pytest.mark.interop,
    pytest.mark.skipif(shutil.which("runc") is None, reason="runc is not installed"),
]


@pytest.fixture
def runc_container(tmp_path, test_parent):
    bundle = tmp_path / "bundle"
    busybox_rootfs(bundle / "rootfs")
    config = default_config(["sleep", "300"])
    config["linux"]["cgroupsPath"] = f"/{test_parent}/r1"
    config["linux"].setdefault("resources", {})["memory"] = {"limit": 48 << 20}
    (bundle / "config.json").write_text(json.dumps(config))
    runc = ["runc", "--root", str(tmp_path / "state")]
    subprocess.run([*runc, "run", "-d", "--bundle", str(bundle), "probe"], check=True,
                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, timeout=60)  # fmt: skip
    yield runc, f"/{test_parent}/r1"
    subprocess.run([*runc, "delete", "-f", "probe"], check=False, timeout=60)


def test_stats_match_runc_events(runc_container, mode):
    runc, path = runc_container
    out = subprocess.run([*runc, "events", "--stats", "probe"], check=True, capture_output=True,
                         text=True, timeout=60).stdout  # fmt: skip
    theirs = json.loads(out)["data"]
    cg = open_manager(path, "probe", mode=mode)
    ours = json.loads(json.dumps(stats_to_json(cg.stats())))
    assert set(ours) == set(theirs)
    for section in ("cpuset", "pids", "hugetlb", "intel_rdt"):
        assert ours[section] == theirs[section], section
    assert set(ours["memory"]) - {"cache", "raw"} == set(theirs["memory"]) - {"cache", "raw"}
    assert ours["memory"]["usage"]["limit"] == theirs["memory"]["usage"]["limit"] == 48 << 20
    assert ours["memory"]["raw"].keys() == theirs["memory"]["raw"].keys()
    assert set(ours["cpu"]["usage"]) == set(theirs["cpu"]["usage"])
    assert len(ours["cpu"]["usage"]["percpu"]) == len(theirs["cpu"]["usage"]["percpu"])
    assert ours["cpu"]["usage"]["total"] >= theirs["cpu"]["usage"]["total"] > 0
    assert cg.pids() and cg.version == mode.kind
