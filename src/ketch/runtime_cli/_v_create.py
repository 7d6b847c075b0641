"""``create [--bundle DIR] [--pid-file F] [--console-socket S] [--no-pivot] ID``"""

from ketch.errors import InvalidArgument
from ketch.runtime_cli._args import one_id, parse
from ketch.runtime_cli._create_flags import CREATE_FLAGS
from ketch.runtime_cli._env import Globals

__all__ = ["main"]


def main(g: Globals, argv: list[str]) -> int:
    from ketch.runtime.create import create_container

    values, positional = parse(argv, CREATE_FLAGS, "create")
    container_id = one_id(positional, "create")
    if values["preserve_fds"] < 0:
        raise InvalidArgument("--preserve-fds: must not be negative")
    launched = create_container(
        g.store(),
        container_id,
        values["bundle"],
        pid_file=values["pid_file"],
        console_socket=values["console_socket"],
        no_pivot=values["no_pivot"],
        no_new_keyring=values["no_new_keyring"],
        preserve_fds=values["preserve_fds"],
    )
    launched.channel.close()
    return 0
