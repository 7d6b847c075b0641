"""``create``: check the bundle, make the cgroup, fork the init and wait until it is ready.

On any failure the init (and the middle process) are killed, the cgroup and the
state directory removed: nothing is left behind.  ``run`` uses the same path
with ``run_mode=True`` (no exec.fifo: the init waits for a ``start`` message).
"""

import os

from ketch.errors import FailedPrecondition, InvalidArgument, KetchError, NotFound
from ketch.linux import ns
from ketch.oci import _json
from ketch.oci.runtime_spec import Config, IDMapping, LinuxResources, config_from_json
from ketch.runtime._init import InitContext, init_main, preload, state_json, write_time_offsets
from ketch.runtime._namespaces import FOR_CHILDREN, NamespacePlan, plan_namespaces
from ketch.runtime._proc import process_start_time
from ketch.runtime._sync import Channel, channel_pair
from ketch.runtime.state import ContainerState, StateDir, now_rfc3339, write_atomic

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ketch.cgroups import CgroupJoin, CgroupManager
    from ketch.runtime._seccomp_rules import SeccompPlan
    from ketch.runtime.console import ConsolePair

__all__ = ["Launched", "create_container", "load_bundle", "write_pid_file"]

_SIGKILL = 9
_PR_SET_CHILD_SUBREAPER = 36


class Launched:
    """A container whose init is ready (blocked on exec.fifo or waiting for ``start``)."""

    __slots__ = ("channel", "config", "console", "direct_child", "manager", "state")

    def __init__(
        self,
        state: ContainerState,
        config: Config,
        channel: Channel,
        manager: "CgroupManager",
        direct_child: bool,
        console: "ConsolePair | None" = None,
    ) -> None:
        self.console = console  # the runtime relays the terminal (run -t without a socket)
        self.state = state
        self.config = config
        self.channel = channel
        self.manager = manager
        self.direct_child = direct_child


def load_bundle(bundle: str) -> tuple[Config, object]:
    """Read, schema-validate and decode ``<bundle>/config.json``: (config, raw JSON)."""
    path = os.path.join(bundle, "config.json")
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise NotFound(f"{path}: no such file (is {bundle} an OCI bundle?)") from None
    except OSError as e:
        raise InvalidArgument(f"{path}: {e.strerror}") from None
    data = _json.loads(raw, "config.json")
    from ketch.oci.validate import validate_runtime_config

    validate_runtime_config(data)
    try:
        config = config_from_json(data)
    except InvalidArgument as e:
        raise InvalidArgument(f"config.json: {e}") from None
    return config, data


def _check(
    config: Config, plan: NamespacePlan, console_socket: str | int | None, bundle: str
) -> "tuple[str, SeccompPlan | None]":
    """Host-side checks before anything is created; the rootfs path and the seccomp plan."""
    process, linux = config.process, config.linux
    if process is None:
        raise InvalidArgument("config.json: process: required to create a container")
    if config.root is None:
        raise InvalidArgument("config.json: root: required on Linux")
    rootfs = os.path.join(bundle, config.root.path)
    if not os.path.isdir(rootfs):
        raise NotFound(f"root.path: {rootfs} does not exist or is not a directory")
    if process.terminal and console_socket is None:
        raise InvalidArgument("process.terminal is true: --console-socket is required")
    if not process.terminal and console_socket is not None:
        raise InvalidArgument("--console-socket given but process.terminal is false")
    if (config.hostname or config.domainname) and "uts" not in plan.new_kinds | plan.join.keys():
        raise InvalidArgument("hostname: a hostname needs the container's own uts namespace")
    if "user" in plan.new_kinds and (linux is None or not linux.uid_mappings or not linux.gid_mappings):
        raise InvalidArgument("linux.uidMappings: a new user namespace needs uid and gid mappings")
    if linux is not None and linux.time_offsets and "time" not in plan.new_kinds:
        raise InvalidArgument("linux.timeOffsets: needs a new time namespace")
    if linux is not None and linux.sysctl:
        from ketch.runtime._sysctl import check_sysctl

        check_sysctl(linux.sysctl, plan.new_kinds | frozenset(plan.join))
    from ketch.runtime.process import validate_process

    return rootfs, validate_process(process, linux)


def _write_id_map(pid: int, name: str, mappings: tuple[IDMapping, ...]) -> None:
    text = "".join(f"{m.container_id} {m.host_id} {m.size}\n" for m in mappings)
    try:
        fd = os.open(f"/proc/{pid}/{name}", os.O_WRONLY | os.O_CLOEXEC)
        try:
            os.write(fd, text.encode())
        finally:
            os.close(fd)
    except OSError as e:
        key = "uidMappings" if name == "uid_map" else "gidMappings"
        raise InvalidArgument(f"linux.{key}: the kernel refused the mapping ({e.strerror})") from e


def _resources(config: Config) -> LinuxResources:
    """``linux.resources`` with the device rules every container needs added."""
    from ketch.cgroups.devices import container_device_rules

    linux = config.linux
    resources = linux.resources if linux is not None and linux.resources else LinuxResources()
    devices = container_device_rules(linux)
    result: LinuxResources = resources.replace(devices=devices)  # type: ignore[assignment]
    return result


def _idmap(options: tuple[str, ...]) -> bool:
    return "idmap" in options or "ridmap" in options


def _close_all(fds: dict[int, int]) -> None:
    """Close and forget ``fds`` (the init has its own copies once forked)."""
    for fd in fds.values():
        os.close(fd)
    fds.clear()


def write_pid_file(path: str, pid: int) -> None:
    write_atomic(os.path.abspath(path), f"{pid}".encode(), 0o644)


def _fork_fast(ctx: InitContext) -> int:
    """Set pid/time namespaces for our children, fork the init, come back to ours."""
    plan = ctx.namespaces
    saved: list[tuple[int, int]] = []
    try:
        for kind in FOR_CHILDREN:
            if kind in plan.new_kinds or kind in plan.join:
                flag = ns.NAMESPACE_FLAGS[kind]
                own = os.open(f"/proc/self/ns/{kind}_for_children", os.O_RDONLY | os.O_CLOEXEC)
                saved.append((own, flag))
                if kind in plan.join:
                    ns.setns(plan.join[kind], flag)
                else:
                    ns.unshare(flag)
                    if kind == "time":
                        write_time_offsets(ctx.config)
        pid = ctx.cgroup_join.fork() if ctx.cgroup_join is not None else os.fork()
        if pid == 0:
            init_main(ctx)
        return pid
    finally:
        for own, flag in saved:
            ns.setns(own, flag)
            os.close(own)


def create_container(
    store: StateDir,
    container_id: str,
    bundle: str,
    *,
    pid_file: str | None = None,
    console_socket: str | int | None = None,
    no_pivot: bool = False,
    no_new_keyring: bool = False,
    preserve_fds: int = 0,
    run_mode: bool = False,
    relay_terminal: bool = False,
) -> Launched:
    """Create the container; returns once its init is ready for ``start``.

    ``console_socket``: the path of the caller's unix socket, or an fd of a connected
    one (taken over), that receives the pty master when ``process.terminal`` is set.
    Without one, ``relay_terminal`` (foreground ``run``) makes the runtime receive the
    master itself (``Launched.console``) to relay it, as runc does.
    """
    bundle = os.path.abspath(bundle)
    store.path(container_id)  # validates the ID before anything else
    config, raw = load_bundle(bundle)
    linux = config.linux
    plan = plan_namespaces(linux)
    console_fd = fifo_fd = -1
    premade: dict[int, int] = {}
    pid = init_pid = 0
    direct_child = True
    manager = None
    join: CgroupJoin | None = None
    channels: tuple[Channel, Channel] | None = None
    reserved = False
    pair = None
    try:
        process = config.process
        if relay_terminal and console_socket is None and process is not None and process.terminal:
            from ketch.runtime.console import ConsolePair

            pair = ConsolePair()
            console_socket = pair.child_fd
        rootfs, seccomp_plan = _check(config, plan, console_socket, bundle)
        if isinstance(console_socket, int):  # a connected socket of the caller's (run -t)
            console_fd = console_socket
        elif console_socket is not None:
            from ketch.runtime.console import connect_console_socket

            console_fd = connect_console_socket(console_socket)
        directory = store.reserve(container_id)
        reserved = True
        if not run_mode:
            fifo = os.path.join(directory, "exec.fifo")
            os.mkfifo(fifo)
            # 0622 despite the umask: an init that dropped to a non-root user must still
            # reopen it for writing (through /proc/self/fd, so the 0700 dir is no obstacle)
            os.chmod(fifo, 0o622)
            fifo_fd = os.open(fifo, os.O_PATH | os.O_CLOEXEC)
        channels = channel_pair()
        runtime_side, init_side = channels
        preload(config)  # the modules the init needs, imported once: the fork shares them
        from ketch.cgroups import open_manager

        manager = open_manager(linux.cgroups_path if linux is not None else None, container_id)
        # the cgroup is complete before the fork, so the child is born in it (cgroup2) or
        # moves itself (v1): no cgroup.procs write, no grace period (ketch.cgroups._join)
        manager.create()
        manager.set(_resources(config))
        join = manager.open_join()
        if plan.user and any(m.uid_mappings or m.gid_mappings or _idmap(m.options) for m in config.mounts):
            # the init in a user namespace may not idmap a host filesystem: made here
            from ketch.runtime.rootfs import open_idmapped_mounts

            premade = open_idmapped_mounts(config, bundle)
        ctx = InitContext(
            container_id=container_id,
            config=config,
            bundle=bundle,
            channel=init_side,
            namespaces=plan,
            fifo_fd=fifo_fd if fifo_fd >= 0 else None,
            console_fd=console_fd if console_fd >= 0 else None,
            preserve_fds=preserve_fds,
            no_pivot=no_pivot,
            new_keyring=not no_new_keyring,
            premade=premade or None,
            cgroup_join=join,
            seccomp_cache=store.seccomp_cache,
            seccomp_plan=seccomp_plan,
        )
        if ctx.two_stage:
            if run_mode:  # the init will be our grandchild: adopt it when the middle exits
                from ketch.linux.prctl import prctl

                prctl(_PR_SET_CHILD_SUBREAPER, 1)
            pid = join.fork()
            if pid == 0:
                init_main(ctx)
        else:
            pid = _fork_fast(ctx)
        init_side.close()
        plan.close()
        _close_all(premade)
        for fd in (console_fd, fifo_fd):
            if fd >= 0:
                os.close(fd)
        console_fd = fifo_fd = -1
        join.finish(pid)  # the child waits for "go" before its cgroup namespace
        if "user" in plan.new_kinds and linux is not None:
            runtime_side.expect("userns")
            _write_id_map(pid, "uid_map", linux.uid_mappings)
            _write_id_map(pid, "gid_map", linux.gid_mappings)
        runtime_side.send("go")
        if ctx.two_stage:
            init_pid = int(runtime_side.expect("pid"))
            os.waitpid(pid, 0)
            pid = 0
            direct_child = run_mode
        else:
            init_pid = pid
        runtime_side.send("state", str(init_pid))  # the init goes on with the mounts meanwhile
        start_time = process_start_time(init_pid)
        if start_time is None:
            raise FailedPrecondition("container init exited during create")
        state = ContainerState(
            id=container_id,
            bundle=bundle,
            rootfs=rootfs,
            pid=init_pid,
            start_time=start_time,
            created=now_rfc3339(),
            config=raw,
            cgroup_paths=dict(manager.paths()),
        )
        store.save(state)
        hooks = config.hooks
        if hooks is not None and (hooks.prestart or hooks.create_runtime):
            runtime_side.expect("mounted")
            from ketch.runtime.container import oci_state
            from ketch.runtime.hooks import run_hooks

            payload = state_json(oci_state(state, "creating"))
            run_hooks(hooks.prestart, payload, "prestart")
            run_hooks(hooks.create_runtime, payload, "createRuntime")
            runtime_side.send("hooked")
        runtime_side.expect("ready")
        if pid_file is not None:
            write_pid_file(pid_file, init_pid)
        return Launched(state, config, runtime_side, manager, direct_child, pair)
    except BaseException as e:
        if join is not None:
            join.close()
        if pair is not None:
            pair.parent.close()
        _undo(pid, init_pid, channels, manager, store if reserved else None, container_id)
        for fd in (console_fd, fifo_fd):
            if fd >= 0:
                os.close(fd)
        _close_all(premade)
        plan.close()
        if isinstance(e, KetchError | KeyboardInterrupt):
            raise
        if isinstance(e, OSError):
            raise FailedPrecondition(f"create {container_id}: {e.strerror or e}") from e
        raise


def _undo(
    pid: int,
    init_pid: int,
    channels: tuple[Channel, Channel] | None,
    manager: "CgroupManager | None",
    store: StateDir | None,
    container_id: str,
) -> None:
    """Kill what was started and remove what was made (errors here are secondary)."""
    for target in {pid, init_pid} - {0}:
        try:  # noqa: SIM105 (contextlib costs an import)
            os.kill(target, _SIGKILL)
        except OSError:
            pass
    for target in {pid, init_pid} - {0}:
        try:  # noqa: SIM105 - the init is our child too when we are its subreaper (run)
            os.waitpid(target, 0)
        except ChildProcessError:
            pass
    if channels is not None:
        channels[0].close()
        channels[1].close()
    if manager is not None:
        try:  # noqa: SIM105 (contextlib costs an import)
            manager.kill_all(_SIGKILL)
        except (KetchError, OSError):
            pass
        try:  # noqa: SIM105 (contextlib costs an import)
            manager.destroy()
        except (KetchError, OSError):
            pass
    if store is not None:
        store.remove(container_id)
