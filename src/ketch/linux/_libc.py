"""The one place libc is loaded; every ctypes call goes through ``check``.

Loaded on first use, never at import time of a package that does not need it.
"""

import ctypes
import os

__all__ = ["check", "libc"]

# the one loaded CDLL (what functools.cache would keep, without importing functools and
# collections on every container start); its function pointers are resolved once
_LOADED: list[ctypes.CDLL] = []


def libc() -> ctypes.CDLL:
    """The C library, with errno captured for ``check``."""
    if _LOADED:
        return _LOADED[0]
    try:
        lib = ctypes.CDLL("libc.so.6", use_errno=True)
    except OSError:  # not glibc: ask the (slower) loader search
        from ctypes import util  # pulls in shutil and subprocess: only on this path

        lib = ctypes.CDLL(util.find_library("c"), use_errno=True)
    _LOADED.append(lib)
    return _LOADED[0]


def check(result: int, what: str, path: str | None = None) -> int:
    """Turn a -1 return of a libc call into ``OSError`` carrying errno and a readable name."""
    if result == -1:
        err = ctypes.get_errno()
        if path is not None:
            raise OSError(err, f"{what}: {os.strerror(err)}", path)
        raise OSError(err, f"{what}: {os.strerror(err)}")
    return result
