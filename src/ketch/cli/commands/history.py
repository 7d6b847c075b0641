"""Show the history of an image.

``ketch history [-H=true|false] [--no-trunc] [-q] [--format TPL] IMAGE``
"""

from __future__ import annotations

import argparse

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ketch.cli._context import CliContext

__all__ = ["configure", "run"]

HEADERS = {
    "ID": "IMAGE",
    "CreatedSince": "CREATED",
    "CreatedAt": "CREATED AT",
    "CreatedBy": "CREATED BY",
    "Size": "SIZE",
    "Comment": "COMMENT",
}


def _bool(value: str) -> bool:
    if value.lower() in ("true", "1", "t"):
        return True
    if value.lower() in ("false", "0", "f"):
        return False
    raise argparse.ArgumentTypeError(f"invalid boolean {value!r}")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("image", metavar="IMAGE")
    parser.add_argument(
        "-H", "--human", type=_bool, nargs="?", const=True, default=True,
        help="print sizes and dates in human readable format (default true)",
    )  # fmt: skip
    parser.add_argument("--no-trunc", action="store_true", help="don't truncate output")
    parser.add_argument("-q", "--quiet", action="store_true", help="only show image IDs")
    parser.add_argument("--format", help="format output using a Go template")
    parser.add_argument("--platform", help="show the history of this platform's image")


def _ellipsis(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    import json

    from ketch.cli._format import format_rows
    from ketch.images.views import history_rows, human_size

    images = ctx.engine().images
    record = images.get(args.image)
    rows = history_rows(images, record)
    shown = []
    for r in rows:
        image_id = r["ID"]
        if image_id != "<missing>" and not args.no_trunc:
            image_id = image_id.removeprefix("sha256:")[:12]
        created_by = r["CreatedBy"].replace("\t", " ").replace("\n", " ")
        if not args.no_trunc and not args.format:
            created_by = _ellipsis(created_by, 45)
        shown.append(
            {
                **r,
                "ID": image_id,
                "CreatedBy": created_by,
                "CreatedSince": r["CreatedSince"] if args.human else r["CreatedAt"],
                "Size": human_size(r["Size"]) if args.human else str(r["Size"]),
            }
        )
    if args.quiet:
        ctx.stdout.write("".join(f"{r['ID']}\n" for r in shown))
        return 0
    if args.format == "json":
        for r in shown:
            ctx.stdout.write(
                json.dumps(
                    {
                        k: r[k]
                        for k in ("Comment", "CreatedAt", "CreatedBy", "CreatedSince", "ID", "Size")
                    }
                )
                + "\n"
            )
        return 0
    template = args.format or (
        "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}"
    )
    for line in format_rows(template, shown, HEADERS):
        ctx.stdout.write(line + "\n")
    return 0
