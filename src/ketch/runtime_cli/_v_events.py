"""``events [--stats] [--interval D] ID``: JSON lines of ``stats`` (and ``oom``) events."""

import sys

from ketch.errors import FailedPrecondition, InvalidArgument
from ketch.runtime_cli._args import Flag, one_id, parse
from ketch.runtime_cli._env import Globals

__all__ = ["main", "parse_duration"]

FLAGS = (Flag("stats"), Flag("interval", "str", "5s"))


def parse_duration(text: str) -> float:
    """Go durations as runc takes them: ``5s``, ``500ms``, ``1m``, ``1m30s``."""
    units = (("ms", 0.001), ("us", 1e-6), ("ns", 1e-9), ("h", 3600.0), ("m", 60.0), ("s", 1.0))
    rest, total = text.strip(), 0.0
    if not rest:
        raise InvalidArgument("events: --interval: empty duration")
    while rest:
        i = 0
        while i < len(rest) and (rest[i].isdigit() or rest[i] == "."):
            i += 1
        if i == 0:
            raise InvalidArgument(f"events: --interval: invalid duration {text!r}")
        number = float(rest[:i])
        rest = rest[i:]
        for suffix, scale in units:
            if rest.startswith(suffix):
                total += number * scale
                rest = rest[len(suffix) :]
                break
        else:
            raise InvalidArgument(f"events: --interval: invalid duration {text!r} (give a unit)")
    if total <= 0:
        raise InvalidArgument("events: --interval: must be positive")
    return total


def main(g: Globals, argv: list[str]) -> int:
    import json
    import time

    from ketch.runtime.container import Container
    from ketch.runtime.state import STOPPED

    values, positional = parse(argv, FLAGS, "events")
    container = Container.load(g.store(), one_id(positional, "events"))
    interval = parse_duration(values["interval"])

    def emit(kind: str, data: object) -> None:
        sys.stdout.write(json.dumps({"type": kind, "id": container.id, "data": data}) + "\n")
        sys.stdout.flush()

    if values["stats"]:
        emit("stats", container.stats())
        return 0
    last_ooms = container.manager.oom_kill_count()
    while True:
        if container.status() == STOPPED:
            return 0
        try:
            emit("stats", container.stats())
            ooms = container.manager.oom_kill_count()
        except FailedPrecondition:
            return 0
        if ooms > last_ooms:
            emit("oom", None)
            last_ooms = ooms
        time.sleep(interval)
