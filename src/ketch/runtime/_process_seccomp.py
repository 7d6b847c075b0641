"""Build a libseccomp filter from a plan and hand its notify fd to a seccomp agent.

Everything here that touches the file system (loading libseccomp, connecting to
``listenerPath``) runs in ``prepare_process``, before the child enters the rootfs:
after pivot_root a library or a socket path would be looked up in the container.
"""

import os

from ketch.errors import FailedPrecondition, InvalidArgument, NotImplementedByHost, Unavailable
from ketch.linux import seccomp as sc
from ketch.oci.runtime_spec import Seccomp, State
from ketch.runtime._seccomp_rules import SeccompPlan

TYPE_CHECKING = False
if TYPE_CHECKING:
    pass

__all__ = ["Listener", "build_filter", "load_filter"]

_NOTIFY_API_LEVEL = 6


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


def load_filter(filt: sc.Filter, listener: Listener | None, payload: bytes) -> None:
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
