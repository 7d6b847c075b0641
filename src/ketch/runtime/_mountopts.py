"""Parse an OCI mount's ``options`` list: mount flags, propagation, recursive attributes, data.

Pure: no syscalls, so it is unit-tested on its own.  The vocabulary is mount(8)'s
plus the runtime-spec's recursive options (``rro``, ``rnosuid``... applied with
mount_setattr(2) and ``AT_RECURSIVE``) and ``tmpcopyup``; any other option is
passed to the filesystem in the data string (``mode=755``, ``size=64k``...).
"""

from ketch.errors import InvalidArgument
from ketch.linux import mount as m

__all__ = ["MountOptions", "parse_mount_options", "propagation_flags"]

# option -> (clear?, flag)
_FLAGS: dict[str, tuple[bool, int]] = {
    "async": (True, m.MS_SYNCHRONOUS),
    "atime": (True, m.MS_NOATIME),
    "bind": (False, m.MS_BIND),
    "defaults": (False, 0),
    "dev": (True, m.MS_NODEV),
    "diratime": (True, m.MS_NODIRATIME),
    "dirsync": (False, m.MS_DIRSYNC),
    "exec": (True, m.MS_NOEXEC),
    "iversion": (False, 1 << 23),
    "lazytime": (False, m.MS_LAZYTIME),
    "loud": (True, m.MS_SILENT),
    "mand": (False, m.MS_MANDLOCK),
    "noatime": (False, m.MS_NOATIME),
    "nodev": (False, m.MS_NODEV),
    "nodiratime": (False, m.MS_NODIRATIME),
    "noexec": (False, m.MS_NOEXEC),
    "noiversion": (True, 1 << 23),
    "nolazytime": (True, m.MS_LAZYTIME),
    "nomand": (True, m.MS_MANDLOCK),
    "norelatime": (True, m.MS_RELATIME),
    "nostrictatime": (True, m.MS_STRICTATIME),
    "nosuid": (False, m.MS_NOSUID),
    "nosymfollow": (False, m.MS_NOSYMFOLLOW),
    "rbind": (False, m.MS_BIND | m.MS_REC),
    "relatime": (False, m.MS_RELATIME),
    "remount": (False, m.MS_REMOUNT),
    "ro": (False, m.MS_RDONLY),
    "rw": (True, m.MS_RDONLY),
    "silent": (False, m.MS_SILENT),
    "strictatime": (False, m.MS_STRICTATIME),
    "suid": (True, m.MS_NOSUID),
    "symfollow": (True, m.MS_NOSYMFOLLOW),
    "sync": (False, m.MS_SYNCHRONOUS),
}

_PROPAGATION: dict[str, int] = {
    "private": m.MS_PRIVATE,
    "rprivate": m.MS_PRIVATE | m.MS_REC,
    "shared": m.MS_SHARED,
    "rshared": m.MS_SHARED | m.MS_REC,
    "slave": m.MS_SLAVE,
    "rslave": m.MS_SLAVE | m.MS_REC,
    "unbindable": m.MS_UNBINDABLE,
    "runbindable": m.MS_UNBINDABLE | m.MS_REC,
}

_ATIME = m.MOUNT_ATTR__ATIME
# option -> (attributes to set, attributes to clear)
_RECURSIVE: dict[str, tuple[int, int]] = {
    "rro": (m.MOUNT_ATTR_RDONLY, 0),
    "rrw": (0, m.MOUNT_ATTR_RDONLY),
    "rnosuid": (m.MOUNT_ATTR_NOSUID, 0),
    "rsuid": (0, m.MOUNT_ATTR_NOSUID),
    "rnodev": (m.MOUNT_ATTR_NODEV, 0),
    "rdev": (0, m.MOUNT_ATTR_NODEV),
    "rnoexec": (m.MOUNT_ATTR_NOEXEC, 0),
    "rexec": (0, m.MOUNT_ATTR_NOEXEC),
    "rnodiratime": (m.MOUNT_ATTR_NODIRATIME, 0),
    "rdiratime": (0, m.MOUNT_ATTR_NODIRATIME),
    "rrelatime": (m.MOUNT_ATTR_RELATIME, _ATIME),
    "rnorelatime": (0, _ATIME),
    "rnoatime": (m.MOUNT_ATTR_NOATIME, _ATIME),
    "ratime": (0, m.MOUNT_ATTR_NOATIME),
    "rstrictatime": (m.MOUNT_ATTR_STRICTATIME, _ATIME),
    "rnostrictatime": (0, _ATIME),
    "rnosymfollow": (m.MOUNT_ATTR_NOSYMFOLLOW, 0),
    "rsymfollow": (0, m.MOUNT_ATTR_NOSYMFOLLOW),
}

# Flags a bind mount ignores at creation: they need a second, remount call.
BIND_REMOUNT_FLAGS = (
    m.MS_RDONLY
    | m.MS_NOSUID
    | m.MS_NODEV
    | m.MS_NOEXEC
    | m.MS_NOATIME
    | m.MS_NODIRATIME
    | m.MS_RELATIME
    | m.MS_STRICTATIME
    | m.MS_NOSYMFOLLOW
)


class MountOptions:
    """What an options list means: ``flags`` for mount(2), ``propagation`` calls to make
    after it, recursive ``attr_set``/``attr_clr`` for mount_setattr(2), the fs ``data``."""

    __slots__ = ("attr_clr", "attr_set", "data", "flags", "idmap", "propagation", "tmpcopyup")

    def __init__(
        self,
        flags: int = 0,
        propagation: tuple[int, ...] = (),
        attr_set: int = 0,
        attr_clr: int = 0,
        data: str = "",
        tmpcopyup: bool = False,
        idmap: str = "",
    ) -> None:
        self.flags = flags
        self.propagation = propagation
        self.attr_set = attr_set
        self.attr_clr = attr_clr
        self.data = data
        self.tmpcopyup = tmpcopyup
        self.idmap = idmap  # "", "idmap" or "ridmap"

    @property
    def is_bind(self) -> bool:
        return bool(self.flags & m.MS_BIND)

    def __repr__(self) -> str:
        return (
            f"MountOptions(flags={self.flags:#x}, propagation={self.propagation}, "
            f"attr_set={self.attr_set:#x}, attr_clr={self.attr_clr:#x}, data={self.data!r}, "
            f"tmpcopyup={self.tmpcopyup}, idmap={self.idmap!r})"
        )


def parse_mount_options(
    options: tuple[str, ...] | list[str], *, what: str = "options"
) -> MountOptions:
    """Interpret ``options`` in order (later ones win, as in mount(8))."""
    flags = 0
    propagation: list[int] = []
    attr_set = attr_clr = 0
    data: list[str] = []
    tmpcopyup = False
    idmap = ""
    for opt in options:
        if not isinstance(opt, str) or opt == "":
            raise InvalidArgument(f"{what}: empty mount option")
        if "\0" in opt:
            raise InvalidArgument(f"{what}: mount option {opt!r} contains a NUL byte")
        if opt in _FLAGS:
            clear, flag = _FLAGS[opt]
            if clear:
                flags &= ~flag
            else:
                flags |= flag
            # atime modes exclude each other
            if not clear and flag in (m.MS_NOATIME, m.MS_RELATIME, m.MS_STRICTATIME):
                flags &= ~((m.MS_NOATIME | m.MS_RELATIME | m.MS_STRICTATIME) & ~flag)
        elif opt in _PROPAGATION:
            propagation.append(_PROPAGATION[opt])
        elif opt in _RECURSIVE:
            s, c = _RECURSIVE[opt]
            attr_set = (attr_set & ~c) | s
            attr_clr = (attr_clr & ~s) | c
        elif opt == "tmpcopyup":
            tmpcopyup = True
        elif opt in ("idmap", "ridmap"):
            idmap = opt
        else:
            data.append(opt)
    return MountOptions(
        flags, tuple(propagation), attr_set, attr_clr, ",".join(data), tmpcopyup, idmap
    )


def propagation_flags(name: str, *, what: str = "linux.rootfsPropagation") -> int:
    """The mount(2) flags for a propagation name (``rslave``, ``private``...)."""
    try:
        return _PROPAGATION[name]
    except KeyError:
        raise InvalidArgument(
            f"{what}: unknown propagation {name!r} (expected one of {', '.join(_PROPAGATION)})"
        ) from None
