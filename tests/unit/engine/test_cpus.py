from __future__ import annotations

from pathlib import Path

import pytest

from ketch.engine._cpus import check_cpus, parse_cpuset
from ketch.errors import InvalidArgument


def test_parse_cpuset() -> None:
    assert parse_cpuset("0-3,5", "cpuset cpus") == {0, 1, 2, 3, 5}
    for bad in ("", "a", "3-1", "1-", "-1", "1,,2", "99999999"):
        with pytest.raises(InvalidArgument, match="for cpuset cpus"):
            parse_cpuset(bad, "cpuset cpus")


def test_check_cpus_reads_the_hosts_cpuset(tmp_path: Path) -> None:
    (tmp_path / "cpuset").mkdir()
    (tmp_path / "cpuset" / "cpuset.cpus").write_text("0-1\n")
    (tmp_path / "cpuset" / "cpuset.mems").write_text("0\n")
    check_cpus({"CpusetCpus": "0,1", "CpusetMems": "0"}, str(tmp_path))
    with pytest.raises(InvalidArgument, match=r"requested 2-3, available: 0-1$"):
        check_cpus({"CpusetCpus": "2-3"}, str(tmp_path))
    with pytest.raises(InvalidArgument, match="Requested memory nodes are not available"):
        check_cpus({"CpusetMems": "1"}, str(tmp_path))
    with pytest.raises(InvalidArgument, match="Range of CPUs"):
        check_cpus({"NanoCpus": -1}, str(tmp_path))
