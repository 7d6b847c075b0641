"""Whole-tree helpers for snapshot directories: copy with all metadata, usage, removal.

Neither follows a symlink: snapshot trees hold whatever a hostile layer put
there, so every entry is ``lstat``-ed and re-created, never traversed through.
"""

import errno
import os
import stat

from ketch.linux.filecopy import copy_data
from ketch.linux.tree import remove_tree as remove_tree_at

__all__ = ["copy_tree", "copy_xattrs", "disk_usage", "remove_tree"]

_IGNORED_XATTR_ERRNOS = (errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENODATA)


def copy_xattrs(src: str, dst: str, is_link: bool = False) -> None:
    """Copy the extended attributes of ``src`` to ``dst`` (symlinks themselves when ``is_link``)."""
    follow = not is_link
    try:
        names = os.listxattr(src, follow_symlinks=follow)
    except OSError as e:
        if e.errno in _IGNORED_XATTR_ERRNOS:
            return
        raise
    for name in names:
        try:
            os.setxattr(
                dst, name, os.getxattr(src, name, follow_symlinks=follow), follow_symlinks=follow
            )
        except OSError as e:
            if e.errno not in (*_IGNORED_XATTR_ERRNOS, errno.EPERM):
                raise


def _copy_data(src: str, dst: str, st: os.stat_result) -> None:
    sfd = os.open(src, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        dfd = os.open(
            dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600
        )
        try:
            copy_data(sfd, dfd, st.st_size)
            _own(dfd, st)
        finally:
            os.close(dfd)
    finally:
        os.close(sfd)


def _own(fd: int, st: os.stat_result) -> None:
    if os.geteuid() == 0:
        os.fchown(fd, st.st_uid, st.st_gid)
    os.fchmod(fd, stat.S_IMODE(st.st_mode))


def copy_tree(src: str, dst: str) -> None:
    """Copy the contents of directory ``src`` into existing directory ``dst``: files, dirs,
    symlinks, hardlinks, device nodes, fifos, ownership, modes, xattrs and times.

    Iterative (a layer can nest directories deeper than Python's recursion limit);
    a directory's metadata is set after its contents.
    """
    links: dict[tuple[int, int], str] = {}
    stack: list[tuple[bool, str, str, os.stat_result]] = [(False, src, dst, os.lstat(src))]
    while stack:
        done, s, d, st = stack.pop()
        if done:
            _finish_dir(s, d, st)
            continue
        stack.append((True, s, d, st))
        with os.scandir(s) as it:
            entries = list(it)
        for entry in entries:
            est = entry.stat(follow_symlinks=False)
            target = os.path.join(d, entry.name)
            if stat.S_ISDIR(est.st_mode):
                os.mkdir(target, 0o700)
                stack.append((False, entry.path, target, est))
            else:
                _copy_entry(entry.path, target, est, links)


def _finish_dir(src: str, dst: str, st: os.stat_result) -> None:
    if os.geteuid() == 0:
        os.lchown(dst, st.st_uid, st.st_gid)
    os.chmod(dst, stat.S_IMODE(st.st_mode))
    copy_xattrs(src, dst)
    os.utime(dst, ns=(st.st_atime_ns, st.st_mtime_ns))


def _copy_entry(s: str, d: str, st: os.stat_result, links: dict[tuple[int, int], str]) -> None:
    mode = st.st_mode
    if st.st_nlink > 1:
        first = links.get((st.st_dev, st.st_ino))
        if first is not None:
            os.link(first, d, follow_symlinks=False)
            return
        links[(st.st_dev, st.st_ino)] = d
    root = os.geteuid() == 0
    if stat.S_ISREG(mode):
        _copy_data(s, d, st)
    elif stat.S_ISLNK(mode):
        os.symlink(os.readlink(s), d)
        if root:
            os.lchown(d, st.st_uid, st.st_gid)
    else:
        os.mknod(d, mode, st.st_rdev)
        if root:
            os.lchown(d, st.st_uid, st.st_gid)
        os.chmod(d, stat.S_IMODE(mode))
    copy_xattrs(s, d, is_link=stat.S_ISLNK(mode))
    os.utime(d, ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=False)


_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def remove_tree(path: str) -> None:
    """Remove ``path`` and everything below it, at any depth, never following a symlink
    (``ketch.linux.tree.remove_tree`` relative to the parent directory)."""
    parent, name = os.path.split(path.rstrip("/"))
    parent_fd = os.open(parent or ".", _DIR)
    try:
        remove_tree_at(parent_fd, name)
    finally:
        os.close(parent_fd)


def disk_usage(path: str) -> tuple[int, int]:
    """(bytes allocated, inodes) under ``path``, the directory itself included."""
    seen: set[tuple[int, int]] = set()
    st = os.lstat(path)
    size, inodes = st.st_blocks * 512, 1
    stack = [path]
    while stack:
        top = stack.pop()
        with os.scandir(top) as it:
            for entry in it:
                st = entry.stat(follow_symlinks=False)
                if st.st_nlink > 1 and not stat.S_ISDIR(st.st_mode):
                    ident = (st.st_dev, st.st_ino)
                    if ident in seen:
                        continue
                    seen.add(ident)
                size += st.st_blocks * 512
                inodes += 1
                if stat.S_ISDIR(st.st_mode):
                    stack.append(entry.path)
    return size, inodes
