"""Copy files/folders between a container and the local filesystem.

``ketch cp CONTAINER:SRC_PATH DEST_PATH|-`` and ``ketch cp SRC_PATH|- CONTAINER:DEST_PATH``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tarfile

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ketch.cli._context import CliContext

__all__ = ["configure", "run", "split_container_path"]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-a", "--archive", action="store_true", help="archive mode (copy all uid/gid information)")
    parser.add_argument("-L", "--follow-link", action="store_true", help="always follow symbol link in SRC_PATH")
    parser.add_argument("-q", "--quiet", action="store_true", help="suppress progress output")
    parser.add_argument("src", metavar="SRC")
    parser.add_argument("dest", metavar="DEST")


def split_container_path(arg: str) -> tuple[str | None, str]:
    """("container", "path") for ``container:path``; (None, arg) for a local path."""
    if arg.startswith(("/", ".")) or ":" not in arg:
        return None, arg
    container, _, path = arg.partition(":")
    return container, path or "/"


def _to_host(ctx: CliContext, container: str, path: str, dest: str, *, follow_link: bool = False) -> None:
    import tempfile

    from ketch.errors import NotFound

    svc = ctx.engine().containers
    if dest == "-":
        out = getattr(ctx.stdout, "buffer", None) or sys.stdout.buffer
        svc.get_archive(container, path, out, follow_link=follow_link)
        out.flush()
        return
    contents_only = path.endswith("/.")
    dest = os.path.abspath(dest)
    if os.path.lexists(dest) and not (os.path.isdir(dest) or os.path.isfile(dest)):
        from ketch.errors import InvalidArgument

        # replacing it would unlink a device node, fifo or socket (say, /dev/null)
        raise InvalidArgument(f'cannot overwrite "{dest}": not a regular file or directory')
    parent = dest if os.path.isdir(dest) else os.path.dirname(dest)
    if not os.path.isdir(parent):
        raise NotFound(f'destination directory "{parent}" must exist')
    with tempfile.TemporaryDirectory(dir=parent, prefix=".ketch-cp-") as tmp:
        with tempfile.TemporaryFile() as spool:
            svc.get_archive(container, path, spool, follow_link=follow_link)
            spool.seek(0)
            with tarfile.open(fileobj=spool, mode="r:") as tar:
                extract_for_host(tar, tmp)
        if contents_only:
            os.makedirs(dest, exist_ok=True)
            for entry in os.listdir(tmp):
                _move(os.path.join(tmp, entry), os.path.join(dest, entry))
            return
        for entry in os.listdir(tmp):
            target = os.path.join(dest, entry) if os.path.isdir(dest) else dest
            _move(os.path.join(tmp, entry), target)


def extract_for_host(tar: tarfile.TarFile, dest: str) -> None:
    """Extract a container's archive into the fresh directory ``dest``, member by member,
    so that nothing lands outside it: no absolute or ``..`` names, no hardlink to a file
    outside, no write through a symlink extracted earlier (each target's real path is
    checked right before it is written; symlinks themselves are copied as they are, as
    docker does, whatever they point at), no device nodes or fifos (a container must not plant
    one on the host), no setuid/setgid/sticky bits and no group/other write.  The same
    rules as tarfile's "tar" filter (Python >= 3.11.4), done here so Debian 12's 3.11.2
    gets them too."""
    from ketch.errors import PermissionDenied

    root = os.path.realpath(dest)

    def inside(path: str) -> bool:
        real = os.path.realpath(path)
        return real == root or real.startswith(root + os.sep)

    for member in tar:
        if member.ischr() or member.isblk() or member.isfifo():
            continue
        name = member.name
        if os.path.isabs(name) or ".." in name.split("/"):
            raise PermissionDenied(f"copy refused: archive member {name!r} leads outside the destination")
        target = os.path.join(root, name)
        if not inside(os.path.dirname(target)) or (os.path.islink(target) or not inside(target)):
            raise PermissionDenied(f"copy refused: archive member {name!r} would be written outside the destination")
        if member.islnk() and (
            os.path.isabs(member.linkname) or not inside(os.path.join(root, member.linkname))
        ):
            raise PermissionDenied(f"copy refused: hardlink {name!r} leads outside the destination")
        member.mode &= 0o755  # as tarfile's "tar" filter: no setuid/setgid/sticky, no g/o write
        # checked above; newer Pythons would otherwise apply (and warn about) a default filter
        trusted = {"filter": "fully_trusted"} if hasattr(tarfile, "fully_trusted_filter") else {}
        tar.extract(member, root, set_attrs=not member.issym(), **trusted)  # type: ignore[arg-type]


def _move(source: str, target: str) -> None:
    import shutil

    if os.path.isdir(target) and not os.path.islink(target) and os.path.isdir(source):
        for sub in os.listdir(source):
            _move(os.path.join(source, sub), os.path.join(target, sub))
        return
    if os.path.isdir(target) and not os.path.islink(target):
        shutil.rmtree(target)
    os.replace(source, target)


def _to_container(ctx: CliContext, src: str, container: str, path: str) -> None:
    import tempfile

    from ketch.errors import NotFound

    svc = ctx.engine().containers
    if src == "-":
        svc.put_archive(container, path, ctx.stdin)
        return
    if not os.path.lexists(src):
        raise NotFound(f"could not find the file {src} in the local filesystem")
    try:
        info = svc.stat_path(container, path)
        is_dir = bool(info["mode"] & 0o040000)
    except NotFound:
        is_dir = False
    contents_only = src.endswith("/.")
    if path.endswith("/") and not is_dir:
        raise NotFound(f"no such directory in the container: {path}")
    if is_dir:
        dest_dir, arcname = path, "." if contents_only else os.path.basename(os.path.normpath(src))
    else:
        dest_dir, arcname = os.path.dirname(path.rstrip("/")) or "/", os.path.basename(path.rstrip("/"))
    with tempfile.TemporaryFile() as spool:
        with tarfile.open(fileobj=spool, mode="w:", format=tarfile.PAX_FORMAT) as tar:
            tar.add(os.path.normpath(src), arcname=arcname)
        spool.seek(0)
        svc.put_archive(container, dest_dir, spool)


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    from ketch.cli._context import UsageError

    src_container, src_path = split_container_path(args.src)
    dest_container, dest_path = split_container_path(args.dest)
    if src_container and dest_container:
        raise UsageError("copying between containers is not supported")
    if not src_container and not dest_container:
        raise UsageError("must specify at least one container source")
    if src_container:
        _to_host(ctx, src_container, src_path, dest_path, follow_link=args.follow_link)
    else:
        assert dest_container is not None
        _to_container(ctx, src_path, dest_container, dest_path)
    return 0
