"""Parsing and validation: what AWS accepts, what it rejects (and that the message says
where), and hypothesis fuzzing: any input is accepted or raises
MalformedPolicyDocumentError, nothing else."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cofre.core.kms.default_policy import aws_managed_key_policy, default_key_policy
from cofre.core.policy import Effect, PolicyKind, parse_policy
from cofre.errors import MalformedPolicyDocumentError

OK = {"Effect": "Allow", "Principal": "*", "Action": "kms:*", "Resource": "*"}


def with_statement(**changes: Any) -> dict[str, Any]:
    statement = {k: v for k, v in {**OK, **changes}.items() if v is not None}
    return {"Version": "2012-10-17", "Statement": [statement]}


# (id, document (dict or raw text), kind, fragment expected in the message)
MALFORMED: list[tuple[str, Any, PolicyKind, str]] = [
    ("not JSON", "{", PolicyKind.KEY, "not valid JSON"),
    ("JSON array", "[]", PolicyKind.KEY, "JSON object"),
    ("NaN", '{"Statement": NaN}', PolicyKind.KEY, "NaN"),
    ("duplicate element", '{"Statement": [], "Statement": []}', PolicyKind.KEY, "duplicate"),
    ("bad Version", {"Version": "2013-01-01", "Statement": [OK]}, PolicyKind.KEY, "Version"),
    ("unknown top-level", {"Statement": [OK], "Extra": 1}, PolicyKind.KEY, "'Extra'"),
    ("no Statement", {"Version": "2012-10-17"}, PolicyKind.KEY, "Statement"),
    ("empty Statement list", {"Statement": []}, PolicyKind.KEY, "Statement"),
    ("Statement is a string", {"Statement": "x"}, PolicyKind.KEY, "Statement"),
    ("Id not a string", {"Id": 5, "Statement": [OK]}, PolicyKind.KEY, "Id"),
    ("missing Effect", with_statement(Effect=None), PolicyKind.KEY, "Effect"),
    ("lower-case Effect", with_statement(Effect="allow"), PolicyKind.KEY, "Effect"),
    ("missing Action", with_statement(Action=None), PolicyKind.KEY, "Action or NotAction"),
    (
        "Action and NotAction",
        with_statement(NotAction="kms:Decrypt"),
        PolicyKind.KEY,
        "exactly one",
    ),
    ("missing Resource", with_statement(Resource=None), PolicyKind.KEY, "Resource"),
    ("Resource and NotResource", with_statement(NotResource="*"), PolicyKind.KEY, "exactly one"),
    ("key policy without Principal", with_statement(Principal=None), PolicyKind.KEY, "Principal"),
    ("Principal and NotPrincipal", with_statement(NotPrincipal="*"), PolicyKind.KEY, "exactly one"),
    ("identity policy with Principal", with_statement(), PolicyKind.IDENTITY, "identity-based"),
    (
        "NotPrincipal with Allow",
        with_statement(Principal=None, NotPrincipal={"AWS": "111122223333"}),
        PolicyKind.KEY,
        "Deny",
    ),
    ("unknown principal type", with_statement(Principal={"Users": "x"}), PolicyKind.KEY, "'Users'"),
    ("invalid AWS principal", with_statement(Principal={"AWS": "alice"}), PolicyKind.KEY, "alice"),
    ("empty Principal object", with_statement(Principal={}), PolicyKind.KEY, "Principal"),
    ("Action not a string", with_statement(Action=5), PolicyKind.KEY, "Action"),
    ("Action empty list", with_statement(Action=[]), PolicyKind.KEY, "Action"),
    ("Action without service", with_statement(Action="Encrypt"), PolicyKind.KEY, "'Encrypt'"),
    ("Resource not an ARN", with_statement(Resource="key/1"), PolicyKind.KEY, "key/1"),
    ("unknown statement element", with_statement(Actions="kms:*"), PolicyKind.KEY, "'Actions'"),
    ("Sid not a string", with_statement(Sid=1), PolicyKind.KEY, "Sid"),
    (
        "duplicate Sid",
        {"Statement": [{**OK, "Sid": "a"}, {**OK, "Sid": "a"}]},
        PolicyKind.KEY,
        "unique",
    ),
    ("statement not an object", {"Statement": ["x"]}, PolicyKind.KEY, "Statement[0]"),
    ("Condition not an object", with_statement(Condition=[]), PolicyKind.KEY, "Condition"),
    (
        "unknown operator",
        with_statement(Condition={"StringEqualz": {"a:b": "c"}}),
        PolicyKind.KEY,
        "StringEqualz",
    ),
    (
        "unknown set operator",
        with_statement(Condition={"ForSome:StringEquals": {"a:b": "c"}}),
        PolicyKind.KEY,
        "ForSome",
    ),
    (
        "operator block not object",
        with_statement(Condition={"StringEquals": "x"}),
        PolicyKind.KEY,
        "StringEquals",
    ),
    (
        "nested condition value",
        with_statement(Condition={"StringEquals": {"a:b": {"c": "d"}}}),
        PolicyKind.KEY,
        "a:b",
    ),
    (
        "null condition value",
        with_statement(Condition={"StringEquals": {"a:b": None}}),
        PolicyKind.KEY,
        "a:b",
    ),
    (
        "bad number",
        with_statement(Condition={"NumericLessThan": {"a:n": "ten"}}),
        PolicyKind.KEY,
        "number",
    ),
    (
        "bad date",
        with_statement(Condition={"DateLessThan": {"aws:CurrentTime": "tomorrow"}}),
        PolicyKind.KEY,
        "date",
    ),
    (
        "bad CIDR",
        with_statement(Condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/33"}}),
        PolicyKind.KEY,
        "CIDR",
    ),
    (
        "bad Bool",
        with_statement(Condition={"Bool": {"aws:SecureTransport": "yes"}}),
        PolicyKind.KEY,
        "true or false",
    ),
    (
        "bad Null",
        with_statement(Condition={"Null": {"a:b": "maybe"}}),
        PolicyKind.KEY,
        "true or false",
    ),
    (
        "bad base64",
        with_statement(Condition={"BinaryEquals": {"a:b": "!!"}}),
        PolicyKind.KEY,
        "base64",
    ),
    (
        "Null with IfExists",
        with_statement(Condition={"NullIfExists": {"a:b": "true"}}),
        PolicyKind.KEY,
        "Null",
    ),
    (
        "bad variable default",
        with_statement(Resource="arn:aws:kms:*:*:key/${aws:username, x}"),
        PolicyKind.KEY,
        "default",
    ),
    ("key policy over 32 KB", {"Statement": [OK], "Id": "x" * 33000}, PolicyKind.KEY, "32768"),
    (
        "identity policy over 6144 chars",
        {"Statement": [{**OK, "Principal": None, "Sid": "s" * 6200}]},
        PolicyKind.IDENTITY,
        "6144",
    ),
]


@pytest.mark.parametrize(
    ("document", "kind", "fragment"),
    [pytest.param(d, k, f, id=name) for name, d, k, f in MALFORMED],
)
def test_malformed(document: Any, kind: PolicyKind, fragment: str) -> None:
    text = document if isinstance(document, str) else json.dumps(document)
    with pytest.raises(MalformedPolicyDocumentError) as info:
        parse_policy(text, kind)
    assert fragment in info.value.message


def test_message_names_the_statement() -> None:
    document = {"Statement": [OK, {**OK, "Sid": "Second", "Effect": "Maybe"}]}
    with pytest.raises(MalformedPolicyDocumentError, match=r"Statement\[1\] \(Sid 'Second'\)"):
        parse_policy(json.dumps(document))


@pytest.mark.parametrize(
    "text",
    [
        default_key_policy("111122223333"),
        aws_managed_key_policy("111122223333", "eu-west-1", "ssm"),
        json.dumps({"Statement": OK}),
        json.dumps(
            with_statement(Principal={"AWS": ["111122223333", "arn:aws:iam::444455556666:root"]})
        ),
        json.dumps(with_statement(Principal={"Service": ["logs.amazonaws.com"]})),
        json.dumps(with_statement(Principal={"Federated": "cognito-identity.amazonaws.com"})),
        json.dumps(
            with_statement(Effect="Deny", Principal=None, NotPrincipal={"AWS": "111122223333"})
        ),
        json.dumps(with_statement(Action=["kms:Encrypt", "kms:Re*", "kms:?escribeKey"])),
        json.dumps(
            with_statement(
                Condition={"ForAllValues:StringEquals": {"kms:EncryptionContextKeys": []}}
            )
        ),
        json.dumps(
            with_statement(Condition={"NumericLessThan": {"a:n": 5}, "Bool": {"a:b": True}})
        ),
    ],
)
def test_accepts(text: str) -> None:
    policy = parse_policy(text)
    assert policy.statements
    assert all(s.effect in (Effect.ALLOW, Effect.DENY) for s in policy.statements)


def test_policy_is_immutable_and_typed() -> None:
    policy = parse_policy(default_key_policy("111122223333"))
    assert policy.version == "2012-10-17"
    assert policy.id == "key-default-1"
    with pytest.raises(AttributeError):
        policy.version = "x"  # type: ignore[misc]


def test_version_defaults_to_2008() -> None:
    assert parse_policy(json.dumps({"Statement": OK})).version == "2008-10-17"


def test_bytes_input() -> None:
    assert parse_policy(default_key_policy("111122223333").encode()).statements


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=30,
)
element_names = st.sampled_from(
    [
        "Version",
        "Id",
        "Statement",
        "Sid",
        "Effect",
        "Principal",
        "NotPrincipal",
        "Action",
        "NotAction",
        "Resource",
        "NotResource",
        "Condition",
        "AWS",
        "Service",
        "StringEquals",
        "ForAnyValue:StringLike",
        "NumericLessThanIfExists",
        "IpAddress",
        "Null",
        "Allow",
        "Deny",
        "kms:*",
        "*",
        "2012-10-17",
        "arn:aws:iam::111122223333:root",
        "aws:SourceIp",
    ]
)
policy_like = st.recursive(
    st.none() | st.booleans() | st.integers() | element_names | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(element_names | st.text(max_size=6), children, max_size=5)
    ),
    max_leaves=40,
)


def _parse_or_reject(text: str, kind: PolicyKind) -> None:
    try:
        parse_policy(text, kind)
    except MalformedPolicyDocumentError:
        pass


@settings(max_examples=300, deadline=None)
@given(json_values, st.sampled_from(list(PolicyKind)))
def test_fuzz_arbitrary_json(value: Any, kind: PolicyKind) -> None:
    _parse_or_reject(json.dumps(value), kind)


@settings(max_examples=500, deadline=None)
@given(policy_like, st.sampled_from(list(PolicyKind)))
def test_fuzz_policy_shaped_json(value: Any, kind: PolicyKind) -> None:
    _parse_or_reject(json.dumps({"Version": "2012-10-17", "Statement": value}), kind)
    _parse_or_reject(json.dumps(value), kind)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_fuzz_arbitrary_text(text: str) -> None:
    _parse_or_reject(text, PolicyKind.KEY)


def test_deep_nesting_is_rejected_not_crashing() -> None:
    with pytest.raises(MalformedPolicyDocumentError):
        parse_policy("[" * 16000 + "]" * 16000, PolicyKind.KEY)
