"""The one place libc is loaded; every ctypes call goes through ``check``.

Loaded on first use, never at import time of a package that does not need it.
"""

import ctypes
import functools
import os

__all__ = ["check", "libc"]


@functools.cache
def libc() -> ctypes.CDLL:
    """The C library, with errno captured for ``check``."""
    try:
        return ctypes.CDLL("libc.so.6", use_errno=True)
    except OSError:  # not glibc: ask the (slower) loader search
        from ctypes import util  # pulls in shutil and subprocess: only on this path

        return ctypes.CDLL(util.find_library("c"), use_errno=True)


def check(result: int, what: str, path: str | None = None) -> int:
    """Turn a -1 return of a libc call into ``OSError`` carrying errno and a readable name."""
    if result == -1:
        err = ctypes.get_errno()
        if path is not None:
            raise OSError(err, f"{what}: {os.strerror(err)}", path)
        raise OSError(err, f"{what}: {os.strerror(err)}")
    return result
