"""The flags ``create`` and ``run`` share."""

from ketch.runtime_cli._args import Flag

__all__ = ["CREATE_FLAGS"]

CREATE_FLAGS = (
    Flag("bundle,b", "str", "."),
    Flag("pid-file", "str"),
    Flag("console-socket", "str"),
    Flag("no-pivot"),
    Flag("no-new-keyring"),
    Flag("preserve-fds", "int", 0),
    Flag("notify-socket", "str"),
)
