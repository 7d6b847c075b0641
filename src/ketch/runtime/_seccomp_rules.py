"""Turn a ``linux.seccomp`` record into a plan of libseccomp calls (pure, no ctypes).

Names stay names: syscall and architecture numbers are resolved by libseccomp when
the filter is built (``ketch.runtime.process``), and syscalls this architecture lacks
are skipped there, as runc does.
"""

from ketch.errors import InvalidArgument
from ketch.oci.runtime_spec import Seccomp, SeccompArg

__all__ = ["EPERM", "Condition", "Rule", "SeccompPlan", "plan_seccomp"]

EPERM = 1

# linux/seccomp.h and seccomp.h values (mirrored from ketch.linux.seccomp, which loads ctypes)
_ACT_KILL_PROCESS = 0x80000000
_ACT_KILL_THREAD = 0x00000000
_ACT_TRAP = 0x00030000
_ACT_ERRNO = 0x00050000
_ACT_TRACE = 0x7FF00000
_ACT_LOG = 0x7FFC0000
_ACT_ALLOW = 0x7FFF0000
_ACT_NOTIFY = 0x7FC00000
ACTIONS = {
    "SCMP_ACT_KILL": _ACT_KILL_THREAD,
    "SCMP_ACT_KILL_THREAD": _ACT_KILL_THREAD,
    "SCMP_ACT_KILL_PROCESS": _ACT_KILL_PROCESS,
    "SCMP_ACT_TRAP": _ACT_TRAP,
    "SCMP_ACT_ERRNO": _ACT_ERRNO,
    "SCMP_ACT_TRACE": _ACT_TRACE,
    "SCMP_ACT_ALLOW": _ACT_ALLOW,
    "SCMP_ACT_LOG": _ACT_LOG,
    "SCMP_ACT_NOTIFY": _ACT_NOTIFY,
}
_WITH_RET = ("SCMP_ACT_ERRNO", "SCMP_ACT_TRACE")
OPERATORS = {
    "SCMP_CMP_NE": 1,
    "SCMP_CMP_LT": 2,
    "SCMP_CMP_LE": 3,
    "SCMP_CMP_EQ": 4,
    "SCMP_CMP_GE": 5,
    "SCMP_CMP_GT": 6,
    "SCMP_CMP_MASKED_EQ": 7,
}
_MASKED_EQ = 7
# SCMP_FLTATR_* attribute numbers for the spec's SECCOMP_FILTER_FLAG_* names
FLAGS = {
    "SECCOMP_FILTER_FLAG_TSYNC": 4,
    "SECCOMP_FILTER_FLAG_LOG": 6,
    "SECCOMP_FILTER_FLAG_SPEC_ALLOW": 7,
    "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV": 10,
}
_ATTR_CTL_NNP = 3
ARCHITECTURES = frozenset(
    ["X86", "X86_64", "X32", "ARM", "AARCH64", "MIPS", "MIPS64", "MIPS64N32", "MIPSEL", "MIPSEL64", "MIPSEL64N32", "PPC", "PPC64", "PPC64LE", "S390", "S390X", "PARISC", "PARISC64", "RISCV64", "LOONGARCH64", "M68K", "SH", "SHEB"]
)
_MAX_ARG_INDEX = 5
_U64 = 1 << 64
# Between loading a notifying filter and handing its fd over, the runtime itself calls these.
_NOT_NOTIFIABLE = ("sendmsg",)

Condition = tuple[int, int, int, int]  # (arg index, SCMP_CMP op, datum_a, datum_b)


class Rule:
    """One libseccomp rule: ``action`` on syscall ``name`` when all ``conditions`` hold."""

    __slots__ = ("action", "conditions", "name")

    def __init__(self, name: str, action: int, conditions: tuple[Condition, ...] = ()) -> None:
        self.name = name
        self.action = action
        self.conditions = conditions

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Rule):
            return NotImplemented
        return (self.name, self.action, self.conditions) == (
            other.name, other.action, other.conditions,
        )

    def __hash__(self) -> int:
        return hash((self.name, self.action, self.conditions))

    def __repr__(self) -> str:
        return f"Rule({self.name!r}, {self.action:#x}, {self.conditions!r})"


class SeccompPlan:
    """What to ask libseccomp for, in order: init, arches, attributes, rules, load."""

    __slots__ = ("architectures", "attributes", "default_action", "notify", "rules")

    def __init__(
        self,
        default_action: int,
        architectures: tuple[str, ...],
        attributes: tuple[tuple[int, int], ...],
        rules: tuple[Rule, ...],
        notify: bool,
    ) -> None:
        self.default_action = default_action
        self.architectures = architectures  # libseccomp names: x86_64, aarch64...
        self.attributes = attributes  # (SCMP_FLTATR_*, value)
        self.rules = rules
        self.notify = notify  # some rule is SCMP_ACT_NOTIFY: hand the fd to listenerPath


def _action(name: str, errno_ret: int | None, default_errno: int, where: str) -> int:
    base = ACTIONS.get(name)
    if base is None:
        raise InvalidArgument(f"{where}: unknown seccomp action {name!r}")
    if name not in _WITH_RET:
        if errno_ret is not None:
            raise InvalidArgument(f"{where}: errnoRet is only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE")
        return base
    ret = default_errno if errno_ret is None else errno_ret
    if not 0 <= ret <= 0xFFFF:
        raise InvalidArgument(f"{where}: errnoRet {ret} is out of range 0-65535")
    return base | ret


def _condition(arg: SeccompArg, where: str) -> Condition:
    if not 0 <= arg.index <= _MAX_ARG_INDEX:
        raise InvalidArgument(f"{where}.index: {arg.index} is not a syscall argument (0-5)")
    op = OPERATORS.get(arg.op)
    if op is None:
        raise InvalidArgument(f"{where}.op: unknown operator {arg.op!r}")
    for field, value in (("value", arg.value), ("valueTwo", arg.value_two)):
        if not 0 <= value < _U64:
            raise InvalidArgument(f"{where}.{field}: {value} does not fit in 64 bits")
    return (arg.index, op, arg.value, arg.value_two if op == _MASKED_EQ else 0)


def plan_seccomp(seccomp: Seccomp) -> SeccompPlan:
    """Check ``seccomp`` and turn it into a plan; InvalidArgument names the bad field."""
    where = "linux.seccomp"
    default_errno = EPERM if seccomp.default_errno_ret is None else seccomp.default_errno_ret
    if seccomp.default_action == "SCMP_ACT_NOTIFY":
        raise InvalidArgument(f"{where}.defaultAction: SCMP_ACT_NOTIFY cannot be the default action")
    default = _action(seccomp.default_action, None, default_errno, f"{where}.defaultAction")
    if seccomp.default_errno_ret is not None and seccomp.default_action not in _WITH_RET:
        raise InvalidArgument(
            f"{where}.defaultErrnoRet: only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE"
        )

    arches: list[str] = []
    for i, arch in enumerate(seccomp.architectures):
        suffix = arch.removeprefix("SCMP_ARCH_")
        if suffix == arch or suffix not in ARCHITECTURES:
            raise InvalidArgument(f"{where}.architectures[{i}]: unknown architecture {arch!r}")
        if suffix.lower() not in arches:
            arches.append(suffix.lower())

    attributes = [(_ATTR_CTL_NNP, 0)]  # no_new_privs follows process.noNewPrivileges
    for i, flag in enumerate(seccomp.flags):
        attr = FLAGS.get(flag)
        if attr is None:
            raise InvalidArgument(f"{where}.flags[{i}]: unknown seccomp flag {flag!r}")
        attributes.append((attr, 1))

    rules: list[Rule] = []
    notify = False
    for i, entry in enumerate(seccomp.syscalls):
        here = f"{where}.syscalls[{i}]"
        action = _action(entry.action, entry.errno_ret, EPERM, here)
        conditions = tuple(_condition(a, f"{here}.args[{j}]") for j, a in enumerate(entry.args))
        if action == _ACT_NOTIFY:
            notify = True
            for name in entry.names:
                if name in _NOT_NOTIFIABLE:
                    raise InvalidArgument(
                        f"{here}: SCMP_ACT_NOTIFY cannot be used for {name!r} (the runtime needs it"
                        " to hand the notify fd to listenerPath)"
                    )
        if action == default:
            continue  # a no-op that libseccomp would refuse
        indexes = [c[0] for c in conditions]
        # libseccomp cannot AND two comparisons of one argument: such rules are split in
        # one rule per condition (an OR), as runc does
        split = len(set(indexes)) != len(indexes)
        groups = tuple((c,) for c in conditions) if split else (conditions,)
        for name in entry.names:
            if not name:
                raise InvalidArgument(f"{here}.names: empty syscall name")
            rules.extend(Rule(name, action, group) for group in groups)
    if notify and not seccomp.listener_path:
        raise InvalidArgument(f"{where}.listenerPath: required when a rule uses SCMP_ACT_NOTIFY")
    return SeccompPlan(default, tuple(arches), tuple(attributes), tuple(rules), notify)
