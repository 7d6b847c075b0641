"""Idmapped bind mounts (``idmap``/``ridmap`` options, ``uidMappings``/``gidMappings``).

The kernel takes the mapping from a user namespace: a short-lived child
unshares one, the caller writes the mount's mappings into it (in the spec's
``containerID hostID size`` order, as for a container) and keeps an fd of it.
The source is cloned into a detached tree (open_tree) and the tree is idmapped
(mount_setattr ``MOUNT_ATTR_IDMAP``); the caller attaches it onto the
destination fd (move_mount), so the destination is never named by path.  The
tree can be made by the runtime on the host side and attached by the init in
the container's user namespace, where idmapping the source is not permitted.
"""

import os

from ketch.errors import InvalidArgument
from ketch.linux import mount as m
from ketch.oci.runtime_spec import IDMapping, Linux, Mount
from ketch.runtime._mountopts import MountOptions

__all__ = ["open_idmapped", "userns_fd"]


def _map_text(mappings: tuple[IDMapping, ...]) -> str:
    return "".join(f"{x.container_id} {x.host_id} {x.size}\n" for x in mappings)


def userns_fd(
    uid_mappings: tuple[IDMapping, ...], gid_mappings: tuple[IDMapping, ...], what: str
) -> int:
    """An fd of a new user namespace with these mappings."""
    if not uid_mappings or not gid_mappings:
        raise InvalidArgument(
            f"{what}: an idmapped mount needs uidMappings and gidMappings "
            "(on the mount or in linux)"
        )
    from ketch.linux.ns import CLONE_NEWUSER, unshare

    to_child_r, to_child_w = os.pipe()
    to_parent_r, to_parent_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(to_child_w)
            os.close(to_parent_r)
            # our pid as /proc sees it (the caller may be in another pid namespace)
            proc_pid = os.readlink("/proc/self")
            unshare(CLONE_NEWUSER)
            os.write(to_parent_w, proc_pid.encode())
            os.read(to_child_r, 1)
        finally:
            os._exit(0)
    os.close(to_child_r)
    os.close(to_parent_w)
    try:
        proc_pid = os.read(to_parent_r, 32).decode()
        if not proc_pid:
            raise OSError(1, "the helper could not create a user namespace")
        for name, mappings in (("uid_map", uid_mappings), ("gid_map", gid_mappings)):
            with open(f"/proc/{proc_pid}/{name}", "w") as f:
                f.write(_map_text(mappings))
        return os.open(f"/proc/{proc_pid}/ns/user", os.O_RDONLY | os.O_CLOEXEC)
    finally:
        os.close(to_child_w)  # lets the helper exit
        os.close(to_parent_r)
        os.waitpid(pid, 0)


def open_idmapped(
    mnt: Mount, opts: MountOptions, bundle: str, linux: Linux | None, what: str
) -> int:
    """A detached, idmapped clone of the bind source of ``mnt`` (an fd for move_mount).

    Needs privilege over the source's filesystem: in a user namespace that is
    not the case, so the runtime calls this on the host side and hands the fd over.
    """
    source = os.path.join(bundle, mnt.source or "")
    uids = mnt.uid_mappings or (linux.uid_mappings if linux is not None else ())
    gids = mnt.gid_mappings or (linux.gid_mappings if linux is not None else ())
    userns = userns_fd(uids, gids, what)
    try:
        tree = m.open_tree(
            source, m.OPEN_TREE_CLONE | (m.AT_RECURSIVE if opts.flags & m.MS_REC else 0)
        )
        try:
            m.mount_setattr(
                tree,
                m.MOUNT_ATTR_IDMAP,
                recursive=opts.idmap == "ridmap",
                userns_fd=userns,
                what=source,
            )
        except BaseException:
            os.close(tree)
            raise
        return tree
    finally:
        os.close(userns)
