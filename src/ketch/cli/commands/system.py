"""Manage ketch (``system df``, ``system prune``, ``system info``)."""

from __future__ import annotations

import argparse

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ketch.cli._context import CliContext

__all__ = ["configure", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=("df", "prune", "info"), metavar="COMMAND")
    parser.add_argument("-a", "--all", action="store_true", help="prune: remove all unused images")
    parser.add_argument("-f", "--force", action="store_true", help="prune: do not prompt")
    parser.add_argument("-v", "--verbose", action="store_true", help="df: show detailed information")
    parser.add_argument("--format", help="format output using a Go template")
    parser.add_argument("--volumes", action="store_true", help="prune anonymous volumes")
    parser.add_argument("--filter", action="append", default=[], help="provide filter values")


def _images(ctx: CliContext) -> list[tuple[str, int]]:
    """(image ID, size) of every image."""
    store = ctx.engine().images
    seen: dict[str, int] = {}
    for record in store.list():
        try:
            seen[store.image_id(record)] = int(store.size(record))
        except Exception:
            continue
    return list(seen.items())


def _df(args: argparse.Namespace, ctx: CliContext) -> int:
    from ketch.cli._format import format_rows
    from ketch.cli.commands.container_prune import human_size

    svc = ctx.engine().containers
    docs = svc.records(all_=True)
    images = _images(ctx)
    used = {d["Image"] for d in docs}
    image_size = sum(s for _, s in images)
    unused_size = sum(s for i, s in images if i not in used)
    sizes = [svc.size(d["ID"])[0] for d in docs]
    running = [d for d in docs if d["State"]["Running"]]
    stopped_size = sum(s for d, s in zip(docs, sizes, strict=True) if not d["State"]["Running"])

    def pct(part: int, total: int) -> str:
        return f"{human_size(part)} ({part * 100 // total if total else 0}%)"

    rows: list[dict[str, Any]] = [
        {"Type": "Images", "TotalCount": len(images),
         "Active": len([i for i, _ in images if i in used]),
         "Size": human_size(image_size), "Reclaimable": pct(unused_size, image_size)},
        {"Type": "Containers", "TotalCount": len(docs), "Active": len(running),
         "Size": human_size(sum(sizes)), "Reclaimable": pct(stopped_size, sum(sizes))},
        {"Type": "Local Volumes", "TotalCount": 0, "Active": 0, "Size": "0B",
         "Reclaimable": "0B"},
        {"Type": "Build Cache", "TotalCount": 0, "Active": 0, "Size": "0B", "Reclaimable": "0B"},
    ]
    fmt = args.format or "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}"
    headers = {"Type": "TYPE", "TotalCount": "TOTAL", "Active": "ACTIVE", "Size": "SIZE",
               "Reclaimable": "RECLAIMABLE"}
    for line in format_rows(fmt, rows, headers):
        ctx.stdout.write(line + "\n")
    return 0


def _prune(args: argparse.Namespace, ctx: CliContext) -> int:
    from ketch.cli.commands.container_prune import human_size

    if not args.force:
        ctx.stdout.write(
            "WARNING! This will remove:\n  - all stopped containers\n"
            f"  - all {'' if args.all else 'dangling '}images\n"
            "Are you sure you want to continue? [y/N] "
        )
        ctx.stdout.flush()
        if ctx.stdin.readline().decode(errors="replace").strip().lower() not in ("y", "yes"):
            return 0
    removed, space = ctx.engine().containers.prune()
    if removed:
        ctx.stdout.write("Deleted Containers:\n" + "".join(f"{c}\n" for c in removed) + "\n")
    space += _prune_images(ctx, args.all)
    ctx.stdout.write(f"Total reclaimed space: {human_size(space)}\n")
    return 0


def _prune_images(ctx: CliContext, all_: bool) -> int:
    """Prune unused images (dangling ones, or all with ``-a``); bytes reclaimed."""
    from ketch.images.remove import prune_images, users_from_containers

    engine = ctx.engine()
    users = users_from_containers(engine.containers.records(all_=True))
    result = prune_images(engine.images, all_=all_, users=users)
    if result.deleted:
        ctx.stdout.write("Deleted Images:\n")
        for name in result.untagged:
            ctx.stdout.write(f"untagged: {name}\n")
        for image_id in result.deleted:
            ctx.stdout.write(f"deleted: {image_id}\n")
        ctx.stdout.write("\n")
    return int(result.reclaimed)


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    if args.action == "df":
        return _df(args, ctx)
    if args.action == "prune":
        return _prune(args, ctx)
    from ketch.cli.commands.version import run as version

    return version(argparse.Namespace(format=None), ctx)
