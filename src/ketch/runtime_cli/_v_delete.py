"""``delete [--force] ID``: remove a stopped container (``--force``: kill it first)."""

from ketch.errors import NotFound
from ketch.runtime_cli._args import Flag, one_id, parse
from ketch.runtime_cli._env import Globals

__all__ = ["main"]

FLAGS = (Flag("force,f"),)


def main(g: Globals, argv: list[str]) -> int:
    from ketch.runtime.container import Container
    from ketch.runtime.delete import delete_container

    values, positional = parse(argv, FLAGS, "delete")
    container_id = one_id(positional, "delete")
    store = g.store()
    try:
        container = Container.load(store, container_id)
    except NotFound:
        if values["force"]:
            import os

            if os.path.isdir(store.path(container_id)):  # a create that died half-way
                store.remove(container_id)
            return 0
        raise
    for warning in delete_container(container, force=values["force"]):
        g.warn(warning)
    return 0
