"""``resume ID``: thaw a paused container."""

from ketch.runtime_cli._args import one_id, parse
from ketch.runtime_cli._env import Globals

__all__ = ["main"]


def main(g: Globals, argv: list[str]) -> int:
    from ketch.runtime.container import Container

    _, positional = parse(argv, (), "resume")
    Container.load(g.store(), one_id(positional, "resume")).resume()
    return 0
