"""The container's init, child side: from fork to the exec of the container process.

Runs in the process ``create`` forks (and, with a user namespace, in the middle
process that forks the real init).  It never returns: every path ends in
``fire_exec`` or ``os._exit``; an error is sent to the runtime as one
``error`` message first.  Order (runc's, see docs/design/runtime.md)::

    [v1 cgroup join] -> nondumpable -> [user ns, maps] -> join/unshare namespaces -> wait "go"
    -> cgroup ns -> [fork: init is PID 1] -> hostname -> mount_rootfs -> sysctl
    -> prestart/createRuntime hooks (by the runtime) -> createContainer hooks
    -> enter_rootfs -> console -> resolve executable -> apply_process -> arm_exec
    -> "ready" -> exec.fifo (or "start") -> startContainer hooks -> fire_exec
"""

import os

from ketch.linux import ns
from ketch.oci.runtime_spec import OCI_VERSION, Config, State
from ketch.runtime._namespaces import FOR_CHILDREN, NamespacePlan
from ketch.runtime._sealed import seal_imports
from ketch.runtime._sync import Channel, error_payload

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NoReturn

    from ketch.cgroups import CgroupJoin
    from ketch.runtime._seccomp_rules import SeccompPlan
    from ketch.runtime.process import Prepared

__all__ = ["InitContext", "init_main", "preload", "state_json", "write_time_offsets"]

_PR_SET_PDEATHSIG = 1
_SIGKILL = 9
# namespaces the init itself unshares (pid and time are for the forking process)
_OWN_KINDS = ("mount", "network", "uts", "ipc")


class InitContext:
    """Everything the child needs, prepared by the runtime before the fork."""

    __slots__ = (
        "bundle",
        "cgroup_join",
        "channel",
        "config",
        "console_fd",
        "container_id",
        "fifo_fd",
        "namespaces",
        "new_keyring",
        "no_pivot",
        "premade",
        "preserve_fds",
        "seccomp_cache",
        "seccomp_plan",
        "two_stage",
    )

    def __init__(
        self,
        *,
        container_id: str,
        config: Config,
        bundle: str,
        channel: Channel,
        namespaces: NamespacePlan,
        fifo_fd: int | None,
        console_fd: int | None,
        preserve_fds: int,
        no_pivot: bool,
        new_keyring: bool = True,
        premade: "dict[int, int] | None" = None,
        cgroup_join: "CgroupJoin | None" = None,
        seccomp_cache: str | None = None,
        seccomp_plan: "SeccompPlan | None" = None,
    ) -> None:
        self.seccomp_cache = seccomp_cache  # the runtime's compiled seccomp filters
        self.seccomp_plan = seccomp_plan  # checked by create (validate_process)
        self.cgroup_join = cgroup_join  # entered first thing in the child
        self.premade = premade  # idmapped mounts made on the host side (user namespace)
        self.new_keyring = new_keyring
        self.container_id = container_id
        self.config = config
        self.bundle = bundle
        self.channel = channel
        self.namespaces = namespaces
        self.fifo_fd = fifo_fd
        self.console_fd = console_fd
        self.preserve_fds = preserve_fds
        self.no_pivot = no_pivot
        self.two_stage = namespaces.user


def write_time_offsets(config: Config) -> None:
    """/proc/self/timens_offsets of a new time namespace, before anything enters it."""
    offsets = config.linux.time_offsets if config.linux is not None else None
    if not offsets:
        return
    lines = "".join(f"{clock} {o.secs} {o.nanosecs}\n" for clock, o in offsets.items())
    with open("/proc/self/timens_offsets", "w", encoding="ascii") as f:
        f.write(lines)


def init_main(ctx: InitContext) -> "NoReturn":
    """The child's entry point right after ``os.fork``."""
    try:
        _init(ctx)
    except BaseException as e:
        try:  # noqa: SIM105 (contextlib costs an import)
            ctx.channel.send("error", error_payload(e))
        except OSError:
            pass
    os._exit(1)


def _init(ctx: InitContext) -> None:
    from ketch.linux.prctl import prctl
    from ketch.runtime.process import make_nondumpable

    if ctx.cgroup_join is not None:  # v1: we move ourselves, before any namespace change
        ctx.cgroup_join.enter()
    make_nondumpable()
    prctl(_PR_SET_PDEATHSIG, _SIGKILL)
    plan, channel = ctx.namespaces, ctx.channel
    if ctx.two_stage:
        if "user" in plan.join:
            plan.join_kinds(("user",))
        else:
            ns.unshare(ns.CLONE_NEWUSER)
            channel.send("userns")
        channel.expect("go")  # the runtime wrote the id maps and joined the cgroup
        preload(ctx.config)  # still the host's root: its files (and Python's) are readable
        _become_root()
        plan.join_kinds(tuple(k for k in plan.join if k != "user"))
        ns.unshare(plan.flags((*_OWN_KINDS, "cgroup", *FOR_CHILDREN)))
        if "time" in plan.new_kinds:
            write_time_offsets(ctx.config)
        pid = os.fork()
        if pid:
            channel.send("pid", str(pid))
            os._exit(0)
        # no parent-death signal here: the middle process (our parent) exits at once
        plan.close()
        prepared = _early(ctx)
    else:
        plan.join_kinds(tuple(k for k in plan.join if k not in (*FOR_CHILDREN, "cgroup")))
        ns.unshare(plan.flags(_OWN_KINDS))
        # what needs no cgroup, while the runtime finishes the cgroup2 move if clone3 could not
        prepared = _early(ctx)
        channel.expect("go")
        plan.join_kinds(("cgroup",))
        ns.unshare(plan.flags(("cgroup",)))
        plan.close()
    host_pid = int(channel.expect("state"))
    _container(ctx, host_pid, prepared)


def _early(ctx: InitContext) -> "Prepared":
    """Work that needs the new uts namespace but neither the cgroup nor the mounts."""
    from ketch.runtime.process import prepare_process

    config = ctx.config
    if config.hostname:
        ns.sethostname(config.hostname)
    if config.domainname:
        ns.setdomainname(config.domainname)
    preload(config)
    assert config.process is not None  # checked by create
    # loads what it needs from the host
    return prepare_process(
        config.process, config.linux, seccomp_cache=ctx.seccomp_cache, seccomp_plan=ctx.seccomp_plan
    )


def preload(config: Config) -> None:
    """Import every module the init may need later: once it is root of a user namespace
    or inside the rootfs, the host's Python files may be out of its reach."""
    from ketch.linux import mountinfo  # noqa: F401
    from ketch.runtime import _rootfs_cgroup, process, rootfs  # noqa: F401

    if any(m.uid_mappings or m.gid_mappings for m in config.mounts):
        from ketch.runtime import _rootfs_idmap  # noqa: F401
    if any("tmpcopyup" in m.options for m in config.mounts):
        from ketch.runtime import _rootfs_copy  # noqa: F401
    linux = config.linux
    if linux is not None and linux.seccomp is not None:
        from ketch.runtime import _process_seccomp, _seccomp_rules  # noqa: F401
    if linux is not None and linux.sysctl:
        from ketch.runtime import _sysctl  # noqa: F401
    if config.hooks is not None:
        from ketch.oci import _decode, _json  # noqa: F401
        from ketch.runtime import hooks  # noqa: F401
    if config.process is not None and config.process.terminal:
        import socket  # noqa: F401

        from ketch.linux import pty  # noqa: F401
        from ketch.runtime import console  # noqa: F401


def _become_root() -> None:
    """In a new user namespace: take uid/gid 0 when the maps have them."""
    try:
        os.setresgid(0, 0, 0)
        os.setresuid(0, 0, 0)
    except OSError:
        pass  # 0 is not mapped: apply_process sets the process's ids


def _join_keyring(container_id: str) -> None:
    """A session keyring of the container's own (runc's default; --no-new-keyring skips)."""
    import errno

    try:
        ns.join_session_keyring(container_id)
    except OSError as e:
        if e.errno != errno.ENOSYS:
            raise


def _state(ctx: InitContext, pid: int, status: str) -> State:
    annotations = ctx.config.annotations
    return State(
        oci_version=OCI_VERSION,
        id=ctx.container_id,
        status=status,
        bundle=ctx.bundle,
        pid=pid,
        annotations=dict(annotations) if annotations else None,
    )


def state_json(state: State) -> bytes:
    from ketch.oci._decode import encode
    from ketch.oci._json import dumps

    return dumps(encode(state)).encode()


def _container(ctx: InitContext, host_pid: int, prepared: "Prepared") -> None:
    from ketch.runtime import rootfs
    from ketch.runtime.process import apply_process, arm_exec, fire_exec, resolve_executable

    config, channel = ctx.config, ctx.channel
    process, linux = config.process, config.linux
    assert process is not None  # checked by create
    hooks = config.hooks
    root = rootfs.mount_rootfs(config, ctx.bundle, premade=ctx.premade)
    if linux is not None and linux.sysctl:
        from ketch.runtime._sysctl import write_sysctl

        write_sysctl(linux.sysctl)
    if hooks is not None and (hooks.prestart or hooks.create_runtime):
        channel.send("mounted")
        channel.expect("hooked")
    if hooks is not None and hooks.create_container:
        from ketch.runtime.hooks import run_hooks

        run_hooks(
            hooks.create_container, state_json(_state(ctx, host_pid, "creating")), "createContainer"
        )
    rootfs.enter_rootfs(config, root, no_pivot=ctx.no_pivot)
    seal_imports()  # from here on, sys.path names the container's files
    if process.terminal:
        from ketch.runtime.console import setup_console

        assert ctx.console_fd is not None  # checked by create
        setup_console(ctx.console_fd, process)
    executable = resolve_executable(process)
    if ctx.new_keyring:
        _join_keyring(ctx.container_id)
    apply_process(process, linux)
    from ketch.linux.prctl import prctl

    prctl(_PR_SET_PDEATHSIG, 0)  # from now on the init outlives the runtime (create, run -d)
    # all of the exec's preparation that may fail or take time, before "ready"
    armed = arm_exec(
        prepared,
        executable,
        preserve_fds=ctx.preserve_fds,
        notify_state=_state(ctx, host_pid, "creating"),
    )
    if ctx.fifo_fd is not None:
        channel.send("ready")
        fd = os.open(f"/proc/self/fd/{ctx.fifo_fd}", os.O_WRONLY | os.O_CLOEXEC)
        os.write(fd, b"0")
        os.close(fd)
    else:
        channel.send("ready")
        channel.expect("start")
    if hooks is not None and hooks.start_container:
        from ketch.runtime.hooks import run_hooks

        run_hooks(
            hooks.start_container, state_json(_state(ctx, host_pid, "created")), "startContainer"
        )
    import _signal  # type: ignore[import-not-found]

    # Python ignores these; ignored signals would stay ignored in the container process
    _signal.signal(_signal.SIGPIPE, _signal.SIG_DFL)
    _signal.signal(_signal.SIGXFSZ, _signal.SIG_DFL)
    fire_exec(armed)
