"""``CgroupJoin``: put a new child into a cgroup without the kernel's migration grace period.

Writing a pid to ``cgroup.procs`` (v1 or v2) takes the kernel's global
threadgroup rwsem for writing; unless a writer was there moments before, that
waits for an RCU grace period: 10-20 ms on this 2-core host, the largest single
cost of a container start.  Two ways in skip the write lock:

- cgroup2: the child is born in the cgroup, ``clone3(CLONE_INTO_CGROUP)``
  (``ketch.linux.clone``), which takes the lock only for reading;
- cgroup v1: the child moves *itself* by writing ``0`` to each hierarchy's
  ``tasks`` file.  Moving one thread that is the caller needs no threadgroup
  lock (the kernel says so in ``cgroup_procs_write_start``); a freshly forked
  child has one thread, so that moves the whole process.  The ``tasks`` files
  are opened by the parent before the fork: v1 checks the credentials of the
  file's opener, and the child may soon be in a user namespace.

Where clone3 cannot (kernel < 5.7, a caller with threads, a seccomp filter),
``fork`` falls back to ``os.fork`` and ``finish`` writes the child's pid to the
cgroup2 ``cgroup.procs`` (paying the grace period).

Use: ``join = manager.open_join()``; ``pid = join.fork()``; the child calls
``join.enter()`` first thing (before any other namespace or credential change);
the parent calls ``join.finish(pid)`` and then lets the child go on.
"""

import os

from ketch.errors import FailedPrecondition, NotFound, PermissionDenied

__all__ = ["CgroupJoin"]


class CgroupJoin:
    """Open handles on one cgroup: a cgroup2 directory and/or v1 ``tasks`` files."""

    __slots__ = ("_moved", "_tasks", "_v2_dir", "_v2_fd")

    def __init__(self, v2_dir: str | None, v1_dirs: list[str]) -> None:
        self._v2_dir = v2_dir
        self._v2_fd = -1
        self._moved = False  # the child was born in the cgroup2 directory
        self._tasks: list[tuple[str, int]] = []
        try:
            if v2_dir is not None:
                self._v2_fd = _open(v2_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            for path in v1_dirs:
                self._tasks.append((path, _open(f"{path}/tasks", os.O_WRONLY | os.O_CLOEXEC)))
        except BaseException:
            self.close()
            raise

    def fork(self) -> int:
        """``os.fork``, the child born in the cgroup2 directory when the kernel can."""
        if self._v2_fd >= 0:
            from ketch.linux.clone import CLONE_INTO_CGROUP_UNAVAILABLE, fork_into_cgroup

            try:
                pid = fork_into_cgroup(self._v2_fd)
            except OSError as e:
                if e.errno not in CLONE_INTO_CGROUP_UNAVAILABLE:
                    raise _error(self._v2_dir or "", "join", e) from e
            else:
                self._moved = True
                return pid
        return os.fork()

    def enter(self) -> None:
        """In the child, single-threaded: move into every v1 hierarchy's cgroup."""
        tasks, self._tasks = self._tasks, []
        try:
            for path, fd in tasks:
                try:
                    os.write(fd, b"0")
                except OSError as e:
                    raise _error(path, "join", e) from e
        finally:
            for _, fd in tasks:
                os.close(fd)
            if self._v2_fd >= 0:
                os.close(self._v2_fd)
                self._v2_fd = -1

    def finish(self, pid: int) -> None:
        """In the parent after the fork: the cgroup2 move clone3 could not do; closes the handles."""
        try:
            if self._v2_dir is not None and not self._moved:
                from ketch.cgroups import _files

                _files.write(self._v2_dir, "cgroup.procs", str(pid))
        finally:
            self.close()

    def close(self) -> None:
        for _, fd in self._tasks:
            os.close(fd)
        self._tasks = []
        if self._v2_fd >= 0:
            os.close(self._v2_fd)
            self._v2_fd = -1


def _open(path: str, flags: int) -> int:
    try:
        return os.open(path, flags)
    except OSError as e:
        raise _error(path, "open", e) from e


def _error(path: str, what: str, err: OSError) -> Exception:
    import errno

    message = f"cgroup: cannot {what} {path}: {os.strerror(err.errno or 0)}"
    if err.errno in (errno.EACCES, errno.EPERM):
        return PermissionDenied(message)
    if err.errno in (errno.ENOENT, errno.ENODEV):
        return NotFound(message + " (was the cgroup removed?)")
    return FailedPrecondition(message)
