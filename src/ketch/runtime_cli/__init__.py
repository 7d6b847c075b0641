"""``ketch-runtime``: an OCI runtime with runc's command line (containerd and podman drive it).

One module per verb (``_v_<verb>.py``, each ``main(globals, argv) -> exit code``),
imported only when that verb runs.  Errors of ``ketch.errors`` become one line
``ketch-runtime: <message>`` (and a JSON/text log record with ``--log``) and exit
code 1; a traceback is shown only with ``--debug``.
"""

import sys

__all__ = ["main"]

VERBS = {
    "create": "create",
    "start": "start",
    "run": "run",
    "state": "state",
    "list": "list",
    "kill": "kill",
    "delete": "delete",
    "exec": "exec",
    "ps": "ps",
    "pause": "pause",
    "resume": "resume",
    "update": "update",
    "events": "events",
    "features": "features",
    "spec": "spec",
}

USAGE = """usage: ketch-runtime [global options] <command> [options] [arguments]

An OCI runtime (runtime-spec 1.3) with runc's command line.

commands: create start run state list kill delete exec ps pause resume update events
          features spec
global options: --root DIR (default /run/ketch)  --log FILE  --log-format text|json
                --debug  --systemd-cgroup (unsupported)  --version  --help
"""


def _globals(argv: list[str]) -> "tuple[Globals, list[str]]":
    from ketch.errors import InvalidArgument, NotImplementedByHost
    from ketch.runtime_cli._args import Flag, parse
    from ketch.runtime_cli._env import Globals

    flags = (
        Flag("root", "str", "/run/ketch"),
        Flag("log", "str"),
        Flag("log-format", "str", "text"),
        Flag("debug"),
        Flag("systemd-cgroup"),
        Flag("rootless", "str"),
        Flag("criu", "str"),
        Flag("version,v"),
        Flag("help,h"),
    )
    values, rest = parse(argv, flags, "ketch-runtime")
    g = Globals(
        root=values["root"],
        log=values["log"] or None,
        log_format=values["log_format"],
        debug=values["debug"],
        systemd_cgroup=values["systemd_cgroup"],
    )
    if g.log_format not in ("text", "json"):
        raise InvalidArgument(f"--log-format: expected text or json, got {g.log_format!r}")
    if values["version"]:
        return g, ["--version"]
    if values["help"] or not rest:
        return g, ["--help"]
    if g.systemd_cgroup:
        raise NotImplementedByHost(
            "--systemd-cgroup: the systemd cgroup driver is not supported; use cgroupfs"
        )
    return g, rest


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``ketch-runtime``; returns the exit code.

    As the console script (``argv`` None) it ends the process itself once the
    output is flushed: the interpreter's teardown would cost a few ms of every start.
    """
    if argv is not None:
        return _main(argv)
    import gc

    # A one-shot command: the collector would walk the growing heap several times while
    # the start path imports (~1 ms) and, after the fork, dirty the child's copied pages.
    # What runs later (waiting for the container, relaying a terminal) makes no cycles.
    gc.disable()
    code = _main(sys.argv[1:])
    import os

    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            code = code or 1
    os._exit(code)


def _main(args: list[str]) -> int:
    from ketch.errors import KetchError
    from ketch.runtime_cli._env import Globals

    g = Globals()
    try:
        g, rest = _globals(args)
        verb, verb_args = rest[0], rest[1:]
        if verb == "--version":
            sys.stdout.write("ketch-runtime version 0.1.0\nspec: 1.3.0\n")
            return 0
        if verb in ("--help", "help"):
            sys.stdout.write(USAGE)
            return 0
        module = VERBS.get(verb)
        if module is None:
            from ketch.errors import InvalidArgument

            raise InvalidArgument(f"no such command {verb!r} (see ketch-runtime --help)")
        run = __import__(f"ketch.runtime_cli._v_{module}", fromlist=["main"]).main
        code: int = run(g, verb_args)
        return code
    except KetchError as e:
        g.emit("error", str(e) or type(e).__name__)
        if g.debug:
            import traceback

            traceback.print_exc()
        return 1
    except KeyboardInterrupt:
        return 130
    except OSError as e:
        where = f": {e.filename}" if e.filename else ""
        g.emit("error", f"{e.strerror or e}{where}")
        if g.debug:
            import traceback

            traceback.print_exc()
        return 1
    except Exception as e:  # a bug: still one line, the traceback only with --debug
        g.emit("error", f"internal error: {type(e).__name__}: {e}")
        if g.debug:
            import traceback

            traceback.print_exc()
        return 1


TYPE_CHECKING = False
if TYPE_CHECKING:
    from ketch.runtime_cli._env import Globals
