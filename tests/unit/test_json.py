"""``ketch.oci._json`` (the C scanner and encoder without the json package) agrees with ``json``."""

import json
from pathlib import Path

import pytest

from ketch.errors import InvalidArgument
from ketch.oci import _json

DOCS = [
    {"a": [1, 2.5, "x\u00e9\u2603", True, False, None, {"b": {}}], "n": -3, "big": 2**70},
    [],
    "s",
    0,
    {"esc": "\"\\/\b\f\n\r\t\u0001"},
]


@pytest.mark.parametrize("doc", DOCS)
def test_round_trip(doc: object) -> None:
    text = json.dumps(doc)
    assert _json.loads(text) == doc
    assert _json.loads(text.encode()) == doc
    assert _json.loads(f" \n{text}\t ") == doc
    assert _json.dumps(doc) == json.dumps(doc)


@pytest.mark.parametrize("bad", ["", "{", "{}x", "NaN", "[1,]", "'a'", b"\xff", "[Infinity]"])
def test_bad_json(bad: str | bytes) -> None:
    with pytest.raises(InvalidArgument, match="doc: not valid JSON"):
        _json.loads(bad, "doc")


def test_dumps_refuses_other_types() -> None:
    with pytest.raises(TypeError):
        _json.dumps({"a": object()})


@pytest.mark.parametrize("doc", DOCS)
@pytest.mark.parametrize("sort_keys", [False, True])
@pytest.mark.parametrize("separators", [(", ", ": "), (",", ":")])
@pytest.mark.parametrize("ensure_ascii", [True, False])
def test_dumps_options_match_json(
    doc: object, sort_keys: bool, separators: tuple[str, str], ensure_ascii: bool
) -> None:
    want = json.dumps(doc, sort_keys=sort_keys, separators=separators, ensure_ascii=ensure_ascii)
    got = _json.dumps(doc, sort_keys=sort_keys, separators=separators, ensure_ascii=ensure_ascii)
    assert got == want


def test_dumps_refuses_nan() -> None:
    with pytest.raises(ValueError):
        _json.dumps({"a": float("nan")})


def test_read_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "doc.json"
    path.write_text('{"a": 1}')
    assert _json.read(str(path)) == {"a": 1}
    path.write_text('{"a": ')
    with pytest.raises(InvalidArgument, match=f"{path}: not valid JSON"):
        _json.read(str(path))
    with pytest.raises(InvalidArgument, match="record: not valid JSON"):
        _json.read(str(path), "record")
    with pytest.raises(FileNotFoundError):
        _json.read(str(tmp_path / "missing"))
