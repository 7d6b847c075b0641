"""The ``Snapshotter`` protocol: what ``open_snapshotter`` returns (overlayfs or native)."""

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Protocol

from ketch.oci.runtime_spec import Mount
from ketch.snapshots._types import SnapshotInfo, Usage

__all__ = ["Snapshotter"]


class Snapshotter(Protocol):
    """What ``open_snapshotter`` returns (overlayfs or native)."""

    @property
    def kind(self) -> str: ...

    @property
    def root(self) -> Path: ...

    def prepare(
        self, key: str, parent: str | None = None, labels: Mapping[str, str] | None = None
    ) -> list[Mount]: ...

    def view(
        self, key: str, parent: str | None = None, labels: Mapping[str, str] | None = None
    ) -> list[Mount]: ...

    def mounts(self, key: str) -> list[Mount]: ...

    def commit(self, name: str, key: str, labels: Mapping[str, str] | None = None) -> None: ...

    def remove(self, key: str) -> None: ...

    def stat(self, key: str) -> SnapshotInfo: ...

    def walk(self) -> Iterator[SnapshotInfo]: ...

    def usage(self, key: str) -> Usage: ...

    def apply_dir(self, key: str) -> Path: ...

    def upper_dir(self, key: str) -> Path: ...

    def lower_dirs(self, key: str) -> list[Path]: ...

    def cleanup(self) -> int: ...
