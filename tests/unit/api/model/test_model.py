"""Input decoding and validation from botocore's models, and response encoding."""

from __future__ import annotations

import base64
import random
from collections.abc import Mapping
from datetime import UTC, datetime
from enum import Enum
from typing import Any

import botocore.model
import botocore.parsers
import orjson
import pytest
from botocore.loaders import Loader
from hypothesis import given, settings
from hypothesis import strategies as st

from cofre.api.model.service import (
    MAX_ECHO_CHARS,
    OperationModel,
    ServiceModel,
    compile_pattern,
    encode_output,
)
from cofre.errors import SerializationError, UnknownOperationError, ValidationError

SERVICES = ("kms", "ssm")


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def body(**members: Any) -> bytes:
    return orjson.dumps(members)


def kms(operation: str) -> OperationModel:
    return ServiceModel.load("kms").operation(operation)


def ssm(operation: str) -> OperationModel:
    return ServiceModel.load("ssm").operation(operation)


def one(message: str) -> str:
    return f"1 validation error detected: {message}"


def synthetic(shapes: Mapping[str, Any]) -> OperationModel:
    """An operation "Op" taking shape "In" of a made-up service."""
    model = {
        "metadata": {"targetPrefix": "Test", "apiVersion": "2020-01-01"},
        "operations": {"Op": {"name": "Op", "input": {"shape": "In"}}},
        "shapes": shapes,
    }
    return ServiceModel("test", model).operation("Op")


# --------------------------------------------------------------------------- the models


def model_patterns() -> list[tuple[str, str, str]]:
    found = []
    for service in SERVICES:
        raw = Loader().load_service_model(service, "service-2")
        for name, shape in raw["shapes"].items():
            if "pattern" in shape:
                found.append((service, name, shape["pattern"]))
    return found


@pytest.mark.parametrize(("service", "shape", "pattern"), model_patterns())
def test_every_model_pattern_compiles(service: str, shape: str, pattern: str) -> None:
    compiled = compile_pattern(pattern)
    compiled.fullmatch("")  # usable, not just compiled


@pytest.mark.parametrize("service", SERVICES)
def test_every_operation_compiles(service: str) -> None:
    model = ServiceModel.load(service)
    model.compile_all()
    assert model.operation_names() >= {"Encrypt" if service == "kms" else "GetParameter"}


@pytest.mark.parametrize(
    ("pattern", "matching", "not_matching"),
    [
        # No anchors in the model, yet the whole value must match.
        (
            "[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+",
            ['{"Version": "2012-10-17"}\n', "é"],
            ["", "\u0100", "ok\u0100"],
        ),
        ("^[a-zA-Z0-9:/_-]+$", ["alias/my-key"], ["alias/my key", "alias/x\n", ""]),
        # Java's \p{..} categories.
        ("^([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)$", ["héllo wörld_1", "", "日本"], ["a!b", "\t"]),
        # Java reads "-" after \w in a class as a literal.
        (
            "^arn:aws[a-z0-9-]*:iam::\\d{12}:role\\/[\\w-\\/.@+=,]{1,1017}$",
            ["arn:aws:iam::123456789012:role/a-b/c.d"],
            ["arn:aws:iam::123456789012:role/é", "arn:aws:iam::12345678901:role/a"],
        ),
        ("(?i)all|[0-9]{12}", ["ALL", "all", "123456789012"], ["alls", "12"]),
        # Java's "." stops at every line terminator, \w/\s are ASCII.
        ("^.{1,128}$", ["x"], ["a\nb", "a\u2028b", "a\rb", ""]),
        ("\\w{16,128}", ["a" * 16], ["é" * 16]),
        ("[\\s\\S]*\\S[\\s\\S]*", [" x ", "\u00a0"], ["   ", "\t\n"]),
    ],
)
def test_pattern_semantics_follow_java(
    pattern: str, matching: list[str], not_matching: list[str]
) -> None:
    compiled = compile_pattern(pattern)
    for value in matching:
        assert compiled.fullmatch(value), value
    for value in not_matching:
        assert not compiled.fullmatch(value), value


def test_service_model_basics() -> None:
    model = ServiceModel.load("kms")
    assert ServiceModel.load("kms") is model
    assert model.target_prefix == "TrentService"
    assert ServiceModel.load("ssm").target_prefix == "AmazonSSM"
    assert {"Encrypt", "Decrypt", "CreateKey"} <= model.operation_names()
    assert {"NotFoundException", "InvalidCiphertextException"} <= model.error_shapes()
    assert "EncryptRequest" not in model.error_shapes()
    encrypt = model.operation("Encrypt")
    assert encrypt.name == "Encrypt"
    assert model.operation("Encrypt") is encrypt
    with pytest.raises(UnknownOperationError):
        model.operation("NoSuchThing")


# --------------------------------------------------------------------------- KMS table

PLAINTEXT_4096 = b64(b"p" * 4096)
PLAINTEXT_4097 = b64(b"p" * 4097)
LONG_KEY_ID = "k" * 2049

PLAINTEXT_TOO_LONG = (
    "Value at 'plaintext' failed to satisfy constraint: "
    "Member must have length less than or equal to 4096"
)
KEY_ID_NULL = "Value null at 'keyId' failed to satisfy constraint: Member must not be null"

GOOD: list[tuple[str, bytes, dict[str, Any]]] = [
    (
        "Encrypt",
        body(KeyId="alias/app", Plaintext=PLAINTEXT_4096),
        {"KeyId": "alias/app", "Plaintext": b"p" * 4096},
    ),
    (
        "Encrypt",
        body(
            KeyId="k",
            Plaintext=b64(b"\x00\xff"),
            EncryptionContext={"purpose": "test", "tenant": ""},
            GrantTokens=["token"],
            EncryptionAlgorithm="SYMMETRIC_DEFAULT",
            DryRun=False,
        ),
        {
            "KeyId": "k",
            "Plaintext": b"\x00\xff",
            "EncryptionContext": {"purpose": "test", "tenant": ""},
            "GrantTokens": ["token"],
            "EncryptionAlgorithm": "SYMMETRIC_DEFAULT",
            "DryRun": False,
        },
    ),
    # Unknown members are ignored, nulls are absent.
    (
        "Encrypt",
        body(KeyId="k", Plaintext="QQ==", Bogus={"x": [1]}, EncryptionContext=None, DryRun=None),
        {"KeyId": "k", "Plaintext": b"A"},
    ),
    ("GenerateRandom", b"", {}),
    ("GenerateRandom", b"{}", {}),
    ("GenerateRandom", b'{"NumberOfBytes": 1024}', {"NumberOfBytes": 1024}),
    ("GenerateRandom", b'{"NumberOfBytes": 1}', {"NumberOfBytes": 1}),
    (
        "Encrypt",
        body(KeyId="k", Plaintext="QQ==", DryRun=True),
        {"KeyId": "k", "Plaintext": b"A", "DryRun": True},
    ),
    (
        "CreateKey",
        body(Tags=[{"TagKey": "a", "TagValue": ""}], Policy='{"Version": "2012-10-17"}'),
        {"Tags": [{"TagKey": "a", "TagValue": ""}], "Policy": '{"Version": "2012-10-17"}'},
    ),
]


@pytest.mark.parametrize(("operation", "payload", "expected"), GOOD)
def test_good_kms_inputs(operation: str, payload: bytes, expected: dict[str, Any]) -> None:
    assert kms(operation).parse_input(payload) == expected


BAD: list[tuple[str, bytes, type[Exception], str]] = [
    (
        "Encrypt",
        body(KeyId="k", Plaintext=PLAINTEXT_4097),
        ValidationError,
        one(PLAINTEXT_TOO_LONG),
    ),
    (
        "Encrypt",
        body(KeyId="k", Plaintext=""),
        ValidationError,
        one(
            "Value at 'plaintext' failed to satisfy constraint: "
            "Member must have length greater than or equal to 1"
        ),
    ),
    ("Encrypt", body(Plaintext="QQ=="), ValidationError, one(KEY_ID_NULL)),
    ("Encrypt", body(KeyId=None, Plaintext="QQ=="), ValidationError, one(KEY_ID_NULL)),
    (
        "Encrypt",
        body(KeyId=LONG_KEY_ID, Plaintext="QQ=="),
        ValidationError,
        one(
            f"Value '{LONG_KEY_ID}' at 'keyId' failed to satisfy constraint: "
            "Member must have length less than or equal to 2048"
        ),
    ),
    # Several violations, reported in model order whatever the body's order.
    (
        "Encrypt",
        body(Plaintext=PLAINTEXT_4097),
        ValidationError,
        f"2 validation errors detected: {KEY_ID_NULL}; {PLAINTEXT_TOO_LONG}",
    ),
    (
        "Encrypt",
        b"",
        ValidationError,
        "2 validation errors detected: "
        f"{KEY_ID_NULL}; "
        "Value null at 'plaintext' failed to satisfy constraint: Member must not be null",
    ),
    (
        "GenerateRandom",
        b'{"NumberOfBytes": 0}',
        ValidationError,
        one(
            "Value '0' at 'numberOfBytes' failed to satisfy constraint: "
            "Member must have value greater than or equal to 1"
        ),
    ),
    (
        "GenerateRandom",
        b'{"NumberOfBytes": 1025}',
        ValidationError,
        one(
            "Value '1025' at 'numberOfBytes' failed to satisfy constraint: "
            "Member must have value less than or equal to 1024"
        ),
    ),
    (
        "GenerateRandom",
        b'{"NumberOfBytes": "10"}',
        SerializationError,
        "STRING_VALUE can not be converted to an Integer",
    ),
    (
        "GenerateRandom",
        b'{"NumberOfBytes": true}',
        SerializationError,
        "TRUE_VALUE can not be converted to an Integer",
    ),
    (
        "GenerateRandom",
        b'{"NumberOfBytes": [10]}',
        SerializationError,
        "Start of list found where not expected",
    ),
    (
        "GenerateRandom",
        b'{"NumberOfBytes": {"n": 10}}',
        SerializationError,
        "Start of structure or map found where not expected.",
    ),
    ("GenerateRandom", b'{"Recipient": "x"}', SerializationError, "Expected null"),
    (
        "GenerateDataKey",
        body(KeyId="k", KeySpec="AES_512"),
        ValidationError,
        one(
            "Value 'AES_512' at 'keySpec' failed to satisfy constraint: "
            "Member must satisfy enum value set: [AES_256, AES_128]"
        ),
    ),
    (
        "CreateKey",
        body(Tags=[{"TagKey": "ok", "TagValue": "v"}, {"TagKey": "t" * 129, "TagValue": "v"}]),
        ValidationError,
        one(
            f"Value '{'t' * 129}' at 'tags.2.member.tagKey' failed to satisfy constraint: "
            "Member must have length less than or equal to 128"
        ),
    ),
    (
        "CreateKey",
        body(Tags=[{"TagKey": "k"}]),
        ValidationError,
        one(
            "Value null at 'tags.1.member.tagValue' failed to satisfy constraint: "
            "Member must not be null"
        ),
    ),
    (
        "CreateAlias",
        body(AliasName="alias/bad name", TargetKeyId=""),
        ValidationError,
        "2 validation errors detected: "
        "Value 'alias/bad name' at 'aliasName' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$; "
        "Value '' at 'targetKeyId' failed to satisfy constraint: "
        "Member must have length greater than or equal to 1",
    ),
    # Lists of strings: one violation for the whole list, with all the member constraints.
    (
        "Encrypt",
        body(KeyId="k", Plaintext="QQ==", GrantTokens=["a", ""]),
        ValidationError,
        one(
            "Value '[a, ]' at 'grantTokens' failed to satisfy constraint: Member must satisfy "
            "constraint: [Member must have length less than or equal to 8192, "
            "Member must have length greater than or equal to 1]"
        ),
    ),
    (
        "Encrypt",
        body(KeyId="k", Plaintext="QQ==", GrantTokens=["t"] * 11),
        ValidationError,
        one(
            f"Value '[{', '.join(['t'] * 11)}]' at 'grantTokens' failed to satisfy constraint: "
            "Member must have length less than or equal to 10"
        ),
    ),
    (
        "Encrypt",
        body(KeyId="k", Plaintext="QQ==", GrantTokens="t"),
        SerializationError,
        "Expected list or null",
    ),
    # Encryption context: a map of strings.
    (
        "Encrypt",
        body(KeyId="k", Plaintext="QQ==", EncryptionContext={"a": 1}),
        SerializationError,
        "NUMBER_VALUE can not be converted to a String",
    ),
    (
        "Encrypt",
        body(KeyId="k", Plaintext="QQ==", EncryptionContext={"a": None}),
        ValidationError,
        one(
            "Value '{a=null}' at 'encryptionContext' failed to satisfy constraint: "
            "Map value must satisfy constraint: [Member must not be null]"
        ),
    ),
    (
        "Encrypt",
        body(KeyId="k", Plaintext="QQ==", EncryptionContext=["a"]),
        SerializationError,
        "Start of list found where not expected",
    ),
    (
        "Encrypt",
        body(KeyId="k", Plaintext="QQ==", EncryptionContext="a=b"),
        SerializationError,
        "Expected map or null",
    ),
    # Strings of the wrong type.
    (
        "Encrypt",
        body(KeyId=7, Plaintext="QQ=="),
        SerializationError,
        "NUMBER_VALUE can not be converted to a String",
    ),
    (
        "Encrypt",
        body(KeyId=1.5, Plaintext="QQ=="),
        SerializationError,
        "DECIMAL_VALUE can not be converted to a String",
    ),
    (
        "Encrypt",
        body(KeyId=False, Plaintext="QQ=="),
        SerializationError,
        "FALSE_VALUE can not be converted to a String",
    ),
    (
        "Encrypt",
        body(KeyId={"id": "k"}, Plaintext="QQ=="),
        SerializationError,
        "Start of structure or map found where not expected.",
    ),
    (
        "Encrypt",
        body(KeyId="k", Plaintext="QQ==", DryRun="maybe"),
        SerializationError,
        "STRING_VALUE can not be converted to an Boolean",
    ),
    # Types are strict (issue 19): a boolean word is not a boolean, a fraction not an integer.
    (
        "Encrypt",
        body(KeyId="k", Plaintext="QQ==", DryRun="true"),
        SerializationError,
        "STRING_VALUE can not be converted to an Boolean",
    ),
    (
        "GenerateRandom",
        b'{"NumberOfBytes": 32.9}',
        SerializationError,
        "DECIMAL_VALUE can not be converted to an Integer",
    ),
    (
        "GenerateRandom",
        b'{"NumberOfBytes": 32.0}',
        SerializationError,
        "DECIMAL_VALUE can not be converted to an Integer",
    ),
    (
        "Encrypt",
        body(KeyId="k", Plaintext="QQ==", DryRun=1),
        SerializationError,
        "NUMBER_VALUE can not be converted to a Boolean",
    ),
    # Blobs must be strict, canonical base64.
    (
        "Encrypt",
        body(KeyId="k", Plaintext="QQ"),
        SerializationError,
        "Base64 encoded length is expected a multiple of 4 bytes but found: 2",
    ),
    ("Encrypt", body(KeyId="k", Plaintext="Q*=="), SerializationError, "Invalid Base64 character"),
    (
        "Encrypt",
        body(KeyId="k", Plaintext="QUJD\n==="),
        SerializationError,
        "Invalid Base64 character",
    ),
    ("Encrypt", body(KeyId="k", Plaintext="-_-_"), SerializationError, "Invalid Base64 character"),
    ("Encrypt", body(KeyId="k", Plaintext="ñññ="), SerializationError, "Invalid Base64 character"),
    (
        "Encrypt",
        body(KeyId="k", Plaintext="QR=="),
        SerializationError,
        "Invalid last non-pad Base64 character dectected",
    ),
    (
        "Encrypt",
        body(KeyId="k", Plaintext=12),
        SerializationError,
        "only base-64-encoded strings are convertible to bytes",
    ),
    # The body itself.
    ("Encrypt", b"{", SerializationError, "The request body is not valid JSON."),
    ("Encrypt", b"not json", SerializationError, "The request body is not valid JSON."),
    ("Encrypt", b'{"KeyId": "k",}', SerializationError, "The request body is not valid JSON."),
    ("Encrypt", b"\xff\xfe", SerializationError, "The request body is not valid JSON."),
    ("Encrypt", b"[]", SerializationError, "Start of list found where not expected"),
    ("Encrypt", b'[{"KeyId": "k"}]', SerializationError, "Start of list found where not expected"),
    ("Encrypt", b"null", SerializationError, "The request body must be a JSON object."),
    ("Encrypt", b'"x"', SerializationError, "The request body must be a JSON object."),
]


@pytest.mark.parametrize(("operation", "payload", "error", "message"), BAD)
def test_bad_kms_inputs(
    operation: str, payload: bytes, error: type[Exception], message: str
) -> None:
    with pytest.raises(error) as caught:
        kms(operation).parse_input(payload)
    assert type(caught.value) is error
    assert str(caught.value) == message


def test_a_type_error_wins_over_validation_errors() -> None:
    with pytest.raises(SerializationError):
        kms("Encrypt").parse_input(body(KeyId="", Plaintext=PLAINTEXT_4097, DryRun=3))


def test_at_most_ten_violations_are_reported() -> None:
    tags = [{"TagKey": "", "TagValue": "v"} for _ in range(15)]
    with pytest.raises(ValidationError) as caught:
        kms("CreateKey").parse_input(body(Tags=tags))
    message = str(caught.value)
    assert message.startswith("10 validation errors detected: ")
    assert message.count("failed to satisfy constraint") == 10
    assert "tags.10.member.tagKey" in message
    assert "tags.11.member.tagKey" not in message


def test_long_echoed_values_are_truncated() -> None:
    policy = "\u0100" * (MAX_ECHO_CHARS * 2)
    with pytest.raises(ValidationError) as caught:
        kms("CreateKey").parse_input(body(Policy=policy))
    message = str(caught.value)
    assert f"Value '{policy[:MAX_ECHO_CHARS]}...' at 'policy'" in message
    assert len(message) < MAX_ECHO_CHARS + 300


def test_decoded_input_is_a_new_dict() -> None:
    payload = body(KeyId="k", Plaintext="QQ==", EncryptionContext={"a": "b"})
    first = kms("Encrypt").parse_input(payload)
    first["EncryptionContext"]["a"] = "changed"
    assert kms("Encrypt").parse_input(payload)["EncryptionContext"] == {"a": "b"}


# --------------------------------------------------------------------------- SSM


def test_ssm_nested_pattern_path() -> None:
    with pytest.raises(ValidationError) as caught:
        ssm("AddTagsToResource").parse_input(
            body(ResourceType="Parameter", ResourceId="/p", Tags=[{"Key": "bad!", "Value": "v"}])
        )
    assert str(caught.value) == one(
        "Value 'bad!' at 'tags.1.member.key' failed to satisfy constraint: Member must satisfy "
        "regular expression pattern: ^([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)$"
    )


def test_ssm_list_length_and_members() -> None:
    with pytest.raises(ValidationError) as caught:
        ssm("GetParameters").parse_input(body(Names=[]))
    assert str(caught.value) == one(
        "Value '[]' at 'names' failed to satisfy constraint: "
        "Member must have length greater than or equal to 1"
    )


def test_ssm_sensitive_values_are_not_echoed() -> None:
    secret = "s3cr3t-" * 30
    with pytest.raises(ValidationError) as caught:
        ssm("CreateMaintenanceWindow").parse_input(
            body(
                Name="window",
                Description=secret,
                Schedule="rate(1 day)",
                Duration=25,
                Cutoff=1,
                AllowUnassociatedTargets=False,
            )
        )
    message = str(caught.value)
    assert secret not in message
    assert message == (
        "2 validation errors detected: "
        "Value at 'description' failed to satisfy constraint: "
        "Member must have length less than or equal to 128; "
        "Value '25' at 'duration' failed to satisfy constraint: "
        "Member must have value less than or equal to 24"
    )


def test_ssm_put_parameter_decodes() -> None:
    decoded = ssm("PutParameter").parse_input(
        body(Name="/app/db", Value="pw", Type="SecureString", Overwrite=True)
    )
    assert decoded == {"Name": "/app/db", "Value": "pw", "Type": "SecureString", "Overwrite": True}


# --------------------------------------------------------------------------- other shapes


def test_timestamps_decode_to_aware_utc() -> None:
    operation = synthetic(
        {"In": {"type": "structure", "members": {"At": {"shape": "T"}}}, "T": {"type": "timestamp"}}
    )
    assert operation.parse_input(b'{"At": 1700000000.5}') == {
        "At": datetime(2023, 11, 14, 22, 13, 20, 500000, tzinfo=UTC)
    }
    assert operation.parse_input(b'{"At": 0}')["At"] == datetime(1970, 1, 1, tzinfo=UTC)
    for payload in (b'{"At": "2023-11-14"}', b'{"At": true}', b'{"At": 1e300}'):
        with pytest.raises(SerializationError):
            operation.parse_input(payload)


def test_integers_beyond_java_range() -> None:
    operation = synthetic(
        {
            "In": {"type": "structure", "members": {"I": {"shape": "I"}, "L": {"shape": "L"}}},
            "I": {"type": "integer"},
            "L": {"type": "long"},
        }
    )
    assert operation.parse_input(b'{"I": 2147483647, "L": 9223372036854775807}') == {
        "I": 2147483647,
        "L": 9223372036854775807,
    }
    with pytest.raises(
        SerializationError, match=r"^NUMBER_VALUE can not be converted to an Integer$"
    ):
        operation.parse_input(b'{"I": 2147483648}')
    with pytest.raises(SerializationError, match=r"^STRING_VALUE can not be converted to a Long$"):
        operation.parse_input(b'{"L": "1"}')


def test_map_keys_and_values_constraints() -> None:
    operation = synthetic(
        {
            "In": {"type": "structure", "members": {"Labels": {"shape": "M"}}},
            "M": {"type": "map", "key": {"shape": "K"}, "value": {"shape": "V"}, "max": 2},
            "K": {"type": "string", "min": 1, "max": 3, "pattern": "[a-z]+"},
            "V": {"type": "integer", "min": 0},
        }
    )
    assert operation.parse_input(b'{"Labels": {"abc": 1}}') == {"Labels": {"abc": 1}}
    with pytest.raises(ValidationError) as caught:
        operation.parse_input(b'{"Labels": {"ABCD": -1, "x": 0, "y": 1}}')
    assert str(caught.value) == (
        "3 validation errors detected: "
        "Value '{ABCD=-1, x=0, y=1}' at 'labels' failed to satisfy constraint: "
        "Member must have length less than or equal to 2; "
        "Value '{ABCD=-1, x=0, y=1}' at 'labels' failed to satisfy constraint: "
        "Map keys must satisfy constraint: [Member must have length less than or equal to 3, "
        "Member must have length greater than or equal to 1, "
        "Member must satisfy regular expression pattern: [a-z]+]; "
        "Value '{ABCD=-1, x=0, y=1}' at 'labels' failed to satisfy constraint: "
        "Map value must satisfy constraint: [Member must have value greater than or equal to 0]"
    )


def test_sensitivity_reaches_everything_inside_a_sensitive_shape() -> None:
    operation = synthetic(
        {
            "In": {
                "type": "structure",
                "members": {"Secret": {"shape": "S"}, "Open": {"shape": "L"}},
            },
            "S": {"type": "structure", "sensitive": True, "members": {"Items": {"shape": "L"}}},
            "L": {"type": "list", "member": {"shape": "E"}, "max": 1},
            "E": {"type": "string", "max": 2},
        }
    )
    with pytest.raises(ValidationError) as caught:
        operation.parse_input(b'{"Secret": {"Items": ["hidden", "x"]}, "Open": ["shown"]}')
    message = str(caught.value)
    assert "hidden" not in message
    assert message == (
        "3 validation errors detected: "
        "Value at 'secret.items' failed to satisfy constraint: "
        "Member must have length less than or equal to 1; "
        "Value at 'secret.items' failed to satisfy constraint: "
        "Member must satisfy constraint: [Member must have length less than or equal to 2]; "
        "Value '[shown]' at 'open' failed to satisfy constraint: "
        "Member must satisfy constraint: [Member must have length less than or equal to 2]"
    )


def test_recursive_shapes_compile_and_decode() -> None:
    operation = synthetic(
        {
            "In": {"type": "structure", "members": {"Node": {"shape": "N"}}},
            "N": {
                "type": "structure",
                "required": ["Name"],
                "members": {"Name": {"shape": "Str"}, "Children": {"shape": "NL"}},
            },
            "NL": {"type": "list", "member": {"shape": "N"}},
            "Str": {"type": "string", "min": 1},
        }
    )
    payload = b'{"Node": {"Name": "a", "Children": [{"Name": "b", "Children": [{}]}]}}'
    with pytest.raises(ValidationError) as caught:
        operation.parse_input(payload)
    assert str(caught.value) == one(
        "Value null at 'node.children.1.member.children.1.member.name' "
        "failed to satisfy constraint: Member must not be null"
    )


def test_unions_take_exactly_one_member() -> None:
    operation = synthetic(
        {
            "In": {"type": "structure", "members": {"Choice": {"shape": "U"}}},
            "U": {
                "type": "structure",
                "union": True,
                "members": {"A": {"shape": "S"}, "B": {"shape": "S"}},
            },
            "S": {"type": "string"},
        }
    )
    assert operation.parse_input(b'{"Choice": {"A": "x"}}') == {"Choice": {"A": "x"}}
    with pytest.raises(ValidationError, match="at 'choice' failed to satisfy constraint"):
        operation.parse_input(b'{"Choice": {"A": "x", "B": "y"}}')


# --------------------------------------------------------------------------- secrets


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(min_value=0, max_value=2**64),
    size=st.one_of(st.just(0), st.integers(min_value=4097, max_value=4600)),
    key_id=st.one_of(st.none(), st.just(""), st.just("k" * 2049), st.just("alias/app")),
)
def test_plaintext_of_the_wrong_size_is_never_echoed(
    seed: int, size: int, key_id: str | None
) -> None:
    plaintext = random.Random(seed).randbytes(size)
    encoded = b64(plaintext)
    with pytest.raises(ValidationError) as caught:
        kms("Encrypt").parse_input(body(KeyId=key_id, Plaintext=encoded))
    message = str(caught.value)
    assert "Value at 'plaintext' failed to satisfy constraint" in message
    if encoded:
        assert encoded[:16] not in message
        assert encoded[-16:] not in message
        assert plaintext[:16].decode("latin-1") not in message


@settings(max_examples=60, deadline=None)
@given(
    plaintext=st.binary(min_size=12, max_size=300), damage=st.sampled_from(["*", "\n", "é", "="])
)
def test_broken_plaintext_base64_is_never_echoed(plaintext: bytes, damage: str) -> None:
    encoded = b64(plaintext)
    broken = encoded[:8] + damage + encoded[8:]
    with pytest.raises(SerializationError) as caught:
        kms("Encrypt").parse_input(body(KeyId="k", Plaintext=broken))
    assert encoded[:8] not in str(caught.value)


# --------------------------------------------------------------------------- output


class KeyState(Enum):
    ENABLED = "Enabled"


@pytest.fixture(scope="module")
def botocore_kms() -> botocore.model.ServiceModel:
    return botocore.model.ServiceModel(Loader().load_service_model("kms", "service-2"), "kms")


def parse_with_botocore(
    service: botocore.model.ServiceModel, operation: str, payload: bytes
) -> dict[str, Any]:
    parser = botocore.parsers.create_parser("json")
    response = {"body": payload, "headers": {}, "status_code": 200}
    parsed: dict[str, Any] = parser.parse(response, service.operation_model(operation).output_shape)
    parsed.pop("ResponseMetadata", None)
    return parsed


def test_encrypt_output_round_trips_through_botocore(
    botocore_kms: botocore.model.ServiceModel,
) -> None:
    original = {
        "CiphertextBlob": bytes(range(256)),
        "KeyId": "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        "EncryptionAlgorithm": "SYMMETRIC_DEFAULT",
    }
    assert parse_with_botocore(botocore_kms, "Encrypt", encode_output(original)) == original


def test_describe_key_output_round_trips_through_botocore(
    botocore_kms: botocore.model.ServiceModel,
) -> None:
    created = datetime(2024, 5, 6, 7, 8, 9, 123000, tzinfo=UTC)
    payload = encode_output(
        {
            "KeyMetadata": {
                "KeyId": "1234abcd-12ab-34cd-56ef-1234567890ab",
                "CreationDate": created,
                "Enabled": True,
                "KeyState": KeyState.ENABLED,
                "EncryptionAlgorithms": ["SYMMETRIC_DEFAULT"],
            }
        }
    )
    assert orjson.loads(payload)["KeyMetadata"]["CreationDate"] == 1714979289.123
    parsed = parse_with_botocore(botocore_kms, "DescribeKey", payload)
    metadata = parsed["KeyMetadata"]
    assert metadata["CreationDate"] == created
    assert metadata["KeyState"] == "Enabled"
    assert metadata["Enabled"] is True
    assert metadata["EncryptionAlgorithms"] == ["SYMMETRIC_DEFAULT"]


def test_encode_output_details() -> None:
    naive = datetime(2024, 1, 1)
    decoded = orjson.loads(encode_output({"At": naive, "Blob": bytearray(b"ab"), "N": 1}))
    assert decoded == {"At": 1704067200.0, "Blob": "YWI=", "N": 1}
    with pytest.raises(TypeError):
        encode_output({"X": object()})
