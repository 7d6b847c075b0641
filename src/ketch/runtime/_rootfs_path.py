"""Resolve and create paths inside a container rootfs without ever leaving it.

Every lookup is ``openat2(root_fd, path, O_PATH, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)``:
the kernel treats ``root_fd`` as ``/`` so ``..`` and absolute or relative symlinks
stay inside the rootfs, and ``/proc/self/root``-style magic links are refused.
Missing components are created one at a time relative to an fd of their
resolved parent; a dangling symlink is followed (inside the rootfs) and its
target created, as ``/etc/resolv.conf -> ../run/...`` images expect.  The
caller mounts onto the returned ``O_PATH`` fd through ``/proc/self/fd/N``, so a
path swapped after resolution cannot redirect the mount.
"""

import errno
import os
import stat

from ketch.errors import InvalidArgument, PermissionDenied
from ketch.linux import fs

__all__ = ["clean_path", "ensure_in_root", "open_in_root", "real_relpath"]

RESOLVE = fs.RESOLVE_IN_ROOT | fs.RESOLVE_NO_MAGICLINKS
_MAX_LINKS = 40


def clean_path(path: str) -> str:
    """``path`` made relative to the root, lexically cleaned (``""`` for the root itself).

    Relative destinations are taken relative to ``/`` (the spec's legacy rule).
    """
    if "\0" in path:
        raise InvalidArgument(f"{path!r}: contains a NUL byte")
    parts: list[str] = []
    for comp in path.split("/"):
        if comp in ("", "."):
            continue
        if comp == "..":
            if parts:
                parts.pop()
            continue
        parts.append(comp)
    return "/".join(parts)


def open_in_root(
    root_fd: int, path: str, flags: int = os.O_PATH, *, no_symlinks: bool = False
) -> int:
    """An fd for ``path`` resolved inside ``root_fd``; OSError (ENOENT, ELOOP...) as openat2."""
    resolve = RESOLVE | (fs.RESOLVE_NO_SYMLINKS if no_symlinks else 0)
    return fs.openat2(root_fd, clean_path(path) or ".", flags, resolve)


def real_relpath(root_fd: int, fd: int) -> str:
    """Where ``fd`` really is, relative to the root ``root_fd`` (``""`` for the root)."""
    root = os.readlink(fs.fd_path(root_fd))
    here = os.readlink(fs.fd_path(fd))
    if here == root:
        return ""
    prefix = root.rstrip("/") + "/"
    if not here.startswith(prefix):  # the kernel kept us inside; only a rename race gets here
        raise PermissionDenied(f"{here}: resolved outside the container root {root}")
    return here[len(prefix) :]


def ensure_in_root(
    root_fd: int, path: str, *, directory: bool, what: str, file_mode: int = 0o644
) -> int:
    """An ``O_PATH`` fd for ``path`` inside the root, creating it (and its parents) if missing.

    Creates a directory when ``directory`` else an empty file.  Raises
    ``PermissionDenied`` naming ``what`` when a symlink loop or a non-directory
    component is in the way.
    """
    try:
        return open_in_root(root_fd, path)
    except FileNotFoundError:
        pass
    except OSError as e:
        raise _refusal(what, path, e) from e
    pending = clean_path(path).split("/")
    cur = ""  # the real (symlink-free) path of the directory reached so far
    links = steps = 0
    while pending:
        steps += 1
        if steps > 4096:  # only a concurrent rename storm gets here
            raise _refusal(what, path, OSError(errno.EAGAIN, "path keeps changing"))
        comp = pending.pop(0)
        if comp in ("", "."):
            continue
        if comp == "..":
            cur = cur.rpartition("/")[0]
            continue
        cand = f"{cur}/{comp}" if cur else comp
        try:
            fd = fs.openat2(root_fd, cand, os.O_PATH, RESOLVE)
        except FileNotFoundError:
            fd = -1
        except OSError as e:
            raise _refusal(what, path, e) from e
        if fd >= 0:
            if not pending:
                return fd
            try:
                if not stat.S_ISDIR(os.fstat(fd).st_mode):
                    raise _refusal(what, path, OSError(errno.ENOTDIR, "not a directory"))
                cur = real_relpath(root_fd, fd)
            finally:
                os.close(fd)
            continue
        try:
            parent = fs.openat2(root_fd, cur or ".", os.O_PATH | os.O_DIRECTORY, RESOLVE)
        except OSError as e:  # only a concurrent rename gets here
            raise _refusal(what, path, e) from e
        try:
            try:
                target = os.readlink(comp, dir_fd=parent)
            except FileNotFoundError:
                _create(parent, comp, directory or bool(pending), file_mode, what, path)
                pending.insert(0, comp)
                continue
            except OSError as e:
                raise _refusal(what, path, e) from e
        finally:
            os.close(parent)
        links += 1  # a dangling symlink: follow it inside the root
        if links > _MAX_LINKS:
            raise _refusal(what, path, OSError(errno.ELOOP, "too many levels of symbolic links"))
        if target.startswith("/"):
            cur = ""
        pending[:0] = target.split("/")
    return fs.openat2(root_fd, cur or ".", os.O_PATH, RESOLVE)  # the path ended in ".."


def _create(parent: int, name: str, directory: bool, file_mode: int, what: str, path: str) -> None:
    try:
        if directory:
            os.mkdir(name, 0o755, dir_fd=parent)
        else:
            os.close(
                os.open(
                    name,
                    os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC,
                    file_mode,
                    dir_fd=parent,
                )
            )
    except FileExistsError:
        pass  # raced with another creator: the next lookup decides
    except OSError as e:
        raise _refusal(what, path, e) from e


def _refusal(what: str, path: str, e: OSError) -> PermissionDenied:
    reason = os.strerror(e.errno) if e.errno else str(e)
    if e.errno == errno.ELOOP:
        reason = "symlink loop or forbidden symlink"
    elif e.errno == errno.EXDEV:
        reason = "resolves outside the container root"
    return PermissionDenied(f"{what} {path}: cannot be resolved inside the rootfs: {reason}")
