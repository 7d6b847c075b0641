"""Read ``/proc/self/mountinfo`` (proc(5)): the mounts of this mount namespace.

The one parser of the format: the rootfs code finds mounts and their propagation
with it, ``ketch.cgroups`` finds the cgroup hierarchies."""

__all__ = ["MountInfo", "mount_containing", "parse_mountinfo", "read_mountinfo"]


class MountInfo:
    """One line of mountinfo: ``root`` is the path inside the filesystem that is mounted
    at ``mount_point``; ``optional`` holds ``shared:N``, ``master:N``..."""

    __slots__ = (
        "fstype",
        "mount_id",
        "mount_point",
        "optional",
        "options",
        "parent_id",
        "root",
        "source",
        "super_options",
    )

    def __init__(
        self,
        mount_id: int,
        parent_id: int,
        root: str,
        mount_point: str,
        options: str,
        optional: tuple[str, ...],
        fstype: str,
        source: str,
        super_options: str,
    ) -> None:
        self.mount_id = mount_id
        self.parent_id = parent_id
        self.root = root
        self.mount_point = mount_point
        self.options = options
        self.optional = optional
        self.fstype = fstype
        self.source = source
        self.super_options = super_options

    def __repr__(self) -> str:
        return (
            f"MountInfo({self.mount_id}, {self.mount_point!r}, {self.fstype!r}, root={self.root!r})"
        )


def _unescape(field: str) -> str:
    if "\\" not in field:
        return field
    out: list[str] = []
    i = 0
    while i < len(field):
        if field[i] == "\\" and field[i + 1 : i + 4].isdigit() and i + 3 < len(field):
            out.append(chr(int(field[i + 1 : i + 4], 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


def parse_mountinfo(text: str) -> list[MountInfo]:
    """Parse mountinfo text; malformed lines are skipped."""
    result: list[MountInfo] = []
    for line in text.splitlines():
        fields = line.split(" ")
        try:
            sep = fields.index("-", 6)
            result.append(
                MountInfo(
                    int(fields[0]),
                    int(fields[1]),
                    _unescape(fields[3]),
                    _unescape(fields[4]),
                    fields[5],
                    tuple(fields[6:sep]),
                    fields[sep + 1],
                    _unescape(fields[sep + 2]),
                    fields[sep + 3] if len(fields) > sep + 3 else "",
                )
            )
        except (ValueError, IndexError):
            continue
    return result


def read_mountinfo(path: str = "/proc/self/mountinfo") -> list[MountInfo]:
    with open(path, encoding="utf-8", errors="surrogateescape") as f:
        return parse_mountinfo(f.read())


def mount_containing(mounts: list[MountInfo], path: str) -> MountInfo | None:
    """The mount ``path`` (absolute, symlink-free) lives on: the last, deepest match."""
    best: MountInfo | None = None
    for mi in mounts:
        mp = mi.mount_point
        inside = path == mp or mp == "/" or path.startswith(mp.rstrip("/") + "/")
        if inside and (best is None or len(mp) >= len(best.mount_point)):
            best = mi
    return best
