"""Safe access to paths inside a container's rootfs (openat2 ``RESOLVE_IN_ROOT``).

A hostile image may have symlinks such as ``/etc/passwd -> /etc/shadow`` or
``/work -> ../../../host``: every lookup here resolves as if the rootfs were
``/`` so nothing outside it is read or created.
"""

from __future__ import annotations

import errno
import os
import stat

from ketch.errors import InvalidArgument, NotFound, PermissionDenied
from ketch.linux.fs import RESOLVE_IN_ROOT, RESOLVE_NO_MAGICLINKS, openat2

__all__ = ["find_executable", "mkdir_all", "open_in_root", "read_small"]

_RESOLVE = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS


def open_in_root(rootfs: str, path: str, flags: int, mode: int = 0) -> int:
    """An fd for ``path`` resolved inside ``rootfs`` (OSError from openat2 when it fails)."""
    root_fd = os.open(rootfs, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        return openat2(root_fd, path.lstrip("/") or ".", flags, _RESOLVE, mode)
    finally:
        os.close(root_fd)


def read_small(rootfs: str, path: str, limit: int = 4 << 20) -> bytes | None:
    """The bytes of a regular file inside ``rootfs``, or None when it does not exist."""
    try:
        fd = open_in_root(rootfs, path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as e:
        if e.errno in (errno.ENOENT, errno.ENOTDIR, errno.ELOOP):
            return None
        raise
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return None
        if st.st_size > limit:
            raise InvalidArgument(f"{path} in the container is too large ({st.st_size} bytes)")
        return os.read(fd, limit)
    finally:
        os.close(fd)


def mkdir_all(rootfs: str, path: str, uid: int = 0, gid: int = 0, mode: int = 0o755) -> None:
    """``mkdir -p path`` inside ``rootfs``; new directories are owned by ``uid:gid``.

    Every prefix is resolved from the rootfs (``RESOLVE_IN_ROOT``), so symlinks
    anywhere on the way resolve as the container would see them; a symlink
    pointing nowhere is refused rather than created through.
    """
    parts = [p for p in path.split("/") if p and p != "."]
    root_fd = os.open(rootfs, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for i in range(len(parts)):
            prefix = "/".join(parts[: i + 1])
            try:
                os.close(openat2(root_fd, prefix, os.O_PATH | os.O_DIRECTORY, _RESOLVE))
                continue
            except OSError as e:
                if e.errno == errno.ENOTDIR:
                    raise InvalidArgument(f"{path}: not a directory in the container") from e
                if e.errno != errno.ENOENT:
                    raise
            parent = openat2(root_fd, "/".join(parts[:i]) or ".", os.O_PATH | os.O_DIRECTORY,
                             _RESOLVE)
            try:
                try:
                    os.mkdir(parts[i], mode, dir_fd=parent)
                except FileExistsError as e:  # a dangling symlink: refuse to create through it
                    raise PermissionDenied(
                        f"{path}: /{prefix} is a symlink that points nowhere in the container"
                    ) from e
                os.chown(parts[i], uid, gid, dir_fd=parent, follow_symlinks=False)
            finally:
                os.close(parent)
    finally:
        os.close(root_fd)


def find_executable(rootfs: str, command: str, env: list[str], workdir: str = "/") -> str:
    """Check ``command`` resolves to an executable file in ``rootfs`` the way execvp would.

    Returns "" when it does, else a docker-like reason naming the problem; raises
    ``NotFound`` (exit 127) or ``PermissionDenied`` (exit 126) through the caller.
    """
    if "/" in command:
        candidates = [command if command.startswith("/") else f"{workdir.rstrip('/')}/{command}"]
    else:
        path_var = next((e[5:] for e in reversed(env) if e.startswith("PATH=")), "")
        if not path_var:
            path_var = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        candidates = [f"{d or '.'}/{command}" for d in path_var.split(":")]
    denied = False
    for cand in candidates:
        try:
            fd = open_in_root(rootfs, cand, os.O_PATH)
        except OSError:
            continue
        try:
            st = os.fstat(fd)
        finally:
            os.close(fd)
        if stat.S_ISDIR(st.st_mode):
            denied = True
            continue
        if st.st_mode & 0o111:
            return ""
        denied = True
    if denied:
        raise PermissionDenied(f'exec: "{command}": permission denied')
    if "/" in command:
        raise NotFound(f'exec: "{command}": stat {command}: no such file or directory')
    raise NotFound(f'exec: "{command}": executable file not found in $PATH')
