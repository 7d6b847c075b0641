"""Shared fixtures.  Root-only tests are marked ``root`` and skip elsewhere."""

import contextlib
import os

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.geteuid() == 0:
        return
    skip = pytest.mark.skip(reason="needs root")
    for item in items:
        if "root" in item.keywords:
            item.add_marker(skip)


def _default_cgroup_parents() -> set[str]:
    """The runtime's default cgroup parent (``/ketch``) in every mounted hierarchy."""
    found = set()
    try:
        with open("/proc/self/mountinfo") as f:
            for line in f:
                fields = line.split()
                sep = fields.index("-")
                if fields[sep + 1] in ("cgroup", "cgroup2"):
                    found.add(os.path.join(fields[4], "ketch"))
    except OSError:
        pass
    return found


@pytest.fixture(scope="session", autouse=True)
def _leave_no_default_cgroup_parent() -> object:
    """Containers made without ``cgroupsPath`` land in ``/ketch/<id>``; their cgroups are
    removed by ``delete``, but, as with runc, the shared ``/ketch`` parent stays.  Remove
    the empty parents this session created, so the suite leaves the host as it found it."""
    before = {p for p in _default_cgroup_parents() if os.path.isdir(p)}
    yield
    for path in _default_cgroup_parents() - before:
        with contextlib.suppress(OSError):  # not empty (still in use) or already gone
            os.rmdir(path)
