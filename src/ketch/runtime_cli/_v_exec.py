"""``exec [flags] ID [COMMAND ARGS...]`` or ``exec --process FILE ID``: run a process inside."""

from ketch.errors import InvalidArgument
from ketch.runtime_cli._args import Flag, parse
from ketch.runtime_cli._env import Globals

__all__ = ["main"]

FLAGS = (
    Flag("process,p", "str"),
    Flag("tty,t"),
    Flag("detach,d"),
    Flag("pid-file", "str"),
    Flag("console-socket", "str"),
    Flag("env,e", "list"),
    Flag("cwd", "str"),
    Flag("user,u", "str"),
    Flag("additional-gids,g", "list"),
    Flag("cap,c", "list"),
    Flag("no-new-privs"),
    Flag("preserve-fds", "int", 0),
    Flag("process-label", "str"),
    Flag("apparmor", "str"),
    Flag("ignore-paused"),
    Flag("cgroup", "list"),
)


def main(g: Globals, argv: list[str]) -> int:
    from ketch.oci.runtime_spec import config_from_json
    from ketch.runtime.container import Container
    from ketch.runtime.execute import ExecOptions, exec_process_in, process_for_exec

    values, positional = parse(argv, FLAGS, "exec")
    if not positional:
        raise InvalidArgument("exec: usage: exec [options] <container-id> <command> [args...]")
    if values["preserve_fds"] < 0:
        raise InvalidArgument("--preserve-fds: must not be negative")
    container = Container.load(g.store(), positional[0])
    if values["process"] is not None:
        if len(positional) > 1:
            raise InvalidArgument("exec: give either --process or a command, not both")
        process = _process_file(values["process"])
    else:
        config = config_from_json(container.state.config)
        process = process_for_exec(
            config,
            ExecOptions(
                tuple(positional[1:]),
                env=tuple(values["env"]),
                cwd=values["cwd"],
                user=values["user"],
                caps=tuple(values["cap"]),
                tty=values["tty"],
                no_new_privs=True if values["no_new_privs"] else None,
            ),
        )
    return exec_process_in(
        container,
        process,
        detach=values["detach"],
        pid_file=values["pid_file"],
        console_socket=values["console_socket"],
        preserve_fds=values["preserve_fds"],
    )


def _process_file(path: str) -> "Process":
    from ketch.oci import _json
    from ketch.oci._decode import decode
    from ketch.oci.runtime_spec import Process

    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise InvalidArgument(f"exec: --process {path}: {e.strerror}") from None
    data = _json.loads(raw, path)
    try:
        return decode(Process, data)
    except InvalidArgument as e:
        raise InvalidArgument(f"exec: --process {path}: {e}") from None


TYPE_CHECKING = False
if TYPE_CHECKING:
    from ketch.oci.runtime_spec import Process
