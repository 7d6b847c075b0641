"""How ``exec``'s flags shape the process, and the sysctl policy."""

import pytest

from ketch.errors import InvalidArgument, PermissionDenied
from ketch.oci.runtime_spec import config_from_json
from ketch.runtime._sysctl import check_sysctl
from ketch.runtime.execute import ExecOptions, process_for_exec
from tests.support.bundle import default_config


def test_exec_process_from_flags() -> None:
    config = config_from_json(default_config(["sleep", "9"]))
    process = process_for_exec(
        config,
        ExecOptions(("sh", "-c", "id"), env=("TERM=dumb", "X=1"), cwd="/tmp", user="1000:1001", caps=("CAP_SYS_TIME",), tty=True),
    )
    assert process.args == ("sh", "-c", "id")
    assert "TERM=dumb" in process.env and "TERM=xterm" not in process.env and "X=1" in process.env
    assert process.env[0].startswith("PATH=")
    assert process.cwd == "/tmp" and process.terminal
    assert (process.user.uid, process.user.gid) == (1000, 1001)
    assert process.capabilities is not None
    assert "CAP_SYS_TIME" in process.capabilities.bounding
    assert "CAP_SYS_TIME" in process.capabilities.effective
    assert process.no_new_privileges  # inherited from the container's process


def test_exec_needs_a_command_and_numeric_user() -> None:
    config = config_from_json(default_config(["sleep", "9"]))
    with pytest.raises(InvalidArgument):
        process_for_exec(config, ExecOptions(()))
    with pytest.raises(InvalidArgument, match="uid"):
        process_for_exec(config, ExecOptions(("id",), user="root"))


def test_sysctl_policy() -> None:
    check_sysctl({"net.ipv4.ip_forward": "1", "kernel.shmmax": "1", "fs.mqueue.msg_max": "9"}, frozenset({"network", "ipc"}))
    with pytest.raises(PermissionDenied, match="network namespace"):
        check_sysctl({"net.ipv4.ip_forward": "1"}, frozenset({"ipc"}))
    with pytest.raises(PermissionDenied, match="not a namespaced sysctl"):
        check_sysctl({"kernel.panic": "1"}, frozenset({"ipc", "network", "uts"}))
    with pytest.raises(InvalidArgument, match="invalid key"):
        check_sysctl({"net/../../etc": "1"}, frozenset({"network"}))
