"""``ContainerService``: the container operations both the CLI and the daemon call.

Lifecycle: ``create`` (record + writable snapshot) -> ``start`` (mount, config.json,
per-container monitor that runs the runtime) -> the monitor records the exit ->
``remove``.  State changes of one container happen under its lock; creation,
removal and renames under the store lock (taken first when both are needed).
"""

from __future__ import annotations

import os
import time

from ketch.engine._store import ZERO_TIME, ContainerStore, now_rfc3339
from ketch.errors import (
    AlreadyExists,
    Conflict,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from contextlib import AbstractContextManager
    from typing import IO, Any

    from ketch.engine import Engine
    from ketch.engine._attach import Connection
    from ketch.engine._imagecache import ImageCache
    from ketch.engine._logs import LogEntry
    from ketch.engine._prefork import Prepared
    from ketch.engine._runtime import RuntimeClient

__all__ = ["ContainerService", "parse_signal"]


class _ParentGone(NotFound):
    """The image's top snapshot is missing (a cached resolution went stale)."""


def parse_signal(value: str | int) -> int:
    """A signal number from ``9``, ``KILL`` or ``SIGKILL``."""
    text = str(value).strip().upper()
    if text.isdigit():
        number = int(text)
        if 0 < number < 65:
            return number
    else:
        name = text if text.startswith("SIG") else f"SIG{text}"
        import signal  # only here: it imports enum (~2 ms)

        sig = getattr(signal.Signals, name, None) if name in signal.Signals.__members__ else None
        if sig is not None:
            return int(sig)
    raise InvalidArgument(f"Invalid signal: {value}")


def _top_chain_id(diff_ids: tuple[str, ...]) -> str:
    """The OCI ChainID of the top layer ("" for none); hashlib only for several layers."""
    if not diff_ids:
        return ""
    chain = diff_ids[0]
    if len(diff_ids) > 1:
        import hashlib

        for diff_id in diff_ids[1:]:
            chain = "sha256:" + hashlib.sha256(f"{chain} {diff_id}".encode()).hexdigest()
    return chain


def _oom_killed(cid: str) -> bool:
    """Whether the kernel's OOM killer acted in the container's cgroup (v1 or v2)."""
    candidates = (
        (f"/sys/fs/cgroup/memory/ketch/{cid}/memory.oom_control", "oom_kill "),
        (f"/sys/fs/cgroup/ketch/{cid}/memory.events", "oom_kill "),
        (f"/sys/fs/cgroup/unified/ketch/{cid}/memory.events", "oom_kill "),
    )
    for path, key in candidates:
        try:
            with open(path) as f:
                for line in f:
                    if line.startswith(key):
                        return int(line.split()[1]) > 0
        except (OSError, ValueError):
            continue
    return False


class ContainerService:
    """Containers of one engine root."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.store = ContainerStore(f"{engine.root_dir}/containers")
        self._runtime: RuntimeClient | None = None

    @property
    def runtime(self) -> RuntimeClient:
        if self._runtime is None:
            from ketch.engine._runtime import RuntimeClient

            self._runtime = RuntimeClient(self.engine.runtime, self.engine.runtime_dir)
        return self._runtime

    # ---------------------------------------------------------------- create
    def resolve_image(self, ref: str) -> tuple[Any, str, dict[str, Any], str]:
        """(image record, image ID, the image's ``config`` section, top chain ID) for ``ref``.

        The image is unpacked into snapshots unless its top layer already is.
        """
        from ketch.oci.image_spec import encode_record

        images = self.engine.images
        record = images.get(ref)
        image_id = images.image_id(record)
        full = images.config(record)
        cfg = full.config
        image_config: dict[str, Any] = encode_record(cfg) if cfg is not None else {}
        top = _top_chain_id(full.rootfs.diff_ids)
        try:
            if top:
                self.engine.snapshotter.stat(top)
        except NotFound:
            top = images.unpack(record)
        return record, image_id, image_config, top

    def create(
        self, config: dict[str, Any], host_config: dict[str, Any] | None = None,
        name: str | None = None,
    ) -> str:
        """Create a container from docker's create request; returns its ID."""
        from ketch.engine._create import check_host_config
        from ketch.engine._names import check_name

        hc = check_host_config(host_config or {})
        if config.get("StopSignal"):
            parse_signal(str(config["StopSignal"]))  # refused now, as docker does, not at stop
        image_ref = str(config.get("Image") or "")
        if not image_ref:
            raise InvalidArgument("no image specified")
        stored_name = check_name(name) if name else None
        cache = self._image_cache()
        cached = cache.get(image_ref)
        if cached is not None:
            image_id, image_config, top = cached
            try:
                return self._create(config, hc, stored_name, image_id, image_config, top)
            except _ParentGone:
                pass  # the image's snapshots were removed: resolve (and unpack) again
        stamp = cache.stamp()
        _, image_id, image_config, top = self.resolve_image(image_ref)
        cache.put(image_ref, (image_id, image_config, top), stamp)
        return self._create(config, hc, stored_name, image_id, image_config, top)

    def _image_cache(self) -> ImageCache:
        from ketch.engine._imagecache import ImageCache

        root = self.engine.root_dir
        return ImageCache(f"{root}/cache/images.json", f"{root}/images/records")

    def _create(
        self, config: dict[str, Any], hc: dict[str, Any], stored_name: str | None,
        image_id: str, image_config: dict[str, Any], top: str,
    ) -> str:
        from ketch.engine._create import merge_image_config, new_record
        from ketch.engine._names import random_name

        merged = merge_image_config(config, image_config)
        store = self.store
        with store.lock():
            if stored_name is not None:
                other = store.name_taken(stored_name)
                if other is not None:
                    raise Conflict(
                        f'Conflict. The container name "{stored_name}" is already in use by '
                        f'container "{other}". You have to remove (or rename) that container '
                        "to be able to reuse that name."
                    )
            else:
                for _ in range(20):
                    stored_name = f"/{random_name()}"
                    if store.name_taken(stored_name) is None:
                        break
            assert stored_name is not None
            cid = os.urandom(32).hex()
            cdir = store.dir(cid)
            os.mkdir(cdir, 0o710)
            try:
                try:
                    self.engine.snapshotter.prepare(cid, top or None)
                except NotFound as e:
                    raise _ParentGone(str(e)) from e
                record = new_record(
                    cid, stored_name, merged, hc, image_id,
                    {"Key": cid, "Kind": self.engine.snapshotter_kind, "Parent": top},
                    cdir,
                )
                from ketch.engine._create import write_etc_files

                write_etc_files(cdir, record)
                # an --rm container's record is not fsynced (~1 ms): after a host crash it
                # may read empty, and an empty record is a half-made container that sweep()
                # removes, as --rm would have (ContainerStore.half_made)
                store.save(record, sync=not hc.get("AutoRemove"))
            except BaseException:
                try:  # noqa: SIM105 (contextlib costs an import)
                    self.engine.snapshotter.remove(cid)
                except Exception:
                    pass
                store.remove_dir(cid)
                raise
        return cid

    # ----------------------------------------------------------------- state
    def get(self, ref: str) -> dict[str, Any]:
        """The record of ``ref`` (ID, name or prefix), fixed up if its monitor died."""
        cid = self.store.resolve(ref)
        return self._reconciled(self.store.load(cid))

    def records(self, all_: bool = True) -> list[dict[str, Any]]:
        docs = [self._reconciled(d) for d in self.store.all()]
        if not all_:
            docs = [d for d in docs if d["State"]["Running"]]
        docs.sort(key=lambda d: d["Created"], reverse=True)
        return docs

    def _monitor_alive(self, doc: dict[str, Any]) -> bool:
        from ketch.engine._monitorfile import process_start_time

        mon = doc.get("Monitor")
        if not mon:
            return False
        return bool(process_start_time(int(mon["Pid"])) == mon.get("StartTime"))

    def _reconciled(self, doc: dict[str, Any], *, locked: bool = False) -> dict[str, Any]:
        """``doc``, fixed up when it says running but its monitor is gone.

        ``locked``: the caller holds the container lock (flock does not nest
        across two opens of the lock file in one process).
        """
        if not self._stale(doc):
            return doc
        if locked:
            return self._fix_stale(doc)
        with self.store.container_lock(doc["ID"]):
            try:
                doc = self.store.load(doc["ID"])
            except NotFound:
                return doc
            return self._fix_stale(doc) if self._stale(doc) else doc

    def _stale(self, doc: dict[str, Any]) -> bool:
        """Running without a monitor, or not running with one (its starter died)."""
        if doc["State"].get("Running"):
            return not self._monitor_alive(doc)
        if doc["State"].get("Status") != "created":
            return False
        from ketch.engine._monitorfile import live_monitor

        return live_monitor(self.store.dir(doc["ID"])) is not None

    def _fix_stale(self, doc: dict[str, Any]) -> dict[str, Any]:
        if doc["State"].get("Running"):
            return self._mark_monitor_dead(doc)
        from ketch.engine._monitorfile import live_monitor

        cdir = self.store.dir(doc["ID"])
        monitor = live_monitor(cdir)
        if monitor is None:
            return doc
        try:
            with open(f"{cdir}/init.pid") as f:
                pid = int(f.read().strip())
        except (OSError, ValueError):
            pid = 0
        doc["State"].update({"Status": "running", "Running": True, "Pid": pid,
                             "StartedAt": now_rfc3339()})
        doc["Monitor"] = {"Pid": monitor[0], "StartTime": monitor[1]}
        self.store.save(doc, sync=False)
        return doc

    def _mark_monitor_dead(self, doc: dict[str, Any]) -> dict[str, Any]:
        self._cleanup_runtime(doc)
        self._set_exited(doc, 137, "container monitor died")
        self.store.save(doc)
        return doc

    def _runtime_delete(self, cid: str) -> None:
        """``delete --force`` of the runtime's state for ``cid``, if it has any."""
        if not os.path.exists(f"{self.engine.runtime_dir}/{cid}"):  # runc's layout: <root>/<id>/
            return
        from ketch.engine._runtime_inproc import InProcessRuntime, is_ketch_runtime

        try:
            if is_ketch_runtime(self.engine.runtime):
                InProcessRuntime(self.engine.runtime_dir).delete(cid)
            else:
                self.runtime.delete(cid, force=True)
        except Exception:
            pass

    def _cleanup_runtime(self, doc: dict[str, Any], *, detach: bool = False) -> None:
        self._runtime_delete(doc["ID"])
        self._unmount(doc["ID"], detach=detach)

    def _set_exited(self, doc: dict[str, Any], code: int, error: str = "") -> None:
        state = doc["State"]
        state.update({
            "Status": "exited", "Running": False, "Paused": False, "Restarting": False,
            "Pid": 0, "ExitCode": code, "Error": error, "FinishedAt": now_rfc3339(),
        })
        doc["Monitor"] = None

    def _rootfs(self, cid: str) -> str:
        return f"{self.store.dir(cid)}/rootfs"

    def _mount(self, doc: dict[str, Any]) -> str:
        from ketch.snapshots.mount import mount_all

        target = self._rootfs(doc["ID"])
        os.makedirs(target, exist_ok=True)
        if not os.path.ismount(target):
            mounts = self.engine.snapshotter.mounts(doc["Snapshot"]["Key"])
            # an --rm container's layer is thrown away: no syncs (its unmount is on the
            # path between its exit and the client's exit status)
            mount_all(mounts, target, volatile=bool(doc["HostConfig"].get("AutoRemove")))
        return target

    def _unmount(self, cid: str, *, detach: bool = False) -> None:
        target = self._rootfs(cid)
        if os.path.ismount(target):
            from ketch.snapshots.mount import unmount_all

            try:  # noqa: SIM105 (contextlib costs an import)
                unmount_all(target, detach=detach)
            except Exception:
                pass

    # ----------------------------------------------------------------- start
    def start(
        self,
        ref: str,
        *,
        attach: dict[str, bool] | None = None,
        console_size: tuple[int, int] | None = None,
    ) -> Connection | None:
        """Start ``ref``; with ``attach``, returns a socket attached before the process runs."""
        from ketch.engine._start import start_container
        from ketch.errors import KetchError

        cid = self.store.resolve(ref)
        try:
            return start_container(self, cid, attach=attach, console_size=console_size)
        except (KetchError, OSError):
            self._remove_if_auto(cid)
            raise

    def _remove_if_auto(self, cid: str) -> None:
        """After a failed start: an ``--rm`` container goes, as docker's does (best effort)."""
        try:
            if self.store.load(cid)["HostConfig"].get("AutoRemove"):
                self.remove(cid, force=True)
        except Exception:
            pass

    def run(
        self,
        config: dict[str, Any],
        host_config: dict[str, Any] | None = None,
        name: str | None = None,
        *,
        attach: dict[str, bool] | None = None,
        console_size: tuple[int, int] | None = None,
        prepared: Prepared | None = None,
    ) -> tuple[str, Connection | None]:
        """create + start, with the monitor forked first so it imports the runtime meanwhile.

        Returns the ID and, with ``attach``, the socket attached before the process runs.
        ``prepared`` (``_prefork.Prepared`` for the same ``attach``): made by the caller
        (by default here); it is used up or closed here.
        """
        from ketch.engine._start import start_container
        from ketch.errors import KetchError

        if prepared is None:
            from ketch.engine._prefork import Prepared

            prepared = Prepared(self.engine, attach)
        try:
            cid = self.create(config, host_config, name)
            try:
                sock = start_container(self, cid, attach=attach, console_size=console_size,
                                       prepared=prepared)
            except (KetchError, OSError):
                self._remove_if_auto(cid)
                raise
            return cid, sock
        finally:
            if prepared.monitor is not None or prepared.theirs is not None:
                prepared.close()  # not handed over: start failed before its monitor ran

    def finish(
        self, cid: str, code: int, error: str, notify: Callable[[], None] | None = None
    ) -> None:
        """Called in the monitor when the container's process has exited.

        The state is recorded (or an ``--rm`` container made invisible) first,
        then ``notify`` tells waiting clients, then the runtime state, the mount
        and (for ``--rm``) the snapshot and directory are cleaned up.
        """
        store = self.store
        try:
            auto_remove = bool(store.load(cid)["HostConfig"].get("AutoRemove"))  # immutable
        except NotFound:
            return
        oom = False if auto_remove else _oom_killed(cid)  # before the runtime deletes the cgroup
        if auto_remove:
            with store.lock(), store.container_lock(cid):
                hidden = store.hide(cid)
            # as docker's `run --rm`: when the client returns, the container's processes,
            # cgroups and mounts are gone (only its files are removed after)
            self._release_hidden(cid, hidden)
            if notify is not None:
                notify()
            self._remove_hidden(cid, hidden)
            return
        # one locked region: a start cannot slip in before the runtime state and mount are gone
        with store.container_lock(cid):
            try:
                doc = store.load(cid)
            except NotFound:
                return
            self._set_exited(doc, code, error)
            doc["State"]["OOMKilled"] = oom
            store.save(doc, sync=False)
            if notify is not None:
                notify()
            self._cleanup_runtime(doc, detach=True)

    def _release_hidden(self, cid: str, hidden: str) -> None:
        """The runtime state (processes, cgroups) and the rootfs mount of a hidden container."""
        self._runtime_delete(cid)
        rootfs = f"{hidden}/rootfs"
        if os.path.ismount(rootfs):
            from ketch.snapshots.mount import unmount_all

            try:  # noqa: SIM105 (contextlib costs an import)
                unmount_all(rootfs, detach=True)
            except Exception:
                pass

    def _remove_hidden(self, cid: str, hidden: str) -> None:
        """Finish removing a container whose directory was renamed away."""
        from ketch.engine._files import remove_tree

        self._release_hidden(cid, hidden)  # nothing left to do when already released
        try:  # noqa: SIM105 (contextlib costs an import)
            self.engine.snapshotter.remove(cid)
        except (NotFound, Exception):
            pass
        remove_tree(hidden)

    def sweep(self) -> None:
        """Finish what a crash interrupted: removals (``.removing-<id>``) and creations
        (a directory without its record: create holds the store lock until it is saved)."""
        with self.store.lock():
            half_made = self.store.half_made()
            hidden = [(cid, self.store.hide(cid)) for cid in half_made]
        for cid, path in [*self.store.hidden(), *hidden]:
            self._remove_hidden(cid, path)

    # ------------------------------------------------------------- stop/kill
    def running_record(self, ref: str) -> dict[str, Any]:
        """The record of ``ref``; ``Conflict`` unless it is running."""
        doc = self.get(ref)
        if not doc["State"]["Running"]:
            raise Conflict(f"Container {doc['ID']} is not running")
        return doc

    def kill(self, ref: str, signal: str | int = "KILL") -> None:
        number = parse_signal(signal)
        doc = self.running_record(ref)
        if doc["State"]["Paused"] and number != 9:
            raise Conflict(f"Container {doc['ID']} is paused. Unpause the container before stopping or killing")
        self.runtime.kill(doc["ID"], number)

    def stop(self, ref: str, timeout: int | None = None, signal: str | None = None) -> None:
        doc = self.get(ref)
        if not doc["State"]["Running"]:
            return  # docker: stopping a stopped container succeeds
        config = doc["Config"]
        sig = parse_signal(signal or config.get("StopSignal") or "SIGTERM")
        if timeout is None:
            timeout = config.get("StopTimeout")
        timeout = 10 if timeout is None else int(timeout)
        cid = doc["ID"]
        if doc["State"]["Paused"]:
            try:  # noqa: SIM105 (contextlib costs an import)
                self.runtime.kill(cid, 9)
            except Exception:
                pass
            try:  # noqa: SIM105 (contextlib costs an import)
                self.runtime.resume(cid)
            except Exception:
                pass
        else:
            try:  # noqa: SIM105 (contextlib costs an import)
                self.runtime.kill(cid, sig)
            except Exception:
                pass
        if timeout < 0 or self.wait_exit(cid, float(timeout)) is None:
            try:  # noqa: SIM105 (contextlib costs an import)
                self.runtime.kill(cid, 9)
            except Exception:
                pass
            self.wait_exit(cid, 30.0)

    def wait_exit(self, cid: str, timeout: float | None) -> int | None:
        """Block until the monitor of ``cid`` has recorded the exit; the exit code, or None."""
        from ketch.engine import _attach

        try:
            sock = _attach.connect(self.store.dir(cid))
        except OSError:
            sock = None
        if sock is not None:
            with sock:
                sock.settimeout(timeout)
                try:
                    _attach.send_header(sock, stdin=False, stdout=False, stderr=False)
                    reader = _attach.FrameReader()
                    while True:
                        data = sock.recv(65536)
                        if not data:
                            break
                        for kind, payload in reader.feed(data):
                            if kind == _attach.EXIT:
                                from ketch.oci._json import loads

                                return int(loads(payload, "exit status")["StatusCode"])
                except TimeoutError:
                    return None
                except OSError:
                    pass
        # no monitor to ask: poll the record (the monitor may be finishing or gone)
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            try:
                doc = self.get(cid)
            except NotFound:
                return 0
            if not doc["State"]["Running"]:
                return int(doc["State"]["ExitCode"])
            if deadline is not None and time.monotonic() > deadline:
                return None
            time.sleep(0.05)

    def attach(
        self, ref: str, *, stdin: bool = False, stdout: bool = True, stderr: bool = True
    ) -> Connection:
        """A socket on the running container's monitor speaking ``_attach``'s frames."""
        from ketch.engine import _attach

        doc = self.get(ref)
        if not doc["State"]["Running"]:
            raise Conflict("You cannot attach to a stopped container, start it first")
        if doc["State"]["Paused"]:
            raise Conflict("You cannot attach to a paused container, unpause it first")
        try:
            sock = _attach.connect(self.store.dir(doc["ID"]))
        except OSError as e:
            raise Conflict(f"container {doc['ID'][:12]} is exiting: {e.strerror}") from e
        _attach.send_header(sock, stdin=stdin and bool(doc["Config"].get("OpenStdin")),
                            stdout=stdout, stderr=stderr)
        return sock

    def resize(self, ref: str, rows: int, cols: int) -> None:
        """Set the size of a running container's terminal (``-t``)."""
        from ketch.engine import _attach

        if rows <= 0 or cols <= 0 or rows > 65535 or cols > 65535:
            raise InvalidArgument(f"invalid terminal size {rows}x{cols}")
        with self.attach(ref, stdout=False, stderr=False) as sock:
            sock.sendall(_attach.frame(_attach.RESIZE, f"{rows} {cols}".encode()))

    def wait(self, ref: str, condition: str = "not-running") -> int:
        doc = self.get(ref)
        if condition == "removed" or doc["State"]["Running"]:
            code = self.wait_exit(doc["ID"], None)
            if code is not None:
                if condition == "removed":
                    while os.path.exists(self.store.dir(doc["ID"])):
                        time.sleep(0.05)
                return code
        return int(self.get(doc["ID"])["State"]["ExitCode"])

    def restart(self, ref: str, timeout: int | None = None) -> None:
        doc = self.get(ref)
        self.stop(doc["ID"], timeout)
        self.start(doc["ID"])

    def pause(self, ref: str) -> None:
        doc = self.running_record(ref)
        cid = doc["ID"]
        with self.store.container_lock(cid):
            doc = self.store.load(cid)
            if doc["State"]["Paused"]:
                raise Conflict(f"Container {cid} is already paused")
            self.runtime.pause(cid)
            doc["State"].update({"Paused": True, "Status": "paused"})
            self.store.save(doc)

    def unpause(self, ref: str) -> None:
        doc = self.get(ref)
        cid = doc["ID"]
        with self.store.container_lock(cid):
            doc = self.store.load(cid)
            if not doc["State"]["Paused"]:
                raise Conflict(f"Container {cid} is not paused")
            self.runtime.resume(cid)
            doc["State"].update({"Paused": False, "Status": "running"})
            self.store.save(doc)

    # ---------------------------------------------------------------- remove
    def remove(self, ref: str, *, force: bool = False, volumes: bool = False) -> str:
        doc = self.get(ref)
        cid = doc["ID"]
        if doc["State"]["Running"]:
            if not force:
                state = "paused" if doc["State"]["Paused"] else "running"
                raise Conflict(
                    f"cannot remove container \"{doc['Name']}\": container is {state}: "
                    "stop the container before removing or force remove"
                )
            try:  # noqa: SIM105 (contextlib costs an import)
                self.runtime.kill(cid, 9)
            except Exception:
                pass
            if doc["State"]["Paused"]:
                try:  # noqa: SIM105 (contextlib costs an import)
                    self.runtime.resume(cid)
                except Exception:
                    pass
            self.wait_exit(cid, 30.0)
        with self.store.lock():
            if not os.path.isdir(self.store.dir(cid)):  # an --rm container's monitor removed it
                return str(cid)
            with self.store.container_lock(cid):
                try:
                    doc = self.store.load(cid)
                except NotFound:
                    return str(cid)
                if doc["State"]["Running"] and self._monitor_alive(doc):
                    raise Conflict(
                        f"cannot remove container \"{doc['Name']}\": container is running")
                self._unmount(cid)
                hidden = self.store.hide(cid)
        self._remove_hidden(cid, hidden)
        return str(cid)

    def rename(self, ref: str, new_name: str) -> None:
        from ketch.engine._names import check_name

        stored = check_name(new_name)
        with self.store.lock():
            doc = self.get(ref)
            if doc["Name"] == stored:
                raise InvalidArgument("Renaming a container with the same name as its current name")
            other = self.store.name_taken(stored)
            if other is not None:
                raise Conflict(
                    f'Conflict. The container name "{stored}" is already in use by container '
                    f'"{other}". You have to remove (or rename) that container to be able to '
                    "reuse that name."
                )
            with self.store.container_lock(doc["ID"]):
                doc = self.store.load(doc["ID"])
                doc["Name"] = stored
                self.store.save(doc)

    def prune(self) -> tuple[list[str], int]:
        """Remove every stopped container; (removed IDs, bytes reclaimed)."""
        self.sweep()
        removed, space = [], 0
        for doc in self.records(all_=True):
            if doc["State"]["Running"]:
                continue
            try:  # noqa: SIM105 (contextlib costs an import)
                space += int(self.size(doc["ID"])[0])
            except Exception:
                pass
            try:  # noqa: SIM105 (contextlib costs an import)
                removed.append(self.remove(doc["ID"]))
            except (NotFound, Conflict):
                pass
        return removed, space

    def size(self, ref: str) -> tuple[int, int]:
        """(SizeRw, SizeRootFs) in bytes."""
        doc = self.get(ref)
        snap = self.engine.snapshotter
        rw = 0
        try:
            usage = snap.usage(doc["Snapshot"]["Key"])
            rw = int(getattr(usage, "size", usage if isinstance(usage, int) else 0))
        except Exception:
            pass
        total = rw
        try:
            record = self.engine.images.get(doc["Image"])
            total += int(self.engine.images.size(record))
        except Exception:
            pass
        return rw, total

    # ------------------------------------------------------------------ exec
    def exec_argv(self, ref: str, cmd: list[str], **options: Any) -> list[str]:
        """The runtime command line that runs ``cmd`` in the running container ``ref``
        (options: env, workdir, user, tty, detach, privileged, console_size,
        console_socket, pid_file)."""
        from ketch.engine._exec import exec_argv

        return exec_argv(self, ref, cmd, **options)

    def top(self, ref: str, ps_args: str = "-ef") -> tuple[list[str], list[list[str]]]:
        """(titles, processes) of ``ps ps_args`` on the host, for the container's processes."""
        from ketch.engine._exec import top

        return top(self, ref, ps_args)

    def stats(self, ref: str) -> dict[str, Any]:
        """One sample of the runtime's stats (cpu, memory, pids) for a running container."""
        from ketch.engine._exec import stats

        return stats(self, ref)

    # ------------------------------------------------------------ filesystem
    def mounted(self, ref: str) -> AbstractContextManager[tuple[dict[str, Any], str]]:
        """(record, rootfs path) with the rootfs mounted for the duration."""
        from ketch.engine._fs import mounted

        return mounted(self, ref)

    def stat_path(self, ref: str, path: str) -> dict[str, Any]:
        """docker's PathStat of ``path`` in the container."""
        from ketch.engine._fs import stat_path

        return stat_path(self, ref, path)

    def get_archive(self, ref: str, path: str, out: IO[bytes], *, follow_link: bool = False) -> None:
        """A tar of ``path`` in the container (``docker cp [-L] CONTAINER:PATH``)."""
        from ketch.engine._fs import get_archive

        get_archive(self, ref, path, out, follow_link=follow_link)

    def put_archive(self, ref: str, path: str, stream: IO[bytes]) -> None:
        """Extract the tar ``stream`` into directory ``path`` of the container."""
        from ketch.engine._fs import put_archive

        put_archive(self, ref, path, stream)

    def export(self, ref: str, out: IO[bytes]) -> None:
        """The container's whole filesystem as a tar (``docker export``)."""
        from ketch.engine._fs import export

        export(self, ref, out)

    def commit(self, ref: str, reference: str | None = None, **options: Any) -> str:
        """A new image from the container's changes (``docker commit``); the image ID."""
        from ketch.engine._commit import commit_container

        return commit_container(self, ref, reference=reference, **options)

    # --------------------------------------------------------------- queries
    def inspect(self, ref: str, size: bool = False) -> dict[str, Any]:
        """docker's ContainerInspect document."""
        from ketch.engine._inspect import inspect_document

        doc = self.get(ref)
        dirs: dict[str, str] = {}
        try:
            snap = self.engine.snapshotter
            key = doc["Snapshot"]["Key"]
            dirs["LowerDir"] = ":".join(str(p) for p in snap.lower_dirs(key))
            dirs["UpperDir"] = str(snap.upper_dir(key))
            dirs["MergedDir"] = self._rootfs(doc["ID"])
        except Exception:
            pass
        return inspect_document(
            doc, snapshot_dirs=dirs, size=self.size(doc["ID"]) if size else None
        )

    def summaries(self, all_: bool = False) -> list[dict[str, Any]]:
        """docker's ContainerSummary list (``ps``), newest first."""
        from ketch.engine._inspect import summary

        return [summary(d, str(d["Config"].get("Image") or d["Image"])) for d in self.records(all_)]

    def logs(self, ref: str, **options: Any) -> Iterator[LogEntry]:
        """Log entries (``follow``, ``tail``, ``since``, ``until`` as in ``read_log``)."""
        from ketch.engine._logs import read_log

        doc = self.get(ref)
        cid = doc["ID"]

        def running() -> bool:
            try:
                return bool(self.get(cid)["State"]["Running"])
            except NotFound:
                return False

        return read_log(doc["LogPath"], running=running, **options)

    # ------------------------------------------------------------------ misc
    def check_exists(self, ref: str) -> str:
        return self.store.resolve(ref)

    def require_state(self, doc: dict[str, Any], *, running: bool) -> None:
        if running and not doc["State"]["Running"]:
            raise Conflict(f"Container {doc['ID']} is not running")
        if running and doc["State"]["Paused"]:
            raise Conflict(f"Container {doc['ID']} is paused, unpause the container before exec")


_ = (AlreadyExists, FailedPrecondition, ZERO_TIME)

