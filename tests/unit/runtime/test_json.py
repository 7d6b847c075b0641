"""The ``_json`` fast path agrees with the ``json`` module."""

import json

import pytest

from ketch.errors import InvalidArgument
from ketch.runtime import _json

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
