"""What the two validator generators share: post-processing of fastjsonschema's output.

``_gen_validators`` (runtime config) and ``_gen_image_validators`` (image manifest,
index, config) compile the bundled schemas ahead of time; both rewrite the same
parts of the generated code.  Used at development time only, never imported at run
time.
"""

from __future__ import annotations

import os
import re

__all__ = ["regex_entries", "required_messages", "write_generated"]


def regex_entries(block: str) -> list[tuple[str, str]]:
    """(key source, regex source) of each ``key: re.compile(regex)`` line of fastjsonschema's
    ``REGEX_PATTERNS`` table."""
    return re.findall(r"^\s+(.+?): re\.compile\((.+?)\),?$", block, re.M)


def required_messages(code: str) -> str:
    """Name the missing field: fastjsonschema's short mode drops it from the message."""
    out: list[str] = []
    missing_var = ""
    for line in code.split("\n"):
        m = re.match(r"\s+(\w+__missing_keys) = ", line)
        if m:
            missing_var = m.group(1)
        if ' must contain ")' in line and missing_var:
            line = line.replace(
                ' must contain ")', f'." + sorted({missing_var})[0] + " is required")'
            )
        out.append(line)
    return "\n".join(out)


def write_generated(target: str, source: str) -> None:
    """Replace the generated module ``target`` with ``source`` and say so."""
    tmp = target + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(source)
    os.replace(tmp, target)
    print(f"wrote {target} ({len(source)} bytes)")
