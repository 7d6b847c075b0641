"""Change the flags of an existing (bind) mount, keeping the flags the kernel locks.

In a user namespace the kernel refuses a remount that would drop ``nosuid``,
``nodev``, ``noexec``, ``ro`` or the atime mode of a mount inherited from a more
privileged namespace; a refused remount is retried with those flags kept.
"""

import os

from ketch.linux import mount as m

__all__ = ["ATIME_FLAGS", "current_flags", "remount"]

ATIME_FLAGS = m.MS_NOATIME | m.MS_RELATIME | m.MS_STRICTATIME

# statvfs f_flag bit -> mount flag
_ST_TO_MS = (
    (os.ST_RDONLY, m.MS_RDONLY),
    (os.ST_NOSUID, m.MS_NOSUID),
    (os.ST_NODEV, m.MS_NODEV),
    (os.ST_NOEXEC, m.MS_NOEXEC),
    (os.ST_NOATIME, m.MS_NOATIME),
    (os.ST_NODIRATIME, m.MS_NODIRATIME),
    (os.ST_RELATIME, m.MS_RELATIME),
    (0x2000, m.MS_NOSYMFOLLOW),  # ST_NOSYMFOLLOW (os lacks the name)
)


def current_flags(path: str) -> int:
    """The mount flags of the mount ``path`` is on (from statvfs)."""
    f_flag = os.statvfs(path).f_flag
    return sum(ms for st, ms in _ST_TO_MS if f_flag & st)


def remount(path: str, flags: int, *, bind: bool = True) -> None:
    """``MS_REMOUNT`` (``| MS_BIND`` for a per-mount change) of the mount at ``path``."""
    base = m.MS_REMOUNT | (m.MS_BIND if bind else 0)
    try:
        m.mount(None, path, None, base | flags)
    except PermissionError:
        cur = current_flags(path)
        locked = cur & (m.MS_NOSUID | m.MS_NODEV | m.MS_NOEXEC | m.MS_RDONLY | m.MS_NODIRATIME)
        keep = flags | locked
        if not flags & ATIME_FLAGS:
            keep |= (cur & ATIME_FLAGS) or m.MS_STRICTATIME
        if keep == flags:
            raise
        m.mount(None, path, None, base | keep)
