"""Remove a directory tree of any depth without following symlinks, with two fds.

Shared by layer apply (a whiteout over a lower directory) and the snapshotters.

``shutil.rmtree`` recurses once per level: a hostile layer can nest
directories deeper than Python's recursion limit (symlinks let a tree grow
past ``PATH_MAX``).  Here every subdirectory is first renamed to be a direct
child of the tree's top, so each directory is emptied at depth one.
"""

import errno
import os
import stat

__all__ = ["remove_tree"]

_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def _hoist(fd: int, name: str, top: int, counter: list[int]) -> str:
    """Rename subdirectory ``name`` of ``fd`` into ``top`` under a free name; returns it."""
    while True:
        counter[0] += 1
        new = f".ketch-rm-{counter[0]}"
        try:
            os.rename(name, new, src_dir_fd=fd, dst_dir_fd=top)
            return new
        except OSError as e:  # the name is taken by a non-empty directory or a file
            if e.errno not in (errno.ENOTEMPTY, errno.EEXIST, errno.ENOTDIR, errno.EISDIR):
                raise


def remove_tree(parent_fd: int, name: str | bytes) -> None:
    """Remove ``name`` in directory ``parent_fd``: a file, a symlink or a whole tree."""
    try:
        st = os.lstat(name, dir_fd=parent_fd)
    except FileNotFoundError:
        return
    if not stat.S_ISDIR(st.st_mode):
        os.unlink(name, dir_fd=parent_fd)
        return
    top = os.open(name, _DIR, dir_fd=parent_fd)
    counter = [0]
    try:
        pending: list[str | None] = [None]  # None: the top itself
        while pending:
            current = pending.pop()
            fd = top if current is None else os.open(current, _DIR, dir_fd=top)
            try:
                with os.scandir(fd) as it:
                    entries = [(e.name, e.is_dir(follow_symlinks=False)) for e in it]
                for entry, is_dir in entries:
                    if not is_dir:
                        os.unlink(entry, dir_fd=fd)
                    elif current is None:
                        pending.append(entry)
                    else:
                        pending.append(_hoist(fd, entry, top, counter))
            finally:
                if fd != top:
                    os.close(fd)
            if current is not None:
                os.rmdir(current, dir_fd=top)
    finally:
        os.close(top)
    os.rmdir(name, dir_fd=parent_fd)
