"""Copy a regular file up from the lower layers into an overlay upper being applied.

A layer made by a tool that does not copy up may hold a hardlink whose target
lives only in a lower layer.  Overlayfs would copy the target up before
linking; so does ``apply_layer`` when it knows the lower directories.  The
target is looked up in each lower, nearest first, resolved inside that lower
(``RESOLVE_IN_ROOT``); a whiteout, directory or symlink there ends the search.
"""

import errno
import os
import stat
from collections.abc import Callable, Sequence

from ketch.linux.filecopy import copy_data
from ketch.linux.fs import RESOLVE_IN_ROOT, RESOLVE_NO_MAGICLINKS, openat2

__all__ = ["copy_up"]

_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_SKIPPED_XATTRS = ("trusted.overlay.", "user.overlay.")


def _copy_xattrs(src: int, dst: int) -> None:
    try:
        names = os.listxattr(src)
    except OSError:
        return
    for name in names:
        if name.startswith(_SKIPPED_XATTRS):
            continue
        try:
            os.setxattr(dst, name, os.getxattr(src, name))
        except OSError as e:
            if e.errno not in (errno.ENOTSUP, errno.EOPNOTSUPP, errno.EPERM, errno.ENODATA):
                raise


def copy_up(
    lowers: Sequence[int], parent: bytes, base: bytes, dest_parent: Callable[[], int], as_root: bool
) -> bool:
    """Copy ``parent/base`` from the first lower holding it into ``dest_parent()``; False if
    no lower holds a regular file there."""
    for lower in lowers:
        try:
            lpfd = openat2(
                lower,
                os.fsdecode(parent) or ".",
                os.O_RDONLY | os.O_DIRECTORY,
                RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
            )
        except OSError:
            continue
        try:
            try:
                st = os.lstat(base, dir_fd=lpfd)
            except FileNotFoundError:
                continue
            if not stat.S_ISREG(st.st_mode):
                return False  # a whiteout (0/0 device), directory or symlink hides the rest
            src = os.open(base, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=lpfd)
            try:
                dst = os.open(base, _CREATE, 0o600, dir_fd=dest_parent())
                try:
                    copy_data(src, dst, st.st_size)
                    if as_root:
                        os.fchown(dst, st.st_uid, st.st_gid)
                    os.fchmod(dst, stat.S_IMODE(st.st_mode))
                    _copy_xattrs(src, dst)
                    os.utime(dst, ns=(st.st_atime_ns, st.st_mtime_ns))
                finally:
                    os.close(dst)
            finally:
                os.close(src)
            return True
        finally:
            os.close(lpfd)
    return False
