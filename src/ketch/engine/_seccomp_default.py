"""ketch's default seccomp profile: an allow-list, everything else fails with EPERM.

Written for ketch (not derived from another project's file).  The idea is the
usual one: allow what ordinary programs use; keep out what reaches kernel
state shared with the host (modules, clocks, keyrings, reboot, swap, mount,
namespaces, BPF, perf, ptrace of others) unless a capability that grants it is
added; ``clone``/``unshare`` may not make namespaces without CAP_SYS_ADMIN and
``clone3`` answers ENOSYS so libc falls back to ``clone`` (its flags are in
memory, where seccomp cannot look).
"""

from __future__ import annotations

__all__ = ["ARCHES", "BY_CAPABILITY", "CLONE_NS_FLAGS", "SYSCALLS", "seccomp_profile"]

ARCHES = {
    "x86_64": ("SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"),
    "aarch64": ("SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"),
    "ppc64le": ("SCMP_ARCH_PPC64LE",),
    "s390x": ("SCMP_ARCH_S390X", "SCMP_ARCH_S390"),
    "riscv64": ("SCMP_ARCH_RISCV64",),
}

# CLONE_NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET|NEWTIME(0x80)
CLONE_NS_FLAGS = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000 | 0x80

_FILES = """
access faccessat faccessat2 open openat openat2 creat close close_range read write readv writev
pread64 pwrite64 preadv preadv2 pwritev pwritev2 lseek _llseek llseek stat stat64 fstat fstat64
lstat lstat64 newfstatat fstatat64 statx statfs statfs64 fstatfs fstatfs64 truncate truncate64
ftruncate ftruncate64 fallocate fadvise64 fadvise64_64 arm_fadvise64_64 readahead sync syncfs
fsync fdatasync sync_file_range sync_file_range2 arm_sync_file_range rename renameat renameat2
link linkat unlink unlinkat symlink symlinkat readlink readlinkat mkdir mkdirat rmdir mknod mknodat
chmod fchmod fchmodat fchmodat2 chown chown32 fchown fchown32 fchownat lchown lchown32 utime
utimes futimesat utimensat utimensat_time64 getcwd chdir fchdir chroot getdents getdents64
readdir dup dup2 dup3 fcntl fcntl64 flock ioctl pipe pipe2 sendfile sendfile64 splice tee
vmsplice copy_file_range umask getxattr lgetxattr fgetxattr setxattr lsetxattr fsetxattr
listxattr llistxattr flistxattr removexattr lremovexattr fremovexattr inotify_init inotify_init1
inotify_add_watch inotify_rm_watch fanotify_mark memfd_create name_to_handle_at
"""

_PROCESS = """
execve execveat exit exit_group fork vfork clone wait4 waitid waitpid kill tkill tgkill
rt_sigaction rt_sigprocmask rt_sigreturn sigreturn rt_sigpending rt_sigsuspend rt_sigtimedwait
rt_sigtimedwait_time64 rt_sigqueueinfo rt_tgsigqueueinfo sigaction sigprocmask sigpending
sigsuspend sigaltstack signal signalfd signalfd4 pause getpid getppid gettid getpgid setpgid
getpgrp getsid setsid getuid getuid32 geteuid geteuid32 getgid getgid32 getegid getegid32
setuid setuid32 setgid setgid32 setreuid setreuid32 setregid setregid32 setresuid setresuid32
setresgid setresgid32 getresuid getresuid32 getresgid getresgid32 getgroups getgroups32
setgroups setgroups32 setfsuid setfsuid32 setfsgid setfsgid32 capget capset prctl arch_prctl
set_tid_address set_robust_list get_robust_list futex futex_time64 futex_waitv futex_wait
futex_wake futex_requeue rseq sched_yield sched_getaffinity sched_setaffinity sched_getparam
sched_setparam sched_getscheduler sched_setscheduler sched_get_priority_max
sched_get_priority_min sched_rr_get_interval sched_rr_get_interval_time64 sched_getattr
sched_setattr getpriority setpriority getrlimit setrlimit ugetrlimit prlimit64 getrusage times
uname olduname ioprio_get ioprio_set personality restart_syscall pidfd_open pidfd_send_signal
pidfd_getfd process_mrelease membarrier set_thread_area get_thread_area landlock_create_ruleset
landlock_add_rule landlock_restrict_self seccomp
"""

_MEMORY = """
brk mmap mmap2 munmap mremap mprotect pkey_mprotect pkey_alloc pkey_free madvise mlock mlock2
munlock mlockall munlockall mincore msync remap_file_pages get_mempolicy set_mempolicy mbind
set_mempolicy_home_node map_shadow_stack cacheflush
"""

_TIME = """
time gettimeofday clock_gettime clock_gettime64 clock_getres clock_getres_time64 clock_nanosleep
clock_nanosleep_time64 nanosleep alarm getitimer setitimer timer_create timer_delete
timer_getoverrun timer_gettime timer_gettime64 timer_settime timer_settime64 timerfd_create
timerfd_gettime timerfd_gettime64 timerfd_settime timerfd_settime64
"""

_IO = """
select _newselect pselect6 pselect6_time64 poll ppoll ppoll_time64 epoll_create epoll_create1
epoll_ctl epoll_ctl_old epoll_wait epoll_wait_old epoll_pwait epoll_pwait2 eventfd eventfd2
io_setup io_destroy io_getevents io_pgetevents io_pgetevents_time64 io_submit io_cancel
io_uring_setup io_uring_enter io_uring_register getrandom
"""

_NET = """
socket socketpair bind connect listen accept accept4 getsockname getpeername getsockopt
setsockopt shutdown sendto sendmsg sendmmsg recvfrom recvmsg recvmmsg recvmmsg_time64
socketcall send recv
"""

_IPC = """
ipc msgget msgsnd msgrcv msgctl semget semop semtimedop semtimedop_time64 semctl shmget shmat
shmdt shmctl mq_open mq_unlink mq_timedsend mq_timedsend_time64 mq_timedreceive
mq_timedreceive_time64 mq_notify mq_getsetattr
"""

SYSCALLS: tuple[str, ...] = tuple(
    sorted(set((_FILES + _PROCESS + _MEMORY + _TIME + _IO + _NET + _IPC).split()))
)

# syscalls a capability adds (the kernel still checks the capability itself)
BY_CAPABILITY: dict[str, tuple[str, ...]] = {
    "CAP_SYS_ADMIN": (
        "mount", "umount", "umount2", "unshare", "setns", "pivot_root", "sethostname",
        "setdomainname", "quotactl", "quotactl_fd", "fsconfig", "fsmount", "fsopen", "fspick",
        "move_mount", "open_tree", "mount_setattr", "bpf", "perf_event_open", "lookup_dcookie",
        "fanotify_init", "open_by_handle_at", "syslog", "clone3", "vhangup",
    ),
    "CAP_SYS_BOOT": ("reboot", "kexec_load", "kexec_file_load"),
    "CAP_SYS_CHROOT": ("chroot",),
    "CAP_SYS_MODULE": ("init_module", "finit_module", "delete_module"),
    "CAP_SYS_PACCT": ("acct",),
    "CAP_SYS_PTRACE": (
        "ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "process_madvise",
    ),
    "CAP_SYS_RAWIO": ("iopl", "ioperm"),
    "CAP_SYS_TIME": ("settimeofday", "stime", "clock_settime", "clock_settime64", "adjtimex",
                     "clock_adjtime", "clock_adjtime64"),
    "CAP_SYS_TTY_CONFIG": ("vhangup",),
    "CAP_SYS_NICE": ("get_mempolicy", "mbind", "set_mempolicy"),
    "CAP_SYSLOG": ("syslog",),
    "CAP_BPF": ("bpf",),
    "CAP_PERFMON": ("perf_event_open",),
    "CAP_SYS_RESOURCE": (),
}


def seccomp_profile(arch: str, capabilities: tuple[str, ...]) -> dict[str, object]:
    """The OCI ``linux.seccomp`` section for ``arch`` and the process's bounding capabilities."""
    allowed = set(SYSCALLS)
    for cap in capabilities:
        allowed.update(BY_CAPABILITY.get(cap, ()))
    sys_admin = "CAP_SYS_ADMIN" in capabilities
    rules: list[dict[str, object]] = []
    if not sys_admin:
        allowed.discard("clone")
        allowed.discard("clone3")
        # clone's flags are its first argument except on s390 (second)
        index = 1 if arch == "s390x" else 0
        rules.append({
            "names": ["clone"],
            "action": "SCMP_ACT_ALLOW",
            "args": [{"index": index, "value": CLONE_NS_FLAGS, "valueTwo": 0,
                      "op": "SCMP_CMP_MASKED_EQ"}],
        })
        rules.append({"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38})
    # personality: only the harmless domains (PER_LINUX, PER_LINUX32, query)
    rules.extend(
        {
            "names": ["personality"],
            "action": "SCMP_ACT_ALLOW",
            "args": [{"index": 0, "value": value, "valueTwo": 0, "op": "SCMP_CMP_EQ"}],
        }
        for value in (0x0, 0x8, 0x20000, 0x20008, 0xFFFFFFFF)
    )
    allowed.discard("personality")
    rules.insert(0, {"names": sorted(allowed), "action": "SCMP_ACT_ALLOW"})
    return {
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": 1,
        "architectures": list(ARCHES.get(arch, ())),
        "syscalls": rules,
    }
