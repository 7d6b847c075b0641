"""The one error tree of ketch.

Every layer raises these kinds (or ``OSError`` from the syscall layer, which the
layer above translates with ``raise ... from``).  Only the edges map them:
``ketch.api`` to HTTP status codes, the command-line entry points to exit codes
and one-line messages.  Nothing below the edges prints.
"""

__all__ = [
    "AlreadyExists",
    "Conflict",
    "FailedPrecondition",
    "InvalidArgument",
    "KetchError",
    "NotFound",
    "NotImplementedByHost",
    "PermissionDenied",
    "ResourceExhausted",
    "Unavailable",
]


class KetchError(Exception):
    """Base of every error ketch raises on purpose.

    ``str(error)`` is a one-line message that names what is wrong, fit to show a user.
    """


class NotFound(KetchError):
    """The named object (container, image, blob, reference, file) does not exist."""


class AlreadyExists(KetchError):
    """An object with that ID or name already exists."""


class InvalidArgument(KetchError):
    """The input is malformed: bad config.json, reference, flag value, archive, request."""


class Conflict(KetchError):
    """The request conflicts with the object's current state (e.g. removing a running container)."""


class FailedPrecondition(KetchError):
    """The object is in the wrong state for the operation (e.g. start of a running container)."""


class PermissionDenied(KetchError):
    """The operation is refused for security reasons (hostile path, forbidden device, auth)."""


class ResourceExhausted(KetchError):
    """A bound was exceeded (decompression bomb, upload too large, too many items)."""


class NotImplementedByHost(KetchError):
    """The host lacks what the request needs (apparmor, selinux, systemd cgroups, a kernel feature)."""


class Unavailable(KetchError):
    """A peer or service could not be reached (registry, daemon, runtime)."""
