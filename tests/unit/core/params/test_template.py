"""Dynamic references in templates (core.params_template): CloudFormation's syntax."""

from __future__ import annotations

import pytest

from cofre.core.params.template import (
    ParamKey,
    TemplateSyntaxError,
    parse_template,
    substitute,
)
from cofre.errors import ValidationError


def keys(text: str) -> list[ParamKey]:
    return [r.key for r in parse_template(text)]


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("{{resolve:ssm:name}}", ParamKey("name", None, secure=False)),
        ("{{resolve:ssm:/flat}}", ParamKey("flat", None, secure=False)),  # /flat is flat
        ("{{resolve:ssm:/a/b.c/d_e-f}}", ParamKey("/a/b.c/d_e-f", None, secure=False)),
        ("{{resolve:ssm:/a/b:3}}", ParamKey("/a/b", 3, secure=False)),
        ("{{resolve:ssm:/a/b:03}}", ParamKey("/a/b", 3, secure=False)),
        ("{{resolve:ssm-secure:/db/password}}", ParamKey("/db/password", None, secure=True)),
        ("{{resolve:ssm-secure:pw:12}}", ParamKey("pw", 12, secure=True)),
        ("{{resolve:ssm:x:999999999999999999}}", ParamKey("x", 10**18 - 1, secure=False)),
    ],
)
def test_valid_references(text: str, key: ParamKey) -> None:
    [ref] = parse_template(text)
    assert ref.key == key
    assert (ref.start, ref.end, ref.line, ref.column) == (0, len(text), 1, 1)


def test_selector_and_name_as_written() -> None:
    [a, b] = parse_template("{{resolve:ssm:/flat:2}} {{resolve:ssm-secure:/a/b}}")
    assert (a.key.selector, a.name, a.key.service) == ("flat:2", "/flat", "ssm")
    assert (b.key.selector, b.name, b.key.service) == ("/a/b", "/a/b", "ssm-secure")


def test_positions_lines_and_columns() -> None:
    text = "a: 1\r\nb: {{resolve:ssm:x}} and {{resolve:ssm:y:2}}\n\nc: {{resolve:ssm-secure:z}}"
    refs = parse_template(text)
    assert [(r.line, r.column) for r in refs] == [(2, 4), (2, 26), (4, 4)]
    assert [text[r.start : r.end] for r in refs] == [
        "{{resolve:ssm:x}}",
        "{{resolve:ssm:y:2}}",
        "{{resolve:ssm-secure:z}}",
    ]


def test_substitution_keeps_everything_else() -> None:
    text = "\ufeffé {{resolve:ssm:x}}\r\n{{ not a ref }} {resolve:ssm:x} {{resolve:ssm:x}}}"
    refs = parse_template(text)
    out = substitute(text, refs, {ParamKey("x", None, secure=False): "V,W"})
    assert out == "\ufeffé V,W\r\n{{ not a ref }} {resolve:ssm:x} V,W}"
    assert substitute("plain", [], {}) == "plain"
    assert parse_template("") == []


def test_values_are_not_parsed_again() -> None:
    text = "{{resolve:ssm:a}}{{resolve:ssm:b}}"
    a, b = ParamKey("a", None, secure=False), ParamKey("b", None, secure=False)
    out = substitute(text, parse_template(text), {a: "{{resolve:ssm:b}}", b: "B"})
    assert out == "{{resolve:ssm:b}}B"


def test_duplicates_share_a_key() -> None:
    found = keys(
        "{{resolve:ssm:/x}} {{resolve:ssm:x}} {{resolve:ssm:x:1}} {{resolve:ssm-secure:x}}"
    )
    assert len(set(found)) == 3
    assert found[0] == found[1]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("{{resolve:ssm:}}", "no parameter name"),
        ("{{resolve:ssm-secure:}}", "no parameter name"),
        ("{{resolve:ssm}}", "no parameter name"),
        ("{{resolve:}}", "unsupported service ''"),
        ("{{resolve:secretsmanager:MySecret}}", "unsupported service 'secretsmanager'"),
        ("{{resolve:SSM:x}}", "unsupported service 'SSM'"),
        ("{{resolve:ssm:/a/b:prod}}", "the version must be a number (labels are not supported)"),
        ("{{resolve:ssm:/a/b:}}", "empty version"),
        ("{{resolve:ssm:/a/b:0}}", "versions start at 1"),
        ("{{resolve:ssm:/a/b:-1}}", "the version must be a number"),
        ("{{resolve:ssm:/a/b:1:2}}", "the version must be a number"),
        ("{{resolve:ssm:x:1234567890123456789}}", "version number too large"),
        ("{{resolve:ssm:/a b}}", "the parameter name may hold only"),
        ("{{resolve:ssm: /a}}", "the parameter name may hold only"),
        ("{{resolve:ssm:/a$}}", "the parameter name may hold only"),
        ("{{resolve:ssm:a/b}}", "not a parameter name"),
        ("{{resolve:ssm:/a/}}", "not a parameter name"),
        ("{{resolve:ssm://a}}", "not a parameter name"),
        ("{{resolve:ssm:/}}", "not a parameter name"),
        ("{{resolve:ssm:" + "/a" * 16 + "}}", "a hierarchy can have at most 15 levels"),
        ("{{resolve:ssm:arn:aws:ssm:us-east-1:111122223333:parameter/x}}", "ARNs"),
        ("{{resolve:ssm:/a", "unterminated reference"),
        ("{{resolve:ssm:/a\n}}", "unterminated reference"),
    ],
)
def test_malformed_references(text: str, problem: str) -> None:
    with pytest.raises(TemplateSyntaxError) as exc:
        parse_template(f"ok\n  {text}\n")
    assert (exc.value.line, exc.value.column) == (2, 3)
    assert exc.value.message.startswith(f"line 2, column 3: {problem}")
    assert isinstance(exc.value, ValidationError)


def test_the_first_bad_reference_is_reported_and_quoted_briefly() -> None:
    text = "{{resolve:ssm:good}}\n{{resolve:ssm:" + "x" * 200 + "?}} {{resolve:ssm:}}"
    with pytest.raises(TemplateSyntaxError) as exc:
        parse_template(text)
    assert exc.value.line == 2
    assert exc.value.message.endswith("x" * 66 + "...")
    assert len(exc.value.message) < 200
