"""``start ID``: run the process of a created container."""

from ketch.runtime_cli._args import one_id, parse
from ketch.runtime_cli._env import Globals

__all__ = ["main"]


def main(g: Globals, argv: list[str]) -> int:
    from ketch.runtime.container import Container
    from ketch.runtime.start import start_container

    _, positional = parse(argv, (), "start")
    container = Container.load(g.store(), one_id(positional, "start"))
    for warning in start_container(container):
        g.warn(warning)
    return 0
