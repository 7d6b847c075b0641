"""An ``Engine`` on a private root with the busybox image (shares the CLI fixtures)."""

from __future__ import annotations

from tests.integration.cli.conftest import busybox_root, ketch  # noqa: F401 - fixtures
