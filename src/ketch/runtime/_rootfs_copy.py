"""Copy a directory tree between two directory fds (for ``tmpcopyup``), never following symlinks."""

import os
import stat

from ketch.linux.filecopy import copy_data

__all__ = ["copy_tree"]

_MAX_DEPTH = 64


def copy_tree(src_dir: int, dst_dir: int, depth: int = 0) -> None:
    """Copy the entries of ``src_dir`` into ``dst_dir`` with mode, owner and symlinks kept."""
    if depth > _MAX_DEPTH:
        raise OSError(40, "directory tree too deep")
    for entry in os.scandir(src_dir):
        name = entry.name
        st = entry.stat(follow_symlinks=False)
        mode = stat.S_IMODE(st.st_mode)
        if stat.S_ISDIR(st.st_mode):
            os.mkdir(name, mode, dir_fd=dst_dir)
            s = os.open(
                name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=src_dir
            )
            try:
                d = os.open(
                    name,
                    os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC,
                    dir_fd=dst_dir,
                )
                try:
                    copy_tree(s, d, depth + 1)
                    os.fchmod(d, mode)
                    os.fchown(d, st.st_uid, st.st_gid)
                finally:
                    os.close(d)
            finally:
                os.close(s)
        elif stat.S_ISREG(st.st_mode):
            s = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=src_dir)
            try:
                d = os.open(
                    name,
                    os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                    mode,
                    dir_fd=dst_dir,
                )
                try:
                    copy_data(s, d, st.st_size)
                    os.fchmod(d, mode)
                    os.fchown(d, st.st_uid, st.st_gid)
                finally:
                    os.close(d)
            finally:
                os.close(s)
        elif stat.S_ISLNK(st.st_mode):
            os.symlink(os.readlink(name, dir_fd=src_dir), name, dir_fd=dst_dir)
            os.chown(name, st.st_uid, st.st_gid, dir_fd=dst_dir, follow_symlinks=False)
        else:  # devices, fifos, sockets
            os.mknod(name, st.st_mode, st.st_rdev, dir_fd=dst_dir)
            os.chown(name, st.st_uid, st.st_gid, dir_fd=dst_dir, follow_symlinks=False)
