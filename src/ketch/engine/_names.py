"""Random container names in docker's ``adjective_noun`` style (ketch's own word lists)."""

from __future__ import annotations

import os

from ketch.errors import InvalidArgument

__all__ = ["check_name", "random_name"]

_ADJECTIVES = ["agile", "amber", "bold", "brave", "bright", "brisk", "calm", "clever", "cosmic", "crisp", "curious", "daring", "eager", "earnest", "fancy", "fearless", "gentle", "glad", "golden", "happy", "hardy", "honest", "humble", "jolly", "keen", "kind", "lively", "lucid", "lucky", "merry", "mighty", "modest", "nimble", "noble", "patient", "placid", "plucky", "proud", "quick", "quiet", "rapid", "ready", "serene", "sharp", "shiny", "silent", "sleek", "smooth", "snappy", "solid", "spry", "steady", "stoic", "sunny", "swift", "tender", "tidy", "upbeat", "vivid", "warm", "wise", "witty", "zealous", "zesty"]
_NOUNS = ["acorn", "anchor", "arrow", "aspen", "badger", "beacon", "birch", "bison", "breeze", "brook", "canyon", "cedar", "comet", "condor", "coral", "crane", "delta", "dolphin", "dune", "eagle", "ember", "falcon", "fern", "fjord", "forest", "fox", "glacier", "harbor", "hawk", "heron", "island", "jaguar", "juniper", "kestrel", "lagoon", "lark", "lynx", "maple", "marmot", "meadow", "meteor", "nebula", "oak", "orca", "osprey", "otter", "panda", "pebble", "pine", "planet", "prairie", "quartz", "raven", "reef", "river", "robin", "sequoia", "sparrow", "spruce", "summit", "tiger", "tundra", "valley", "walrus", "willow", "wren", "yak"]

_VALID = r"^/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$"  # compiled (and cached) by re on use: --name only


def random_name() -> str:
    a, b, _n = os.urandom(3)
    return f"{_ADJECTIVES[a % len(_ADJECTIVES)]}_{_NOUNS[b % len(_NOUNS)]}"


def check_name(name: str) -> str:
    """The stored form (``/name``) of a valid container name."""
    import re

    if not re.match(_VALID, name):
        raise InvalidArgument(
            f"Invalid container name ({name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
        )
    return name if name.startswith("/") else f"/{name}"
