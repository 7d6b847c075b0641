"""``list [--format table|json] [-q]``: the containers under --root."""

import sys

from ketch.errors import InvalidArgument, KetchError
from ketch.runtime_cli._args import Flag, parse
from ketch.runtime_cli._env import Globals

__all__ = ["main"]

FLAGS = (Flag("format,f", "str", "table"), Flag("quiet,q"))


def main(g: Globals, argv: list[str]) -> int:
    from ketch.runtime.container import Container

    values, positional = parse(argv, FLAGS, "list")
    if positional:
        raise InvalidArgument("list: takes no arguments")
    if values["format"] not in ("table", "json"):
        raise InvalidArgument(f"list: --format: expected table or json, got {values['format']!r}")
    store = g.store()
    docs = []
    for container_id in store.ids():
        try:
            docs.append(Container.load(store, container_id).state_document())
        except KetchError:
            continue  # removed meanwhile or unreadable: not listed
    out = sys.stdout
    if values["quiet"]:
        out.write("".join(f"{d['id']}\n" for d in docs))
    elif values["format"] == "json":
        import json

        out.write(json.dumps(docs) + "\n")
    else:
        rows = [("ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER")]
        rows += [
            (str(d["id"]), str(d["pid"]), str(d["status"]), str(d["bundle"]), str(d["created"]), str(d["owner"]))
            for d in docs
        ]
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        for r in rows:
            out.write("   ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() + "\n")
    return 0
