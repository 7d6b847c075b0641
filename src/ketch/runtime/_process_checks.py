"""Pure checks and tables for ``process``: env, rlimits, capability sets, scheduling, PATH lookup.

No syscalls but ``stat``: all of this can run on the host before any fork.
"""

import os

from ketch.errors import InvalidArgument, NotFound, PermissionDenied
from ketch.linux.capabilities import CAPABILITY_NAMES
from ketch.linux.sched import IOPRIO_CLASSES, PERSONALITY_DOMAINS, SCHED_FLAGS, SCHED_POLICIES
from ketch.oci.runtime_spec import Capabilities, Linux, Process

__all__ = [
    "DEFAULT_PATH",
    "RLIMITS",
    "capability_mask",
    "capability_sets",
    "check_cpu_affinity",
    "check_rlimits",
    "check_scheduling",
    "check_user",
    "cpu_list",
    "lookup_path",
    "process_environment",
    "rlimit_value",
]

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
RLIMITS = {
    "RLIMIT_CPU": 0,
    "RLIMIT_FSIZE": 1,
    "RLIMIT_DATA": 2,
    "RLIMIT_STACK": 3,
    "RLIMIT_CORE": 4,
    "RLIMIT_RSS": 5,
    "RLIMIT_NPROC": 6,
    "RLIMIT_NOFILE": 7,
    "RLIMIT_MEMLOCK": 8,
    "RLIMIT_AS": 9,
    "RLIMIT_LOCKS": 10,
    "RLIMIT_SIGPENDING": 11,
    "RLIMIT_MSGQUEUE": 12,
    "RLIMIT_NICE": 13,
    "RLIMIT_RTPRIO": 14,
    "RLIMIT_RTTIME": 15,
}
RLIM_INFINITY = (1 << 64) - 1
_UNLIMITED_FROM = 1 << 63  # the spec's 2^64-1; setrlimit's RLIM_INFINITY is -1 in Python
_SET_FIELDS = ("bounding", "effective", "permitted", "inheritable", "ambient")
_S_IFMT, _S_IFDIR = 0o170000, 0o040000
_MAX_CPU = 8192
_MAX_ID = (1 << 32) - 2  # (uid_t)-1 means "leave unchanged" to setresuid: never an id


def capability_mask(names: tuple[str, ...], known: int = len(CAPABILITY_NAMES) - 1) -> int:
    """The bit mask of capability ``names``; names unknown here or above ``known`` are ignored.

    Like runc, unknown or kernel-unsupported capabilities are skipped, not refused: a
    config written for a newer kernel still starts, with fewer privileges.
    """
    mask = 0
    for name in names:
        try:
            number = CAPABILITY_NAMES.index(name)
        except ValueError:
            continue
        if number <= known:
            mask |= 1 << number
    return mask


def capability_sets(caps: Capabilities | None, known: int = len(CAPABILITY_NAMES) - 1) -> dict[str, int]:
    """Masks of the five sets (no section: all empty, as runc).

    Effective must be within permitted; ambient is clipped to permitted & inheritable,
    which the kernel requires (runc skips the others the same way).
    """
    caps = caps or Capabilities()
    sets = {field: capability_mask(getattr(caps, field), known) for field in _SET_FIELDS}
    extra = sets["effective"] & ~sets["permitted"]
    if extra:
        name = CAPABILITY_NAMES[extra.bit_length() - 1]
        raise InvalidArgument(f"process.capabilities.effective: {name} is not in the permitted set")
    sets["ambient"] &= sets["permitted"] & sets["inheritable"]
    return sets


def process_environment(process: Process) -> dict[str, str]:
    """``process.env`` as an ordered mapping; the last value of a repeated name wins."""
    env: dict[str, str] = {}
    for i, entry in enumerate(process.env):
        name, sep, value = entry.partition("=")
        if not sep or not name:
            raise InvalidArgument(f"process.env[{i}]: {entry!r} is not NAME=value")
        if "\0" in entry:
            raise InvalidArgument(f"process.env[{i}]: contains a NUL byte")
        env[name] = value
    return env


def rlimit_value(value: int) -> int:
    """The spec's limit as ``resource.setrlimit`` wants it (unlimited is -1)."""
    return -1 if value >= _UNLIMITED_FROM else value


def check_rlimits(process: Process) -> list[tuple[int, int, int, str]]:
    """(resource number, soft, hard, name) of each of ``process.rlimits``, checked."""
    result = []
    seen = set()
    for i, rlimit in enumerate(process.rlimits):
        where = f"process.rlimits[{i}]"
        number = RLIMITS.get(rlimit.type)
        if number is None:
            raise InvalidArgument(f"{where}.type: unknown rlimit {rlimit.type!r}")
        if number in seen:
            raise InvalidArgument(f"{where}.type: {rlimit.type} is set twice")
        seen.add(number)
        if not (0 <= rlimit.soft <= RLIM_INFINITY and 0 <= rlimit.hard <= RLIM_INFINITY):
            raise InvalidArgument(f"{where}: {rlimit.type} limits must be 0 to 2^64-1")
        if rlimit.soft > rlimit.hard:
            raise InvalidArgument(
                f"{where}: {rlimit.type} soft limit {rlimit.soft} exceeds hard limit {rlimit.hard}"
            )
        result.append((number, rlimit.soft, rlimit.hard, rlimit.type))
    return result


def check_user(process: Process) -> None:
    """uid, gid and additionalGids are real ids (-1 / 2^32-1 would mean "unchanged")."""
    user = process.user
    for field, value in (("uid", user.uid), ("gid", user.gid)):
        if not 0 <= value <= _MAX_ID:
            raise InvalidArgument(f"process.user.{field}: {value} is not a valid id")
    for i, gid in enumerate(user.additional_gids):
        if not 0 <= gid <= _MAX_ID:
            raise InvalidArgument(f"process.user.additionalGids[{i}]: {gid} is not a valid id")
    if user.umask is not None and not 0 <= user.umask <= 0o777:
        raise InvalidArgument(f"process.user.umask: {user.umask:#o} is not in 0..0777")


def check_scheduling(process: Process, linux: Linux | None) -> None:
    """oomScoreAdj, scheduler, ioPriority and linux.personality names and ranges."""
    if process.oom_score_adj is not None and not -1000 <= process.oom_score_adj <= 1000:
        raise InvalidArgument(f"process.oomScoreAdj: {process.oom_score_adj} is not in -1000..1000")
    sched = process.scheduler
    if sched is not None:
        if sched.policy not in SCHED_POLICIES:
            raise InvalidArgument(f"process.scheduler.policy: unknown policy {sched.policy!r}")
        for i, flag in enumerate(sched.flags):
            if flag not in SCHED_FLAGS:
                raise InvalidArgument(f"process.scheduler.flags[{i}]: unknown flag {flag!r}")
        if not -20 <= sched.nice <= 19:
            raise InvalidArgument(f"process.scheduler.nice: {sched.nice} is not in -20..19")
        if not 0 <= sched.priority <= 99:
            raise InvalidArgument(f"process.scheduler.priority: {sched.priority} is not in 0..99")
        for field in ("runtime", "deadline", "period"):
            if not 0 <= getattr(sched, field) < 1 << 64:
                raise InvalidArgument(f"process.scheduler.{field}: must be 0 to 2^64-1")
    io = process.io_priority
    if io is not None:
        if io.class_ not in IOPRIO_CLASSES:
            raise InvalidArgument(f"process.ioPriority.class: unknown class {io.class_!r}")
        if not 0 <= io.priority <= 7:
            raise InvalidArgument(f"process.ioPriority.priority: {io.priority} is not in 0..7")
    persona = linux.personality if linux is not None else None
    if persona is not None:
        if persona.domain not in PERSONALITY_DOMAINS:
            raise InvalidArgument(
                f"linux.personality.domain: {persona.domain!r} is not LINUX or LINUX32"
            )
        if persona.flags:
            raise InvalidArgument(
                f"linux.personality.flags: {persona.flags[0]!r} is not supported (none are)"
            )


def cpu_list(spec: str, where: str) -> set[int]:
    """CPUs of a list like ``0-3,7`` (execCPUAffinity, cpuset syntax)."""
    cpus: set[int] = set()
    for part in spec.split(","):
        first, dash, last = part.strip().partition("-")
        try:
            low = int(first)
            high = int(last) if dash else low
        except ValueError:
            raise InvalidArgument(f"{where}: {spec!r} is not a CPU list like 0-3,7") from None
        if not 0 <= low <= high < _MAX_CPU:
            raise InvalidArgument(f"{where}: {part!r} is not a CPU range")
        cpus.update(range(low, high + 1))
    return cpus


def check_cpu_affinity(process: Process) -> dict[str, set[int]]:
    """``process.execCPUAffinity`` as CPU sets by stage (``initial``, ``final``)."""
    result = {}
    for stage, spec in (process.exec_cpu_affinity or {}).items():
        where = f"process.execCPUAffinity.{stage}"
        if stage not in ("initial", "final"):
            raise InvalidArgument(f"{where}: unknown stage (initial or final)")
        result[stage] = cpu_list(spec, where)
    return result


def lookup_path(name: str, path_env: str) -> str:
    """Like Go's exec.LookPath (runc): a name with a slash as is, else the first executable
    regular file on ``path_env``; NotFound / PermissionDenied worded as runc's."""
    candidates = [name] if "/" in name else [os.path.join(d or ".", name) for d in path_env.split(":")]
    denied = False
    for candidate in candidates:
        try:
            st = os.stat(candidate)
        except OSError:
            continue
        if st.st_mode & _S_IFMT == _S_IFDIR or not st.st_mode & 0o111:
            denied = True
            continue
        return candidate
    if "/" in name:
        if denied:
            raise PermissionDenied(f'exec: "{name}": permission denied')
        raise NotFound(f'exec: "{name}": no such file or directory')
    raise NotFound(f'exec: "{name}": executable file not found in $PATH')
