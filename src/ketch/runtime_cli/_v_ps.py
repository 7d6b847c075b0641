"""``ps [--format table|json] ID [ps options]``: the container's processes."""

import sys

from ketch.errors import InvalidArgument
from ketch.runtime_cli._args import Flag, parse
from ketch.runtime_cli._env import Globals

__all__ = ["main"]

FLAGS = (Flag("format,f", "str", "table"),)


def main(g: Globals, argv: list[str]) -> int:
    from ketch.runtime.container import Container

    values, positional = parse(argv, FLAGS, "ps")
    if not positional:
        raise InvalidArgument("ps: usage: ps [--format table|json] <container-id> [ps options]")
    container = Container.load(g.store(), positional[0])
    pids = container.pids()
    if values["format"] == "json":
        sys.stdout.write("[" + ",".join(str(p) for p in pids) + "]\n")
        return 0
    if values["format"] != "table":
        raise InvalidArgument(f"ps: --format: expected table or json, got {values['format']!r}")
    import subprocess

    options = positional[1:] or ["-ef"]
    result = subprocess.run(["ps", *options], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise InvalidArgument(f"ps {' '.join(options)}: {result.stderr.strip()}")
    lines = result.stdout.splitlines()
    if not lines:
        return 0
    header = lines[0].split()
    if "PID" not in header:
        raise InvalidArgument("ps: the ps output has no PID column")
    column = header.index("PID")
    wanted = set(pids)
    out = [lines[0]]
    for line in lines[1:]:
        fields = line.split()
        if len(fields) > column and fields[column].isdigit() and int(fields[column]) in wanted:
            out.append(line)
    sys.stdout.write("\n".join(out) + "\n")
    return 0
