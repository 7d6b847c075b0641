"""Tar archives of paths inside a container's rootfs, and safe extraction into it.

Paths are resolved with ``RESOLVE_IN_ROOT`` (``_rootfs``): a symlink in the
image cannot send a copy outside the container.  Extraction creates each entry
relative to a directory fd it opened inside the rootfs, never following a
symlink it did not create itself (``O_NOFOLLOW``, ``follow_symlinks=False``).
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tarfile

from ketch.engine._rootfs import open_in_root
from ketch.errors import InvalidArgument, NotFound, PermissionDenied
from ketch.linux.fs import RESOLVE_IN_ROOT, RESOLVE_NO_MAGICLINKS, openat2

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import IO, Any

__all__ = ["extract_into", "stat_in_root", "write_archive"]

_RESOLVE = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS


def stat_in_root(rootfs: str, path: str) -> dict[str, Any]:
    """docker's PathStat (name, size, mode, mtime, linkTarget) of ``path`` in the container."""
    try:
        fd = open_in_root(rootfs, path, os.O_PATH | os.O_NOFOLLOW)
    except OSError as e:
        raise NotFound(f"Could not find the file {path} in container") from e
    try:
        st = os.fstat(fd)
        target = ""
        if stat.S_ISLNK(st.st_mode):
            target = os.readlink("", dir_fd=fd)
    finally:
        os.close(fd)
    return {"name": os.path.basename(path.rstrip("/")) or "/", "size": st.st_size,
            "mode": st.st_mode, "mtime": st.st_mtime, "linkTarget": target}


def write_archive(rootfs: str, path: str, out: IO[bytes], *, name: str | None = None) -> None:
    """Write a tar of ``path`` (file or tree, inside ``rootfs``) to ``out``.

    The top entry is called ``name`` (default: the basename of ``path``);
    symlinks inside are stored as symlinks, never followed.
    """
    follow = path.endswith("/") or path.endswith("/.")
    flags = os.O_PATH if follow else os.O_PATH | os.O_NOFOLLOW
    try:
        fd = open_in_root(rootfs, path, flags)
    except OSError as e:
        if e.errno in (errno.ENOENT, errno.ENOTDIR):
            raise NotFound(f"Could not find the file {path} in container") from e
        raise
    try:
        top = name if name is not None else (os.path.basename(path.rstrip("/")) or ".")
        st = os.fstat(fd)
        with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
            if stat.S_ISDIR(st.st_mode):
                # through the fd's magic link: the tree is the very directory opened above
                tar.add(f"/proc/self/fd/{fd}/.", arcname=top, recursive=True, filter=_numeric)
            else:
                info = tarfile.TarInfo(top)
                info.mode, info.uid, info.gid = st.st_mode & 0o7777, st.st_uid, st.st_gid
                info.mtime = int(st.st_mtime)
                if stat.S_ISLNK(st.st_mode):
                    info.type, info.linkname = tarfile.SYMTYPE, os.readlink("", dir_fd=fd)
                    tar.addfile(info)
                elif stat.S_ISREG(st.st_mode):
                    info.size = st.st_size
                    with open(f"/proc/self/fd/{fd}", "rb") as f:
                        tar.addfile(info, f)
                else:
                    raise InvalidArgument(f"{path}: not a regular file, directory or symlink")
    finally:
        os.close(fd)


def _numeric(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.uname = info.gname = ""
    return info


def _open_dir(rootfs_fd: int, rel: str) -> int:
    """Open (creating as needed) directory ``rel`` beneath ``rootfs_fd``; components are checked."""
    fd = os.dup(rootfs_fd)
    for part in [p for p in rel.split("/") if p and p != "."]:
        if part == "..":
            os.close(fd)
            raise PermissionDenied(f"archive entry escapes the destination: {rel}")
        try:
            nfd = openat2(fd, part, os.O_PATH | os.O_DIRECTORY, _RESOLVE)
        except OSError as e:
            if e.errno != errno.ENOENT:
                os.close(fd)
                raise
            try:
                os.mkdir(part, 0o755, dir_fd=fd)
            except FileExistsError:
                os.close(fd)
                raise PermissionDenied(f"{rel}: a dangling symlink is in the way") from None
            nfd = openat2(fd, part, os.O_PATH | os.O_DIRECTORY, _RESOLVE)
        os.close(fd)
        fd = nfd
    return fd


def extract_into(rootfs: str, dest: str, stream: IO[bytes], *, max_bytes: int = 64 << 30) -> None:
    """Extract the tar ``stream`` under directory ``dest`` of the container's rootfs."""
    try:
        dest_fd = open_in_root(rootfs, dest, os.O_PATH | os.O_DIRECTORY)
    except OSError as e:
        if e.errno == errno.ENOTDIR:
            raise InvalidArgument(f"extraction point is not a directory: {dest}") from e
        raise NotFound(f"Could not find the file {dest} in container") from e
    # openat2's RESOLVE_IN_ROOT needs the root: re-open the rootfs and resolve relative to dest
    total = 0
    try:
        with tarfile.open(fileobj=stream, mode="r|*") as tar:
            for member in tar:
                name = os.path.normpath(member.name).lstrip("/")
                if name in (".", ""):
                    continue
                if name.startswith("../") or name == "..":
                    raise PermissionDenied(f"archive entry escapes the destination: {member.name}")
                parent, base = os.path.split(name)
                pfd = _open_dir(dest_fd, parent) if parent else os.dup(dest_fd)
                try:
                    total += member.size
                    if total > max_bytes:
                        from ketch.errors import ResourceExhausted

                        raise ResourceExhausted("archive too large")
                    _extract_one(tar, member, pfd, base)
                finally:
                    os.close(pfd)
    except tarfile.TarError as e:
        raise InvalidArgument(f"invalid tar archive: {e}") from e
    finally:
        os.close(dest_fd)


def _extract_one(tar: tarfile.TarFile, member: tarfile.TarInfo, pfd: int, base: str) -> None:
    mode = member.mode & 0o7777
    if member.isdir():
        with contextlib.suppress(FileExistsError):
            os.mkdir(base, 0o700, dir_fd=pfd)
        fd = openat2(pfd, base, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, _RESOLVE)
        try:
            os.fchown(fd, member.uid, member.gid)
            os.fchmod(fd, mode)
        finally:
            os.close(fd)
        return
    with contextlib.suppress(FileNotFoundError, IsADirectoryError):
        st = os.stat(base, dir_fd=pfd, follow_symlinks=False)
        if not stat.S_ISDIR(st.st_mode):
            os.unlink(base, dir_fd=pfd)
    if member.issym():
        os.symlink(member.linkname, base, dir_fd=pfd)
        os.chown(base, member.uid, member.gid, dir_fd=pfd, follow_symlinks=False)
    elif member.isfile():
        src = tar.extractfile(member)
        fd = os.open(base, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                     0o600, dir_fd=pfd)
        try:
            while src is not None:
                chunk = src.read(1 << 20)
                if not chunk:
                    break
                os.write(fd, chunk)
            os.fchown(fd, member.uid, member.gid)
            os.fchmod(fd, mode)
        finally:
            os.close(fd)
        os.utime(base, (member.mtime, member.mtime), dir_fd=pfd, follow_symlinks=False)
    elif member.islnk():
        raise InvalidArgument(f"hard links are not supported in copies yet: {member.name}")
    else:
        raise InvalidArgument(f"unsupported archive entry type for {member.name}")
