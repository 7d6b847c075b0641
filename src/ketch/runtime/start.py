"""``start``: release a created container's init through exec.fifo, then poststart hooks."""

import os
import select

from ketch.errors import FailedPrecondition, KetchError
from ketch.runtime.container import Container, may_have_hooks, oci_state
from ketch.runtime.state import CREATED, STOPPED

__all__ = ["run_poststart", "start_container"]

_POLL_MS = 100


def start_container(container: Container) -> list[str]:
    """Let the init exec the container process; returns poststart warnings (not errors)."""
    status = container.status()
    if status != CREATED:
        if status == STOPPED:
            raise FailedPrecondition(f"cannot start container {container.id!r}: it has stopped")
        raise FailedPrecondition(f"cannot start container {container.id!r}: it is {status}")
    fifo = container.store.fifo_path(container.id)
    try:
        fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise FailedPrecondition(f"cannot start container {container.id!r}: already started") from None
    try:
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        while True:
            if poller.poll(_POLL_MS):
                try:
                    data = os.read(fd, 1)
                except BlockingIOError:
                    continue
                if data:
                    break
            if not container.alive():
                raise FailedPrecondition(f"container {container.id!r} init exited before start")
    finally:
        os.close(fd)
    try:  # noqa: SIM105 (contextlib costs an import)
        os.unlink(fifo)
    except FileNotFoundError:
        pass
    return run_poststart(container)


def run_poststart(container: Container) -> list[str]:
    """poststart hooks in the runtime's namespaces; a failure is a warning, as the spec says."""
    if not may_have_hooks(container.state, "poststart"):
        return []
    from ketch.oci.runtime_spec import config_from_json

    config = config_from_json(container.state.config)
    hooks = config.hooks
    if hooks is None or not hooks.poststart:
        return []
    from ketch.runtime._init import state_json
    from ketch.runtime.hooks import run_hook

    payload = state_json(oci_state(container.state, "running"))
    warnings = []
    for hook in hooks.poststart:
        try:
            run_hook(hook, payload, "poststart")
        except KetchError as e:
            warnings.append(str(e))
    return warnings
