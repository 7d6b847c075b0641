"""The Go-template subset behind ``--format``."""

from __future__ import annotations

import pytest

from ketch.cli._format import (
    Template,
    TemplateError,
    TemplateExecError,
    TemplateParseError,
    format_rows,
    go_string,
    tabulate,
)
from ketch.errors import InvalidArgument

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


STATE = {"State": {"Status": "running", "Running": True, "Paused": False, "Pid": 42}}


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        # else if / else with chains share one {{end}}
        ("{{if .State.Paused}}p{{else if .State.Running}}r{{else}}s{{end}}", "r"),
        ("{{if .State.Paused}}p{{else if .State.Pid}}{{.State.Pid}}{{end}}", "42"),
        ("{{if .State.Paused}}p{{else if not .State.Running}}r{{else}}s{{end}}", "s"),
        ("{{if .State.Paused}}p{{else with .State.Status}}{{.}}{{end}}", "running"),
        # comparisons and logic
        ('{{if eq .State.Status "running"}}up{{end}}', "up"),
        ('{{eq .State.Status "x" "y" "running"}} {{eq .State.Pid 1 2}}', "true false"),
        ('{{ne .State.Status "running"}} {{ne 1 2}}', "false true"),
        ("{{lt 1 2}} {{le 2 2}} {{gt 1 2}} {{ge 3 2}} {{lt \"a\" \"b\"}}", "true true false true true"),
        ('{{and 1 0 2}}|{{and 1 "x"}}|{{or 0 "" "z"}}|{{or 0 ""}}|{{not 0}}', "0|x|z||true"),
        ("{{and .State.Paused .Bogus}}", "false"),  # short-circuit: .Bogus is never evaluated
        # with
        ("{{with .State}}{{.Status}}/{{$.Id}}{{end}}", "running/abc"),
        ("{{with .Config.Env}}x{{else}}none{{end}}", "none"),
        # range with variables, maps in key order, break/continue, ints
        ("{{range $i, $e := .Config.Cmd}}{{$i}}={{$e}};{{end}}", "0=sh;1=-c;2=x;"),
        ("{{range $e := .Config.Cmd}}<{{$e}}>{{end}}", "<sh><-c><x>"),
        ("{{range $k, $v := .Config.Labels}}{{$k}}{{$v}}{{end}}", "a1b2"),
        ('{{range .Config.Cmd}}{{if eq . "-c"}}{{continue}}{{end}}{{.}}{{end}}', "shx"),
        ('{{range .Config.Cmd}}{{if eq . "-c"}}{{break}}{{end}}{{.}}{{end}}', "sh"),
        ("{{range 3}}{{.}}{{end}}", "012"),
        # variables
        ("{{$x := .Id}}{{$x}}-{{$.Name}}", "abc-/web"),
        ("{{$x := 1}}{{if true}}{{$x = 2}}{{end}}{{$x}}", "2"),
        ("{{$s := .State}}{{$s.Status}}", "running"),
        # pipelines, parentheses, chains
        ('{{.Name | printf "%s!"}}', "/web!"),
        ('{{.Name | printf "%s-%s" "a"}}', "a-/web"),
        ("{{len (index .Config.Cmd 0)}}", "2"),
        ("{{(index .Config.Cmd 1) | len}}", "2"),
        ("{{(.State).Status}}", "running"),
        ('{{index .Config.Labels "zz"}}', "<no value>"),
        ("{{slice .Config.Cmd 1}} {{slice .Id 0 2}}", "[-c x] ab"),
        # trim markers and comments
        ("a  {{- /* note */ -}}  b {{/* x */}}c", "ab c"),
        ("{{- .Id }} {{ .Name -}} !", "abc /web!"),
        # printf and print
        ('{{printf "%-5s|%05d|%q|%v|%x|%t" "a" 42 "q\\n" .Config.Cmd 255 true}}', 'a    |00042|"q\\n"|[sh -c x]|ff|true'),
        ('{{printf "%d %s"  "x"}}', "%!d(string=x) %!s(MISSING)"),
        ('{{printf "%5.1f%%" 12.345}}', " 12.3%"),
        ('{{print 1 2 "a" "b" 3}}', "1 2ab3"),
        ("{{println .Id 1}}", "abc 1\n"),
        ("{{1.5}} {{1e21}} {{0.00001}} {{100.0}} {{0x10}} {{'a'}}", "1.5 1e+21 1e-05 100 16 97"),
        # docker's helpers
        ('{{json .Config.Labels}} {{json "a<b"}}', '{"b":"2","a":"1"} "a<b"'),
        ('{{join .Config.Cmd " "}}|{{split "a,b" ","}}|{{len (split "a,b" ",")}}', "sh -c x|[a b]|2"),
        ('{{title "hello wORLD"}} {{lower "AbC"}} {{upper "é"}}', "Hello WORLD abc É"),
        ('[{{pad "x" 1 2}}] {{truncate "abcdef" 3}} {{truncate "ab" 5}}', "[ x  ] abc ab"),
        ("{{`raw\\n`}}", "raw\\n"),
    ],
)
def test_go_semantics(template: str, expected: str) -> None:
    assert Template(template).render({**DOC, **STATE}) == expected


def test_callable_field_with_arguments() -> None:
    labels = {"app": "web", "com.example.tier": "db"}
    row = {"ID": "1", "Label": labels.get}
    assert Template('{{.Label "app"}}/{{"app" | .Label}}').render(row) == "web/web"
    lines = format_rows('table {{.ID}}\t{{.Label "com.example.tier"}}', [row], {"ID": "CONTAINER ID"})
    assert lines == ["CONTAINER ID   TIER", "1              db"]
    assert format_rows("{{json .}}", [row], {}) == ['{"ID":"1"}']  # methods are not data


class Row:
    def __init__(self) -> None:
        self.Name = "n"
        self._secret = "s"

    def Label(self, key: str) -> str:  # docker's template method name
        return key.upper()


def test_object_attributes_and_methods() -> None:
    assert Template('{{.Name}} {{.Label "x"}}').render(Row()) == "n X"
    with pytest.raises(TemplateExecError, match="can't evaluate field _secret"):
        Template("{{._secret}}").render(Row())
    with pytest.raises(TemplateExecError, match="can't evaluate field __class__"):
        Template("{{.__class__}}").render(Row())


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{{.Bogus}}", 'template: :1:2: executing "" at <.Bogus>: map has no entry for key "Bogus"'),
        ("x\n {{.State.Nope}}", 'template: :2:3: executing "" at <.State.Nope>: map has no entry for key "Nope"'),
        ("{{index .Config.Cmd 5}}", 'at <index .Config.Cmd 5>: error calling index: index out of range: 5'),
        ('{{.Id "x"}}', "Id is not a method but has arguments"),
        ('{{"a" "b"}}', 'can\'t give argument to non-function "a"'),
        ('{{. "b"}}', "can't give argument to non-function ."),
        ('{{$ | printf "%v"}}{{$ "x"}}', "can't give argument to non-function $"),
        ("{{upper .State.Pid}}", "expected string; got int"),
        ('{{eq 1 "a"}}', "incompatible types for comparison"),
        ("{{eq .Config.Cmd 1}}", "non-comparable type"),
        ("{{len 3}}", "len of type int"),
        ("{{len 1 2}}", "at <len>: wrong number of args for len: want 1 got 2"),
        ("{{nil}}", "at <nil>: nil is not a command"),
        ("{{range .Id}}{{end}}", "range can't iterate over abc"),
        ("{{.Id.X}}", "can't evaluate field X in type string"),
    ],
)
def test_exec_errors(template: str, message: str) -> None:
    with pytest.raises(TemplateExecError) as info:
        Template(template).render({**DOC, **STATE})
    assert message in str(info.value)
    assert isinstance(info.value, InvalidArgument)


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{{.Id", "template: :1: unclosed action"),
        ("a\n{{nofunc .Id}}", 'template: :2: function "nofunc" not defined'),
        ("{{end}}", "unexpected {{end}}"),
        ("{{else}}", "unexpected {{else}}"),
        ("{{if .Id}}x", "unexpected EOF"),
        ("{{if}}{{end}}", "missing value for if"),
        ("{{}}", "missing value for command"),
        ("{{$y}}", 'undefined variable "$y"'),
        ("{{if true}}{{$v := 1}}{{end}}{{$v}}", 'undefined variable "$v"'),
        ("{{/* x", "unclosed comment"),
        ('{{"abc}}', "unterminated quoted string"),
        ("{{(len .Id}}", "unclosed left paren"),
        ("{{break}}", "{{break}} outside {{range}}"),
        ("{{$a, $b := .Id}}", "too many declarations"),
        ("{{template \"x\"}}", "not supported"),
        ("{{.Id ~}}", "unexpected '~'"),
        ("{{" + "(" * 200 + "1" + ")" * 200 + "}}", "nested too deeply"),
        ("{{if 1}}" * 300 + "{{end}}" * 300, "{{if}} nested too deeply"),
        ("{{if 0}}" + "{{else if 0}}" * 300 + "{{end}}", "{{if}} nested too deeply"),
    ],
)
def test_parse_errors(template: str, message: str) -> None:
    with pytest.raises(TemplateParseError) as info:
        Template(template)
    assert message in str(info.value)


def test_go_values() -> None:
    assert go_string(1e6) == "1e+06"
    assert go_string(123456.7) == "123456.7"
    assert go_string(0.0001) == "0.0001"
    assert go_string(-2.5e-7) == "-2.5e-07"
    assert go_string({"a": None}) == "map[a:<nil>]"
    assert go_string([True, 1.0]) == "[true 1]"


def test_header_of_control_structures() -> None:
    tpl = Template("table {{.ID}}\t{{if .Names}}{{.Names}}{{end}}\t{{$x := .ID}}{{json .Labels}}")
    assert tpl.header({"ID": "CONTAINER ID"}) == "CONTAINER ID\tNAMES\tLABELS"
