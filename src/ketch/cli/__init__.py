"""``ketch``: the docker-compatible command line on the embedded engine.

``ketch [--root DIR] [--runtime PATH] [--debug] <command> ...``.  Only the chosen
command's module is imported (start-up time is a feature).  Each command module
has ``configure(parser)`` and ``run(args, ctx) -> int``; errors from
``ketch.errors`` become docker-like one-line messages and exit codes here.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["COMMANDS", "main"]

# command name -> module under ketch.cli.commands
COMMANDS = {
    "attach": "attach",
    "commit": "commit",
    "container": "container",
    "cp": "cp",
    "create": "create",
    "exec": "exec_",
    "export": "export",
    "history": "history",
    "image": "image_cmd",
    "images": "images",
    "import": "import_",
    "inspect": "inspect",
    "kill": "kill",
    "load": "load",
    "login": "login",
    "logout": "logout",
    "logs": "logs",
    "pause": "pause",
    "ps": "ps",
    "pull": "pull",
    "push": "push",
    "registry": "registry",
    "rename": "rename",
    "restart": "restart",
    "rm": "rm",
    "rmi": "rmi",
    "run": "run",
    "save": "save",
    "search": "search",
    "start": "start",
    "stats": "stats",
    "stop": "stop",
    "system": "system",
    "tag": "tag",
    "top": "top",
    "unpause": "unpause",
    "version": "version",
    "wait": "wait",
}

_USAGE = """Usage:  ketch [OPTIONS] COMMAND

A container engine on the OCI standards (docker-compatible commands)

Options:
      --root DIR       state directory (default /var/lib/ketch)
      --runtime PATH   OCI runtime binary (default ketch-runtime)
      --debug          show tracebacks

Commands:
"""


def _global_options(argv: list[str]) -> tuple[dict[str, str | bool], list[str]]:
    """Split ``[--root DIR] [--runtime PATH] [--debug]`` from the command line."""
    opts: dict[str, str | bool] = {}
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg in ("--debug", "-D"):
            opts["debug"] = True
        elif arg in ("--root", "--runtime"):
            if i + 1 >= len(argv):
                raise SystemExit(_usage_error(f"flag needs an argument: {arg}"))
            opts[arg[2:]] = argv[i + 1]
            i += 1
        elif arg.startswith(("--root=", "--runtime=")):
            key, _, value = arg[2:].partition("=")
            opts[key] = value
        else:
            break
        i += 1
    return opts, argv[i:]


def _usage_error(message: str) -> int:
    sys.stderr.write(f"ketch: {message}\nSee 'ketch --help'.\n")
    return 125


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``ketch`` console script; returns the exit status."""
    import gc

    gc.disable()  # a short-lived command: collections during imports only cost time
    args = list(sys.argv[1:] if argv is None else argv)
    opts, rest = _global_options(args)
    if not rest or rest[0] in ("-h", "--help", "help"):
        sys.stdout.write(_USAGE + "".join(f"  {name}\n" for name in sorted(COMMANDS)))
        return 0
    if rest[0] in ("-v", "--version"):
        rest = ["version"]
    name = rest[0]
    module_name = COMMANDS.get(name)
    if module_name is None:
        return _usage_error(f"'{name}' is not a ketch command.")
    from ketch.cli._context import CliContext, run_command

    ctx = CliContext.from_options(opts)
    code = run_command(ctx, name, module_name, rest[1:])
    if argv is None:  # the console script: skip the interpreter's teardown (~5 ms)
        _exit_now(code)
    return code


def _exit_now(code: int) -> None:
    import os

    for stream in (sys.stdout, sys.stderr):
        try:  # noqa: SIM105 (contextlib costs an import)
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: nothing to add
            pass
    os._exit(code)

