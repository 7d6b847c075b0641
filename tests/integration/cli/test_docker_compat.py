"""Behaviour an acceptance review against docker 20.10 found different, pinned to docker's."""

from __future__ import annotations

import pytest

from tests.integration.cli.conftest import Ketch

pytestmark = pytest.mark.root


def test_supplementary_groups_include_the_primary_group(ketch: Ketch) -> None:
    assert ketch.ok("run", "--rm", "-u", "app", "busybox", "id").strip().endswith(
        "groups=1000(app),1001(extra)")
    assert ketch.ok("run", "--rm", "-u", "1234:5678", "busybox", "id").strip().endswith(
        "groups=5678")
    assert ketch.ok("run", "--rm", "busybox", "id").strip().endswith("groups=0(root)")
