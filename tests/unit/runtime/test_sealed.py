"""``seal_imports``: once a child is in the container's root, every new import is refused."""

import os
import sys

from ketch.runtime._sealed import seal_imports


def _in_child(body: str) -> str:
    """Run ``body`` (which prints) in a forked child after ``seal_imports``; its output."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        try:
            seal_imports()
            exec(body, {"say": lambda *a: os.write(w, (" ".join(map(str, a)) + "\n").encode())})
        finally:
            os._exit(0)
    os.close(w)
    out = b""
    while chunk := os.read(r, 4096):
        out += chunk
    os.close(r)
    os.waitpid(pid, 0)
    return out.decode()


def test_a_new_import_is_refused_a_loaded_one_works() -> None:
    assert "xml.dom.minidom" not in sys.modules
    out = _in_child(
        "import os\n"
        "try:\n"
        "    import xml.dom.minidom\n"
        "except ImportError as e:\n"
        "    say('refused', e)\n"
    )
    assert out.startswith("refused import of 'xml")
    assert "container's root" in out


def test_a_codec_not_loaded_yet_cannot_be_planted() -> None:
    # codecs load their module lazily from sys.path: a classic place to plant code
    out = _in_child(
        "try:\n"
        "    b'x'.decode('cp1140')\n"
        "except LookupError:\n"
        "    say('unknown')\n"
    )
    assert out.strip() == "unknown"
