"""Build a libseccomp filter from a plan and hand its notify fd to a seccomp agent.

Everything here that touches the file system (loading libseccomp, connecting to
``listenerPath``, the cache) runs in ``prepare_process``, before the child enters
the rootfs: after pivot_root a library or a socket path would be looked up in the
container.

A filter without SCMP_ACT_NOTIFY is compiled to its BPF program before ``start``
(``compile_filter``) and installed with a bare ``seccomp(2)`` at the exec:
libseccomp's ``seccomp_load`` would generate the program there, after ``start``
(1-5 ms for docker's default profile).  The programs are cached by the runtime
(``<root>/@seccomp``, 0700): the file holds the exact key (the plan, libseccomp's
version, the kernel release and machine) and is used only when the key matches,
so a container start with a profile seen before does not load libseccomp at all
beyond its version check.  A cache that cannot be read or written (a user
namespace, a read-only root) only costs the compile.
"""

import os

from ketch.errors import FailedPrecondition, InvalidArgument, NotImplementedByHost, Unavailable
from ketch.linux import seccomp as sc
from ketch.oci.runtime_spec import Seccomp, State
from ketch.runtime._seccomp_rules import SeccompPlan

__all__ = ["CompiledFilter", "Listener", "build_filter", "compile_filter", "load_filter"]

_NOTIFY_API_LEVEL = 6
_CACHE_FORMAT = b"ketch-seccomp-bpf 1\n"
_CACHE_MAX = 256  # entries; a full cache is emptied (each entry is one profile)


class CompiledFilter:
    """A filter's BPF program and seccomp(2) flags, installed by ``load``."""

    __slots__ = ("flags", "program")

    def __init__(self, program: bytes, flags: int) -> None:
        self.program = program
        self.flags = flags

    def load(self) -> None:
        sc.load_program(self.program, self.flags)

    def notify_fd(self) -> int:  # pragma: no cover - only notifying filters have one
        raise FailedPrecondition("linux.seccomp: a compiled filter has no notify fd")

    def release(self) -> None:
        return None


def _cache_key(plan: SeccompPlan) -> bytes:
    uname = os.uname()
    rules = [(r.name, r.action, r.conditions) for r in plan.rules]
    text = repr((plan.default_action, plan.architectures, plan.attributes, rules))
    return f"{sc.libseccomp_version()} {uname.release} {uname.machine}\n{text}\n".encode()


def _cache_name(key: bytes) -> str:
    try:
        from _sha256 import sha256  # type: ignore[import-not-found]  # hashlib costs ~2 ms
    except ImportError:  # pragma: no cover - Python >= 3.12 names it _sha2
        from hashlib import sha256
    return str(sha256(key).hexdigest())


def _read_cache(path: str, key: bytes) -> bytes | None:
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return None
    head = _CACHE_FORMAT + len(key).to_bytes(4, "little") + key
    if not data.startswith(head):
        return None  # another format, or a hash collision: compile
    return data[len(head) :]


def _write_cache(directory: str, path: str, key: bytes, program: bytes) -> None:
    try:
        os.makedirs(directory, 0o700, exist_ok=True)
        names = os.listdir(directory)
        if len(names) >= _CACHE_MAX:
            for name in names:
                os.unlink(os.path.join(directory, name))
        from ketch.linux.durable import write_file

        # no fsync: a torn entry after a crash is a mismatch, recompiled
        write_file(path, _CACHE_FORMAT + len(key).to_bytes(4, "little") + key + program, sync=False)
    except OSError:
        return  # the cache is an optimisation only


def compile_filter(plan: SeccompPlan, cache_dir: str | None) -> CompiledFilter:
    """The BPF program of a plan without SCMP_ACT_NOTIFY, from the cache or libseccomp."""
    try:
        key = _cache_key(plan)
    except OSError as e:
        raise NotImplementedByHost(f"linux.seccomp: libseccomp.so.2 cannot be loaded: {e}") from e
    flags = sc.filter_flags(plan.attributes)
    path = os.path.join(cache_dir, _cache_name(key)) if cache_dir else None
    if path is not None:
        program = _read_cache(path, key)
        if program:
            return CompiledFilter(program, flags)
    filt = build_filter(plan)
    try:
        program = filt.export_bpf()
    except OSError as e:
        raise FailedPrecondition(f"linux.seccomp: exporting the filter failed: {e.strerror}") from e
    finally:
        filt.release()
    if cache_dir is not None and path is not None:
        _write_cache(cache_dir, path, key, program)
    return CompiledFilter(program, flags)


def build_filter(plan: SeccompPlan) -> sc.Filter:
    """A libseccomp filter for ``plan`` (not loaded); syscalls unknown here are skipped."""
    try:
        lib_api = sc.api_level()
    except OSError as e:
        raise NotImplementedByHost(f"linux.seccomp: libseccomp.so.2 cannot be loaded: {e}") from e
    if plan.notify and lib_api < _NOTIFY_API_LEVEL:
        raise NotImplementedByHost(
            "linux.seccomp: SCMP_ACT_NOTIFY needs libseccomp >= 2.5 and Linux >= 5.0"
        )
    filt = sc.Filter(plan.default_action)
    try:
        for arch in plan.architectures:
            token = sc.resolve_arch(arch)
            if token is None:
                raise NotImplementedByHost(
                    f"linux.seccomp.architectures: libseccomp does not know {arch}"
                )
            filt.add_arch(token)
        for attr, value in plan.attributes:
            try:
                filt.set_attr(attr, value)
            except OSError as e:
                raise NotImplementedByHost(
                    f"linux.seccomp.flags: filter attribute {attr} is not supported here: "
                    f"{e.strerror}"
                ) from e
        for rule in plan.rules:
            nr = sc.resolve_syscall(rule.name)
            if nr is None:
                continue  # not a syscall of this architecture: skipped, as runc does
            try:
                filt.add_rule(rule.action, nr, rule.conditions)
            except OSError as e:
                raise InvalidArgument(
                    f"linux.seccomp.syscalls: rule for {rule.name!r} refused by libseccomp: "
                    f"{e.strerror}"
                ) from e
    except BaseException:
        filt.release()
        raise
    return filt


class Listener:
    """The seccomp agent's unix socket (``listenerPath``), connected from the host side."""

    __slots__ = ("_json", "_socket", "metadata", "sock")

    def __init__(self, seccomp: Seccomp) -> None:
        # imported now, from the host: socket.send_fds imports array lazily, and after
        # pivot_root an import would search the container's tree
        import array  # noqa: F401
        import json
        import socket

        self._json = json
        self._socket = socket
        self.metadata = seccomp.listener_metadata or ""
        path = seccomp.listener_path or ""
        self.sock: socket.socket = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self.sock.connect(path)
        except OSError as e:
            self.sock.close()
            raise Unavailable(f"linux.seccomp.listenerPath: {path}: {e.strerror}") from e

    def payload(self, state: State | None) -> bytes:
        """The container process state the agent receives with the fd, as runc sends it."""
        if state is None or state.pid is None:
            raise FailedPrecondition(
                "linux.seccomp.listenerPath: the container state (with its pid) is needed"
            )
        doc = {
            "ociVersion": state.oci_version,
            "fds": ["seccompFd"],
            "pid": state.pid,
            "metadata": self.metadata,
            "state": {
                "ociVersion": state.oci_version,
                "id": state.id,
                "status": state.status,
                "pid": state.pid,
                "bundle": state.bundle,
                "annotations": dict(state.annotations or {}),
            },
        }
        return self._json.dumps(doc).encode()

    def send(self, payload: bytes, fd: int) -> None:
        self._socket.send_fds(self.sock, [payload], [fd])
        self.sock.close()
        os.close(fd)


def load_filter(
    filt: "sc.Filter | CompiledFilter", listener: Listener | None, payload: bytes
) -> None:
    """Load ``filt``; with a listener, send it the notify fd and ``payload`` right after."""
    try:
        filt.load()
    except OSError as e:
        raise FailedPrecondition(f"linux.seccomp: loading the filter failed: {e.strerror}") from e
    if listener is not None:
        try:
            listener.send(payload, filt.notify_fd())
        except OSError as e:
            raise Unavailable(f"linux.seccomp.listenerPath: sending the notify fd: {e}") from e
