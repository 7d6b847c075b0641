"""``features``: the OCI features document (JSON)."""

import sys

from ketch.errors import InvalidArgument
from ketch.runtime_cli._args import parse
from ketch.runtime_cli._env import Globals

__all__ = ["main"]


def main(g: Globals, argv: list[str]) -> int:
    import json

    from ketch.runtime.features import features_document

    _, positional = parse(argv, (), "features")
    if positional:
        raise InvalidArgument("features: takes no arguments")
    sys.stdout.write(json.dumps(features_document(), indent=4) + "\n")
    return 0
