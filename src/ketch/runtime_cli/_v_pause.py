"""``pause ID``: freeze every process of the container (cgroup freezer)."""

from ketch.runtime_cli._args import one_id, parse
from ketch.runtime_cli._env import Globals

__all__ = ["main"]


def main(g: Globals, argv: list[str]) -> int:
    from ketch.runtime.container import Container

    _, positional = parse(argv, (), "pause")
    Container.load(g.store(), one_id(positional, "pause")).pause()
    return 0
