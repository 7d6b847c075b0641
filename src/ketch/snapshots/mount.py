"""Mount and unmount the mount records a snapshotter describes.

Snapshotters never mount; callers that need a snapshot's tree (the engine for a
container root, the image unpacker for a temporary view) call ``mount_all``
and, always in a ``finally``, ``unmount_all``.

A ``mount(2)`` option string is limited to one page.  Overlay ``lowerdir``
lists of many layers exceed it; they are then shortened by opening the common
parent directory and naming each layer through ``/proc/self/fd/<fd>/...``
(overlayfs resolves the paths once, at mount time, so the fd is closed after).
Past ~170 layers even that is too long: the paths are then made relative and
the mount is made from that directory as working directory (restored at once;
the working directory is per process, so callers mount from one thread).
"""

from __future__ import annotations

import errno
import os

from ketch.errors import (
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    NotImplementedByHost,
    PermissionDenied,
)
from ketch.linux import mount as _m

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from ketch.oci.runtime_spec import Mount

__all__ = ["mount_all", "unmount_all"]

_FLAGS = {
    "ro": (_m.MS_RDONLY, True),
    "rw": (_m.MS_RDONLY, False),
    "nosuid": (_m.MS_NOSUID, True),
    "suid": (_m.MS_NOSUID, False),
    "nodev": (_m.MS_NODEV, True),
    "dev": (_m.MS_NODEV, False),
    "noexec": (_m.MS_NOEXEC, True),
    "exec": (_m.MS_NOEXEC, False),
    "sync": (_m.MS_SYNCHRONOUS, True),
    "async": (_m.MS_SYNCHRONOUS, False),
    "noatime": (_m.MS_NOATIME, True),
    "relatime": (_m.MS_RELATIME, True),
    "strictatime": (_m.MS_STRICTATIME, True),
    "nodiratime": (_m.MS_NODIRATIME, True),
    "bind": (_m.MS_BIND, True),
    "rbind": (_m.MS_BIND | _m.MS_REC, True),
}
_PATH_OPTIONS = ("lowerdir=", "upperdir=", "workdir=")
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def _split(options: Sequence[str]) -> tuple[int, list[str]]:
    flags, data = 0, []
    for opt in options:
        known = _FLAGS.get(opt)
        if known is None:
            data.append(opt)
        elif known[1]:
            flags |= known[0]
        else:
            flags &= ~known[0]
    return flags, data


def _error(e: OSError, m: Mount, target: str) -> Exception:
    what = f"mount {m.type or 'bind'} {m.source} on {target}: {os.strerror(e.errno or 0)}"
    if e.errno in (errno.EPERM, errno.EACCES):
        return PermissionDenied(what)
    if e.errno == errno.ENODEV:
        return NotImplementedByHost(what)
    if e.errno == errno.EINVAL:
        return InvalidArgument(what)
    if e.errno in (errno.ENOENT, errno.ENOTDIR):
        return NotFound(what)
    return FailedPrecondition(what)


def _compact(data: list[str], relative: bool) -> tuple[list[str], int]:
    """Rewrite overlay path options relative to an fd on their common parent directory
    (or, ``relative``, to that directory itself)."""
    paths: list[str] = []
    for opt in data:
        if opt.startswith(_PATH_OPTIONS):
            paths.extend(opt.split("=", 1)[1].split(":"))
    base = os.path.commonpath(paths)
    fd = os.open(base, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    prefix = "." if relative else f"/proc/self/fd/{fd}"

    def short(p: str) -> str:
        rel = os.path.relpath(p, base)
        return prefix if rel == "." else rel if relative else f"{prefix}/{rel}"

    out = []
    for opt in data:
        if opt.startswith(_PATH_OPTIONS):
            name, value = opt.split("=", 1)
            opt = f"{name}=" + ":".join(short(p) for p in value.split(":"))
        out.append(opt)
    return out, fd


def _mount_one(m: Mount, target: str) -> None:
    flags, data = _split(m.options)
    is_bind = m.type == "bind" or flags & _m.MS_BIND
    if is_bind:
        if m.source is None:
            raise InvalidArgument(f"bind mount on {target} has no source")
        _m.mount(m.source, target, None, _m.MS_BIND | (flags & _m.MS_REC))
        rest = flags & ~(_m.MS_BIND | _m.MS_REC)
        if rest:
            try:
                _m.mount(None, target, None, _m.MS_BIND | _m.MS_REMOUNT | rest)
            except OSError:
                _m.umount(target, _m.MNT_DETACH)
                raise
        return
    fd = -1
    text = ",".join(data)
    relative = False
    if len(text) >= _PAGE and m.type == "overlay":
        short, fd = _compact(data, relative=False)
        text = ",".join(short)
        if len(text) >= _PAGE:
            os.close(fd)
            short, fd = _compact(data, relative=True)
            text, relative = ",".join(short), True
    try:
        if len(text) >= _PAGE:
            raise InvalidArgument(
                f"mount options for {target} take {len(text)} bytes, more than a page ({_PAGE})"
            )
        if relative:
            _mount_from(fd, m, os.path.abspath(target), flags, text)
        else:
            _m.mount(m.source, target, m.type, flags, text or None)
    finally:
        if fd >= 0:
            os.close(fd)


def _mount_from(base_fd: int, m: Mount, target: str, flags: int, text: str) -> None:
    cwd = os.open(".", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fchdir(base_fd)
        try:
            _m.mount(m.source, target, m.type, flags, text)
        finally:
            os.fchdir(cwd)
    finally:
        os.close(cwd)


def mount_all(mounts: Sequence[Mount], target: Path | str, *, volatile: bool = False) -> None:
    """Mount ``mounts`` in order on ``target``; on failure the ones done are undone.

    ``volatile``: the caller throws the writable layer away after use (an ``--rm``
    container), so a writable overlay is mounted without syncs (overlayfs'
    ``volatile``: its unmount then skips syncing the upper filesystem, ~0.5 ms).
    """
    target = str(target)
    if volatile:
        fast = [_volatile(m) for m in mounts]
        if fast != list(mounts):
            try:
                mount_all(fast, target)
                return
            except InvalidArgument:  # a kernel before 5.10: no volatile overlays
                pass
    done = 0
    try:
        for m in mounts:
            try:
                _mount_one(m, target)
            except OSError as e:
                raise _error(e, m, target) from e
            done += 1
    except BaseException:
        for _ in range(done):
            _m.umount(target, _m.MNT_DETACH)
        raise


def _volatile(m: Mount) -> Mount:
    """``m`` with ``volatile`` if it is a writable overlay.  The kernel marks the workdir
    of a volatile mount (``work/incompat/volatile``) and refuses any later mount of it,
    for fear of a crash in between; the caller does not care what the layer holds, so
    a mark left by an earlier mount of the same layer (its monitor died and it is
    started again) is removed first."""
    if m.type != "overlay" or "volatile" in m.options:
        return m
    workdir = next((o[len("workdir="):] for o in m.options if o.startswith("workdir=")), None)
    if workdir is None:  # read-only: nothing to sync
        return m
    mark = f"{workdir}/work/incompat/volatile"
    if os.path.lexists(mark):
        from ketch.snapshots._tree import remove_tree

        remove_tree(mark)
    volatile: Mount = m.replace(options=(*m.options, "volatile"))  # type: ignore[assignment]
    return volatile


def unmount_all(target: Path | str, *, detach: bool = False) -> None:
    """Unmount every mount stacked on ``target`` (none is fine)."""
    flags = _m.MNT_DETACH if detach else 0
    while True:
        try:
            _m.umount(str(target), flags)
        except OSError as e:
            if e.errno in (errno.EINVAL, errno.ENOENT):
                return
            raise FailedPrecondition(f"unmount {target}: {os.strerror(e.errno or 0)}") from e
