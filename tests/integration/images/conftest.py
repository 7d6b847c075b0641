"""Peer tools (skopeo, podman, containerd, ctr) run so that the host keeps none of their state.

As root they run in a private mount namespace with fresh tmpfs over ``/var/lib`` and
``/run``: skopeo's blob-info cache (/var/lib/containers/cache), podman's /run/libpod and
/run/containers, containerd's /run/containerd and /var/lib/containerd all land there
and vanish with the namespace.  Every test here also checks that those places are as
they were before it ran.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

HOST_STATE = (
    "/var/lib/containers",
    "/run/containers",
    "/run/libpod",
    "/run/containerd",
    "/var/lib/containerd",
)


def isolated(*command: str) -> list[str]:
    """``command`` in a private mount namespace with tmpfs over /var/lib and /run (as root;
    rootless peers keep their state under $HOME, which tests point at tmp_path)."""
    if os.geteuid() != 0:
        return list(command)
    return [
        "unshare",
        "--mount",
        "--propagation",
        "private",
        "sh",
        "-c",
        'mount -t tmpfs tmpfs /var/lib && mount -t tmpfs tmpfs /run && exec "$0" "$@"',
        *command,
    ]


def _host_state() -> dict[str, int]:
    """Every path under HOST_STATE with its modification time."""
    seen: dict[str, int] = {}
    for top in HOST_STATE:
        for root, dirs, files in os.walk(top):
            for name in (*dirs, *files):
                path = Path(root, name)
                with contextlib.suppress(FileNotFoundError):
                    seen[str(path)] = path.lstat().st_mtime_ns
        if os.path.lexists(top):
            seen[top] = Path(top).lstat().st_mtime_ns
    return seen


@pytest.fixture(autouse=True)
def host_state_untouched() -> Iterator[None]:
    before = _host_state()
    yield
    after = _host_state()
    changed = sorted(p for p, mtime in after.items() if before.get(p) != mtime)
    assert not changed, f"a peer tool left state on the host: {changed[:10]}"
