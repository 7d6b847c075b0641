"""The container's process: identity, capabilities, limits, seccomp and the final exec.

Called by the container's init (or exec'd) child, in this order::

    make_nondumpable()                      right after fork
    prepared = prepare_process(p, linux)    in the child, before it enters the rootfs
    path = resolve_executable(p)            after pivot_root: errors reported before start
    apply_process(p, linux)                 rlimits ... uid/gid (still privileged)
    armed = arm_exec(prepared, path)        environment, HOME, fds, trampoline memfd
    ... "ready", wait for "start" ...
    fire_exec(armed)                        capabilities, seccomp, execveat(trampoline)

(``exec_process`` = both at once.)

After the child entered the rootfs nothing may be loaded from the file system: a
Python module, libseccomp or the seccomp agent's socket would be looked up in the
container's (hostile) tree.  So ``prepare_process`` opens them all first, and also
does the writes to the host's /proc (oom_score_adj, AppArmor/SELinux exec labels)
where a container cannot have faked /proc.  The final execve is done by a tiny
static trampoline run from a sealed memfd (``_trampoline``), so a container never
reaches the host's Python through ``/proc/self/exe`` (CVE-2019-5736).
"""

import _signal  # type: ignore[import-not-found]  # signal's C half: no enum import
import os
import resource

from ketch.errors import (
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    NotImplementedByHost,
    PermissionDenied,
)
from ketch.linux import prctl
from ketch.linux import sched as _sched
from ketch.linux.capabilities import CAPABILITY_NAMES, capget, capset, last_cap
from ketch.linux.memfd import PreparedExec, cloexec_from, sealed_memfd
from ketch.oci.runtime_spec import Linux, Process, State
from ketch.runtime._process_checks import (
    DEFAULT_PATH,
    capability_sets,
    check_cpu_affinity,
    check_rlimits,
    check_scheduling,
    check_user,
    lookup_path,
    process_environment,
    rlimit_value,
)
from ketch.runtime._trampoline import MAGIC, trampoline_elf

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NoReturn

    from ketch.linux.seccomp import Filter
    from ketch.runtime._process_seccomp import CompiledFilter, Listener
    from ketch.runtime._seccomp_rules import SeccompPlan

__all__ = [
    "ArmedExec",
    "Prepared",
    "apply_process",
    "arm_exec",
    "exec_process",
    "fire_exec",
    "make_nondumpable",
    "prepare_process",
    "resolve_executable",
    "set_initial_cpu_affinity",
    "validate_process",
]

DEFAULT_UMASK = 0o022
_CAP_SYS_ADMIN = 21
_PASSWD_MAX = 1 << 20
_EPERM, _EACCES, _EINVAL, _EOPNOTSUPP = 1, 13, 22, 95
_SIGKILL, _SIGSTOP = 9, 19


def make_nondumpable() -> None:
    """PR_SET_DUMPABLE 0: other container processes cannot open /proc/<pid>/exe of this Python."""
    prctl.set_dumpable(False)


def _read_small(path: str, limit: int = 4096) -> str:
    try:
        with open(path, "rb") as f:
            return f.read(limit).decode(errors="replace")
    except OSError:
        return ""


def _check(process: Process, linux: Linux | None) -> None:
    if not process.args or not process.args[0]:
        raise InvalidArgument("process.args: must name a program")
    process_environment(process)
    check_rlimits(process)
    check_scheduling(process, linux)
    check_cpu_affinity(process)
    check_user(process)
    capability_sets(process.capabilities)


def validate_process(process: Process, linux: Linux | None) -> "SeccompPlan | None":
    """Checks before any fork: names, ranges, AppArmor/SELinux on the host, the seccomp rules.

    Returns the seccomp plan it checked (None without a seccomp section), for
    ``prepare_process`` in the child: planning costs ~0.2-0.5 ms of a start."""
    _check(process, linux)
    if process.apparmor_profile and not (
        os.path.isdir("/sys/kernel/security/apparmor")
        or _read_small("/sys/module/apparmor/parameters/enabled").startswith("Y")
    ):
        raise NotImplementedByHost(
            f"process.apparmorProfile: {process.apparmor_profile!r} is set but this host has"
            " no AppArmor"
        )
    if process.selinux_label and not os.path.exists("/sys/fs/selinux/enforce"):
        raise NotImplementedByHost(
            f"process.selinuxLabel: {process.selinux_label!r} is set but this host has no SELinux"
        )
    if linux is not None and linux.seccomp is not None:
        from ketch.runtime._seccomp_rules import plan_seccomp

        return plan_seccomp(linux.seccomp)
    return None


# ---------------------------------------------------------------- before the rootfs


class Prepared:
    """What ``exec_process`` needs, made while the host's file system is still visible."""

    __slots__ = (
        "filter",
        "listener",
        "machine",
        "no_new_privileges",
        "pid",
        "process",
        "trampoline",
    )

    def __init__(
        self,
        process: Process,
        filt: "Filter | CompiledFilter | None",
        listener: "Listener | None",
    ) -> None:
        self.process = process
        self.filter = filt
        self.listener = listener
        self.no_new_privileges = process.no_new_privileges
        self.pid = os.getpid()
        # before linux.personality may make uname(2) say i686
        self.machine = os.uname().machine
        self.trampoline = trampoline_elf(self.machine)


def _write_attr(paths: tuple[str, ...], data: str, where: str, lsm: str) -> None:
    for path in paths:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            continue
        except OSError as e:
            raise PermissionDenied(f"{where}: cannot open {path}: {e.strerror}") from e
        try:
            os.write(fd, data.encode())
            return
        except OSError as e:
            if e.errno in (_EINVAL, _EOPNOTSUPP):  # that LSM is not the one answering
                continue
            raise PermissionDenied(f"{where}: {lsm} refused {data!r}: {e.strerror}") from e
        finally:
            os.close(fd)
    raise NotImplementedByHost(f"{where}: set but this host has no {lsm}")


def _set_oom_score_adj(value: int) -> None:
    try:
        fd = os.open("/proc/self/oom_score_adj", os.O_WRONLY | os.O_CLOEXEC)
        try:
            os.write(fd, str(value).encode())
        finally:
            os.close(fd)
    except PermissionError as e:
        raise PermissionDenied(
            f"process.oomScoreAdj: cannot set {value} (lowering it needs CAP_SYS_RESOURCE)"
        ) from e
    except OSError as e:
        raise FailedPrecondition(f"process.oomScoreAdj: cannot set {value}: {e.strerror}") from e


def prepare_process(
    process: Process,
    linux: Linux | None,
    *,
    seccomp_cache: str | None = None,
    seccomp_plan: "SeccompPlan | None" = None,
) -> Prepared:
    """In the child before it enters the rootfs: check, load libseccomp and build the
    filter (compiled to BPF, through the runtime's ``seccomp_cache`` directory when
    given; from ``seccomp_plan`` when ``validate_process`` made it already), connect
    to the seccomp agent, set oomScoreAdj and the LSM exec labels."""
    _check(process, linux)
    last_cap()  # libc is loaded now, from the host
    filt: Filter | CompiledFilter | None = None
    listener = None
    seccomp = linux.seccomp if linux is not None else None
    if seccomp is not None:
        from ketch.runtime import _process_seccomp
        from ketch.runtime._seccomp_rules import plan_seccomp

        plan = seccomp_plan if seccomp_plan is not None else plan_seccomp(seccomp)
        if plan.notify:
            filt = _process_seccomp.build_filter(plan)
        else:
            filt = _process_seccomp.compile_filter(plan, seccomp_cache)
        if plan.notify:
            try:
                listener = _process_seccomp.Listener(seccomp)
            except BaseException:
                filt.release()
                raise
    if process.oom_score_adj is not None:
        _set_oom_score_adj(process.oom_score_adj)
    if process.apparmor_profile:
        _write_attr(
            ("/proc/self/attr/apparmor/exec", "/proc/self/attr/exec"),
            f"exec {process.apparmor_profile}",
            "process.apparmorProfile",
            "AppArmor",
        )
    if process.selinux_label:
        _write_attr(
            ("/proc/self/attr/exec",), process.selinux_label, "process.selinuxLabel", "SELinux"
        )
    return Prepared(process, filt, listener)


# ---------------------------------------------------------------- in the container


def resolve_executable(process: Process) -> str:
    """``args[0]`` resolved in the container (after pivot_root) on the PATH of process.env
    (DEFAULT_PATH if unset), as runc does; NotFound / PermissionDenied in runc's words."""
    if not process.args or not process.args[0]:
        raise InvalidArgument("process.args: must name a program")
    return lookup_path(process.args[0], process_environment(process).get("PATH", DEFAULT_PATH))


def _set_rlimits(process: Process) -> None:
    for number, soft, hard, name in check_rlimits(process):
        try:
            resource.setrlimit(number, (rlimit_value(soft), rlimit_value(hard)))
        except (OSError, ValueError) as e:
            current = resource.getrlimit(number)[1]
            raise PermissionDenied(
                f"process.rlimits: cannot set {name} to soft {soft} hard {hard} (the runtime's"
                f" hard limit is {current}; raising it needs CAP_SYS_RESOURCE): {e}"
            ) from e


def _set_scheduling(process: Process, linux: Linux | None) -> None:
    where = ""
    try:
        if process.scheduler is not None:
            where = "process.scheduler"
            sc = process.scheduler
            flags = 0
            for flag in sc.flags:
                flags |= _sched.SCHED_FLAGS[flag]
            _sched.sched_setattr(
                _sched.SCHED_POLICIES[sc.policy],
                flags=flags,
                nice=sc.nice,
                priority=sc.priority,
                runtime=sc.runtime,
                deadline=sc.deadline,
                period=sc.period,
            )
        if process.io_priority is not None:
            where = "process.ioPriority"
            io = process.io_priority
            _sched.ioprio_set(_sched.IOPRIO_CLASSES[io.class_], io.priority)
        if linux is not None and linux.personality is not None:
            where = "linux.personality"
            _sched.personality(_sched.PERSONALITY_DOMAINS[linux.personality.domain])
    except OSError as e:
        if e.errno in (_EPERM, _EACCES):
            raise PermissionDenied(f"{where}: not permitted: {e.strerror}") from e
        raise InvalidArgument(f"{where}: refused by the kernel: {e.strerror}") from e


def _chdir(cwd: str) -> bool:
    """chdir; False when permission was refused (try again as the container's user)."""
    if not cwd.startswith("/"):
        raise InvalidArgument(f"process.cwd: {cwd!r} is not an absolute path")
    try:
        os.chdir(cwd)
    except PermissionError:
        return False
    except FileNotFoundError as e:
        raise NotFound(f"process.cwd: {cwd}: no such directory in the container") from e
    except NotADirectoryError as e:
        raise InvalidArgument(f"process.cwd: {cwd}: not a directory") from e
    return True


def _drop_bounding(bounding: int, known: int) -> None:
    cap = 0
    try:
        for cap in range(known + 1):
            if not bounding >> cap & 1 and prctl.capbset_read(cap):
                prctl.capbset_drop(cap)
    except OSError as e:
        raise PermissionDenied(
            f"process.capabilities.bounding: cannot drop {CAPABILITY_NAMES[cap]}: {e.strerror}"
        ) from e


def _set_user(process: Process) -> None:
    user = process.user
    gids = list(user.additional_gids)
    try:
        os.setgroups(gids)
    except OSError as e:
        # a user namespace with setgroups "deny" refuses even an empty list
        if e.errno != _EPERM or gids:
            raise PermissionDenied(
                f"process.user.additionalGids: setgroups {gids}: {e.strerror}"
            ) from e
    prctl.set_keepcaps(True)
    for what, call, ident in (("gid", os.setresgid, user.gid), ("uid", os.setresuid, user.uid)):
        try:
            call(ident, ident, ident)
        except OSError as e:
            if e.errno == _EINVAL:
                raise InvalidArgument(
                    f"process.user.{what}: {ident} is not mapped in the container's user namespace"
                ) from e
            raise PermissionDenied(
                f"process.user.{what}: cannot switch to {ident}: {e.strerror}"
            ) from e
    prctl.set_keepcaps(False)


def _set_affinity(process: Process, stage: str) -> None:
    cpus = check_cpu_affinity(process).get(stage)
    if cpus is None:
        return
    try:
        os.sched_setaffinity(0, cpus)
    except OSError as e:
        raise InvalidArgument(
            f"process.execCPUAffinity.{stage}: cannot run on CPUs {sorted(cpus)}: {e.strerror}"
        ) from e


def set_initial_cpu_affinity(process: Process) -> None:
    """execCPUAffinity.initial, for the exec'd process before it joins the container's cgroup."""
    _set_affinity(process, "initial")


def apply_process(process: Process, linux: Linux | None) -> None:
    """In the child after it entered the rootfs: everything but capability sets and seccomp.

    Order: rlimits, execCPUAffinity.final, scheduler, ioPriority, personality,
    noNewPrivileges, cwd (as root), bounding set, umask, additionalGids/gid/uid (keeping
    the permitted set), cwd again as the user if root was refused (as runc).
    """
    _set_rlimits(process)
    _set_affinity(process, "final")
    _set_scheduling(process, linux)
    if process.no_new_privileges:
        prctl.set_no_new_privs()
    cwd_done = _chdir(process.cwd)
    known = last_cap()
    _drop_bounding(capability_sets(process.capabilities, known)["bounding"], known)
    umask = process.user.umask
    os.umask(DEFAULT_UMASK if umask is None else umask & 0o777)
    check_user(process)
    _set_user(process)
    if not cwd_done and not _chdir(process.cwd):
        raise PermissionDenied(f"process.cwd: {process.cwd}: permission denied for the user")


# ---------------------------------------------------------------- the final exec


def _home(uid: int) -> str:
    """HOME of ``uid`` from the container's /etc/passwd, else "/" (as runc)."""
    try:  # the image's file: a FIFO must not block, a device must not be read
        fd = os.open("/etc/passwd", os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return "/"
    try:
        if os.fstat(fd).st_mode & 0o170000 != 0o100000:
            return "/"
        data = os.read(fd, _PASSWD_MAX)
    except OSError:
        return "/"
    finally:
        os.close(fd)
    for line in data.decode(errors="replace").splitlines():
        fields = line.split(":")
        if len(fields) >= 6 and fields[2] == str(uid) and fields[5]:
            return fields[5]
    return "/"


def _set_capabilities(sets: dict[str, int]) -> None:
    try:
        capset(sets["effective"], sets["permitted"], sets["inheritable"])
    except OSError as e:
        missing = (sets["permitted"] | sets["inheritable"]) & ~capget().permitted
        name = CAPABILITY_NAMES[missing.bit_length() - 1] if missing else ""
        hint = f" (the runtime itself lacks {name})" if name else ""
        raise PermissionDenied(f"process.capabilities: cannot apply{hint}: {e.strerror}") from e
    prctl.cap_ambient_clear_all()
    ambient = sets["ambient"]
    for cap in range(ambient.bit_length()):
        if ambient >> cap & 1:
            prctl.cap_ambient_raise(cap)


def _default_signals() -> None:
    """Ignored signals stay ignored across execve: undo Python's (SIGPIPE, SIGXFSZ) and any other."""
    for signum in range(1, _signal.NSIG):
        if signum in (_SIGKILL, _SIGSTOP):
            continue
        try:
            if _signal.getsignal(signum) == _signal.SIG_IGN:
                _signal.signal(signum, _signal.SIG_DFL)
        except (OSError, ValueError):
            continue  # a signal number glibc reserves


class ArmedExec:
    """Everything the final exec needs, made before the wait for ``start``.

    ``arm_exec`` does the slow, failure-prone work while the runtime has not yet
    said ``start`` (environment, HOME from the container's /etc/passwd, the
    capability sets, fds > 2+preserve_fds close-on-exec, the sealed trampoline
    memfd); ``fire_exec`` does only what must come last: capability sets,
    seccomp load and the execveat.
    """

    __slots__ = ("executable", "filter", "listener", "no_new_privileges", "payload", "run", "sets")

    def __init__(
        self,
        executable: str,
        run: PreparedExec,
        sets: dict[str, int],
        filt: "Filter | CompiledFilter | None",
        listener: "Listener | None",
        payload: bytes,
        no_new_privileges: bool,
    ) -> None:
        self.executable = executable
        self.run = run
        self.sets = sets
        self.filter = filt
        self.listener = listener
        self.payload = payload
        self.no_new_privileges = no_new_privileges


def arm_exec(
    prepared: Prepared,
    executable: str,
    *,
    preserve_fds: int = 0,
    notify_state: State | None = None,
) -> ArmedExec:
    """The part of ``exec_process`` that may run before ``start`` (see ``ArmedExec``)."""
    process = prepared.process
    if os.getpid() != prepared.pid:
        raise FailedPrecondition("exec_process: prepare_process ran in another process")
    env = process_environment(process)
    env.setdefault("HOME", _home(process.user.uid))
    envp = [f"{k}={v}".encode() for k, v in env.items()]
    argv = [MAGIC, executable.encode(), *(a.encode() for a in process.args)]
    if any(b"\0" in a for a in argv):
        raise InvalidArgument("process.args: an argument contains a NUL byte")
    sets = capability_sets(process.capabilities, last_cap())
    filt, listener = prepared.filter, prepared.listener
    payload = listener.payload(notify_state) if listener is not None else b""

    for keep in range(3, 3 + preserve_fds):
        try:  # noqa: SIM105 (contextlib costs an import)
            os.set_inheritable(keep, True)
        except OSError:
            pass  # not open: nothing to pass on
    cloexec_from(3 + preserve_fds)  # flags only: the sync channel works until the exec
    fd = sealed_memfd("ketch-trampoline", prepared.trampoline, executable=True)  # close-on-exec
    run = PreparedExec(fd, argv, envp, prepared.machine)
    return ArmedExec(executable, run, sets, filt, listener, payload, prepared.no_new_privileges)


def fire_exec(armed: ArmedExec) -> "NoReturn":
    """Signals back to default, capability sets, seccomp, execveat: never returns.

    Without noNewPrivileges the kernel wants CAP_SYS_ADMIN to load a filter, so it is
    loaded before the capability sets are applied (as runc); otherwise last.
    """
    _default_signals()
    sets, filt, listener = armed.sets, armed.filter, armed.listener
    if filt is None:
        _set_capabilities(sets)
    else:
        from ketch.runtime._process_seccomp import load_filter

        if not armed.no_new_privileges:
            current = capget()
            if not current.permitted >> _CAP_SYS_ADMIN & 1:
                raise PermissionDenied(
                    "linux.seccomp: loading a filter without noNewPrivileges needs CAP_SYS_ADMIN"
                )
            capset(current.permitted, current.permitted, current.inheritable)
            load_filter(filt, listener, armed.payload)
            _set_capabilities(sets)
        else:
            _set_capabilities(sets)
            load_filter(filt, listener, armed.payload)
    try:
        armed.run()
    except OSError as e:
        raise FailedPrecondition(f"exec {armed.executable}: {e.strerror}") from e
    raise AssertionError("execveat returned")  # pragma: no cover


def exec_process(
    prepared: Prepared,
    executable: str,
    *,
    preserve_fds: int = 0,
    notify_state: State | None = None,
) -> "NoReturn":
    """Capability sets, seccomp, fds > 2+preserve_fds close-on-exec, then exec the program.

    The exec goes through the sealed-memfd trampoline (argv = MAGIC, executable, *args).
    ``notify_state`` (host pid, status "creating") goes with the notify fd to
    ``listenerPath`` when a rule uses SCMP_ACT_NOTIFY.  Never returns: raises on failure.
    Equal to ``fire_exec(arm_exec(...))``; callers that wait for ``start`` arm first.
    """
    fire_exec(arm_exec(prepared, executable, preserve_fds=preserve_fds, notify_state=notify_state))
