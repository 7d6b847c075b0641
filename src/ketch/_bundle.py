"""One file with every ketch module's compiled code, imported without a file per module.

A container start imports ~60 ketch modules (``ketch-runtime run``) to ~130
(``ketch run``).  Python's path importer pays per module: a directory scan and
``stat`` through ``FileFinder``, opening, reading and checking the ``.pyc``,
~50 us before the module's own code runs, ~3 ms of a ~25 ms start.  This module
serves ``ketch.*`` from one *bundle* file written at install time
(``scripts/write-launchers`` calls ``build``; the launchers call ``install``):

    header: marshal of (format, the interpreter's MAGIC_NUMBER,
                        {module name: (is_package, source path, mtime_ns, size, offset, length)})
    then the marshalled code objects.

The file is mapped read-only (``mmap``) and its fd closed at once: a process that
closes every fd it does not know (the engine's monitor does) cannot break later
imports, and forks share the pages.

Never stale: a module whose source file's mtime or size differs from what the
bundle recorded (an edit, a ``git pull``) is left to the normal importer, and a
bundle written by another Python version is ignored.  Code objects carry the
source path, so tracebacks and ``__file__`` are the same as with ``.pyc`` files.
Nothing here runs at import; ``install`` is a no-op when the file is missing or
unreadable.
"""

import marshal
import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from importlib.machinery import ModuleSpec
    from mmap import mmap
    from types import ModuleType

__all__ = ["BundleFinder", "build", "install"]

_FORMAT = 1
_FLAGS = os.O_RDONLY | os.O_CLOEXEC


def _magic() -> bytes:
    from _frozen_importlib_external import MAGIC_NUMBER

    magic: bytes = MAGIC_NUMBER
    return magic


class BundleFinder:
    """A ``sys.meta_path`` finder (and loader) for the modules of one bundle file."""

    def __init__(
        self, data: "mmap", base: int, index: "dict[str, tuple[bool, str, int, int, int, int]]"
    ) -> None:
        self._data = memoryview(data)  # the mapped file (no fd kept)
        self._base = base  # where the code blobs start
        self._index = index

    def find_spec(
        self, name: str, path: "Sequence[str] | None", target: "ModuleType | None" = None, /
    ) -> "ModuleSpec | None":
        entry = self._index.get(name)
        if entry is None:
            return None
        is_package, origin, mtime_ns, size = entry[:4]
        try:
            st = os.stat(origin)
        except OSError:
            return None
        if st.st_mtime_ns != mtime_ns or st.st_size != size:
            return None  # edited since the bundle was written: the normal importer compiles it
        from _frozen_importlib import ModuleSpec

        # a loader by protocol (create_module, exec_module): importlib.abc costs an import
        spec = ModuleSpec(name, self, origin=origin, is_package=is_package)  # type: ignore[arg-type]
        spec.has_location = True  # __file__ = origin
        if is_package:
            spec.submodule_search_locations = [os.path.dirname(origin)]
        return spec

    def create_module(self, spec: "ModuleSpec") -> None:
        return None  # the default module object

    def exec_module(self, module: "ModuleType") -> None:
        name = module.__spec__.name if module.__spec__ is not None else module.__name__
        offset, length = self._index[name][4:]
        start = self._base + offset
        data = self._data[start : start + length]
        if len(data) != length:
            raise ImportError(f"ketch bundle: {name}: truncated", name=name)
        exec(marshal.loads(data), module.__dict__)  # our own compiled modules


def install(path: str) -> bool:
    """Serve ketch's modules from the bundle at ``path``; False (and nothing done) if unusable."""
    try:
        fd = os.open(path, _FLAGS)
    except OSError:
        return False
    try:
        import mmap

        data = mmap.mmap(fd, 0, prot=mmap.PROT_READ)
        size = int.from_bytes(data[:8], "little")
        fmt, magic, index = marshal.loads(data[8 : 8 + size])
        if fmt != _FORMAT or magic != _magic() or not isinstance(index, dict):
            raise ValueError("another format or Python version")
    except (OSError, EOFError, ValueError, TypeError):
        return False
    finally:
        os.close(fd)
    sys.meta_path.insert(0, BundleFinder(data, 8 + size, index))
    return True


def build(package_dir: str, path: str) -> int:
    """Compile every module of the package at ``package_dir`` into the bundle ``path``
    (written atomically); returns the number of modules.

    Layout: the header's length (8 bytes, little-endian), the header, then the code
    blobs (the header's offsets count from the first blob).
    """
    package_dir = os.path.abspath(package_dir)
    root = os.path.dirname(package_dir)
    blobs: list[bytes] = []
    index: dict[str, tuple[bool, str, int, int, int, int]] = {}
    offset = 0
    for dirpath, dirnames, filenames in os.walk(package_dir):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        if "__init__.py" not in filenames:
            dirnames[:] = []  # not a package: nothing below is importable as ketch.*
            continue
        for filename in sorted(f for f in filenames if f.endswith(".py")):
            source_path = os.path.join(dirpath, filename)
            parts = os.path.relpath(source_path, root)[: -len(".py")].split(os.sep)
            is_package = parts[-1] == "__init__"
            with open(source_path, "rb") as src:
                source = src.read()
                st = os.fstat(src.fileno())
            blob = marshal.dumps(compile(source, source_path, "exec", dont_inherit=True))
            name = ".".join(parts[:-1] if is_package else parts)
            index[name] = (is_package, source_path, st.st_mtime_ns, st.st_size, offset, len(blob))
            blobs.append(blob)
            offset += len(blob)
    header = marshal.dumps((_FORMAT, _magic(), index))
    from ketch.linux.durable import write_file

    write_file(path, b"".join([len(header).to_bytes(8, "little"), header, *blobs]), 0o644)
    return len(blobs)
