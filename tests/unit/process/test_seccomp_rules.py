"""plan_seccomp: the linux.seccomp record as libseccomp calls (pure)."""

import pytest

from ketch.errors import InvalidArgument
from ketch.oci.runtime_spec import Seccomp, SeccompArg, SeccompSyscall
from ketch.runtime._seccomp_rules import Rule, plan_seccomp

ALLOW, ERRNO, KILL_THREAD, KILL_PROCESS = 0x7FFF0000, 0x00050000, 0, 0x80000000
TRAP, TRACE, LOG, NOTIFY = 0x00030000, 0x7FF00000, 0x7FFC0000, 0x7FC00000


def call(names: tuple[str, ...], action: str, **kw: object) -> SeccompSyscall:
    return SeccompSyscall(names=names, action=action, **kw)  # type: ignore[arg-type]


def test_actions_and_errno_values() -> None:
    plan = plan_seccomp(
        Seccomp(
            default_action="SCMP_ACT_ERRNO",
            default_errno_ret=38,
            syscalls=(
                call(("read", "write"), "SCMP_ACT_ALLOW"),
                call(("mkdir",), "SCMP_ACT_ERRNO"),
                call(("rmdir",), "SCMP_ACT_ERRNO", errno_ret=28),
                call(("kill",), "SCMP_ACT_KILL"),
                call(("tkill",), "SCMP_ACT_KILL_THREAD"),
                call(("reboot",), "SCMP_ACT_KILL_PROCESS"),
                call(("ptrace",), "SCMP_ACT_TRAP"),
                call(("uname",), "SCMP_ACT_TRACE", errno_ret=7),
                call(("getpid",), "SCMP_ACT_LOG"),
            ),
        )
    )
    assert plan.default_action == ERRNO | 38
    assert plan.rules == (
        Rule("read", ALLOW),
        Rule("write", ALLOW),
        Rule("mkdir", ERRNO | 1),  # EPERM when errnoRet is not given
        Rule("rmdir", ERRNO | 28),
        Rule("kill", KILL_THREAD),
        Rule("tkill", KILL_THREAD),
        Rule("reboot", KILL_PROCESS),
        Rule("ptrace", TRAP),
        Rule("uname", TRACE | 7),
        Rule("getpid", LOG),
    )
    assert not plan.notify


def test_default_errno_is_eperm_and_rules_equal_to_default_are_dropped() -> None:
    plan = plan_seccomp(
        Seccomp(
            default_action="SCMP_ACT_ERRNO",
            syscalls=(
                call(("mkdir",), "SCMP_ACT_ERRNO"),  # == default: libseccomp would refuse it
                call(("rmdir",), "SCMP_ACT_ERRNO", errno_ret=2),
            ),
        )
    )
    assert plan.default_action == ERRNO | 1
    assert plan.rules == (Rule("rmdir", ERRNO | 2),)


def test_architectures_and_flags() -> None:
    plan = plan_seccomp(
        Seccomp(
            default_action="SCMP_ACT_ALLOW",
            architectures=("SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32", "SCMP_ARCH_X86"),
            flags=("SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_TSYNC"),
        )
    )
    assert plan.architectures == ("x86_64", "x86", "x32")
    # no_new_privs is left to process.noNewPrivileges (CTL_NNP off), then the flags
    assert plan.attributes == ((3, 0), (6, 1), (7, 1), (4, 1))


def test_argument_conditions() -> None:
    plan = plan_seccomp(
        Seccomp(
            default_action="SCMP_ACT_ALLOW",
            syscalls=(
                call(
                    ("personality",), "SCMP_ACT_ERRNO",
                    args=(SeccompArg(index=0, value=8, value_two=99, op="SCMP_CMP_NE"),),
                ),
                call(
                    ("clone",), "SCMP_ACT_ERRNO",
                    args=(
                        SeccompArg(index=0, value=0x7E020000, value_two=0x10000000, op="SCMP_CMP_MASKED_EQ"),
                        SeccompArg(index=2, value=5, op="SCMP_CMP_GE"),
                    ),
                ),
            ),
        )
    )
    assert plan.rules == (
        Rule("personality", ERRNO | 1, ((0, 1, 8, 0),)),  # valueTwo only for MASKED_EQ
        Rule("clone", ERRNO | 1, ((0, 7, 0x7E020000, 0x10000000), (2, 5, 5, 0))),
    )


def test_two_conditions_on_one_argument_become_two_rules() -> None:
    ops = ("SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GT")
    args = tuple(SeccompArg(index=1, value=i, op=op) for i, op in enumerate(ops))
    plan = plan_seccomp(
        Seccomp(default_action="SCMP_ACT_ALLOW", syscalls=(call(("kill",), "SCMP_ACT_ERRNO", args=args),))
    )
    assert plan.rules == tuple(Rule("kill", ERRNO | 1, ((1, op, i, 0),)) for i, op in enumerate((2, 3, 4, 6)))


def test_notify_needs_a_listener_and_spares_sendmsg() -> None:
    notify = call(("mkdir",), "SCMP_ACT_NOTIFY")
    plan = plan_seccomp(Seccomp(default_action="SCMP_ACT_ALLOW", listener_path="/run/a.sock", syscalls=(notify,)))
    assert plan.notify and plan.rules == (Rule("mkdir", NOTIFY),)
    with pytest.raises(InvalidArgument, match=r"listenerPath: required"):
        plan_seccomp(Seccomp(default_action="SCMP_ACT_ALLOW", syscalls=(notify,)))
    with pytest.raises(InvalidArgument, match=r"cannot be used for 'sendmsg'"):
        plan_seccomp(
            Seccomp(
                default_action="SCMP_ACT_ALLOW",
                listener_path="/run/a.sock",
                syscalls=(call(("sendmsg",), "SCMP_ACT_NOTIFY"),),
            )
        )
    with pytest.raises(InvalidArgument, match=r"defaultAction: SCMP_ACT_NOTIFY cannot be the default"):
        plan_seccomp(Seccomp(default_action="SCMP_ACT_NOTIFY", listener_path="/x"))


@pytest.mark.parametrize(
    ("seccomp", "message"),
    [
        (Seccomp(default_action="SCMP_ACT_NOPE"), r"defaultAction: unknown seccomp action"),
        (Seccomp(default_action="SCMP_ACT_ALLOW", default_errno_ret=1), r"defaultErrnoRet: only valid"),
        (Seccomp(default_action="SCMP_ACT_ALLOW", architectures=("SCMP_ARCH_VAX",)), r"architectures\[0\]"),
        (Seccomp(default_action="SCMP_ACT_ALLOW", architectures=("x86_64",)), r"architectures\[0\]"),
        (Seccomp(default_action="SCMP_ACT_ALLOW", flags=("SECCOMP_FILTER_FLAG_X",)), r"flags\[0\]"),
        (
            Seccomp(default_action="SCMP_ACT_ERRNO", syscalls=(call(("a",), "SCMP_ACT_ALLOW", errno_ret=1),)),
            r"syscalls\[0\]: errnoRet is only valid",
        ),
        (
            Seccomp(default_action="SCMP_ACT_ALLOW", syscalls=(call(("a",), "SCMP_ACT_ERRNO", errno_ret=70000),)),
            r"errnoRet 70000 is out of range",
        ),
        (
            Seccomp(
                default_action="SCMP_ACT_ALLOW",
                syscalls=(call(("a",), "SCMP_ACT_ERRNO", args=(SeccompArg(index=6, value=0, op="SCMP_CMP_EQ"),)),),
            ),
            r"syscalls\[0\]\.args\[0\]\.index: 6",
        ),
        (
            Seccomp(
                default_action="SCMP_ACT_ALLOW",
                syscalls=(call(("a",), "SCMP_ACT_ERRNO", args=(SeccompArg(index=0, value=0, op="SCMP_CMP_XX"),)),),
            ),
            r"args\[0\]\.op: unknown operator",
        ),
        (
            Seccomp(
                default_action="SCMP_ACT_ALLOW",
                syscalls=(call(("a",), "SCMP_ACT_ERRNO", args=(SeccompArg(index=0, value=2**64, op="SCMP_CMP_EQ"),)),),
            ),
            r"args\[0\]\.value: .* does not fit in 64 bits",
        ),
    ],
)
def test_bad_records_are_named(seccomp: Seccomp, message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        plan_seccomp(seccomp)
