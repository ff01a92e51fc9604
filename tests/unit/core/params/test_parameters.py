"""The pure Parameter Store core: names, references, labels, values, tiers, filters,
policies and the SecureString envelope."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta

import pytest

from cofre.core.kms.context import canonical_context
from cofre.core.params.envelope import open_envelope, parse_envelope, seal_envelope
from cofre.core.params.filters import Field, Operation, Option, check_filters, legacy_terms
from cofre.core.params.parameters import (
    INVALID_NAME,
    ParameterType,
    ParamId,
    Tier,
    canonical_name,
    canonical_path,
    check_allowed_pattern,
    check_data_type,
    check_new_name,
    check_value,
    is_valid_label,
    parameter_arn,
    parent_path,
    parse_reference,
    path_arn,
)
from cofre.core.params.policies import describe_policies, encode_policies, parse_policies
from cofre.core.params.tiers import check_tags, choose_tier
from cofre.errors import (
    AccessDeniedError,
    HierarchyLevelLimitExceededError,
    IncompatiblePolicyError,
    InvalidAllowedPatternError,
    InvalidCiphertextError,
    InvalidFilterKeyError,
    InvalidFilterOptionError,
    InvalidFilterValueError,
    InvalidPolicyAttributeError,
    InvalidPolicyTypeError,
    ParameterPatternMismatchError,
    PoliciesLimitExceededError,
    TooManyTagsError,
    ValidationError,
)

REGION, ACCOUNT = "us-east-1", "111122223333"
NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def pid(name: str) -> ParamId:
    return ParamId(ACCOUNT, REGION, name)


# names -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("foo", "foo"),
        ("/foo", "foo"),  # a single-level name is stored without its slash, as AWS does
        ("  /foo ", "foo"),
        ("/a/b/c", "/a/b/c"),
        ("/A-1/b_2/c.3", "/A-1/b_2/c.3"),
        ("a.b-c_D9", "a.b-c_D9"),
    ],
)
def test_canonical_names(raw: str, canonical: str) -> None:
    assert canonical_name(raw) == canonical


@pytest.mark.parametrize(
    "raw", ["", " ", "a/b", "/a//b", "/a/b/", "/", "a b", "/a/b c", "na:me", "é", "a\tb"]
)
def test_malformed_names(raw: str) -> None:
    with pytest.raises(ValidationError) as exc:
        canonical_name(raw)
    assert exc.value.message == INVALID_NAME


def test_arns_and_paths() -> None:
    assert parameter_arn(REGION, ACCOUNT, "/a/b") == (
        "arn:aws:ssm:us-east-1:111122223333:parameter/a/b"
    )
    assert (
        parameter_arn(REGION, ACCOUNT, "foo") == "arn:aws:ssm:us-east-1:111122223333:parameter/foo"
    )
    assert path_arn(REGION, ACCOUNT, "/") == "arn:aws:ssm:us-east-1:111122223333:parameter/"
    assert parent_path("/a/b/c") == "/a/b/"
    assert parent_path("foo") == "/"
    assert canonical_path("/a/b") == canonical_path("/a/b/") == "/a/b/"
    assert canonical_path("/") == "/"
    for bad in ("a", "a/b", "/a//b", "//", ""):
        with pytest.raises(ValidationError):
            canonical_path(bad)
    with pytest.raises(HierarchyLevelLimitExceededError):
        canonical_path("/" + "/".join("l" * 16))
    assert canonical_path("/" + "/".join("l" * 15)) == "/" + "/".join("l" * 15) + "/"


def test_new_names_reserved_levels_and_length() -> None:
    for name in ("awsfoo", "AWS", "ssm-x", "SsM"):
        with pytest.raises(ValidationError, match='"aws" or "ssm"'):
            check_new_name(pid(name))
    with pytest.raises(AccessDeniedError, match="reserved parameter name: /aws/x"):
        check_new_name(pid("/aws/x"))
    with pytest.raises(ValidationError):
        check_new_name(pid("/SSM/x"))
    check_new_name(pid("/" + "/".join(f"l{i}" for i in range(15))))
    with pytest.raises(HierarchyLevelLimitExceededError, match="15 levels"):
        check_new_name(pid("/" + "/".join(f"l{i}" for i in range(16))))
    prefix = len(parameter_arn(REGION, ACCOUNT, ""))
    check_new_name(pid("/" + "x" * (1011 - prefix)))
    with pytest.raises(ValidationError, match="1011"):
        check_new_name(pid("/" + "x" * (1012 - prefix)))


def test_references() -> None:
    ref = parse_reference("/a/b:3", allow_arn=True, allow_selector=True)
    assert (ref.name, ref.version, ref.label, ref.selector) == ("/a/b", 3, None, ":3")
    ref = parse_reference("foo:Prod_1", allow_arn=True, allow_selector=True)
    assert (ref.name, ref.label, ref.selector) == ("foo", "Prod_1", ":Prod_1")
    arn = "arn:aws:ssm:eu-west-1:444455556666:parameter/a/b:lbl"
    ref = parse_reference(arn, allow_arn=True, allow_selector=True)
    assert (ref.name, ref.region, ref.account_id, ref.label) == (
        "/a/b",
        "eu-west-1",
        "444455556666",
        "lbl",
    )
    ref = parse_reference(
        "arn:aws:ssm:us-east-1:111122223333:parameter/foo", allow_arn=True, allow_selector=False
    )
    assert ref.name == "foo"
    for bad in ("foo:", "foo:a:b", "foo:a b", "arn:aws:kms:us-east-1:1:key/x"):
        with pytest.raises(ValidationError):
            parse_reference(bad, allow_arn=True, allow_selector=True)
    with pytest.raises(ValidationError):
        parse_reference("foo:1", allow_arn=True, allow_selector=False)


@pytest.mark.parametrize(
    ("label", "valid"),
    [
        ("Prod", True),
        ("a.b-c_d", True),
        ("x" * 100, True),
        ("x" * 101, False),
        ("1abc", False),
        ("aws-x", False),
        ("AWSx", False),
        ("ssm", False),
        ("Ssm1", False),
        ("a b", False),
        ("a/b", False),
        ("", False),
    ],
)
def test_labels(label: str, valid: bool) -> None:
    assert is_valid_label(label) is valid


# values, patterns, data types, tiers, tags ---------------------------------------------------
def test_values() -> None:
    assert check_value("é" * 2048, 4096, Tier.STANDARD) == ("é" * 2048).encode()
    with pytest.raises(ValidationError, match="Standard tier parameters support a maximum"):
        check_value("é" * 2049, 4096, Tier.STANDARD)  # limits count bytes
    with pytest.raises(ValidationError, match="Advanced tier"):
        check_value("x" * 8193, 8192, Tier.ADVANCED)
    with pytest.raises(ValidationError, match="greater than or equal to 1"):
        check_value("", 4096, Tier.STANDARD)
    with pytest.raises(ValidationError, match="nest another parameter"):
        check_value("a {{ssm:/x}} b", 4096, Tier.STANDARD)


def test_allowed_patterns_match_the_whole_value() -> None:
    check_allowed_pattern(r"\d{1,4}", "1000")
    with pytest.raises(ParameterPatternMismatchError) as exc:
        check_allowed_pattern(r"\d{1,4}", "10,000")  # AWS's own example
    assert "10,000" not in exc.value.message
    with pytest.raises(InvalidAllowedPatternError):
        check_allowed_pattern("([a-", "x")


def test_data_types() -> None:
    check_data_type("text", ParameterType.SECURE_STRING, "anything")
    check_data_type("aws:ec2:image", ParameterType.STRING, "ami-0123456789abcdef0")
    check_data_type("aws:ec2:image", ParameterType.STRING, "ami-12345678")
    for bad in ("ami-1234567", "ami-0123456789ABCDEF0", "img-12345678", "ami-" + "a" * 18):
        with pytest.raises(ValidationError, match="not a valid image ID"):
            check_data_type("aws:ec2:image", ParameterType.STRING, bad)
    with pytest.raises(ValidationError, match="String parameters only"):
        check_data_type("aws:ec2:image", ParameterType.STRING_LIST, "ami-12345678")
    with pytest.raises(ValidationError, match="not supported"):
        check_data_type("Text", ParameterType.STRING, "x")


@pytest.mark.parametrize(
    ("requested", "size", "policies", "current", "full", "tier"),
    [
        (None, 10, False, None, False, Tier.STANDARD),
        (None, 10, False, Tier.ADVANCED, False, Tier.ADVANCED),
        (Tier.ADVANCED, 10, False, None, False, Tier.ADVANCED),
        (Tier.STANDARD, 10, False, None, False, Tier.STANDARD),
        (Tier.INTELLIGENT_TIERING, 4096, False, None, False, Tier.STANDARD),
        (Tier.INTELLIGENT_TIERING, 4097, False, None, False, Tier.ADVANCED),
        (Tier.INTELLIGENT_TIERING, 10, True, None, False, Tier.ADVANCED),
        (Tier.INTELLIGENT_TIERING, 10, False, None, True, Tier.ADVANCED),
        (Tier.INTELLIGENT_TIERING, 10, False, Tier.STANDARD, True, Tier.STANDARD),
        (Tier.INTELLIGENT_TIERING, 10, False, Tier.ADVANCED, False, Tier.ADVANCED),
    ],
)
def test_tiers(
    requested: Tier | None,
    size: int,
    policies: bool,
    current: Tier | None,
    full: bool,
    tier: Tier,
) -> None:
    assert choose_tier(requested, size, policies, current, full) is tier


def test_no_downgrade_and_tags() -> None:
    with pytest.raises(ValidationError, match="can't downgrade"):
        choose_tier(Tier.STANDARD, 1, False, Tier.ADVANCED, False)
    check_tags({f"k{i}": "" for i in range(40)}, {f"n{i}": "" for i in range(10)})
    with pytest.raises(TooManyTagsError):
        check_tags({f"k{i}": "" for i in range(40)}, {f"n{i}": "" for i in range(11)})
    with pytest.raises(ValidationError, match="aws:"):
        check_tags({}, {"AWS:x": "y"})


# filters ----------------------------------------------------------------------------------
def test_filters_become_terms() -> None:
    terms = check_filters(
        [
            {"Key": "Name", "Option": "BeginsWith", "Values": ["/app/x", "fo"]},
            {"Key": "Path", "Option": "Recursive", "Values": ["/app"]},
            {"Key": "tag:env", "Values": ["prod"]},
            {"Key": "tag:team"},
            {"Key": "Type", "Values": ["SecureString"]},
        ],
        Operation.DESCRIBE,
    )
    name, path, tag, tag_exists, type_ = terms
    assert name.field is Field.NAME and name.values == ("/app/x", "/fo", "fo")
    assert path.option is Option.RECURSIVE and path.values == ("/app/",)
    assert (tag.tag_key, tag.option, tag.values) == ("env", Option.EQUALS, ("prod",))
    assert (tag_exists.tag_key, tag_exists.option) == ("team", Option.EXISTS)
    assert type_.values == ("SecureString",)
    (equals,) = check_filters([{"Key": "Name", "Values": ["/foo"]}], Operation.DESCRIBE)
    assert equals.values == ("foo",)
    (legacy,) = legacy_terms([{"Key": "Name", "Values": ["/a"]}])
    assert legacy.option is Option.BEGINS_WITH


@pytest.mark.parametrize(
    ("filters", "operation", "error", "message"),
    [
        (
            [{"Key": "Label", "Values": ["x"]}],
            Operation.DESCRIBE,
            InvalidFilterKeyError,
            "The following filter key is not valid: Label",
        ),
        (
            [{"Key": "Path", "Values": ["/x"]}],
            Operation.BY_PATH,
            InvalidFilterKeyError,
            "Valid filter keys include: [Type, KeyId, Label]",
        ),
        ([{"Key": "tag:x", "Values": ["x"]}], Operation.BY_PATH, InvalidFilterKeyError, "tag:x"),
        (
            [{"Key": "KeyId", "Values": ["a"]}, {"Key": "KeyId", "Values": ["b"]}],
            Operation.DESCRIBE,
            InvalidFilterKeyError,
            "duplicated",
        ),
        (
            [{"Key": "Type"}],
            Operation.DESCRIBE,
            InvalidFilterValueError,
            "The following filter values are missing : null for filter key Type.",
        ),
        (
            [{"Key": "Type", "Values": ["Text"]}],
            Operation.DESCRIBE,
            InvalidFilterValueError,
            "Valid values include: [String, StringList, SecureString]",
        ),
        (
            [{"Key": "Tier", "Values": ["Basic"]}],
            Operation.DESCRIBE,
            InvalidFilterValueError,
            "Basic",
        ),
        (
            [{"Key": "Label", "Option": "BeginsWith", "Values": ["x"]}],
            Operation.BY_PATH,
            InvalidFilterOptionError,
            "Valid options include: [Equals]",
        ),
        (
            [{"Key": "Path", "Option": "Equals", "Values": ["/x"]}],
            Operation.DESCRIBE,
            InvalidFilterOptionError,
            "[OneLevel, Recursive]",
        ),
        (
            [{"Key": "Path", "Values": ["/aws/x"]}],
            Operation.DESCRIBE,
            ValidationError,
            "common parameters",
        ),
        (
            [{"Key": "Path", "Values": ["x/y"]}],
            Operation.DESCRIBE,
            ValidationError,
            "forward slash",
        ),
    ],
)
def test_filter_errors(
    filters: list[dict[str, object]], operation: Operation, error: type[Exception], message: str
) -> None:
    with pytest.raises(error) as exc:
        check_filters(filters, operation)
    assert message in str(exc.value)


# policies ---------------------------------------------------------------------------------
def policy(type_: str, **attributes: str) -> dict[str, object]:
    return {"Type": type_, "Version": "1.0", "Attributes": attributes}


def test_policies() -> None:
    later = (NOW + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    document = [
        policy("Expiration", Timestamp=later),
        policy("ExpirationNotification", Before="15", Unit="Days"),
        policy("NoChangeNotification", After="20", Unit="Hours"),
    ]
    parsed = parse_policies(json.dumps(document), NOW)
    stored = encode_policies(parsed)
    assert stored is not None
    described = describe_policies(stored)
    assert [d["PolicyType"] for d in described] == [
        "Expiration",
        "ExpirationNotification",
        "NoChangeNotification",
    ]
    assert json.loads(described[0]["PolicyText"]) == document[0]
    assert {d["PolicyStatus"] for d in described} == {"Pending"}
    assert encode_policies(parse_policies("[]", NOW)) is None
    assert describe_policies(None) == []


@pytest.mark.parametrize(
    ("document", "error"),
    [
        ("not json", ValidationError),
        ('{"Type": "Expiration"}', ValidationError),
        (json.dumps([policy("Rotation", After="1", Unit="Days")]), InvalidPolicyTypeError),
        (
            json.dumps([policy("NoChangeNotification", After="x", Unit="Days")]),
            InvalidPolicyAttributeError,
        ),
        (
            json.dumps([policy("NoChangeNotification", After="1", Unit="Weeks")]),
            InvalidPolicyAttributeError,
        ),
        (json.dumps([policy("NoChangeNotification", After="1")]), InvalidPolicyAttributeError),
        (
            json.dumps([policy("Expiration", Timestamp="2020-01-01T00:00:00Z")]),
            InvalidPolicyAttributeError,
        ),
        (json.dumps([policy("Expiration", Timestamp="tomorrow")]), InvalidPolicyAttributeError),
        (
            json.dumps([policy("NoChangeNotification", After="1", Unit="Days")] * 2),
            IncompatiblePolicyError,
        ),
        (
            json.dumps([policy("ExpirationNotification", Before="1", Unit="Days")]),
            IncompatiblePolicyError,
        ),
        (
            json.dumps([policy("NoChangeNotification", After="1", Unit="Days")] * 11),
            PoliciesLimitExceededError,
        ),
    ],
)
def test_policy_errors(document: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        parse_policies(document, NOW)


# the envelope -----------------------------------------------------------------------------
def test_envelope_round_trip_and_tampering() -> None:
    data_key, wrapped = os.urandom(32), b"\x01" + os.urandom(108)
    context = {"PARAMETER_ARN": parameter_arn(REGION, ACCOUNT, "/a/b")}
    plaintext = os.urandom(6000)
    sealed = seal_envelope(data_key, wrapped, plaintext, context, os.urandom)
    assert sealed[0] == 0x01 and sealed[1:3] == len(wrapped).to_bytes(2, "big")
    assert sealed[3 : 3 + len(wrapped)] == wrapped
    assert len(sealed) == 3 + len(wrapped) + 12 + len(plaintext) + 16
    envelope = parse_envelope(sealed)
    assert envelope.encrypted_key == wrapped
    assert open_envelope(envelope, data_key, context) == plaintext
    other = {"PARAMETER_ARN": parameter_arn(REGION, ACCOUNT, "/a/c")}
    with pytest.raises(InvalidCiphertextError):
        open_envelope(envelope, data_key, other)  # bound to its parameter
    for i in (0, 2, 10, len(sealed) - 1):
        tampered = bytearray(sealed)
        tampered[i] ^= 0x01
        with pytest.raises(InvalidCiphertextError):
            open_envelope(parse_envelope(bytes(tampered)), data_key, context)
    for broken in (b"", b"\x01", b"\x02" + sealed[1:], sealed[:40]):
        with pytest.raises(InvalidCiphertextError):
            open_envelope(parse_envelope(broken), data_key, context)
    assert canonical_context(context)  # the associated data includes the context
