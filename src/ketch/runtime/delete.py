"""``delete``: remove a stopped (or created) container; ``force`` kills a running one first."""

import os
import select

from ketch.errors import Conflict, KetchError
from ketch.runtime.container import Container, may_have_hooks, oci_state
from ketch.runtime.state import CREATED, PAUSED, STOPPED

__all__ = ["delete_container", "destroy"]

_SIGKILL = 9
_WAIT_MS = 10_000


def _kill_and_wait(container: Container) -> None:
    """SIGKILL the init and everything in its cgroup; wait until the init is gone."""
    pid = container.state.pid
    try:
        pidfd = os.pidfd_open(pid)
    except OSError:
        pidfd = -1
    if not container.alive():  # the pid was reused after we opened it
        if pidfd >= 0:
            os.close(pidfd)
        pidfd = -1
    try:
        try:
            if container.status() == PAUSED:
                container.manager.kill_all(_SIGKILL)  # killed processes stay frozen ...
                container.manager.thaw()  # ... until thawed
            if pidfd >= 0:
                os.kill(pid, _SIGKILL)
        except (ProcessLookupError, KetchError):
            pass
        try:  # noqa: SIM105 (contextlib costs an import)
            container.manager.kill_all(_SIGKILL)
        except (KetchError, OSError):
            pass
        if pidfd >= 0:
            poller = select.poll()
            poller.register(pidfd, select.POLLIN)
            poller.poll(_WAIT_MS)
    finally:
        if pidfd >= 0:
            os.close(pidfd)


def destroy(container: Container) -> list[str]:
    """Remove the cgroup, run poststop hooks and remove the state; returns hook warnings."""
    try:  # noqa: SIM105 (contextlib costs an import)
        container.manager.kill_all(_SIGKILL)
    except (KetchError, OSError):
        pass
    container.manager.destroy()
    warnings = []
    hooks = None
    if may_have_hooks(container.state, "poststop"):
        from ketch.oci.runtime_spec import config_from_json

        hooks = config_from_json(container.state.config).hooks
    if hooks is not None and hooks.poststop:
        from ketch.runtime._init import state_json
        from ketch.runtime.hooks import run_hook

        payload = state_json(oci_state(container.state, STOPPED))
        for hook in hooks.poststop:
            try:
                run_hook(hook, payload, "poststop")
            except KetchError as e:
                warnings.append(str(e))
    container.store.remove(container.id)
    return warnings


def delete_container(container: Container, *, force: bool = False) -> list[str]:
    """runc's rules: stopped and created containers go; running/paused need ``force``."""
    status = container.status()
    if status not in (STOPPED, CREATED) and not force:
        raise Conflict(
            f"cannot delete container {container.id!r} that is {status}: stop it or use --force"
        )
    if status != STOPPED:
        _kill_and_wait(container)
    return destroy(container)
