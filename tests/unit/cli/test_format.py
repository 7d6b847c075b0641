"""The Go-template subset behind ``--format``."""

from __future__ import annotations

import pytest

from ketch.cli._format import Template, TemplateError, format_rows, go_string, tabulate

DOC = {
    "Id": "abc", "Name": "/web", "State": {"Status": "running", "Running": True, "Pid": 42},
    "Config": {"Cmd": ["sh", "-c", "x"], "Labels": {"b": "2", "a": "1"}, "Env": []},
}


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{.Id}}", "abc"),
        ("{{.State.Status}}/{{.State.Pid}}", "running/42"),
        ("{{.State.Running}}", "true"),
        ("{{json .Config.Cmd}}", '["sh","-c","x"]'),
        ("{{json .State}}", '{"Status":"running","Running":true,"Pid":42}'),
        ("{{.Config.Cmd}}", "[sh -c x]"),
        ("{{.Config.Labels}}", "map[a:1 b:2]"),
        ("{{index .Config.Labels \"a\"}}", "1"),
        ("{{join .Config.Cmd \",\"}}", "sh,-c,x"),
        ("{{range .Config.Cmd}}<{{.}}>{{end}}", "<sh><-c><x>"),
        ("{{range .Config.Env}}x{{else}}none{{end}}", "none"),
        ("{{if .State.Running}}up{{else}}down{{end}}", "up"),
        ("{{if .Config.Env}}env{{end}}!", "!"),
        ("{{upper .Name}} {{len .Config.Cmd}}", "/WEB 3"),
        ("a\\tb", "a\tb"),
        ("{{- .Id -}}  x", "abcx"),
        ("{{.Name | upper}}", "/WEB"),
    ],
)
def test_render(template: str, expected: str) -> None:
    assert Template(template).render(DOC) == expected


@pytest.mark.parametrize(
    "template", ["{{.Nope}}", "{{if .Id}}", "{{end}}", "{{nofunc .Id}}", "{{.Id", "a {{.Id}} {{x"]
)
def test_errors(template: str) -> None:
    with pytest.raises(TemplateError):
        Template(template).render(DOC)


def test_table_header_and_alignment() -> None:
    rows = [{"ID": "1", "Names": "short"}, {"ID": "22222222222", "Names": "n"}]
    lines = format_rows("table {{.ID}}\t{{.Names}}", rows, {"ID": "CONTAINER ID", "Names": "NAMES"})
    assert lines == [
        "CONTAINER ID   NAMES",
        "1              short",
        "22222222222    n",
    ]


def test_tabulate_min_width() -> None:
    assert tabulate(["a\tb"]) == ["a         b"]


def test_go_string() -> None:
    assert go_string(None) == "<no value>"
    assert go_string(False) == "false"
    assert go_string({"k": [1, 2]}) == "map[k:[1 2]]"
