"""Reading and writing cgroup files, with errors that name the file and the value."""

import os

from ketch.errors import (
    FailedPrecondition,
    InvalidArgument,
    KetchError,
    NotFound,
    NotImplementedByHost,
    PermissionDenied,
)

__all__ = ["parse_int", "read", "read_int", "read_optional", "write", "write_error"]

_WRITE_FLAGS = os.O_WRONLY | os.O_TRUNC | os.O_CLOEXEC


def write_error(path: str, value: str, err: OSError) -> KetchError:
    """The ketch error for a failed write of ``value`` to the cgroup file ``path``."""
    import errno

    what = f"cgroup: writing {value!r} to {path}"
    code = err.errno
    if code == errno.ENOENT:
        if not os.path.isdir(os.path.dirname(path)):
            return NotFound(f"{what}: the cgroup {os.path.dirname(path)} does not exist")
        return NotImplementedByHost(
            f"{what}: no such file (controller not enabled or kernel too old)"
        )
    if code in (errno.EACCES, errno.EPERM, errno.EROFS):
        return PermissionDenied(f"{what}: {os.strerror(code)}")
    if code in (errno.EINVAL, errno.ERANGE, errno.EOVERFLOW):
        return InvalidArgument(f"{what}: value refused by the kernel ({os.strerror(code)})")
    if code == errno.ENOSPC:
        return FailedPrecondition(
            f"{what}: no space left (an empty cpuset, or a cgroup v2 parent with processes)"
        )
    if code == errno.EOPNOTSUPP:
        return NotImplementedByHost(f"{what}: not supported by this kernel")
    return FailedPrecondition(f"{what}: {os.strerror(code or 0)}")


def write(directory: str, name: str, value: str) -> None:
    """Write ``value`` to ``directory/name`` (never creates the file)."""
    path = os.path.join(directory, name)
    data = value.encode()
    try:
        fd = os.open(path, _WRITE_FLAGS)
    except OSError as e:
        raise write_error(path, value, e) from e
    try:
        os.write(fd, data)
    except OSError as e:
        raise write_error(path, value, e) from e
    finally:
        os.close(fd)


def read_optional(directory: str, name: str) -> str | None:
    """The text of ``directory/name``, or None when it does not exist."""
    path = os.path.join(directory, name)
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return None
    except OSError as e:
        import errno

        if e.errno in (errno.ENODEV, errno.EOPNOTSUPP, errno.ENOTSUP):
            return None
        raise FailedPrecondition(f"cgroup: reading {path}: {os.strerror(e.errno or 0)}") from e


def read(directory: str, name: str) -> str:
    """The text of ``directory/name``; a missing file is NotImplementedByHost."""
    text = read_optional(directory, name)
    if text is None:
        path = os.path.join(directory, name)
        if not os.path.isdir(directory):
            raise NotFound(f"cgroup: {directory} does not exist")
        raise NotImplementedByHost(f"cgroup: {path}: no such file (controller not enabled?)")
    return text


def read_int(directory: str, name: str, default: int = 0) -> int:
    """An integer file ("max" is 2**64-1, as runc reports it); ``default`` when absent."""
    text = read_optional(directory, name)
    if text is None:
        return default
    return parse_int(text.strip(), default)


def parse_int(text: str, default: int = 0) -> int:
    if text == "max":
        return (1 << 64) - 1
    try:
        return int(text)
    except ValueError:
        return default
