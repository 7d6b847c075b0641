"""Return low-level information on containers or images."""

from __future__ import annotations

import argparse
import json

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ketch.cli._context import CliContext

__all__ = ["configure", "print_documents", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-f", "--format", help="format output using a Go template")
    parser.add_argument("-s", "--size", action="store_true", help="display total file sizes")
    parser.add_argument("--type", choices=("container", "image"), help="only this type of object")
    parser.add_argument("names", nargs="+", metavar="NAME|ID")


def _image(ctx: CliContext, name: str) -> dict[str, Any] | None:
    from ketch.errors import NotFound
    from ketch.images.views import inspect_image

    images = ctx.engine().images
    try:
        record = images.get(name)
    except NotFound:
        return None
    doc: dict[str, Any] = inspect_image(images, record)
    return doc


def print_documents(ctx: CliContext, docs: list[Any], fmt: str | None) -> int:
    """Print ``docs`` as JSON or through ``fmt``; the exit status docker gives
    (64 for a template that does not parse, 1 for one that fails on a document)."""
    if fmt == "json":
        fmt = None
    if fmt:
        from ketch.cli._format import Template, TemplateExecError, TemplateParseError

        try:
            tpl = Template(fmt)
        except TemplateParseError as e:
            ctx.stderr.write(f"template parsing error: {e}\n")
            return 64
        try:
            for doc in docs:
                ctx.stdout.write(tpl.render(doc) + "\n")
        except TemplateExecError as e:
            ctx.stderr.write(f"{e}\n")
            return 1
        return 0
    ctx.stdout.write(json.dumps(docs, indent=4) + "\n")
    return 0


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    from ketch.errors import KetchError, NotFound

    svc = ctx.engine().containers
    docs: list[Any] = []
    errors: list[str] = []
    for name in args.names:
        doc = None
        if args.type != "image":
            try:
                doc = svc.inspect(name, size=args.size)
            except NotFound:
                doc = None
            except KetchError as err:
                errors.append(str(err))
                continue
        if doc is None and args.type != "container":
            try:
                doc = _image(ctx, name)
            except KetchError:
                doc = None
        if doc is None:
            kind = {"container": "container", "image": "image"}.get(args.type or "", "object")
            errors.append(f"No such {kind}: {name}")
            continue
        docs.append(doc)
    status = print_documents(ctx, docs, args.format)
    for message in errors:
        ctx.stderr.write(f"Error: {message}\n")
    return status or (1 if errors else 0)
