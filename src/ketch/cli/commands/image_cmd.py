"""Manage images.

``ketch image COMMAND``: ls, inspect, history, tag, rm, prune, load, save, import,
pull, push.  Most subcommands are the top-level commands of the same name.
"""

from __future__ import annotations

import argparse

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ketch.cli._context import CliContext

__all__ = ["configure", "run"]

# subcommand -> module under ketch.cli.commands ("" = defined here)
SUBCOMMANDS = {
    "ls": "images",
    "list": "images",
    "inspect": "",
    "history": "history",
    "tag": "tag",
    "rm": "rmi",
    "remove": "rmi",
    "prune": "",
    "load": "load",
    "save": "save",
    "import": "import_",
    "pull": "pull",
    "push": "push",
}


def _configure_inspect(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("images", nargs="+", metavar="IMAGE")
    parser.add_argument("-f", "--format", help="format output using a Go template")
    parser.add_argument("--platform", help="inspect this platform's image")


def _configure_prune(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-a", "--all", action="store_true", help="remove all unused images, not just dangling ones"
    )
    parser.add_argument("-f", "--force", action="store_true", help="do not prompt for confirmation")
    parser.add_argument(
        "--filter", action="append", default=[], help="provide filter values (label=, until=)"
    )


def configure(parser: argparse.ArgumentParser) -> None:
    import importlib

    sub = parser.add_subparsers(dest="image_command", metavar="COMMAND")
    sub.required = True
    for name, module_name in SUBCOMMANDS.items():
        child = sub.add_parser(name, add_help=True)
        if name == "inspect":
            _configure_inspect(child)
        elif name == "prune":
            _configure_prune(child)
        else:
            try:
                module = importlib.import_module(f"ketch.cli.commands.{module_name}")
            except ImportError:
                continue  # a command not yet available in this build
            module.configure(child)


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    import importlib

    name = args.image_command
    if name == "inspect":
        return _inspect(args, ctx)
    if name == "prune":
        return _prune(args, ctx)
    module = importlib.import_module(f"ketch.cli.commands.{SUBCOMMANDS[name]}")
    return int(module.run(args, ctx))


def _inspect(args: argparse.Namespace, ctx: CliContext) -> int:
    import json

    from ketch.cli._format import Template
    from ketch.errors import NotFound
    from ketch.images.platforms import parse_platform
    from ketch.images.views import inspect_image

    images = ctx.engine().images
    platform = parse_platform(args.platform) if args.platform else None
    docs = []
    missing = []
    for ref in args.images:
        try:
            record = images.get(ref)
        except NotFound:
            missing.append(ref)
            continue
        doc = inspect_image(images, record)
        if platform is not None:
            doc = {**doc, "Platform": str(platform)}
        docs.append(doc)
    if args.format:
        template = Template(args.format)
        for doc in docs:
            ctx.stdout.write(template.render(doc) + "\n")
    else:
        ctx.stdout.write(json.dumps(docs, indent=4) + "\n")
    for ref in missing:
        ctx.stderr.write(f"Error response from daemon: No such image: {ref}\n")
    return 1 if missing else 0


def _prune(args: argparse.Namespace, ctx: CliContext) -> int:
    import time

    from ketch.cli.commands.rmi import image_users
    from ketch.errors import InvalidArgument
    from ketch.images.remove import prune_images
    from ketch.images.store import ImageRecord
    from ketch.images.views import human_size, parse_time, parse_until

    label_filters: list[str] = []
    until: float | None = None
    for spec in args.filter:
        key, _, value = spec.partition("=")
        if key == "label":
            label_filters.append(value)
        elif key == "until":
            until = parse_until(value, time.time())
        else:
            raise InvalidArgument(f"invalid filter '{key}'")
    if not args.force:
        warning = (
            "WARNING! This will remove all images without at least one container associated to them."
            if args.all
            else "WARNING! This will remove all dangling images."
        )
        ctx.stdout.write(f"{warning}\nAre you sure you want to continue? [y/N] ")
        ctx.stdout.flush()
        answer = ctx.stdin.readline().decode(errors="replace").strip().lower()
        if answer not in ("y", "yes"):
            return 0
    engine = ctx.engine()
    images = engine.images

    def keep(record: ImageRecord) -> bool:
        if not label_filters and until is None:
            return False
        try:
            config = images.config(record)
        except Exception:  # an unreadable image is not protected by filters
            return False
        labels = dict((config.config.labels or {}) if config.config else {})
        for spec in label_filters:
            k, sep, v = spec.partition("=")
            if k not in labels or (sep and labels[k] != v):
                return True
        return until is not None and parse_time(config.created) >= until

    result = prune_images(images, all_=args.all, users=image_users(engine), keep=keep)
    if result.untagged or result.deleted:
        ctx.stdout.write("Deleted Images:\n")
        for u in result.untagged:
            ctx.stdout.write(f"untagged: {u}\n")
        for d in result.deleted:
            ctx.stdout.write(f"deleted: {d}\n")
        ctx.stdout.write("\n")
    ctx.stdout.write(f"Total reclaimed space: {human_size(result.reclaimed)}\n")
    return 0
