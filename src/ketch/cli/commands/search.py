"""Search Docker Hub (or ``HOST/TERM`` on a registry with the v1 search API) for images.

``ketch search [--limit N] [--no-trunc] [-f is-official=true|stars=N] TERM``
"""

from __future__ import annotations

import argparse

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ketch.cli._context import CliContext

__all__ = ["configure", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("term", metavar="TERM")
    parser.add_argument("--limit", type=int, default=25, help="max number of results")
    parser.add_argument("--no-trunc", action="store_true", help="don't truncate output")
    parser.add_argument("-f", "--filter", action="append", default=[], help="filter output")
    parser.add_argument("--format", help="Go-template-like format: {{.Name}} {{.Description}}...")


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    from ketch.cli._context import UsageError
    from ketch.registry.client import RegistryClient, search

    official: bool | None = None
    min_stars = 0
    for item in args.filter:
        key, sep, value = item.partition("=")
        if key == "is-official" and sep and value in ("true", "false"):
            official = value == "true"
        elif key == "stars" and sep and value.isdigit():
            min_stars = int(value)
        else:
            raise UsageError(f"invalid filter '{item}'")
    results = search(args.term, limit=args.limit, client=RegistryClient.from_environment())
    results = [
        r
        for r in results
        if r.star_count >= min_stars and (official is None or r.is_official == official)
    ]
    if args.format:
        for r in results:
            line = args.format
            for key, value in (
                ("Name", r.name),
                ("Description", r.description),
                ("StarCount", str(r.star_count)),
                ("IsOfficial", "[OK]" if r.is_official else ""),
            ):
                line = line.replace("{{." + key + "}}", value)
            ctx.stdout.write(line + "\n")
        return 0
    ctx.stdout.write(f"{'NAME':<30} {'DESCRIPTION':<45} {'STARS':<6} OFFICIAL\n")
    for r in results:
        description = " ".join(r.description.split())
        if not args.no_trunc and len(description) > 45:
            description = description[:44] + "…"
        ok = "[OK]" if r.is_official else ""
        ctx.stdout.write(f"{r.name:<30} {description:<45} {r.star_count:<6} {ok}\n")
    return 0
