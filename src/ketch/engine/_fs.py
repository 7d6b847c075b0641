"""The container's filesystem from the host: mount on demand, ``cp`` archives, ``export``.

Paths resolve inside the rootfs (``_archive``/``_rootfs``); bind mounts and the
/etc files the engine bind-mounts are followed to their sources, as the
container sees them.
"""

from __future__ import annotations

import contextlib
import os

from ketch.errors import InvalidArgument, NotFound

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import IO, Any

    from ketch.engine.containers import ContainerService

__all__ = ["export", "get_archive", "mounted", "put_archive", "stat_path"]


@contextlib.contextmanager
def mounted(svc: ContainerService, ref: str) -> Iterator[tuple[dict[str, Any], str]]:
    """(record, rootfs path) with the rootfs mounted for the duration.

    A running container is frozen meanwhile (unless it already is), so its
    processes cannot swap a directory for a symlink while a copy walks the tree.
    """
    cid = svc.store.resolve(ref)
    with svc.store.container_lock(cid):
        doc = svc._reconciled(svc.store.load(cid), locked=True)
        target = svc._rootfs(cid)
        if doc["State"]["Running"] and os.path.ismount(target):
            frozen = not doc["State"]["Paused"]
            if frozen:
                svc.runtime.pause(cid)
            try:
                yield doc, target
            finally:
                if frozen:
                    svc.runtime.resume(cid)
            return
        svc._mount(doc)
        try:
            yield doc, target
        finally:
            svc._unmount(cid)


def _through_mounts(svc: ContainerService, doc: dict[str, Any], rootfs: str, path: str) -> tuple[str, str, bool]:
    """(tree, path in it, read-only) for ``path``: bind mounts and /etc files first."""
    from ketch.engine._inspect import mounts_of

    norm = os.path.normpath("/" + path.lstrip("/"))
    cdir = str(svc.store.dir(doc["ID"]))
    binds = [(f"/etc/{n}", f"{cdir}/{n}", False) for n in ("hostname", "hosts", "resolv.conf")]
    binds += [(m["Destination"], m["Source"], not m["RW"]) for m in mounts_of(doc)
              if m["Type"] == "bind"]
    for dest, source, ro in sorted(binds, key=lambda b: len(b[0]), reverse=True):
        if norm == dest:
            return os.path.dirname(source), os.path.basename(source), ro
        if norm.startswith(dest.rstrip("/") + "/"):
            return source, norm[len(dest):], ro
    return rootfs, path, bool(doc["HostConfig"].get("ReadonlyRootfs"))


def stat_path(svc: ContainerService, ref: str, path: str) -> dict[str, Any]:
    from ketch.engine._archive import stat_in_root

    with svc.mounted(ref) as (doc, rootfs):
        tree, inner, _ = _through_mounts(svc, doc, rootfs, path)
        info = stat_in_root(tree, inner)
        info["name"] = os.path.basename(path.rstrip("/")) or "/"
        return info


_MAX_LINKS = 40


def _follow(svc: ContainerService, doc: dict[str, Any], rootfs: str, path: str) -> str:
    """``path`` with its final symlinks followed, hop by hop, each resolved in the container."""
    from ketch.engine._archive import stat_in_root

    for _ in range(_MAX_LINKS):
        tree, inner, _ = _through_mounts(svc, doc, rootfs, path)
        try:
            target = stat_in_root(tree, inner)["linkTarget"]
        except NotFound:
            return path  # reported by the copy itself
        if not target:
            return path
        base = os.path.dirname(os.path.normpath("/" + path.lstrip("/")))
        path = os.path.normpath(os.path.join(base, target))  # an absolute target replaces base
    raise InvalidArgument(f"{path}: too many levels of symbolic links")


def get_archive(
    svc: ContainerService, ref: str, path: str, out: IO[bytes], *, follow_link: bool = False
) -> None:
    """A tar of ``path`` in the container (``docker cp [-L] CONTAINER:PATH``).

    With ``follow_link`` a symlink at ``path`` is followed inside the container and its
    target is copied under the link's name.
    """
    from ketch.engine._archive import write_archive

    with svc.mounted(ref) as (doc, rootfs):
        name = os.path.basename(path.rstrip("/")) or "."
        if follow_link and not path.endswith(("/", "/.")):
            path = _follow(svc, doc, rootfs, path)
        tree, inner, _ = _through_mounts(svc, doc, rootfs, path)
        if path.endswith("/."):
            name = "."
        write_archive(tree, inner + ("/." if path.endswith("/.") and not inner.endswith("/.") else ""),
                      out, name=name)


def put_archive(svc: ContainerService, ref: str, path: str, stream: IO[bytes]) -> None:
    """Extract the tar ``stream`` into directory ``path`` of the container."""
    from ketch.engine._archive import extract_into

    with svc.mounted(ref) as (doc, rootfs):
        tree, inner, read_only = _through_mounts(svc, doc, rootfs, path)
        if read_only:
            from ketch.errors import PermissionDenied

            raise PermissionDenied("container rootfs is marked read-only")
        extract_into(tree, inner, stream)


def export(svc: ContainerService, ref: str, out: IO[bytes]) -> None:
    """The container's whole filesystem as a tar (``docker export``)."""
    from ketch.engine._archive import write_archive

    with svc.mounted(ref) as (_, rootfs):
        write_archive(rootfs, "/", out, name=".")
