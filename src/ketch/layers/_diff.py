"""``diff_layer``: the changes of a snapshot as an OCI layer tar.

Two modes, named like ``apply_layer``'s whiteouts:

- ``whiteout="overlay"``: ``upper`` is an overlay upper directory; everything in it
  is a change, a 0/0 character device is a deletion (``.wh.<name>``) and a
  directory with ``trusted.overlay.opaque=y`` hides its lower contents
  (``.wh..wh..opq``).  Redirected or metacopy entries (overlay features that keep
  data in a lower layer) are refused.
- ``whiteout="delete"``: ``upper`` is a whole tree (a native snapshot) compared
  with ``lowers[0]``, its parent's tree: new and changed entries (type, mode,
  owner, size, mtime, link target, device, xattrs) are archived, missing ones
  whited out.  File contents are not compared, as with metadata-based diffs.

Members are sorted by name bytes within each directory (deterministic output);
a directory precedes its contents; hardlinked files after the first become
hardlink members.
"""

import errno
import os
import stat
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

from ketch.errors import FailedPrecondition, InvalidArgument
from ketch.layers._tarwrite import LayerWriter
from ketch.layers._types import DiffResult

__all__ = ["diff_layer"]

_Op = tuple[str, str, str, os.stat_result, dict[str, bytes]]

_OVERLAY_XATTR = "trusted.overlay."
_OPAQUE = "trusted.overlay.opaque"
_REFUSED = ("trusted.overlay.redirect", "trusted.overlay.metacopy")


def _xattrs(path: str) -> dict[str, bytes]:
    try:
        names = os.listxattr(path, follow_symlinks=False)
    except OSError as e:
        if e.errno in (errno.ENOTSUP, errno.EOPNOTSUPP):
            return {}
        raise
    out: dict[str, bytes] = {}
    for name in names:
        try:
            out[name] = os.getxattr(path, name, follow_symlinks=False)
        except OSError as e:
            if e.errno not in (errno.ENODATA, errno.ENOTSUP, errno.EOPNOTSUPP):
                raise
    return out


def _entries(path: str) -> list[os.DirEntry[str]]:
    with os.scandir(path) as it:
        return sorted(it, key=lambda d: os.fsencode(d.name))


class _Differ:
    def __init__(self, writer: LayerWriter) -> None:
        self.w = writer
        self.links: dict[tuple[int, int], str] = {}

    def emit(self, name: str, path: str, st: os.stat_result, xattrs: dict[str, bytes]) -> None:
        mode = st.st_mode
        xattrs = {k: v for k, v in xattrs.items() if not k.startswith(_OVERLAY_XATTR)}
        if stat.S_ISREG(mode) and st.st_nlink > 1:
            first = self.links.get((st.st_dev, st.st_ino))
            if first is not None:
                self.w.add(name, st, hardlink=first)
                return
            self.links[(st.st_dev, st.st_ino)] = name
        if stat.S_ISLNK(mode):
            self.w.add(name, st, link=os.readlink(path), xattrs=xattrs)
        elif stat.S_ISREG(mode):
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
            try:
                self.w.add(name, st, xattrs=xattrs, data_fd=fd)
            finally:
                os.close(fd)
        else:
            self.w.add(name, st, xattrs=xattrs)

    def whiteout(self, name: str, st: os.stat_result) -> None:
        head, _, base = name.rpartition("/")
        wh = f"{head}/.wh.{base}" if head else f".wh.{base}"
        self.w.add(wh, _empty(st), data_fd=-1)

    # -- overlay upper -------------------------------------------------------------------------
    def overlay(self, top: str) -> None:
        """Archive an overlay upper directory, depth first, without recursion."""
        stack: list[tuple[str, Iterator[os.DirEntry[str]]]] = [("", iter(_entries(top)))]
        while stack:
            prefix, it = stack[-1]
            entry = next(it, None)
            if entry is None:
                stack.pop()
                continue
            name = prefix + entry.name
            st = entry.stat(follow_symlinks=False)
            mode = st.st_mode
            if stat.S_ISCHR(mode) and st.st_rdev == 0:
                self.whiteout(name, st)
                continue
            xattrs = _xattrs(entry.path)
            for refused in _REFUSED:
                if refused in xattrs:
                    raise FailedPrecondition(
                        f"{entry.path}: overlay {refused.rsplit('.', 1)[1]} entries keep data "
                        f"in a lower layer; diff the mounted trees instead"
                    )
            self.emit(name, entry.path, st, xattrs)
            if stat.S_ISDIR(mode):
                if xattrs.get(_OPAQUE) == b"y":
                    self.w.add(f"{name}/.wh..wh..opq", _empty(st), data_fd=-1)
                stack.append((name + "/", iter(_entries(entry.path))))

    # -- two trees -----------------------------------------------------------------------------
    def trees(self, new_top: str, old_top: str | None) -> list[_Op]:
        """What differs between ``new_top`` and ``old_top`` (None: all of it), in archive
        order; depth first without recursion.  A directory whose own metadata did not change
        is archived only with changes below it, so each directory collects its subtree's
        operations in a frame and hands them up when done."""
        root = _Frame(new_top, old_top, "", None, include=False)
        stack = [root]
        while stack:
            f = stack[-1]
            item = next(f.items, None)
            if item is None:
                stack.pop()
                if f.parent is not None and f.op is not None and (f.include or f.ops):
                    f.parent.ops.append(f.op)
                    f.parent.ops.extend(f.ops)
                continue
            n, o = item
            if n is None:
                assert o is not None
                st = o.stat(follow_symlinks=False)
                f.ops.append(("whiteout", f.prefix + o.name, o.path, st, {}))
                continue
            name = f.prefix + n.name
            st = n.stat(follow_symlinks=False)
            xattrs = _xattrs(n.path)
            op: _Op = ("add", name, n.path, st, xattrs)
            is_dir = stat.S_ISDIR(st.st_mode)
            if o is None:
                same, old_dir = False, None
            else:
                ost = o.stat(follow_symlinks=False)
                same = _same(st, ost) and xattrs == _xattrs(o.path)
                if same and stat.S_ISLNK(st.st_mode):
                    same = os.readlink(n.path) == os.readlink(o.path)
                old_dir = o.path if stat.S_ISDIR(ost.st_mode) else None
            if is_dir:
                stack.append(_Frame(n.path, old_dir, name + "/", op, include=not same, parent=f))
            elif not same:
                f.ops.append(op)
        return root.ops

    def write_ops(self, ops: list[_Op]) -> None:
        for kind, name, path, st, xattrs in ops:
            if kind == "whiteout":
                self.whiteout(name, st)
            else:
                self.emit(name, path, st, xattrs)


class _Frame:
    """One directory of the two-tree walk: its entries to visit and the operations found."""

    def __init__(
        self,
        new: str,
        old: str | None,
        prefix: str,
        op: _Op | None,
        *,
        include: bool,
        parent: "_Frame | None" = None,
    ) -> None:
        self.prefix = prefix
        self.op = op
        self.include = include
        self.parent = parent
        self.ops: list[_Op] = []
        new_entries = {os.fsencode(e.name): e for e in _entries(new)}
        old_entries = {os.fsencode(e.name): e for e in _entries(old)} if old else {}
        self.items = iter(
            [
                (new_entries.get(b), old_entries.get(b))
                for b in sorted(new_entries.keys() | old_entries.keys())
            ]
        )


def _same(a: os.stat_result, b: os.stat_result) -> bool:
    return (
        stat.S_IFMT(a.st_mode) == stat.S_IFMT(b.st_mode)
        and a.st_mode == b.st_mode
        and a.st_uid == b.st_uid
        and a.st_gid == b.st_gid
        and a.st_rdev == b.st_rdev
        and (stat.S_ISDIR(a.st_mode) or (a.st_size == b.st_size and a.st_mtime_ns == b.st_mtime_ns))
    )


def _empty(st: os.stat_result) -> os.stat_result:
    return os.stat_result((stat.S_IFREG | 0o644, 0, 0, 1, 0, 0, 0, 0, int(st.st_mtime), 0))


def diff_layer(
    upper: Path,
    lowers: Sequence[Path],
    out: BinaryIO,
    *,
    compression: str = "gzip",
    whiteout: str = "overlay",
) -> DiffResult:
    """Write the changes in ``upper`` (over ``lowers``, nearest first) as a layer to ``out``."""
    if whiteout not in ("overlay", "delete"):
        raise InvalidArgument(f"whiteout mode {whiteout!r}: expected 'overlay' or 'delete'")
    if whiteout == "delete" and len(lowers) > 1:
        raise InvalidArgument("a two-directory diff compares with one parent tree")
    writer = LayerWriter(out, compression)
    differ = _Differ(writer)
    try:
        if whiteout == "overlay":
            differ.overlay(str(upper))
        else:
            differ.write_ops(differ.trees(str(upper), str(lowers[0]) if lowers else None))
    except OSError as e:
        raise FailedPrecondition(f"diff of {upper}: {e}") from e
    diff_id, digest, size = writer.close()
    return DiffResult(diff_id=diff_id, digest=digest, size=size, media_type=writer.media_type)
