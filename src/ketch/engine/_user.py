"""Resolve docker's ``--user`` (name, uid, ``user:group``) through the container's files."""

from __future__ import annotations

from ketch.engine._rootfs import read_small
from ketch.errors import InvalidArgument

__all__ = ["ExecUser", "resolve_user"]

_MAX_ID = (1 << 31) - 1


class ExecUser:
    """uid, gid, supplementary gids and home directory of the container's process."""

    __slots__ = ("additional_gids", "gid", "home", "uid")

    def __init__(self, uid: int, gid: int, additional_gids: tuple[int, ...], home: str) -> None:
        self.uid = uid
        self.gid = gid
        self.additional_gids = additional_gids
        self.home = home


def _entries(rootfs: str, path: str) -> list[list[str]]:
    data = read_small(rootfs, path)
    if data is None:
        return []
    rows = []
    for line in data.decode(errors="replace").splitlines():
        if line and not line.startswith("#"):
            rows.append(line.split(":"))
    return rows


def _number(text: str) -> int | None:
    if text.isdigit():
        value = int(text)
        if value > _MAX_ID:
            raise InvalidArgument(f"uids and gids must be in range 0-{_MAX_ID}")
        return value
    return None


def resolve_user(rootfs: str, spec: str) -> ExecUser:
    """Resolve ``spec`` as docker does: unknown names are errors, unknown numbers are allowed."""
    user_part, _, group_part = spec.partition(":")
    uid, gid, home, name = 0, 0, "/", ""
    passwd = _entries(rootfs, "/etc/passwd")
    user_part = user_part or "0"
    want_uid = _number(user_part)
    found = False
    for row in passwd:
        if len(row) < 7:
            continue
        row_uid = _number(row[2])
        if (want_uid is None and row[0] == user_part) or (want_uid is not None and row_uid == want_uid):
            uid = row_uid if row_uid is not None else 0
            gid = _number(row[3]) or 0
            home, name, found = row[5] or "/", row[0], True
            break
    if not found:
        if want_uid is None:
            raise InvalidArgument(
                f"unable to find user {user_part}: no matching entries in passwd file"
            )
        uid = want_uid
    groups = _entries(rootfs, "/etc/group")
    if group_part:
        want_gid = _number(group_part)
        if want_gid is not None:
            gid = want_gid
        else:
            found_gid = next(
                (_number(r[2]) for r in groups if len(r) >= 3 and r[0] == group_part), None
            )
            if found_gid is None:
                raise InvalidArgument(
                    f"unable to find group {group_part}: no matching entries in group file"
                )
            gid = found_gid
    extra: list[int] = [gid]  # docker always lists the primary group among the supplementary ones
    if name:
        for row in groups:
            if len(row) >= 4 and name in row[3].split(","):
                g = _number(row[2])
                if g is not None and g not in extra:
                    extra.append(g)
    return ExecUser(uid, gid, tuple(extra), home)
