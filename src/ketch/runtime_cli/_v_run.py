"""``run [--detach] [create's flags] ID``: create and start; foreground returns the exit code."""

from ketch.errors import InvalidArgument
from ketch.runtime_cli._args import Flag, one_id, parse
from ketch.runtime_cli._create_flags import CREATE_FLAGS
from ketch.runtime_cli._env import Globals

__all__ = ["main"]

FLAGS = (*CREATE_FLAGS, Flag("detach,d"), Flag("keep"))


def main(g: Globals, argv: list[str]) -> int:
    from ketch.runtime.run import run_container

    values, positional = parse(argv, FLAGS, "run")
    container_id = one_id(positional, "run")
    if values["preserve_fds"] < 0:
        raise InvalidArgument("--preserve-fds: must not be negative")
    return run_container(
        g.store(),
        container_id,
        values["bundle"],
        detach=values["detach"],
        pid_file=values["pid_file"],
        console_socket=values["console_socket"],
        no_pivot=values["no_pivot"],
        no_new_keyring=values["no_new_keyring"],
        preserve_fds=values["preserve_fds"],
        warn=g.warn,
    )
