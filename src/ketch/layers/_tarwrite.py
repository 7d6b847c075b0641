"""Write a layer tar (PAX) through a compressor, hashing both the tar and the blob."""

import hashlib
import os
import stat
import tarfile
from typing import Any, BinaryIO

from ketch.errors import InvalidArgument

__all__ = ["MEDIA_TYPES", "LayerWriter"]

MEDIA_TYPES = {
    "gzip": "application/vnd.oci.image.layer.v1.tar+gzip",
    "zstd": "application/vnd.oci.image.layer.v1.tar+zstd",
    "none": "application/vnd.oci.image.layer.v1.tar",
}
_READ = 1 << 20


class LayerWriter:
    """Members in, a compressed layer blob out; ``close`` returns (diff_id, digest, size)."""

    def __init__(self, out: BinaryIO, compression: str) -> None:
        if compression not in MEDIA_TYPES:
            raise InvalidArgument(
                f"compression {compression!r}: expected one of {', '.join(MEDIA_TYPES)}"
            )
        self._out = out
        self._tar_hash = hashlib.sha256()
        self._blob_hash = hashlib.sha256()
        self._size = 0
        self._compressor: Any = None
        if compression == "gzip":
            from isal import isal_zlib

            self._compressor = isal_zlib.compressobj(
                isal_zlib.ISAL_DEFAULT_COMPRESSION, isal_zlib.DEFLATED, 31
            )
        elif compression == "zstd":
            import zstandard

            self._compressor = zstandard.ZstdCompressor(level=3).compressobj()
        self.media_type = MEDIA_TYPES[compression]

    def _emit(self, data: bytes) -> None:
        if data:
            self._blob_hash.update(data)
            self._size += len(data)
            self._out.write(data)

    def write(self, data: bytes) -> None:
        self._tar_hash.update(data)
        self._emit(self._compressor.compress(data) if self._compressor is not None else data)

    def add(
        self,
        name: str,
        st: os.stat_result,
        *,
        link: str = "",
        hardlink: str = "",
        xattrs: dict[str, bytes] | None = None,
        data_fd: int = -1,
    ) -> None:
        """One member named ``name`` (a relative path) with ``st``'s metadata."""
        info = tarfile.TarInfo(name)
        mode = st.st_mode
        info.mode = stat.S_IMODE(mode)
        info.uid, info.gid = st.st_uid, st.st_gid
        info.uname = info.gname = ""
        info.mtime = int(st.st_mtime)
        size = 0
        if hardlink:
            info.type, info.linkname = tarfile.LNKTYPE, hardlink
        elif stat.S_ISDIR(mode):
            info.type = tarfile.DIRTYPE
        elif stat.S_ISLNK(mode):
            info.type, info.linkname = tarfile.SYMTYPE, link
        elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
            info.type = tarfile.CHRTYPE if stat.S_ISCHR(mode) else tarfile.BLKTYPE
            info.devmajor, info.devminor = os.major(st.st_rdev), os.minor(st.st_rdev)
        elif stat.S_ISFIFO(mode):
            info.type = tarfile.FIFOTYPE
        elif stat.S_ISREG(mode):
            info.type = tarfile.REGTYPE
            size = info.size = st.st_size if data_fd >= 0 else 0
        else:
            return  # sockets are not archived
        if xattrs:
            info.pax_headers = {
                f"SCHILY.xattr.{k}": v.decode("utf-8", "surrogateescape")
                for k, v in sorted(xattrs.items())
            }
        self.write(info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape"))
        if size:
            self._copy(data_fd, size)

    def _copy(self, fd: int, size: int) -> None:
        left = size
        while left > 0:
            chunk = os.read(fd, min(left, _READ))
            if not chunk:  # the file shrank while archived: keep the header's size
                chunk = bytes(min(left, _READ))
            self.write(chunk)
            left -= len(chunk)
        if size % 512:
            self.write(bytes(512 - size % 512))

    def close(self) -> tuple[str, str, int]:
        self.write(bytes(1024))
        if self._compressor is not None:
            self._emit(self._compressor.flush())
        self._out.flush()
        return (
            f"sha256:{self._tar_hash.hexdigest()}",
            f"sha256:{self._blob_hash.hexdigest()}",
            self._size,
        )
