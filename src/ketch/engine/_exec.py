"""Processes in a running container: ``exec`` command lines, ``top``, ``stats``."""

from __future__ import annotations

import os

from ketch.engine._exitcode import with_exit_code
from ketch.engine._store import now_rfc3339
from ketch.errors import InvalidArgument, NotFound, PermissionDenied

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ketch.engine.containers import ContainerService

__all__ = ["exec_argv", "stats", "top"]


def exec_argv(
    svc: ContainerService,
    ref: str,
    cmd: list[str],
    *,
    env: list[str] | None = None,
    workdir: str | None = None,
    user: str | None = None,
    tty: bool = False,
    detach: bool = False,
    privileged: bool = False,
    console_size: tuple[int, int] | None = None,
    console_socket: str | None = None,
    pid_file: str | None = None,
) -> list[str]:
    """The runtime command line that runs ``cmd`` in the running container ``ref``."""
    import json

    from ketch.engine._rootfs import find_executable
    from ketch.engine._spec import process_spec
    from ketch.engine._user import resolve_user
    from ketch.linux.durable import write_file

    if not cmd:
        raise InvalidArgument("exec: no command specified")
    doc = svc.get(ref)
    svc.require_state(doc, running=True)
    rootfs = svc._rootfs(doc["ID"])
    config = doc["Config"]
    try:
        exec_user = resolve_user(rootfs, user if user is not None else str(config.get("User") or ""))
    except InvalidArgument as e:
        raise with_exit_code(e, 126) from None  # docker: exec fails as a command that cannot run
    environ = list(config.get("Env") or ()) + list(env or ())
    record = doc
    if privileged:
        record = dict(doc, HostConfig=dict(doc["HostConfig"], Privileged=True))
    proc = process_spec(record, list(cmd), exec_user, env=environ, cwd=workdir or None,
                        terminal=tty, console_size=console_size)
    _check_cwd(rootfs, doc["HostConfig"], proc["cwd"])
    try:
        find_executable(rootfs, cmd[0], proc["env"], proc["cwd"])
    except (NotFound, PermissionDenied) as e:
        message = f"OCI runtime exec failed: exec failed: unable to start container process: {e}: unknown"
        error = type(e)(message)
        with_exit_code(error, 127 if isinstance(e, NotFound) else 126)
        raise error from e
    cdir = svc.store.dir(doc["ID"])
    path = f"{cdir}/exec-{os.urandom(8).hex()}.json"
    write_file(path, json.dumps(proc).encode(), 0o600, sync=False)
    argv = svc.runtime.argv("exec", "--process", path)
    if tty:
        argv.append("--tty")
    if detach:
        argv.append("--detach")
    if console_socket is not None:
        argv += ["--console-socket", console_socket]
    if pid_file is not None:
        argv += ["--pid-file", pid_file]
    argv.append(doc["ID"])
    return argv


_KERNEL_MOUNTS = ("/proc", "/sys", "/dev")


def _check_cwd(rootfs: str, host_config: dict[str, Any], cwd: str) -> None:
    """Refuse a working directory that does not exist, in docker's words (exit 126).

    Only paths outside the container's mounts are checked: what a mount covers is
    not visible from the rootfs, so those are left to the runtime.
    """
    from ketch.engine._rootfs import open_in_root
    from ketch.engine._spec import user_mount_destinations

    path = os.path.normpath("/" + cwd)
    for dest in (*_KERNEL_MOUNTS, *user_mount_destinations(host_config)):
        dest = os.path.normpath("/" + dest)
        if path == dest or path.startswith(dest.rstrip("/") + "/"):
            return
    try:
        os.close(open_in_root(rootfs, path, os.O_PATH | os.O_DIRECTORY))
    except OSError as e:
        reason = os.strerror(e.errno).lower() if e.errno else str(e)
        error = NotFound(
            "OCI runtime exec failed: exec failed: unable to start container process: "
            f'chdir to cwd ("{cwd}") set in config.json failed: {reason}: unknown'
        )
        raise with_exit_code(error, 126) from e


def top(svc: ContainerService, ref: str, ps_args: str = "-ef") -> tuple[list[str], list[list[str]]]:
    """(titles, processes) of ``ps ps_args`` on the host, for the container's processes."""
    import subprocess

    doc = svc.running_record(ref)
    pids = set(svc.runtime.ps(doc["ID"]))
    out = subprocess.run(["ps", *ps_args.split()], capture_output=True, check=False)
    if out.returncode != 0:
        raise InvalidArgument(f"ps: {out.stderr.decode(errors='replace').strip()}")
    lines = out.stdout.decode(errors="replace").splitlines()
    if not lines:
        return [], []
    titles = lines[0].split()
    if "PID" not in titles:
        raise InvalidArgument("Couldn't find PID field in ps output")
    index = titles.index("PID")
    rows = []
    for line in lines[1:]:
        fields = line.split(None, len(titles) - 1)
        if len(fields) > index and fields[index].isdigit() and int(fields[index]) in pids:
            rows.append(fields)
    return titles, rows


def stats(svc: ContainerService, ref: str) -> dict[str, Any]:
    """One sample of the runtime's stats (cpu, memory, pids) for a running container."""
    doc = svc.running_record(ref)
    sample = svc.runtime.stats(doc["ID"])
    data: dict[str, Any] = sample.get("data", sample)
    data["read"] = now_rfc3339()
    return data
