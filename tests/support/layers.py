"""Build layer tars in memory for tests, including hostile ones.

``layer(members, compression=...)`` returns the blob bytes; members are made
by the small helpers below (``file``, ``directory``, ``symlink``, ``hardlink``,
``chardev``, ``blockdev``, ``fifo``, ``whiteout``, ``opaque``).  Names are written exactly
as given (``../x``, ``/etc/x``): ``tarfile`` does not clean them when writing.
"""

import contextlib
import gzip
import io
import os
import stat
import sys
import tarfile
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

MTIME = 1_600_000_000

Member = tuple[tarfile.TarInfo, bytes]


def _info(name: str, kind: bytes, mode: int, uid: int, gid: int, mtime: int,
          xattrs: Mapping[str, bytes] | None) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = mode
    info.uid, info.gid = uid, gid
    info.mtime = mtime
    if xattrs:
        info.pax_headers = {f"SCHILY.xattr.{k}": v.decode("utf-8", "surrogateescape")
                            for k, v in xattrs.items()}
    return info


def file(name: str, data: bytes = b"", *, mode: int = 0o644, uid: int = 0, gid: int = 0,
         mtime: int = MTIME, xattrs: Mapping[str, bytes] | None = None) -> Member:
    info = _info(name, tarfile.REGTYPE, mode, uid, gid, mtime, xattrs)
    info.size = len(data)
    return info, data


def directory(name: str, *, mode: int = 0o755, uid: int = 0, gid: int = 0, mtime: int = MTIME,
              xattrs: Mapping[str, bytes] | None = None) -> Member:
    return _info(name, tarfile.DIRTYPE, mode, uid, gid, mtime, xattrs), b""


def symlink(name: str, target: str, *, uid: int = 0, gid: int = 0, mtime: int = MTIME) -> Member:
    info = _info(name, tarfile.SYMTYPE, 0o777, uid, gid, mtime, None)
    info.linkname = target
    return info, b""


def hardlink(name: str, target: str) -> Member:
    info = _info(name, tarfile.LNKTYPE, 0o644, 0, 0, MTIME, None)
    info.linkname = target
    return info, b""


def chardev(name: str, major: int, minor: int, *, mode: int = 0o666) -> Member:
    info = _info(name, tarfile.CHRTYPE, mode, 0, 0, MTIME, None)
    info.devmajor, info.devminor = major, minor
    return info, b""


def blockdev(name: str, major: int, minor: int, *, mode: int = 0o660) -> Member:
    info = _info(name, tarfile.BLKTYPE, mode, 0, 0, MTIME, None)
    info.devmajor, info.devminor = major, minor
    return info, b""


def fifo(name: str, *, mode: int = 0o644) -> Member:
    return _info(name, tarfile.FIFOTYPE, mode, 0, 0, MTIME, None), b""


def whiteout(path: str) -> Member:
    """An OCI whiteout hiding ``path`` of lower layers."""
    head, _, base = path.rpartition("/")
    return file(f"{head}/.wh.{base}" if head else f".wh.{base}")


def opaque(directory_path: str) -> Member:
    """An OCI opaque marker: lower layers' contents of ``directory_path`` are hidden."""
    return file(f"{directory_path}/.wh..wh..opq")


def tar_bytes(members: Iterable[Member], fmt: int = tarfile.PAX_FORMAT) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data else None)
    return buf.getvalue()


def compress(data: bytes, compression: str) -> bytes:
    if compression == "gzip":
        return gzip.compress(data, mtime=0)
    if compression == "zstd":
        import zstandard

        return zstandard.ZstdCompressor().compress(data)
    return data


def layer(members: Iterable[Member], compression: str = "none",
          fmt: int = tarfile.PAX_FORMAT) -> bytes:
    """The blob of a layer holding ``members``."""
    return compress(tar_bytes(members, fmt), compression)


def gzip_bomb(size: int, name: str = "bomb") -> bytes:
    """A gzip layer with one file of ``size`` zero bytes (compresses ~1000:1), built in chunks."""
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", mtime=0) as gz:
        info = tarfile.TarInfo(name)
        info.size = size
        gz.write(info.tobuf(tarfile.PAX_FORMAT))
        zeros = bytes(1 << 20)
        left = size + (-size % 512) + 1024
        while left > 0:
            n = min(left, len(zeros))
            gz.write(zeros[:n])
            left -= n
    return out.getvalue()


def snapshot_tree(root: Path) -> dict[str, tuple[object, ...]]:
    """Path -> (type, mode, uid, gid, mtime seconds, size, link target, rdev, xattrs) of a tree."""
    out: dict[str, tuple[object, ...]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for n in dirnames + filenames:
            p = os.path.join(dirpath, n)
            st = os.lstat(p)
            is_dir = stat.S_ISDIR(st.st_mode)
            link = os.readlink(p) if stat.S_ISLNK(st.st_mode) else None
            try:
                xattrs = tuple(sorted(
                    (k, os.getxattr(p, k, follow_symlinks=False))
                    for k in os.listxattr(p, follow_symlinks=False)
                    if not k.startswith("trusted.overlay.")))
            except OSError:
                xattrs = ()
            data = Path(p).read_bytes() if stat.S_ISREG(st.st_mode) else None
            out[os.path.relpath(p, root)] = (
                stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid,
                int(st.st_mtime), 0 if is_dir else st.st_size, link, st.st_rdev, xattrs, data)
    return out


DEEP = 500  # levels of deep_tree: past shallow_recursion_limit, well within pytest's own cleanup


@contextlib.contextmanager
def shallow_recursion_limit(limit: int = 400) -> Iterator[None]:
    """Lower Python's recursion limit so that code recursing per directory level fails on
    a ``DEEP`` tree, while that tree stays shallow enough for pytest to clean up."""
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(limit)
    try:
        yield
    finally:
        sys.setrecursionlimit(old)


def deep_tree(top: Path, depth: int = DEEP) -> Path:
    """``top/a/a/.../a/f`` with ``depth`` levels of ``a`` (made without recursion)."""
    fd = os.open(top, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for _ in range(depth):
            os.mkdir("a", dir_fd=fd)
            fd, old = os.open("a", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd), fd
            os.close(old)
        os.close(os.open("f", os.O_CREAT | os.O_WRONLY, 0o644, dir_fd=fd))
    finally:
        os.close(fd)
    return top.joinpath(*["a"] * depth, "f")
