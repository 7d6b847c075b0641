"""``run``: create and start in one go; in the foreground, wait and return the exit status.

The foreground runtime forwards the signals a terminal or a supervisor sends
(INT, TERM, HUP, QUIT, USR1, USR2, WINCH) to the init, reaps it, then deletes the
container (cgroup, poststop hooks, state) as runc does.
"""

import os

from ketch.errors import KetchError
from ketch.runtime.container import Container
from ketch.runtime.create import Launched, create_container
from ketch.runtime.state import StateDir

__all__ = ["run_container", "start_launched", "wait_exit"]

_FORWARDED = (1, 2, 3, 10, 12, 15, 28)  # HUP INT QUIT USR1 USR2 TERM WINCH


def start_launched(launched: Launched) -> None:
    """Tell a ``run_mode`` init to go on; returns once it exec'd (or raises its error)."""
    channel = launched.channel
    channel.send("start")
    message = channel.recv()  # end-of-file: the init exec'd (its ends are close-on-exec)
    channel.close()
    if message is not None and message[0] == "error":
        from ketch.runtime._sync import error_from_payload

        raise error_from_payload(message[1])


def wait_exit(pid: int) -> int:
    """Wait for our child ``pid`` forwarding signals; runc's exit code (128+n if killed)."""
    import _signal  # type: ignore[import-not-found]

    def forward(signum: int, _frame: object) -> None:
        try:  # noqa: SIM105 (contextlib costs an import)
            os.kill(pid, signum)
        except ProcessLookupError:
            pass

    previous = {sig: _signal.signal(sig, forward) for sig in _FORWARDED}
    try:
        _, status = os.waitpid(pid, 0)
    finally:
        for sig, handler in previous.items():
            _signal.signal(sig, handler)
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return os.waitstatus_to_exitcode(status)


def run_container(
    store: StateDir,
    container_id: str,
    bundle: str,
    *,
    detach: bool = False,
    pid_file: str | None = None,
    console_socket: str | None = None,
    no_pivot: bool = False,
    no_new_keyring: bool = False,
    preserve_fds: int = 0,
    warn: "WarnFn | None" = None,
) -> int:
    """Run the container; the exit code of its process (0 when detached)."""
    from ketch.runtime.delete import destroy
    from ketch.runtime.start import run_poststart

    launched = create_container(
        store,
        container_id,
        bundle,
        pid_file=pid_file,
        console_socket=console_socket,
        relay_terminal=not detach,
        no_pivot=no_pivot,
        no_new_keyring=no_new_keyring,
        preserve_fds=preserve_fds,
        run_mode=True,
    )
    container = Container(store, launched.state)
    container._manager = launched.manager
    master = -1
    try:
        if launched.console is not None:
            master = launched.console.receive_master()
        start_launched(launched)
    except BaseException:
        if master >= 0:
            os.close(master)
        from ketch.runtime.delete import delete_container

        try:  # noqa: SIM105 (contextlib costs an import)
            delete_container(container, force=True)
        except KetchError:
            pass
        raise
    hooks = launched.config.hooks
    if hooks is not None and hooks.poststart:
        for message in run_poststart(container):
            if warn is not None:
                warn(message)
    if detach:
        return 0
    if master >= 0:
        from ketch.runtime.console import relay

        try:
            relay(master)
        finally:
            os.close(master)
    code = wait_exit(launched.state.pid)
    for message in destroy(container):
        if warn is not None:
            warn(message)
    return code


TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    WarnFn = Callable[[str], None]
