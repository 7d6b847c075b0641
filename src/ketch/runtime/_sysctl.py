"""linux.sysctl: only namespaced keys, checked on the host, written by the init."""

import os
from _collections_abc import Mapping  # = collections.abc, already loaded (no collections import)

from ketch.errors import FailedPrecondition, InvalidArgument, PermissionDenied

__all__ = ["check_sysctl", "write_sysctl"]

_IPC_KEYS = frozenset(
    {
        "kernel.msgmax",
        "kernel.msgmnb",
        "kernel.msgmni",
        "kernel.sem",
        "kernel.shmall",
        "kernel.shmmax",
        "kernel.shmmni",
        "kernel.shm_rmid_forced",
    }
)


def _key_path(key: str) -> str:
    parts = key.replace("/", ".").split(".")
    if not key or any(p in ("", "..") for p in parts) or "\0" in key:
        raise InvalidArgument(f"linux.sysctl: invalid key {key!r}")
    return "/".join(parts)


def check_sysctl(sysctl: Mapping[str, str] | None, namespaces: frozenset[str]) -> None:
    """Refuse keys that are not namespaced, or whose namespace the container does not have.

    ``namespaces``: the kinds the container has apart from the host's (new or joined).
    """
    for key, value in (sysctl or {}).items():
        path = _key_path(key)
        dotted = path.replace("/", ".")
        if "\n" in value:
            raise InvalidArgument(f"linux.sysctl.{key}: the value contains a newline")
        if dotted in _IPC_KEYS or dotted.startswith("fs.mqueue."):
            needed = "ipc"
        elif dotted.startswith("net."):
            needed = "network"
        elif dotted in ("kernel.hostname", "kernel.domainname"):
            needed = "uts"
        else:
            raise PermissionDenied(f"linux.sysctl.{key}: not a namespaced sysctl, refused")
        if needed not in namespaces:
            raise PermissionDenied(
                f"linux.sysctl.{key}: needs the container's own {needed} namespace"
            )


def write_sysctl(sysctl: Mapping[str, str] | None, proc_sys: str = "/proc/sys") -> None:
    """Write each value (the writer's namespaces decide which instance is changed)."""
    for key, value in (sysctl or {}).items():
        path = f"{proc_sys}/{_key_path(key)}"
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
        except FileNotFoundError:
            raise InvalidArgument(f"linux.sysctl.{key}: no such sysctl") from None
        except OSError as e:
            raise FailedPrecondition(f"linux.sysctl.{key}: {e.strerror}") from None
        try:
            os.write(fd, value.encode())
        except OSError as e:
            raise InvalidArgument(f"linux.sysctl.{key}={value!r}: {e.strerror}") from None
        finally:
            os.close(fd)
