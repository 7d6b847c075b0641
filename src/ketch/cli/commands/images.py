"""List images.

``ketch images [-a] [-q] [--digests] [--no-trunc] [-f FILTER]... [--format TPL] [REPOSITORY[:TAG]]``
"""

from __future__ import annotations

import argparse

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ketch.cli._context import CliContext

__all__ = ["configure", "display_id", "run"]

HEADERS = {
    "Repository": "REPOSITORY",
    "Tag": "TAG",
    "Digest": "DIGEST",
    "ID": "IMAGE ID",
    "CreatedSince": "CREATED",
    "CreatedAt": "CREATED AT",
    "Size": "SIZE",
    "Containers": "CONTAINERS",
}


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("repository", nargs="?", metavar="REPOSITORY[:TAG]")
    parser.add_argument("-a", "--all", action="store_true", help="show all images")
    parser.add_argument("-q", "--quiet", action="store_true", help="only show image IDs")
    parser.add_argument("--digests", action="store_true", help="show digests")
    parser.add_argument("--no-trunc", action="store_true", help="don't truncate output")
    parser.add_argument(
        "-f",
        "--filter",
        action="append",
        default=[],
        help="filter output (dangling=, reference=, label=, before=, since=)",
    )
    parser.add_argument(
        "--format", help="format output using a Go template ('json' for JSON lines)"
    )
    parser.add_argument("--tree", action="store_true", help=argparse.SUPPRESS)


def display_id(image_id: str, no_trunc: bool) -> str:
    """``sha256:<hex>`` with --no-trunc, else the first 12 hex digits (docker's short ID)."""
    return image_id if no_trunc else image_id.removeprefix("sha256:")[:12]


def _matches_positional(row: dict[str, Any], wanted: str) -> bool:
    from ketch.images.reference import parse_reference

    if row["Repository"] == "<none>":
        return False
    want = parse_reference(wanted, default_tag=None)
    have = parse_reference(row["Repository"], default_tag=None)
    if want.name != have.name:
        return False
    return want.tag is None or want.tag == row["Tag"]


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    import json

    from ketch.cli._format import format_rows
    from ketch.images.views import filter_images, human_size, image_rows

    images = ctx.engine().images
    rows = image_rows(images)
    if args.repository:
        rows = [r for r in rows if _matches_positional(r, args.repository)]
    rows = filter_images(images, rows, args.filter)
    if args.quiet:
        seen: list[str] = []
        for r in rows:
            shown = display_id(r["ID"], args.no_trunc)
            if shown not in seen:
                seen.append(shown)
        ctx.stdout.write("".join(f"{s}\n" for s in seen))
        return 0
    shown_rows = [
        {
            **r,
            "ID": display_id(r["ID"], args.no_trunc),
            "Size": human_size(r["Size"]),
            "VirtualSize": human_size(r["Size"]),
            "SharedSize": "N/A",
            "UniqueSize": "N/A",
        }
        for r in rows
    ]
    if args.format == "json":
        keys = ("Containers", "CreatedAt", "CreatedSince", "Digest", "ID", "Repository",
                "SharedSize", "Size", "Tag", "UniqueSize", "VirtualSize")  # fmt: skip
        for r in shown_rows:
            ctx.stdout.write(json.dumps({k: r[k] for k in keys}) + "\n")
        return 0
    template = args.format
    if not template:
        columns = ["{{.Repository}}", "{{.Tag}}"]
        if args.digests:
            columns.append("{{.Digest}}")
        columns += ["{{.ID}}", "{{.CreatedSince}}", "{{.Size}}"]
        template = "table " + "\t".join(columns)
    for line in format_rows(template, shown_rows, HEADERS):
        ctx.stdout.write(line + "\n")
    return 0
