"""``state ID``: the OCI state as JSON (runc's fields: also rootfs, created, owner)."""

import sys

from ketch.runtime_cli._args import one_id, parse
from ketch.runtime_cli._env import Globals

__all__ = ["main"]


def main(g: Globals, argv: list[str]) -> int:
    import json

    from ketch.runtime.container import Container

    _, positional = parse(argv, (), "state")
    container = Container.load(g.store(), one_id(positional, "state"))
    sys.stdout.write(json.dumps(container.state_document(), indent=2) + "\n")
    return 0
