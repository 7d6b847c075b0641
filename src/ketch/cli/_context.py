"""What every command gets: the root, the lazily built engine, stdio; and the runner.

``run_command`` builds the command's parser, parses, calls ``run`` and turns
``ketch.errors`` into docker's one-line messages and exit codes.  A command
module may offer ``quick_parse(argv)`` (its common command lines without
argparse); when it returns None the parser is built as usual.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import IO, Any

    from ketch.cli._parser import CommandParser
    from ketch.engine import Engine

__all__ = ["DEFAULT_ROOT", "CliContext", "CommandParser", "UsageError", "run_command"]

DEFAULT_ROOT = "/var/lib/ketch"


class UsageError(Exception):
    """A bad command line: printed with a hint, exit status 125 like docker."""


def __getattr__(name: str) -> Any:
    if name == "CommandParser":  # argparse on demand
        from ketch.cli._parser import CommandParser

        return CommandParser
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class CliContext:
    """The root, the runtime, stdio, and the engine built on first use."""

    def __init__(
        self,
        root: str,
        *,
        runtime: str | None = None,
        debug: bool = False,
        stdout: IO[str] | None = None,
        stderr: IO[str] | None = None,
        stdin: IO[bytes] | None = None,
    ) -> None:
        self.root = root
        self.runtime = runtime
        self.debug = debug
        self.stdout: IO[str] = stdout if stdout is not None else sys.stdout
        self.stderr: IO[str] = stderr if stderr is not None else sys.stderr
        self.stdin: IO[bytes] = stdin if stdin is not None else sys.stdin.buffer
        self._engine: Engine | None = None

    @classmethod
    def from_options(cls, opts: dict[str, str | bool]) -> CliContext:
        root = opts.get("root") or os.environ.get("KETCH_ROOT") or DEFAULT_ROOT
        runtime = opts.get("runtime") or os.environ.get("KETCH_RUNTIME") or None
        return cls(
            os.path.abspath(str(root)),
            runtime=str(runtime) if runtime else None,
            debug=bool(opts.get("debug")),
        )

    def engine(self) -> Engine:
        if self._engine is None:
            from ketch.engine import Engine

            self._engine = Engine(self.root, runtime=self.runtime)
        return self._engine


def _message(error: BaseException) -> str:
    text = str(error) or type(error).__name__
    return text.splitlines()[0] if text else text


def _parse(module: Any, prog: str, argv: list[str]) -> Any:
    from ketch.cli._parser import CommandParser

    parser = CommandParser(
        prog=prog, description=(module.__doc__ or "").strip().split("\n")[0], add_help=False
    )
    parser.add_argument("--help", action="help", help="show this help message and exit")
    module.configure(parser)
    return module.parse(parser, argv) if hasattr(module, "parse") else parser.parse_args(argv)


def run_command(ctx: CliContext, name: str, module_name: str, argv: list[str]) -> int:
    """Parse ``argv`` for command ``name`` and run it; returns the exit status."""
    from ketch.errors import KetchError

    full_name = f"ketch.cli.commands.{module_name}"
    __import__(full_name)  # not importlib.import_module: the package imports warnings
    module: Any = sys.modules[full_name]
    prog = f"ketch {name}"
    error_code: int = getattr(module, "ERROR_EXIT_CODE", 1)
    try:
        quick = getattr(module, "quick_parse", None)
        args = quick(argv) if quick is not None else None
        if args is None:
            args = _parse(module, prog, argv)
        return int(module.run(args, ctx))
    except UsageError as e:
        ctx.stderr.write(f"{prog}: {e}\nSee '{prog} --help'.\n")
        return 125
    except KetchError as e:
        if ctx.debug:
            import traceback

            traceback.print_exc(file=ctx.stderr)
        code = getattr(e, "exit_code", None)
        ctx.stderr.write(f"{'ketch: ' if error_code == 125 else ''}Error response from daemon: {_message(e)}\n")
        return int(code) if isinstance(code, int) else error_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    except OSError as e:
        if ctx.debug:
            import traceback

            traceback.print_exc(file=ctx.stderr)
        ctx.stderr.write(f"ketch: {e}\n")
        return error_code
    except Exception as e:  # a bug: still one line unless --debug
        if ctx.debug:
            import traceback

            traceback.print_exc(file=ctx.stderr)
        ctx.stderr.write(f"ketch: internal error: {type(e).__name__}: {_message(e)} (--debug for details)\n")
        return error_code
