"""Starting a container: mount its rootfs, write config.json, hand over to a monitor."""

from __future__ import annotations

import os

from ketch.engine._exitcode import with_exit_code
from ketch.errors import (
    Conflict,
    FailedPrecondition,
    NotFound,
    NotImplementedByHost,
    PermissionDenied,
)
from ketch.linux.durable import write_file
from ketch.oci import _json

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ketch.engine._attach import Connection
    from ketch.engine._monitor import MonitorSpec
    from ketch.engine._prefork import Prepared
    from ketch.engine.containers import ContainerService

__all__ = ["INIT_PATH", "find_init", "monitor_spec", "start_container"]

INIT_PATH = "/dev/init"
_INIT_CANDIDATES = ("catatonit", "tini-static", "tini", "docker-init")


def find_init() -> str:
    """A host init binary for ``--init`` (catatonit or tini), or an error."""
    import shutil

    for name in _INIT_CANDIDATES:
        path = shutil.which(name) or (f"/usr/libexec/podman/{name}" if name == "catatonit" else None)
        if path and os.path.exists(path):
            return path
    raise NotImplementedByHost("--init needs catatonit or tini on the host (apt-get install catatonit)")


def _precheck(rootfs: str, record: dict[str, Any], args: list[str], env: list[str]) -> None:
    """Fail fast (docker's 127/126) when the command is missing from the image."""
    from ketch.engine._rootfs import find_executable

    command = args[0]
    host_config = record["HostConfig"]
    dests = [str(b).split(":")[1] for b in host_config.get("Binds") or ()]
    dests += [str(m.get("Target")) for m in host_config.get("Mounts") or ()]
    dests += list(host_config.get("Tmpfs") or {})
    if any(command.startswith(d.rstrip("/") + "/") for d in dests if d):
        return
    try:
        find_executable(rootfs, command, env, record["Config"].get("WorkingDir") or "/")
    except Exception as e:
        prefix = "failed to create task for container: failed to create shim task: OCI runtime create failed: "
        code = 127 if "not found" in str(e) or "no such file" in str(e) else 126
        error = type(e)(f"{prefix}unable to start container process: {e}: unknown")
        with_exit_code(error, code)
        raise error from e


def _nonempty(path: str) -> bool:
    try:
        return os.stat(path).st_size > 0
    except FileNotFoundError:
        return False


def monitor_spec(svc: ContainerService, args: dict[str, Any]) -> MonitorSpec:
    """The monitor's spec from ``spec_args``, with the engine's callbacks."""
    from ketch.engine._monitor import MonitorSpec

    cid = str(args["cid"])
    return MonitorSpec(
        cid=cid, container_dir=str(args["container_dir"]), bundle=str(args["bundle"]),
        runtime=svc.runtime, tty=bool(args["tty"]), open_stdin=bool(args["open_stdin"]),
        stdin_once=bool(args["stdin_once"]), log_path=str(args["log_path"]),
        finish=lambda code, error, notify: svc.finish(cid, code, error, notify),
        failed=lambda message, code: None,  # the starter records failures
    )


def start_container(
    svc: ContainerService,
    cid: str,
    *,
    attach: dict[str, bool] | None,
    console_size: tuple[int, int] | None,
    prepared: Prepared | None = None,
) -> Connection | None:
    from ketch.engine._spec import build_spec
    from ketch.engine._user import resolve_user

    store = svc.store
    cdir = store.dir(cid)
    with store.container_lock(cid):
        doc = svc._reconciled(store.load(cid), locked=True)
        state = doc["State"]
        if state["Paused"]:
            raise Conflict("cannot start a paused container, try unpause instead")
        if state["Running"]:
            return None
        if not all(_nonempty(f"{cdir}/{n}") for n in ("hosts", "hostname", "resolv.conf")):
            from ketch.engine._create import write_etc_files

            write_etc_files(cdir, doc)  # lost in a crash (they are written unsynced)
        rootfs = svc._mount(doc)
        try:
            config = doc["Config"]
            user = resolve_user(rootfs, str(config.get("User") or ""))
            spec = build_spec(doc, user, rootfs=rootfs, container_dir=cdir,
                              console_size=console_size)
            workdir = config.get("WorkingDir")
            if workdir:
                from ketch.engine._rootfs import mkdir_all

                mkdir_all(rootfs, workdir, user.uid, user.gid)
            _precheck(rootfs, doc, spec["process"]["args"], spec["process"]["env"])
            if doc["HostConfig"].get("Init"):
                init = find_init()
                spec["process"]["args"] = [INIT_PATH, "--", *spec["process"]["args"]]
                spec["mounts"].append({"destination": INIT_PATH, "type": "bind", "source": init,
                                       "options": ["bind", "ro", "nosuid", "nodev"]})
            bundle = f"{cdir}/bundle"
            try:  # noqa: SIM105 (contextlib costs an import)
                os.mkdir(bundle)
            except FileExistsError:
                pass
            write_file(f"{bundle}/config.json", _json.dumps(spec).encode(), 0o644, sync=False)
            if os.path.exists(f"{svc.engine.runtime_dir}/{cid}"):  # left over from a crash
                try:  # noqa: SIM105 (contextlib costs an import)
                    svc.runtime.delete(cid, force=True)
                except Exception:
                    pass
            return _spawn(svc, doc, bundle, attach, prepared)
        except BaseException:
            svc._unmount(cid)
            raise


def _spawn(
    svc: ContainerService,
    doc: dict[str, Any],
    bundle: str,
    attach: dict[str, bool] | None,
    prepared: Prepared | None,
) -> Connection | None:
    from ketch.engine._store import now_rfc3339

    cid = doc["ID"]
    config = doc["Config"]
    if prepared is None:
        from ketch.engine._prefork import Prepared

        prepared = Prepared(svc.engine, attach, early=False)
    ours, theirs = prepared.ours, prepared.theirs
    args = {
        "cid": cid, "container_dir": svc.store.dir(cid), "bundle": bundle,
        "tty": bool(config.get("Tty")), "open_stdin": bool(config.get("OpenStdin")),
        "stdin_once": bool(config.get("StdinOnce")), "log_path": doc["LogPath"],
    }
    try:
        engine = svc.engine
        if prepared.monitor is not None:
            report = prepared.monitor.launch(args)
        else:
            from ketch.engine._monitor import spawn_monitor

            spec = monitor_spec(svc, args)
            report = spawn_monitor(spec, theirs, engine=None if engine.monitor == "fork" else {
                "root": engine.root_dir, "runtime": engine.runtime,
                "snapshotter": engine.snapshotter_kind})
    finally:
        prepared.monitor = None
        prepared.theirs = None
        if theirs is not None:
            theirs.close()
    state = doc["State"]
    if not report.get("ok"):
        if ours is not None:
            ours.close()
        svc._unmount(cid)
        code = int(report.get("code") or 125)
        state.update({"Error": report.get("error", ""), "ExitCode": code})
        svc.store.save(doc, sync=False)  # an --rm container is removed by the caller
        kind = {127: NotFound, 126: PermissionDenied}.get(code, FailedPrecondition)
        raise with_exit_code(kind(str(report.get("error"))), code)
    state.update({
        "Status": "running", "Running": True, "Paused": False, "Restarting": False,
        "OOMKilled": False, "Dead": False, "Pid": int(report["pid"]), "ExitCode": 0,
        "Error": "", "StartedAt": report.get("started_at") or now_rfc3339(),
        "FinishedAt": "0001-01-01T00:00:00Z",
    })
    doc["Monitor"] = {"Pid": report["monitor_pid"], "StartTime": report["monitor_start"]}
    svc.store.save(doc, sync=False)
    return ours
