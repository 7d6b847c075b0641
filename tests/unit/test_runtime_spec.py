import json
import subprocess

import pytest

from ketch.errors import InvalidArgument
from ketch.oci import runtime_spec as rs


def test_decodes_runc_default_spec(tmp_path):
    subprocess.run(["runc", "spec", "--bundle", str(tmp_path)], check=True)
    data = json.loads((tmp_path / "config.json").read_text())
    config = rs.config_from_json(data)
    assert config.process is not None
    assert config.process.args == ("sh",)
    assert config.linux is not None and config.linux.namespace("pid") == rs.Namespace("pid")
    assert config.process.capabilities is not None
    assert "CAP_KILL" in config.process.capabilities.bounding
    assert rs.config_to_json(config)["process"]["rlimits"][0]["type"] == "RLIMIT_NOFILE"


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        (
            {"process": {"cwd": "/", "user": {"uid": "root"}}},
            "process.user.uid: expected an integer",
        ),
        ({"process": {"args": ["sh"]}}, "process.cwd: required field is missing"),
        ({"linux": {"namespaces": [{"type": "pid"}, {"type": "pid"}]}}, "listed twice"),
        ({"linux": {"namespaces": [{"type": "bogus"}]}}, "unknown namespace 'bogus'"),
        ({"mounts": {"destination": "/x"}}, "mounts: expected an array"),
    ],
)
def test_bad_config_names_the_field(patch, message):
    data = {"ociVersion": "1.3.0", **patch}
    with pytest.raises(InvalidArgument, match=message):
        rs.config_from_json(data)


def test_records_are_frozen_and_compare_by_value():
    a = rs.Root(path="rootfs")
    assert a == rs.Root("rootfs", False)
    assert hash(a) == hash(rs.Root("rootfs"))
    with pytest.raises(AttributeError):
        a.path = "x"  # type: ignore[misc]
