"""Start the cgroup migration's RCU grace period early, off the critical path.

The first write to any ``cgroup.procs`` takes the kernel's cgroup threadgroup
rwsem for writing, which waits for an RCU grace period (10-20 ms measured here,
longer on a busy host); writes that follow within about one more grace period
are fast.  A container start pays it when the runtime moves the init into its
cgroup.  So ``ketch-runtime run``/``create`` re-write the runtime's own pid into
the cgroup it is already in (a no-op migration) from a thread started first thing
in ``main``, while the main thread imports and checks the bundle.  The kernel
goes back to its slow mode one grace period after the last writer, so the thread
repeats the (then cheap) write every 2 ms until it is joined, just before the
fork (a threaded process never forks): the real move follows within a few
milliseconds and finds the lock warm.

The kernel holds ``cgroup_mutex`` while it waits, so nothing else may touch
cgroupfs meanwhile (a mkdir would just wait): the main thread does everything
else it can (imports, the bundle, the init's modules, the manager's checks).
"""

import _thread
import os

__all__ = ["Warmup"]


def _own_procs_file() -> str | None:
    try:
        with open("/proc/self/cgroup", "rb") as f:
            lines = f.read().decode().splitlines()
    except OSError:
        return None
    for line in lines:
        hierarchy, _, path = line.partition(":")[2].partition(":")
        if hierarchy == "" and path.startswith("/"):  # the cgroup2 hierarchy
            for mount in ("/sys/fs/cgroup/unified", "/sys/fs/cgroup"):
                candidate = f"{mount}{path.rstrip('/')}/cgroup.procs"
                if os.path.exists(f"{mount}/cgroup.controllers") and os.path.exists(candidate):
                    return candidate
    return None


class Warmup:
    """``Warmup()`` starts the thread; ``join()`` waits for it (call before forking).

    The constructor returns once the thread is about to issue its first write, so
    the grace period runs from here whatever the main thread does next (a new
    thread otherwise waits for the GIL, up to a switch interval per hand-over).
    """

    __slots__ = ("_lock", "_stop")

    def __init__(self) -> None:
        self._stop = _thread.allocate_lock()  # held while the thread should go on
        self._stop.acquire()
        self._lock = _thread.allocate_lock()  # held until the thread has finished
        self._lock.acquire()
        path = _own_procs_file()
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC) if path is not None else -1
        except OSError:
            fd = -1
        if fd < 0:
            self._lock.release()
            return
        writing = _thread.allocate_lock()
        writing.acquire()
        try:
            _thread.start_new_thread(self._run, (fd, writing))
        except RuntimeError:
            os.close(fd)
            self._lock.release()
            return
        writing.acquire()  # released by the thread right before its first write

    def _run(self, fd: int, writing: "_thread.LockType") -> None:
        try:
            pid = f"{os.getpid()}".encode()
            writing.release()
            for _ in range(5000):  # bounded: 10 s at most
                os.write(fd, pid)
                if self._stop.acquire(timeout=0.002):  # released by join()
                    # once more: the loop may have slept a while waiting for the GIL,
                    # and the real move follows within milliseconds of this write
                    os.write(fd, pid)
                    break
        except OSError:
            pass  # only an optimisation
        finally:
            os.close(fd)
            self._lock.release()

    def join(self) -> None:
        """Stop the thread and wait until it has finished entirely (forking is then safe)."""
        if self._stop.locked():
            self._stop.release()
        self._lock.acquire()
        self._lock.release()
        while _thread._count():  # the thread is past its work, unwinding
            os.sched_yield()
