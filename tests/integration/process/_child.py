"""Run apply_process + exec_process in a forked child chrooted into a busybox rootfs.

The child unshares a mount namespace (private propagation) and mounts its own proc
in the rootfs, so nothing is left on the host when it exits.
"""

import ctypes
import os
import traceback
from collections.abc import Callable
from pathlib import Path

from ketch.linux.mount import MS_PRIVATE, MS_REC, mount
from ketch.oci.runtime_spec import Linux, Process, State
from ketch.runtime._sealed import seal_imports
from ketch.runtime.process import (
    apply_process,
    exec_process,
    make_nondumpable,
    prepare_process,
    resolve_executable,
)

CLONE_NEWNS = 0x00020000
SETUP_FAILED = 100  # the child's exit code when the runtime side raised


def _unshare(flags: int) -> None:
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    if libc.unshare(flags) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def run(
    rootfs: Path,
    process: Process,
    linux: Linux | None = None,
    *,
    before: Callable[[], None] | None = None,
    notify_state: State | None = None,
    preserve_fds: int = 0,
    parent: Callable[[int], None] | None = None,
    seccomp_cache: str | None = None,
    seccomp_plan: object = None,
) -> tuple[int, str]:
    """Fork, enter ``rootfs``, apply and exec ``process``; return (exit code, stdout+stderr).

    ``before`` runs in the child after chroot; ``parent(pid)`` in the parent right after
    the fork, before the child's output is read (no threads: the parent never forks
    while one runs).
    """
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        code = SETUP_FAILED
        try:
            os.close(r)
            os.dup2(w, 1)
            os.dup2(w, 2)
            os.close(w)
            make_nondumpable()
            prepared = prepare_process(
                process, linux, seccomp_cache=seccomp_cache, seccomp_plan=seccomp_plan  # type: ignore[arg-type]
            )
            _unshare(CLONE_NEWNS)
            mount(None, "/", None, MS_REC | MS_PRIVATE)
            mount("proc", str(rootfs / "proc"), "proc", 0)
            os.chroot(str(rootfs))
            os.chdir("/")
            seal_imports()  # as the init does: no import from the container's tree
            if before is not None:
                before()
            executable = resolve_executable(process)
            apply_process(process, linux)
            exec_process(
                prepared, executable, preserve_fds=preserve_fds, notify_state=notify_state
            )
        except BaseException as e:
            os.write(2, f"RUNTIME ERROR {type(e).__name__}: {e}\n".encode())
            if not isinstance(e, Exception) or type(e).__module__ != "ketch.errors":
                os.write(2, traceback.format_exc().encode())
        finally:
            os._exit(code)
    os.close(w)
    try:
        if parent is not None:
            parent(pid)
    except BaseException:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        os.close(r)
        raise
    chunks = []
    while chunk := os.read(r, 65536):
        chunks.append(chunk)
    os.close(r)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), b"".join(chunks).decode(errors="replace")
