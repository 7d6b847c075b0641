"""Progress of pulls and pushes: events, and renderers for a terminal, plain text or JSON lines.

Pull and push report ``ProgressEvent``s to a callback.  ``ProgressEvent.to_json()`` is
Docker's JSON-message shape (``{"status", "progressDetail": {"current", "total"}, "id"}``)
for the daemon's streams; ``JsonLinesProgress`` writes them one per line,
``PlainProgress`` writes a line per state change, ``RichProgress`` draws bars.
"""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import IO, Any

from ketch.oci._record import Record

__all__ = [
    "JsonLinesProgress",
    "PlainProgress",
    "ProgressCallback",
    "ProgressEvent",
    "RichProgress",
    "auto_progress",
    "event_stream",
    "serialized",
    "short_id",
]


class ProgressEvent(Record):
    """One step: ``id`` is a short digest (or a tag); current/total count bytes."""

    status: str
    id: str | None = None
    current: int | None = None
    total: int | None = None

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"status": self.status}
        if self.current is not None or self.total is not None:
            detail: dict[str, int] = {}
            if self.current is not None:
                detail["current"] = self.current
            if self.total is not None:
                detail["total"] = self.total
            doc["progressDetail"] = detail
        if self.id is not None:
            doc["id"] = self.id
        return doc


ProgressCallback = Callable[[ProgressEvent], None]


def short_id(digest: str) -> str:
    """The 12-character id docker shows for a digest."""
    return digest.split(":", 1)[-1][:12]


def serialized(callback: ProgressCallback) -> ProgressCallback:
    """``callback`` called by one thread at a time (pulls and pushes report from several)."""
    lock = threading.Lock()

    def report(event: ProgressEvent) -> None:
        with lock:
            callback(event)

    return report


class JsonLinesProgress:
    """Writes each event as a JSON line (Docker's JSON-message stream)."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream

    def __call__(self, event: ProgressEvent) -> None:
        self._stream.write(json.dumps(event.to_json(), separators=(",", ":")) + "\n")
        self._stream.flush()

    def close(self) -> None:
        pass


class PlainProgress:
    """A line per state change (byte counts are left out), as docker prints without a TTY."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self._last: dict[str | None, str] = {}

    def __call__(self, event: ProgressEvent) -> None:
        if event.current is not None and self._last.get(event.id) == event.status:
            return
        self._last[event.id] = event.status
        line = f"{event.id}: {event.status}" if event.id else event.status
        self._stream.write(line + "\n")
        self._stream.flush()

    def close(self) -> None:
        pass


class RichProgress:
    """Bars per layer on a terminal (rich is imported only when this is used)."""

    def __init__(self, stream: IO[str]) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn

        self._console = Console(file=stream)
        self._progress = Progress(
            TextColumn("{task.fields[layer]}"),
            TextColumn("{task.description:<18}"),
            BarColumn(bar_width=40),
            DownloadColumn(),
            console=self._console,
            transient=False,
        )
        self._tasks: dict[str, Any] = {}
        self._started = False

    def __call__(self, event: ProgressEvent) -> None:
        if event.id is None or not _is_short_id(event.id):  # "v1: Pulling from ...", "Digest: ..."
            line = f"{event.id}: {event.status}" if event.id else event.status
            self._progress.console.print(line, highlight=False, markup=False)
            return
        if not self._started:
            self._progress.start()
            self._started = True
        task = self._tasks.get(event.id)
        if task is None:
            task = self._progress.add_task(event.status, layer=event.id, total=event.total)
            self._tasks[event.id] = task
        fields: dict[str, Any] = {"description": event.status}
        if event.total is not None:
            fields["total"] = event.total
        if event.current is not None:
            fields["completed"] = event.current
        elif event.status in ("Pull complete", "Already exists", "Pushed", "Layer already exists"):
            total = self._progress.tasks[task].total
            if total is not None:
                fields["completed"] = total
        self._progress.update(task, **fields)

    def close(self) -> None:
        if self._started:
            self._progress.stop()
            self._started = False


def _is_short_id(text: str) -> bool:
    return len(text) == 12 and all(c in "0123456789abcdef" for c in text)


def auto_progress(stream: IO[str]) -> RichProgress | PlainProgress:
    """Bars on a terminal, plain lines otherwise."""
    isatty = getattr(stream, "isatty", None)
    if isatty is not None and isatty():
        return RichProgress(stream)
    return PlainProgress(stream)


async def event_stream(
    operation: Callable[[ProgressCallback], Awaitable[object]],
) -> AsyncIterator[ProgressEvent]:
    """Run ``operation(callback)`` and yield its events as they come (for a daemon's
    JSON stream): ``async for e in event_stream(lambda cb: pull_async(..., progress=cb))``.

    The operation's error is raised after the events before it; closing the iterator
    early cancels the operation (a pull or push running in a thread finishes its
    current transfers first).
    """
    import asyncio

    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[ProgressEvent] = asyncio.Queue()

    def put(event: ProgressEvent) -> None:  # from the loop's thread or a worker thread
        loop.call_soon_threadsafe(queue.put_nowait, event)

    task = asyncio.ensure_future(operation(put))
    try:
        while True:
            getter = asyncio.ensure_future(queue.get())
            done, _ = await asyncio.wait({getter, task}, return_when=asyncio.FIRST_COMPLETED)
            if getter in done:
                yield getter.result()
                continue
            getter.cancel()
            while not queue.empty():
                yield queue.get_nowait()
            task.result()
            return
    finally:
        if not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
