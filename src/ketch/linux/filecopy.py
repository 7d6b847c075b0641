"""``copy_data``: a regular file's bytes from one fd to another, in the kernel.

``copy_file_range`` (reflinks or server-side copies where the filesystem can),
``sendfile`` where it cannot (across filesystems on older kernels, tmpfs...).
Used by the layer copy-up, the native snapshotter and the runtime's tmpcopyup.
"""

import errno
import os

__all__ = ["copy_data"]

_CHUNK = 1 << 30
_NO_COPY_RANGE = (errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP)


def copy_data(src: int, dst: int, size: int) -> None:
    """Copy ``size`` bytes from the current offset of ``src`` to that of ``dst`` (less if
    ``src`` ends first)."""
    left = size
    while left > 0:
        try:
            n = os.copy_file_range(src, dst, min(left, _CHUNK))
        except OSError as e:
            if e.errno not in _NO_COPY_RANGE:
                raise
            n = os.sendfile(dst, src, None, min(left, _CHUNK))
        if n == 0:
            break
        left -= n
