"""``apply_layer``: unpack an OCI layer tar into a directory, safely and fast.

Each member becomes one entry under ``dest``; its parent is resolved by
``DestRoot`` (never out of ``dest``), its last component is never followed
(``O_EXCL``/``O_NOFOLLOW``; an existing entry is removed first, a directory only
by a non-directory).  OCI whiteouts become overlay whiteouts (a 0/0 character
device, ``trusted.overlay.opaque=y``) or deletions, per ``whiteout``.
Directory modes and times are set last, after their contents.
"""

import errno
import os
import stat
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

from ketch.errors import (
    FailedPrecondition,
    InvalidArgument,
    KetchError,
    NotFound,
    NotImplementedByHost,
    PermissionDenied,
    ResourceExhausted,
)
from ketch.layers._copyup import copy_up
from ketch.layers._root import DestRoot
from ketch.layers._source import LayerSource
from ketch.layers._tar import Entry, TarReader, show
from ketch.layers._types import DEFAULT_LIMITS, ApplyLimits, ApplyResult
from ketch.linux.fs import RESOLVE_IN_ROOT, RESOLVE_NO_MAGICLINKS, openat2
from ketch.linux.tree import remove_tree

__all__ = ["apply_layer"]

_WH = b".wh."
_OPAQUE = b".wh..wh..opq"
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_DIR_NOFOLLOW = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_SKIPPED_XATTRS = ("trusted.overlay.", "user.overlay.")


def _umask() -> int:
    try:
        with open("/proc/self/status", "rb") as f:
            for line in f:
                if line.startswith(b"Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return 0o022


def _split(name: bytes) -> list[bytes]:
    if b"\0" in name:
        raise InvalidArgument(f"layer member {show(name)}: NUL in its name")
    parts = [p for p in name.split(b"/") if p and p != b"."]
    if b".." in parts:
        raise PermissionDenied(f"layer member {show(name)}: '..' in its path")
    return parts


def _os_error(member: bytes, e: OSError) -> KetchError:
    what = f"layer member {show(member)}: {os.strerror(e.errno or 0)}"
    if e.errno in (errno.EPERM, errno.EACCES):
        return PermissionDenied(what)
    if e.errno in (errno.ENOSPC, errno.EDQUOT, errno.EMFILE, errno.ENFILE):
        return ResourceExhausted(what)
    if e.errno in (
        errno.ENOENT,
        errno.ENOTDIR,
        errno.EEXIST,
        errno.ELOOP,
        errno.EINVAL,
        errno.ENAMETOOLONG,
        errno.EXDEV,
        errno.EISDIR,
        errno.ENOTEMPTY,
        errno.EMLINK,
    ):
        return InvalidArgument(what)
    return FailedPrecondition(what)


class _Applier:
    def __init__(
        self, dest: Path, whiteout: str, limits: ApplyLimits, parents: Sequence[Path]
    ) -> None:
        self.overlay = whiteout == "overlay"
        self.limits = limits
        self.is_root = os.geteuid() == 0
        self.umask = _umask()
        self.created: set[bytes] = set()
        self.dirs: list[tuple[bytes, int, int]] = []  # (key, mode, mtime_ns), set at the end
        self.parents = [Path(p) for p in parents]
        self._lowers: list[int] | None = None
        self.root = DestRoot(dest, self._copy_parent_dir)

    def close(self) -> None:
        self.root.close()
        for fd in self._lowers or ():
            os.close(fd)

    def _lower_fds(self) -> list[int]:
        if self._lowers is None:
            self._lowers = []
            for p in self.parents:
                try:
                    self._lowers.append(os.open(p, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC))
                except OSError:
                    continue
        return self._lowers

    # -- bookkeeping ---------------------------------------------------------------------------
    def _created(self, key: bytes) -> None:
        created = self.created
        while key and key not in created:
            created.add(key)
            key = key.rpartition(b"/")[0]

    def _copy_parent_dir(self, key: bytes, fd: int) -> None:
        """A directory made implicitly takes owner, mode and time from the lower layers."""
        self._created(key)
        for lower in self._lower_fds():
            try:  # resolved inside the lower layer, as the merged tree would resolve it
                lfd = openat2(
                    lower, os.fsdecode(key), os.O_PATH, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS
                )
            except OSError:
                continue
            try:
                st = os.fstat(lfd)
            finally:
                os.close(lfd)
            if stat.S_ISDIR(st.st_mode):
                if self.is_root:
                    os.fchown(fd, st.st_uid, st.st_gid)
                self.dirs.append((key, stat.S_IMODE(st.st_mode), st.st_mtime_ns))
                return

    def _remove(self, pfd: int, base: bytes, key: bytes) -> None:
        """Remove whatever ``base`` names in ``pfd`` (a directory with its contents)."""
        self.root.forget(key)
        try:
            st = os.lstat(base, dir_fd=pfd)
        except FileNotFoundError:
            return
        if stat.S_ISDIR(st.st_mode):
            remove_tree(pfd, base)
        else:
            os.unlink(base, dir_fd=pfd)

    def _xattrs(self, target: int | str, e: Entry, follow: bool = True) -> None:
        for name, value in e.xattrs:
            if name.startswith(_SKIPPED_XATTRS):
                continue  # a layer must not forge overlayfs' own metadata
            try:
                os.setxattr(target, name, value, follow_symlinks=follow)
            except OSError as err:
                if err.errno not in (errno.ENOTSUP, errno.EOPNOTSUPP) and (
                    self.is_root or err.errno != errno.EPERM
                ):
                    raise

    # -- members -------------------------------------------------------------------------------
    def run(self, reader: TarReader) -> None:
        count = 0
        max_entries = self.limits.max_entries
        while (e := reader.next()) is not None:
            count += 1
            if count > max_entries:
                raise ResourceExhausted(
                    f"layer member {show(e.name)}: the layer has more than {max_entries} entries"
                )
            try:
                self._member(e, reader)
            except OSError as err:
                raise _os_error(e.name, err) from err
        try:
            self._finish_dirs()
        except OSError as err:
            raise _os_error(b"(directory times)", err) from err

    def _member(self, e: Entry, reader: TarReader) -> None:
        self.root.trim()
        parts = _split(e.name)
        if not parts:
            if e.type != 53:
                raise InvalidArgument(f"layer member {show(e.name)}: the root must be a directory")
            if self.is_root:
                os.fchown(self.root.fd, e.uid, e.gid)
            self.dirs.append((b"", e.mode, e.mtime_ns))
            return
        base = parts[-1]
        pkey = b"/".join(parts[:-1])
        if base.startswith(_WH):
            reader.skip(e.size + (-e.size % 512))
            if base == _OPAQUE:
                self._opaque(pkey, e.name)
            elif not base.startswith(b".wh..wh."):  # other aufs metadata is ignored
                self._whiteout(pkey, base[4:], e.name)
            return
        key = pkey + b"/" + base if pkey else base
        pfd = self.root.dir(pkey, e.name)
        t = e.type
        if t == 53:
            self._dir(pfd, base, key, e)
        elif t == 48 or t == 55:
            self._file(pfd, base, key, e, reader)
        elif t == 50:
            self._symlink(pfd, base, key, e)
        elif t == 49:
            self._hardlink(pfd, base, key, e)
        else:
            self._node(pfd, base, key, e)
        self._created(key)

    def _file(self, pfd: int, base: bytes, key: bytes, e: Entry, reader: TarReader) -> None:
        mode = e.mode
        try:
            fd = os.open(base, _CREATE, mode & 0o777, dir_fd=pfd)
        except FileExistsError:
            self._remove(pfd, base, key)
            fd = os.open(base, _CREATE, mode & 0o777, dir_fd=pfd)
        try:
            write = os.write
            for view in reader.data(e.size):
                while view:
                    view = view[write(fd, view) :]
            reader.end_data(e.size)
            if self.is_root:
                os.fchown(fd, e.uid, e.gid)
            if mode & 0o7000 or mode & self.umask:
                os.fchmod(fd, mode)
            if e.xattrs:
                self._xattrs(fd, e)
            os.utime(fd, ns=(e.mtime_ns, e.mtime_ns))
        finally:
            os.close(fd)

    def _dir(self, pfd: int, base: bytes, key: bytes, e: Entry) -> None:
        try:
            os.mkdir(base, 0o700, dir_fd=pfd)
        except FileExistsError:
            st = os.lstat(base, dir_fd=pfd)
            if not stat.S_ISDIR(st.st_mode):
                self._remove(pfd, base, key)
                os.mkdir(base, 0o700, dir_fd=pfd)
        fd = self.root.dir(key, e.name, create=False)
        if self.is_root:
            os.fchown(fd, e.uid, e.gid)
        if e.xattrs:
            self._xattrs(fd, e)
        self.dirs.append((key, e.mode, e.mtime_ns))

    def _symlink(self, pfd: int, base: bytes, key: bytes, e: Entry) -> None:
        if not e.linkname:
            raise InvalidArgument(f"layer member {show(e.name)}: symlink with an empty target")
        try:
            os.symlink(e.linkname, base, dir_fd=pfd)
        except FileExistsError:
            self._remove(pfd, base, key)
            os.symlink(e.linkname, base, dir_fd=pfd)
        self._meta(pfd, base, e, chmod=False)

    def _meta(self, pfd: int, base: bytes, e: Entry, chmod: bool) -> None:
        if self.is_root:
            os.chown(base, e.uid, e.gid, dir_fd=pfd, follow_symlinks=False)
        if chmod:
            os.chmod(base, e.mode, dir_fd=pfd)
        if e.xattrs:
            self._xattrs(f"/proc/self/fd/{pfd}/{os.fsdecode(base)}", e, follow=False)
        os.utime(base, ns=(e.mtime_ns, e.mtime_ns), dir_fd=pfd, follow_symlinks=False)

    def _hardlink(self, pfd: int, base: bytes, key: bytes, e: Entry) -> None:
        tparts = _split(e.linkname)
        if not tparts:
            raise InvalidArgument(f"layer member {show(e.name)}: hardlink to the root")
        tkey = b"/".join(tparts)
        if tkey == key:
            return
        tparent, tbase = b"/".join(tparts[:-1]), tparts[-1]
        missing = InvalidArgument(
            f"layer member {show(e.name)}: hardlink target {show(e.linkname)} does not exist"
        )
        for attempt in (1, 2):
            try:
                tpfd = self.root.dir(tparent, e.name, create=False)
                try:
                    os.link(tbase, base, src_dir_fd=tpfd, dst_dir_fd=pfd, follow_symlinks=False)
                except FileExistsError:
                    self._remove(pfd, base, key)  # may close tpfd if the target was inside
                    tpfd = self.root.dir(tparent, e.name, create=False)
                    os.link(tbase, base, src_dir_fd=tpfd, dst_dir_fd=pfd, follow_symlinks=False)
                return
            except (FileNotFoundError, KetchError) as err:
                if attempt == 2 or not self.overlay:
                    raise missing from err
                # a target only in a lower layer is copied up first, as overlayfs would
                if not copy_up(
                    self._lower_fds(),
                    tparent,
                    tbase,
                    lambda: self.root.dir(tparent, e.name),
                    self.is_root,
                ):
                    raise missing from err

    def _node(self, pfd: int, base: bytes, key: bytes, e: Entry) -> None:
        t = e.type
        if t in (51, 52):
            if not self.limits.allow_devices:
                raise PermissionDenied(f"layer member {show(e.name)}: device nodes are not allowed")
            kind = stat.S_IFCHR if t == 51 else stat.S_IFBLK
            dev = os.makedev(e.devmajor, e.devminor)
        else:
            kind, dev = stat.S_IFIFO, 0
        try:
            os.mknod(base, kind | (e.mode & 0o777), dev, dir_fd=pfd)
        except FileExistsError:
            self._remove(pfd, base, key)
            os.mknod(base, kind | (e.mode & 0o777), dev, dir_fd=pfd)
        self._meta(pfd, base, e, chmod=True)

    # -- whiteouts -----------------------------------------------------------------------------
    def _whiteout(self, pkey: bytes, name: bytes, member: bytes) -> None:
        if name in (b"", b".", b".."):
            raise InvalidArgument(f"layer member {show(member)}: malformed whiteout")
        key = pkey + b"/" + name if pkey else name
        if key in self.created:
            return  # a whiteout hides lower layers only, not its own layer's files
        if self.overlay:
            pfd = self.root.dir(pkey, member)
            self._remove(pfd, name, key)
            os.mknod(name, stat.S_IFCHR, os.makedev(0, 0), dir_fd=pfd)
            return
        try:
            pfd = self.root.dir(pkey, member, create=False)
        except (KetchError, OSError):
            return  # nothing below to hide
        self._remove(pfd, name, key)

    def _opaque(self, dkey: bytes, member: bytes) -> None:
        if self.root.through_symlink(dkey):
            raise InvalidArgument(f"layer member {show(member)}: opaque marker under a symlink")
        fd = self.root.dir(dkey, member)
        if self.overlay:
            os.setxattr(fd, "trusted.overlay.opaque", b"y")
        else:
            self._purge(fd, dkey)
        self._created(dkey)

    def _purge(self, top: int, top_key: bytes) -> None:
        """Remove what lower layers left in a directory this layer made opaque."""
        pending: list[tuple[int, bytes]] = [(os.dup(top), top_key)]
        try:
            while pending:
                fd, key = pending.pop()
                try:
                    for name in os.listdir(fd):
                        bname = os.fsencode(name)
                        k = key + b"/" + bname if key else bname
                        if k not in self.created:
                            self._remove(fd, bname, k)
                        elif stat.S_ISDIR(os.lstat(bname, dir_fd=fd).st_mode):
                            pending.append((os.open(bname, _DIR_NOFOLLOW, dir_fd=fd), k))
                finally:
                    os.close(fd)
        finally:
            for fd, _ in pending:
                os.close(fd)

    def _open_dir(self, key: bytes) -> int:
        if not key:
            return os.dup(self.root.fd)
        pkey, _, base = key.rpartition(b"/")
        pfd = self.root.dir(pkey, key, create=False)
        return os.open(base, _DIR_NOFOLLOW, dir_fd=pfd)

    def _finish_dirs(self) -> None:
        """Directory modes and times, after their contents; directories the layer changed
        without naming them keep the times they had."""
        seen = {key for key, _, _ in self.dirs}
        for key, (atime_ns, mtime_ns) in list(self.root.existing.items()):
            self.root.trim()
            if key in seen:
                continue
            try:
                fd = self._open_dir(key)
            except (KetchError, OSError):
                continue  # removed or replaced by the layer
            try:
                os.utime(fd, ns=(atime_ns, mtime_ns))
            finally:
                os.close(fd)
        seen.clear()
        for key, mode, mtime_ns in reversed(self.dirs):
            self.root.trim()
            if key in seen:
                continue
            seen.add(key)
            try:
                fd = self._open_dir(key)
            except (KetchError, OSError):
                continue  # replaced or removed later in the layer
            try:
                os.fchmod(fd, mode)
                os.utime(fd, ns=(mtime_ns, mtime_ns))
            finally:
                os.close(fd)


def _check_media_type(media_type: str | None) -> None:
    if media_type is None:
        return
    if "+encrypted" in media_type:
        raise NotImplementedByHost(f"encrypted layers are not supported ({media_type})")
    if "tar" not in media_type:
        raise InvalidArgument(f"{media_type} is not a layer media type")


def apply_layer(
    stream: BinaryIO,
    dest: Path,
    *,
    media_type: str | None = None,
    whiteout: str = "overlay",
    limits: ApplyLimits = DEFAULT_LIMITS,
    parents: Sequence[Path] = (),
) -> ApplyResult:
    """Apply the layer blob ``stream`` (gzip, zstd or plain tar) into directory ``dest``.

    ``whiteout="overlay"`` writes whiteouts as overlayfs does (``dest`` is an
    overlay upper dir); ``"delete"`` removes what they hide (``dest`` is a copy of
    the parent).  ``parents`` (the lower layers, nearest first) give directories
    the layer makes implicitly their owner and mode.  Returns the diff ID and size
    of the uncompressed tar.  Hostile members raise ``PermissionDenied``,
    ``ResourceExhausted`` or ``InvalidArgument`` naming the member; what was
    written before stays inside ``dest``.
    """
    if whiteout not in ("overlay", "delete"):
        raise InvalidArgument(f"whiteout mode {whiteout!r}: expected 'overlay' or 'delete'")
    _check_media_type(media_type)
    try:
        os.stat(dest)
    except OSError as e:
        raise NotFound(f"layer destination {dest}: {os.strerror(e.errno or 0)}") from e
    source = LayerSource(stream, limits.max_bytes)
    try:
        applier = _Applier(Path(dest), whiteout, limits, parents)
        try:
            reader = TarReader(source.chunks(), limits.max_name, limits.max_header)
            applier.run(reader)
            reader.drain()
        finally:
            applier.close()
    finally:
        source.close()
    return ApplyResult(diff_id=source.diff_id, size=source.size)
