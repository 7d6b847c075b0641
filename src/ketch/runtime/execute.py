"""``exec``: start another process in a running container's namespaces and cgroup.

The runtime forks a child that joins the container's namespaces through
``/proc/<init>/ns/*`` (user first; the mount namespace last, by the grandchild,
after ``prepare_process`` loaded what it needs from the host), and forks again so
that the process is inside the container's pid namespace.  The middle process
reports the grandchild's pid and exits; a foreground exec waits for it as its
subreaper and returns its exit code.
"""

import os

from ketch.errors import FailedPrecondition, InvalidArgument
from ketch.linux import ns
from ketch.oci.runtime_spec import Capabilities, Config, Process, User, config_from_json
from ketch.runtime._sealed import seal_imports
from ketch.runtime._sync import Channel, channel_pair, error_payload
from ketch.runtime.container import Container
from ketch.runtime.state import CREATED, RUNNING

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NoReturn

    from ketch.cgroups import CgroupJoin
    from ketch.runtime._seccomp_rules import SeccompPlan

__all__ = ["ExecOptions", "exec_process_in", "process_for_exec"]

_PR_SET_CHILD_SUBREAPER = 36
_PR_SET_PDEATHSIG = 1
_SIGKILL = 9
# setns order: user first; mnt is joined by the grandchild after prepare_process
_ORDER = ("user", "ipc", "uts", "network", "cgroup", "pid", "time")


class ExecOptions:
    """runc exec's flags that shape the process (``--process`` replaces them all)."""

    __slots__ = ("args", "caps", "cwd", "env", "no_new_privs", "tty", "user")

    def __init__(
        self,
        args: tuple[str, ...] = (),
        *,
        env: tuple[str, ...] = (),
        cwd: str | None = None,
        user: str | None = None,
        caps: tuple[str, ...] = (),
        tty: bool = False,
        no_new_privs: bool | None = None,
    ) -> None:
        self.args, self.env, self.cwd, self.user = args, env, cwd, user
        self.caps, self.tty, self.no_new_privs = caps, tty, no_new_privs


def _parse_user(spec: str) -> tuple[int, int | None]:
    uid_s, _, gid_s = spec.partition(":")
    try:
        return int(uid_s), (int(gid_s) if gid_s else None)
    except ValueError:
        raise InvalidArgument(f"--user {spec!r}: expected uid[:gid] as numbers") from None


def process_for_exec(config: Config, options: ExecOptions) -> Process:
    """The container's process with exec's flags applied (runc's rules)."""
    base = config.process or Process(cwd="/")
    if not options.args:
        raise InvalidArgument("exec: no command given (args or --process)")
    env = list(base.env)
    for item in options.env:
        key = item.partition("=")[0]
        env = [e for e in env if e.partition("=")[0] != key]
        env.append(item)
    user = base.user
    if options.user is not None:
        uid, gid = _parse_user(options.user)
        user = User(uid=uid, gid=gid if gid is not None else user.gid, umask=user.umask)
    caps = base.capabilities
    if options.caps:
        c = caps or Capabilities()
        add = tuple(options.caps)
        caps = Capabilities(
            bounding=c.bounding + add,
            effective=c.effective + add,
            inheritable=c.inheritable,
            permitted=c.permitted + add,
            ambient=c.ambient,
        )
    result: Process = base.replace(  # type: ignore[assignment]
        args=tuple(options.args),
        env=tuple(env),
        cwd=options.cwd or base.cwd,
        terminal=options.tty,
        user=user,
        capabilities=caps,
        no_new_privileges=(
            options.no_new_privs if options.no_new_privs is not None else base.no_new_privileges
        ),
        console_size=None,
    )
    return result


def _open_namespaces(pid: int) -> dict[str, int]:
    """fds of the init's namespaces that differ from ours (joining our own user ns fails)."""
    fds: dict[str, int] = {}
    try:
        for kind in (*_ORDER, "mount"):
            name = ns.PROC_NS_NAMES[kind]
            try:
                theirs = os.stat(f"/proc/{pid}/ns/{name}")
                ours = os.stat(f"/proc/self/ns/{name}")
            except FileNotFoundError:
                continue
            if (theirs.st_dev, theirs.st_ino) == (ours.st_dev, ours.st_ino):
                continue
            fds[kind] = os.open(f"/proc/{pid}/ns/{name}", os.O_RDONLY | os.O_CLOEXEC)
    except BaseException:
        for fd in fds.values():
            os.close(fd)
        raise
    return fds


def exec_process_in(
    container: Container,
    process: Process,
    *,
    detach: bool = False,
    pid_file: str | None = None,
    console_socket: str | None = None,
    preserve_fds: int = 0,
) -> int:
    """Run ``process`` in ``container``; its exit code (0 when detached)."""
    status = container.status()
    if status not in (RUNNING, CREATED):
        raise FailedPrecondition(f"cannot exec in container {container.id!r}: it is {status}")
    config = config_from_json(container.state.config)
    from ketch.runtime.process import validate_process

    seccomp_plan = validate_process(process, config.linux)
    if process.terminal and console_socket is None and detach:
        raise InvalidArgument("exec --tty --detach needs --console-socket")
    console_fd = -1
    pair = None
    if console_socket is not None:
        if not process.terminal:
            raise InvalidArgument("--console-socket given without --tty")
        from ketch.runtime.console import connect_console_socket

        console_fd = connect_console_socket(console_socket)
    elif process.terminal:  # foreground: the runtime relays the terminal, as runc does
        from ketch.runtime.console import ConsolePair

        pair = ConsolePair()
        console_fd = pair.child_fd
    fds = _open_namespaces(container.state.pid)
    if not container.alive():
        for fd in fds.values():
            os.close(fd)
        raise FailedPrecondition(f"container {container.id!r} stopped")
    runtime_side, child_side = channel_pair()
    middle = grandchild = 0
    master = -1
    join = None
    try:
        join = container.manager.open_join()
        if not detach:
            from ketch.linux.prctl import prctl

            prctl(_PR_SET_CHILD_SUBREAPER, 1)
        middle = join.fork()  # born in the container's cgroup2 cgroup (ketch.cgroups._join)
        if middle == 0:
            _child(
                child_side, fds, config, process, console_fd, preserve_fds, join,
                (container.store.seccomp_cache, seccomp_plan),
            )
        child_side.close()
        join.finish(middle)
        runtime_side.send("go")
        grandchild = int(runtime_side.expect("pid"))
        os.waitpid(middle, 0)
        middle = 0
        runtime_side.expect("ready")
        if pair is not None:
            master = pair.receive_master()
        if pid_file is not None:
            from ketch.runtime.create import write_pid_file

            write_pid_file(pid_file, grandchild)
        runtime_side.send("start")
        message = runtime_side.recv()
        if message is not None and message[0] == "error":
            from ketch.runtime._sync import error_from_payload

            raise error_from_payload(message[1])
    except BaseException:
        if pair is not None:
            pair.parent.close()
        if master >= 0:
            os.close(master)
        for target in (middle, grandchild):
            if target:
                try:
                    os.kill(target, _SIGKILL)
                    os.waitpid(target, 0)
                except OSError:
                    pass
        raise
    finally:
        if join is not None:
            join.close()
        runtime_side.close()
        child_side.close()
        for fd in (*fds.values(), console_fd):
            if fd >= 0:
                os.close(fd)
    if detach:
        return 0
    if master >= 0:
        from ketch.runtime.console import relay

        try:
            relay(master)
        finally:
            os.close(master)
    from ketch.runtime.run import wait_exit

    return wait_exit(grandchild)


def _child(
    channel: Channel,
    fds: dict[str, int],
    config: Config,
    process: Process,
    console_fd: int,
    preserve_fds: int,
    join: "CgroupJoin",
    seccomp: "tuple[str, SeccompPlan | None]",
) -> "NoReturn":
    try:
        join.enter()  # v1: the child moves itself, before any namespace change
        from ketch.linux.prctl import prctl
        from ketch.runtime.process import make_nondumpable

        make_nondumpable()
        prctl(_PR_SET_PDEATHSIG, _SIGKILL)
        from ketch.runtime._init import preload

        # every module now: in the container's user or mount namespace the host's
        # Python files may be out of reach
        preload(config.replace(process=process))  # type: ignore[arg-type]
        channel.expect("go")  # we are in the container's cgroup
        for kind in _ORDER:
            if kind in fds:
                ns.setns(fds[kind], ns.NAMESPACE_FLAGS[kind])
        if "user" in fds:
            os.setresgid(0, 0, 0)
            os.setresuid(0, 0, 0)
        pid = os.fork()
        if pid:
            channel.send("pid", str(pid))
            os._exit(0)
        _grandchild(channel, fds, config, process, console_fd, preserve_fds, seccomp)
    except BaseException as e:
        try:  # noqa: SIM105 (contextlib costs an import)
            channel.send("error", error_payload(e))
        except OSError:
            pass
    os._exit(1)


def _grandchild(
    channel: Channel,
    fds: dict[str, int],
    config: Config,
    process: Process,
    console_fd: int,
    preserve_fds: int,
    seccomp: "tuple[str, SeccompPlan | None]",
) -> None:
    from ketch.runtime.process import (
        apply_process,
        arm_exec,
        fire_exec,
        prepare_process,
        resolve_executable,
    )

    linux = config.linux
    cache, plan = seccomp
    prepared = prepare_process(process, linux, seccomp_cache=cache, seccomp_plan=plan)  # host
    if "mount" in fds:
        ns.setns(fds["mount"], ns.CLONE_NEWNS)  # root and cwd become the container's
        seal_imports()  # from here on, sys.path names the container's files
    os.chdir("/")
    for fd in fds.values():
        os.close(fd)
    if process.terminal:
        from ketch.runtime.console import setup_console

        setup_console(console_fd, process, bind_console=False)
    executable = resolve_executable(process)
    apply_process(process, linux)
    from ketch.linux.prctl import prctl

    prctl(_PR_SET_PDEATHSIG, 0)
    armed = arm_exec(prepared, executable, preserve_fds=preserve_fds)
    channel.send("ready")
    channel.expect("start")
    import _signal  # type: ignore[import-not-found]

    _signal.signal(_signal.SIGPIPE, _signal.SIG_DFL)
    _signal.signal(_signal.SIGXFSZ, _signal.SIG_DFL)
    fire_exec(armed)


