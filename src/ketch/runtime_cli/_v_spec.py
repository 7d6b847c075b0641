"""``spec [--rootless] [--bundle DIR]``: write a default config.json (never overwrites)."""

import os

from ketch.errors import AlreadyExists, InvalidArgument
from ketch.runtime_cli._args import Flag, parse
from ketch.runtime_cli._env import Globals

__all__ = ["main"]

FLAGS = (Flag("bundle,b", "str", "."), Flag("rootless"))


def main(g: Globals, argv: list[str]) -> int:
    import json

    from ketch.runtime.default_spec import default_config, make_rootless

    values, positional = parse(argv, FLAGS, "spec")
    if positional:
        raise InvalidArgument("spec: takes no arguments")
    config = default_config()
    if values["rootless"]:
        config = make_rootless(config, os.getuid(), os.getgid())
    path = os.path.join(values["bundle"], "config.json")
    data = (json.dumps(config, indent="\t") + "\n").encode()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
    except FileExistsError:
        raise AlreadyExists(f"spec: {path} already exists; remove it first") from None
    except OSError as e:
        raise InvalidArgument(f"spec: cannot create {path}: {e.strerror}") from None
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
    return 0
