"""``kill [--all] ID [SIGNAL]``: SIGNAL as a name (KILL, SIGKILL) or number; default TERM."""

from ketch.errors import InvalidArgument
from ketch.runtime_cli._args import Flag, parse
from ketch.runtime_cli._env import Globals

__all__ = ["main", "parse_signal"]

FLAGS = (Flag("all,a"),)

SIGNALS = {
    "HUP": 1, "INT": 2, "QUIT": 3, "ILL": 4, "TRAP": 5, "ABRT": 6, "IOT": 6, "BUS": 7,
    "FPE": 8, "KILL": 9, "USR1": 10, "SEGV": 11, "USR2": 12, "PIPE": 13, "ALRM": 14,
    "TERM": 15, "STKFLT": 16, "CHLD": 17, "CONT": 18, "STOP": 19, "TSTP": 20, "TTIN": 21,
    "TTOU": 22, "URG": 23, "XCPU": 24, "XFSZ": 25, "VTALRM": 26, "PROF": 27, "WINCH": 28,
    "IO": 29, "POLL": 29, "PWR": 30, "SYS": 31,
}  # fmt: skip
_SIGRTMIN, _SIGRTMAX = 34, 64


def parse_signal(text: str) -> int:
    """``9``, ``KILL``, ``SIGKILL``, ``sigkill``, ``RTMIN+1``: the signal number."""
    if text.isdigit():
        number = int(text)
        if not 0 < number <= _SIGRTMAX:
            raise InvalidArgument(f"invalid signal {text!r}")
        return number
    name = text.upper()
    if name.startswith("SIG"):
        name = name[3:]
    if name in SIGNALS:
        return SIGNALS[name]
    for base, limit in (("RTMIN", _SIGRTMIN), ("RTMAX", _SIGRTMAX)):
        if name == base:
            return limit
        if name.startswith(base) and name[len(base) : len(base) + 1] in "+-":
            offset = name[len(base) + 1 :]
            if offset.isdigit():
                number = limit + int(offset) * (1 if name[len(base)] == "+" else -1)
                if _SIGRTMIN <= number <= _SIGRTMAX:
                    return number
    raise InvalidArgument(f"invalid signal {text!r}")


def main(g: Globals, argv: list[str]) -> int:
    from ketch.runtime.container import Container

    values, positional = parse(argv, FLAGS, "kill")
    if len(positional) not in (1, 2):
        raise InvalidArgument("kill: usage: kill [--all] <container-id> [signal]")
    signum = parse_signal(positional[1]) if len(positional) == 2 else 15
    container = Container.load(g.store(), positional[0])
    container.kill(signum, all_processes=values["all"])
    return 0
