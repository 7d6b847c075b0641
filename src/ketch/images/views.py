"""Images as docker shows them: ``images`` rows, ``image inspect`` JSON, ``history``.

Pure functions over an ``ImageStore``; the CLI and the API format them.
"""

import calendar
import fnmatch
import re
import time
from collections.abc import Mapping, Sequence
from typing import Any

from ketch.errors import InvalidArgument, NotFound
from ketch.images.reference import parse_reference
from ketch.images.store import ImageRecord, ImageStore
from ketch.images.units import human_duration, human_size
from ketch.oci.image_spec import ContainerConfig, ImageConfig, encode_record

__all__ = [
    "created_at",
    "filter_images",
    "history_rows",
    "human_duration",
    "human_size",
    "image_rows",
    "inspect_image",
    "parse_time",
    "parse_time_or_none",
    "parse_until",
    "repo_digests",
    "repo_tags",
]

_TIME_RE = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)")


def parse_time(text: str | None) -> float:
    """Epoch seconds of an RFC 3339 time (0 when absent or unparsable)."""
    return parse_time_or_none(text) or 0.0


def parse_time_or_none(text: str | None) -> float | None:
    """Epoch seconds of an RFC 3339 time, None when absent or unparsable."""
    if not text:
        return None
    m = _TIME_RE.fullmatch(text.strip())
    if m is None:
        return None
    base = calendar.timegm(time.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S"))
    fraction = float(f"0.{m.group(2)}") if m.group(2) else 0.0
    zone = m.group(3)
    offset = 0
    if zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        offset = sign * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60)
    return base + fraction - offset


def created_at(seconds: float) -> str:
    """``2024-01-02 03:04:05 +0000 UTC`` as ``docker images`` prints CreatedAt."""
    return time.strftime("%Y-%m-%d %H:%M:%S +0000 UTC", time.gmtime(seconds))


def _config_or_none(images: ImageStore, record: ImageRecord) -> ImageConfig | None:
    try:
        return images.config(record)
    except (NotFound, InvalidArgument):
        return None


def repo_tags(records: Sequence[ImageRecord]) -> list[str]:
    """``busybox:latest`` for each tagged name."""
    out = []
    for r in records:
        if r.is_dangling:
            continue
        ref = parse_reference(r.name)
        if ref.tag is not None and ref.digest is None:
            out.append(ref.familiar())
    return sorted(set(out))


def repo_digests(records: Sequence[ImageRecord]) -> list[str]:
    """``busybox@sha256:...`` for each name that carries a digest."""
    out = []
    for r in records:
        if r.is_dangling:
            continue
        ref = parse_reference(r.name)
        if ref.digest is not None:
            out.append(f"{ref.familiar_name()}@{ref.digest}")
    return sorted(set(out))


def _group(images: ImageStore) -> dict[str, list[ImageRecord]]:
    groups: dict[str, list[ImageRecord]] = {}
    for r in images.list():
        groups.setdefault(images.image_id(r), []).append(r)
    return groups


def image_rows(images: ImageStore, *, now: float | None = None) -> list[dict[str, Any]]:
    """One row per repository:tag (and per untagged image), newest first.

    Keys are docker's ``--format`` fields: Repository, Tag, Digest, ID, CreatedSince,
    CreatedAt, Size, plus ``Created`` (epoch), ``Labels`` and ``Dangling``."""
    now = time.time() if now is None else now
    rows: list[dict[str, Any]] = []
    for image_id, records in _group(images).items():
        primary = sorted(records, key=lambda r: (r.is_dangling, r.name))[0]
        config = _config_or_none(images, primary)
        created_or_none = parse_time_or_none(config.created if config else None)
        created = created_or_none or 0.0
        labels = dict((config.config.labels or {}) if config and config.config else {})
        base = {
            "ID": image_id,
            "Created": created,
            "CreatedSince": "N/A"
            if created_or_none is None
            else f"{human_duration(now - created)} ago",
            "CreatedAt": created_at(created),
            "Size": images.size(primary),
            "Labels": labels,
            "Containers": "N/A",
        }
        by_repo: dict[str, dict[str, Any]] = {}
        for r in records:
            if r.is_dangling:
                continue
            ref = parse_reference(r.name)
            entry = by_repo.setdefault(ref.familiar_name(), {"tags": [], "digest": None})
            if ref.digest is not None:
                entry["digest"] = ref.digest
            elif ref.tag is not None:
                entry["tags"].append(ref.tag)
        if not by_repo:
            rows.append(
                {
                    **base,
                    "Repository": "<none>",
                    "Tag": "<none>",
                    "Digest": "<none>",
                    "Dangling": True,
                }
            )
            continue
        for repo, entry in sorted(by_repo.items()):
            for tag in sorted(entry["tags"]) or ["<none>"]:
                rows.append(
                    {
                        **base,
                        "Repository": repo,
                        "Tag": tag,
                        "Digest": entry["digest"] or "<none>",
                        "Dangling": False,
                    }
                )
    rows.sort(key=lambda row: (-row["Created"], row["Repository"], row["Tag"]))
    return rows


def _label_match(labels: Mapping[str, str], spec: str) -> bool:
    key, sep, value = spec.partition("=")
    if key not in labels:
        return False
    return not sep or labels[key] == value


def _reference_match(row: Mapping[str, Any], pattern: str) -> bool:
    if row["Repository"] == "<none>":
        return False
    name = row["Repository"]
    full = f"{name}:{row['Tag']}"
    if ":" in pattern.rsplit("/", 1)[-1]:
        return fnmatch.fnmatchcase(full, pattern)
    return fnmatch.fnmatchcase(name, pattern)


def filter_images(
    images: ImageStore, rows: list[dict[str, Any]], filters: Sequence[str]
) -> list[dict[str, Any]]:
    """Apply ``--filter`` specs: dangling=, reference=, label=, before=, since=."""
    by_key: dict[str, list[str]] = {}
    for spec in filters:
        key, sep, value = spec.partition("=")
        if not sep:
            raise InvalidArgument(f"bad format of filter (expected name=value): {spec}")
        if key not in ("dangling", "reference", "label", "before", "since", "until"):
            raise InvalidArgument(f"invalid filter '{key}'")
        by_key.setdefault(key, []).append(value)
    out = rows
    for value in by_key.get("dangling", []):
        if value.lower() not in ("true", "false", "1", "0"):
            raise InvalidArgument(f"invalid filter 'dangling={value}'")
        want = value.lower() in ("true", "1")
        out = [r for r in out if r["Dangling"] == want]
    if "reference" in by_key:
        out = [r for r in out if any(_reference_match(r, p) for p in by_key["reference"])]
    for spec in by_key.get("label", []):
        out = [r for r in out if _label_match(r["Labels"], spec)]
    for value in by_key.get("until", []):
        limit = parse_until(value, time.time())
        out = [r for r in out if r["Created"] < limit]
    for key in ("before", "since"):
        for ref in by_key.get(key, []):
            record = images.get(ref)
            pivot = parse_time(c.created) if (c := _config_or_none(images, record)) else 0.0
            if key == "before":
                out = [r for r in out if r["Created"] < pivot]
            else:
                out = [r for r in out if r["Created"] > pivot]
    return out


def parse_until(value: str, now: float) -> float:
    """An ``until=`` filter value: a duration (``10m``, ``2h``), epoch seconds or RFC 3339."""
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(h|m|s)", value)
    if m:
        return now - float(m.group(1)) * {"h": 3600, "m": 60, "s": 1}[m.group(2)]
    if re.fullmatch(r"\d+(?:\.\d+)?", value):
        return float(value)
    parsed = parse_time_or_none(value)
    if parsed is None:
        raise InvalidArgument(f"invalid filter 'until={value}'")
    return parsed


_DOCKER_CONFIG_KEYS = (
    ("Hostname", ""), ("Domainname", ""), ("User", ""), ("AttachStdin", False),
    ("AttachStdout", False), ("AttachStderr", False), ("Tty", False), ("OpenStdin", False),
    ("StdinOnce", False), ("Env", None), ("Cmd", None), ("Image", ""), ("Volumes", None),
    ("WorkingDir", ""), ("Entrypoint", None), ("OnBuild", None), ("Labels", None),
)  # fmt: skip


def _docker_config(config: ContainerConfig | None) -> dict[str, Any]:
    encoded: dict[str, Any] = encode_record(config) if config is not None else {}
    out: dict[str, Any] = {}
    for key, default in _DOCKER_CONFIG_KEYS:
        out[key] = encoded.pop(key, default)
    if "ExposedPorts" in encoded:
        out["ExposedPorts"] = encoded.pop("ExposedPorts")
    out.update(encoded)
    return out


def inspect_image(images: ImageStore, record: ImageRecord) -> dict[str, Any]:
    """Docker's ImageInspect document for ``record``'s image."""
    image_id = images.image_id(record)
    related = images.records_of(image_id) or [record]
    config = images.config(record)
    updated = max((r.updated for r in related), default=record.updated)
    history = config.history
    comment = history[-1].comment if history and history[-1].comment else ""
    doc: dict[str, Any] = {
        "Id": image_id,
        "RepoTags": repo_tags(related),
        "RepoDigests": repo_digests(related),
        "Parent": "",
        "Comment": comment,
        "Created": config.created or "0001-01-01T00:00:00Z",
        "DockerVersion": "",
        "Author": config.author or "",
        "Config": _docker_config(config.config),
        "Architecture": config.architecture,
    }
    if config.variant:
        doc["Variant"] = config.variant
    doc["Os"] = config.os
    if config.os_version:
        doc["OsVersion"] = config.os_version
    doc["Size"] = images.size(record)
    doc["GraphDriver"] = {"Data": None, "Name": "overlayfs"}
    doc["RootFS"] = {"Type": config.rootfs.type, "Layers": list(config.rootfs.diff_ids)}
    doc["Metadata"] = {"LastTagTime": updated}
    doc["Descriptor"] = encode_record(record.target)
    return doc


def history_rows(
    images: ImageStore, record: ImageRecord, *, now: float | None = None
) -> list[dict[str, Any]]:
    """``docker history`` rows, newest first: ID, Created, CreatedSince, CreatedAt,
    CreatedBy, Size, Comment, Tags."""
    now = time.time() if now is None else now
    image_id = images.image_id(record)
    _, manifest = images.resolve_manifest(record)
    config = images.config(record)
    layer_sizes = [layer.size for layer in manifest.layers]
    rows = []
    layer_index = 0
    entries = config.history or ()
    for entry in entries:
        size = 0
        if not entry.empty_layer:
            if layer_index < len(layer_sizes):
                size = layer_sizes[layer_index]
            layer_index += 1
        created_or_none = parse_time_or_none(entry.created)
        created = created_or_none or 0.0
        rows.append(
            {
                "ID": "<missing>",
                "Created": created,
                "CreatedSince": "N/A"
                if created_or_none is None
                else f"{human_duration(now - created)} ago",
                "CreatedAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(created)),
                "CreatedBy": entry.created_by or "",
                "Size": size,
                "Comment": entry.comment or "",
                "Tags": [],
            }
        )
    rows.reverse()
    if rows:
        rows[0]["ID"] = image_id
        rows[0]["Tags"] = repo_tags(images.records_of(image_id))
    return rows
