"""OCI hooks: run a list of hooks with the container's state JSON on stdin.

Spawned with ``posix_spawn`` (no ``subprocess`` import on the start path) and
waited with a pidfd, so a hook's ``timeout`` is enforced by killing it.  Which
namespace a hook runs in depends on the caller: the runtime (prestart,
createRuntime, poststart, poststop) or the container's init (createContainer,
startContainer).
"""

import _signal as signal  # type: ignore[import-not-found]
import os
import select

from ketch.errors import FailedPrecondition, NotFound
from ketch.oci.runtime_spec import Hook

__all__ = ["run_hooks"]


def _wait(pid: int, timeout: int | None, path: str) -> int:
    """Wait for ``pid`` (a child), killing it after ``timeout`` seconds; its wait status."""
    if timeout is not None:
        pidfd = os.pidfd_open(pid)
        try:
            poller = select.poll()
            poller.register(pidfd, select.POLLIN)
            if not poller.poll(timeout * 1000):
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                raise FailedPrecondition(f"hook {path}: timed out after {timeout}s")
        finally:
            os.close(pidfd)
    while True:
        try:
            return os.waitpid(pid, 0)[1]
        except InterruptedError:  # pragma: no cover (PEP 475 retries)
            continue


def run_hook(hook: Hook, state_json: bytes, phase: str) -> None:
    """Run one hook; ``FailedPrecondition`` if it cannot start, fails or times out."""
    argv = list(hook.args) or [hook.path]
    env = {}
    for item in hook.env:
        key, sep, value = item.partition("=")
        if sep:
            env[key] = value
    r, w = os.pipe2(os.O_CLOEXEC)
    try:
        try:
            pid = os.posix_spawn(
                hook.path,
                argv,
                env,
                file_actions=[(os.POSIX_SPAWN_DUP2, r, 0)],
                setsigdef=(signal.SIGPIPE, signal.SIGXFSZ, signal.SIGINT, signal.SIGTERM),
            )
        except FileNotFoundError:
            raise NotFound(f"{phase} hook {hook.path}: no such file") from None
        except OSError as e:
            raise FailedPrecondition(f"{phase} hook {hook.path}: {e.strerror}") from None
        os.close(r)
        r = -1
        try:  # noqa: SIM105 - the hook may exit without reading its stdin
            os.write(w, state_json)
        except (BrokenPipeError, BlockingIOError):
            pass
        os.close(w)
        w = -1
        status = _wait(pid, hook.timeout, hook.path)
    finally:
        for fd in (r, w):
            if fd >= 0:
                os.close(fd)
    if os.WIFSIGNALED(status):
        raise FailedPrecondition(
            f"{phase} hook {hook.path}: killed by signal {os.WTERMSIG(status)}"
        )
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise FailedPrecondition(f"{phase} hook {hook.path}: exit status {code}")


def run_hooks(hooks: tuple[Hook, ...], state_json: bytes, phase: str) -> None:
    """Run ``hooks`` in order; the first failure raises (later hooks do not run)."""
    for hook in hooks:
        run_hook(hook, state_json, phase)
