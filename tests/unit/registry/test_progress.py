"""Progress events and their renderers."""

from __future__ import annotations

import io
import json

from ketch.registry.client.progress import (
    JsonLinesProgress,
    PlainProgress,
    ProgressEvent,
    RichProgress,
    auto_progress,
    short_id,
)

EVENTS = [
    ProgressEvent("Pulling from library/busybox", id="latest"),
    ProgressEvent("Pulling fs layer", id="abc123abc123"),
    ProgressEvent("Downloading", id="abc123abc123", current=1 << 20, total=4 << 20),
    ProgressEvent("Downloading", id="abc123abc123", current=2 << 20, total=4 << 20),
    ProgressEvent("Pull complete", id="abc123abc123"),
    ProgressEvent("Digest: sha256:" + "0" * 64),
]


def test_docker_json_message_shape():
    assert EVENTS[2].to_json() == {
        "status": "Downloading",
        "progressDetail": {"current": 1 << 20, "total": 4 << 20},
        "id": "abc123abc123",
    }
    assert EVENTS[-1].to_json() == {"status": "Digest: sha256:" + "0" * 64}
    assert short_id("sha256:" + "ab" * 32) == "abababababab"


def test_json_lines():
    out = io.StringIO()
    render = JsonLinesProgress(out)
    for event in EVENTS:
        render(event)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert lines == [e.to_json() for e in EVENTS]


def test_plain_lines_skip_byte_counts():
    out = io.StringIO()
    render = PlainProgress(out)
    for event in EVENTS:
        render(event)
    assert out.getvalue().splitlines() == [
        "latest: Pulling from library/busybox",
        "abc123abc123: Pulling fs layer",
        "abc123abc123: Downloading",
        "abc123abc123: Pull complete",
        "Digest: sha256:" + "0" * 64,
    ]


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_rich_on_a_terminal():
    out = _Tty()
    render = auto_progress(out)
    assert isinstance(render, RichProgress)
    for event in EVENTS:
        render(event)
    render.close()
    text = out.getvalue()
    assert "abc123abc123" in text and "Pull complete" in text
    assert "latest: Pulling from library/busybox" in text and "Digest:" in text
    assert isinstance(auto_progress(io.StringIO()), PlainProgress)


def test_event_stream_yields_then_raises():
    import asyncio

    import pytest

    from ketch.errors import NotFound
    from ketch.registry.client.progress import event_stream

    async def operation(callback, fail):
        for event in EVENTS[:3]:
            callback(event)
            await asyncio.sleep(0)
        if fail:
            raise NotFound("gone")
        return "done"

    async def collect(fail):
        return [e async for e in event_stream(lambda cb: operation(cb, fail))]

    assert asyncio.run(collect(False)) == EVENTS[:3]
    with pytest.raises(NotFound, match="gone"):
        asyncio.run(collect(True))
