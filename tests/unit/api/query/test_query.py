"""The AWS Query protocol codec: forms in, XML out, checked against botocore.

Every IAM and STS operation is covered by generated values in ``test_query_models``; this
module has the realistic hand-written cases, the corners of the wire format (checked with a
made-up model that uses every serialisation trait), AWS's error messages, and speed.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import botocore.model
import botocore.parsers
import botocore.serialize
import pytest
from botocore.awsrequest import AWSRequest

from cofre.api.model.service import ServiceModel
from cofre.api.query.protocol import (
    QueryService,
    encode_response,
    parse_form,
)
from cofre.errors import SerializationError, UnknownOperationError, ValidationError
from tests.unit.api.query.test_query_models import form_body


def iam() -> QueryService:
    return QueryService.load("iam")


def sts() -> QueryService:
    return QueryService.load("sts")


def one(message: str) -> str:
    return f"1 validation error detected: {message}"


def round_trip(service: str, operation: str, params: dict[str, Any]) -> dict[str, Any]:
    """botocore's request body for ``params``, decoded by Cofre."""
    decoded_operation, decoded = QueryService.load(service).decode_request(
        form_body(service, operation, params)
    )
    assert decoded_operation.name == operation
    return decoded


# --------------------------------------------------------------------------- the form


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"", {}),
        (b"Action=ListUsers", {"Action": "ListUsers"}),
        (b"a=1+2&b=%2B%26%3D%25", {"a": "1 2", "b": "+&=%"}),
        (b"key+with+spaces=x%20y", {"key with spaces": "x y"}),
        (b"flag&empty=&&last=%C3%A9%e2%82%ac", {"flag": "", "empty": "", "last": "é€"}),
        (b"a=b=c", {"a": "b=c"}),
        (b"Tags.member.1.Key=k", {"Tags.member.1.Key": "k"}),
    ],
)
def test_parse_form(body: bytes, expected: dict[str, str]) -> None:
    assert parse_form(body) == expected


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"a=%zz", "malformed percent-escape"),
        (b"a=100%", "malformed percent-escape"),
        (b"a=%4", "malformed percent-escape"),
        (b"a%=1", "malformed percent-escape"),
        (b"a=%ff%fe", "not valid UTF-8"),
        (b"a=\xff", "not valid UTF-8"),
        (b"a=%ED%A0%80", "not valid UTF-8"),  # an encoded surrogate
        (b"a=1&b=2&a=3", "The parameter a is given more than once."),
        (b"a+b=1&a%20b=2", "The parameter a b is given more than once."),
    ],
)
def test_malformed_forms_are_clean_errors(body: bytes, message: str) -> None:
    with pytest.raises(SerializationError, match=message):
        parse_form(body)


# --------------------------------------------------------------------------- requests


def test_create_user_with_tags() -> None:
    params = {
        "Path": "/engineering/",
        "UserName": "alice.smith@example.com",
        "PermissionsBoundary": "arn:aws:iam::111122223333:policy/boundary",
        "Tags": [{"Key": "team", "Value": "platform"}, {"Key": "cost center", "Value": ""}],
    }
    assert round_trip("iam", "CreateUser", params) == params


def test_put_user_policy_with_a_policy_that_needs_percent_encoding() -> None:
    document = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "Read & write = 100% «ok»",
                    "Effect": "Allow",
                    "Action": ["s3:GetObject", "s3:PutObject"],
                    "Resource": "arn:aws:s3:::bucket/a+b/*?x=1#frag",
                    "Condition": {"StringEquals": {"aws:PrincipalTag/dept": "R&D"}},
                }
            ],
        },
        indent=2,
        ensure_ascii=False,
    ).replace("\n", "\r\n")
    params = {"UserName": "alice", "PolicyName": "inline-s3", "PolicyDocument": document}
    body = form_body("iam", "PutUserPolicy", params)
    assert b"%26" in body and b"%25" in body and b"%2B" in body and b"%0D%0A" in body
    assert round_trip("iam", "PutUserPolicy", params) == params


def test_create_access_key_with_and_without_user_name() -> None:
    assert round_trip("iam", "CreateAccessKey", {"UserName": "bob"}) == {"UserName": "bob"}
    assert round_trip("iam", "CreateAccessKey", {}) == {}


def test_list_users_pagination() -> None:
    params = {"PathPrefix": "/division_abc/", "Marker": "AAAA+/==marker", "MaxItems": 1000}
    assert round_trip("iam", "ListUsers", params) == params


def test_assume_role_with_policy_arns_tags_and_session_policy() -> None:
    params = {
        "RoleArn": "arn:aws:iam::111122223333:role/deploy",
        "RoleSessionName": "ci-run-42",
        "PolicyArns": [
            {"arn": "arn:aws:iam::aws:policy/ReadOnlyAccess"},
            {"arn": "arn:aws:iam::111122223333:policy/extra"},
        ],
        "Policy": '{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*"}]}',
        "DurationSeconds": 3600,
        "Tags": [{"Key": "Project", "Value": "Unicorn"}, {"Key": "Cost-Center", "Value": "12345"}],
        "TransitiveTagKeys": ["Project"],
        "ExternalId": "external-id-0001",
        "SerialNumber": "arn:aws:iam::111122223333:mfa/alice",
        "TokenCode": "123456",
        "SourceIdentity": "alice",
    }
    assert round_trip("sts", "AssumeRole", params) == params


def test_tag_user_and_get_caller_identity() -> None:
    params = {"UserName": "alice", "Tags": [{"Key": "k:1", "Value": "v=1/é"}]}
    assert round_trip("iam", "TagUser", params) == params
    assert round_trip("sts", "GetCallerIdentity", {}) == {}


def test_booleans_and_timestamps_are_converted() -> None:
    params = {"MinimumPasswordLength": 14, "RequireSymbols": True, "HardExpiry": False}
    decoded = round_trip("iam", "UpdateAccountPasswordPolicy", params)
    assert decoded == params
    assert decoded["RequireSymbols"] is True


def test_unknown_parameters_are_ignored() -> None:
    body = (
        b"Action=TagUser&Version=2010-05-08&UserName=alice&Foo=bar&UserName.Extra=1"
        b"&Tags.member.1.Key=k&Tags.member.1.Value=v&Tags.member.1.Bogus=x&Tags.other.1=y"
        b"&Tags.member.x.Key=z&Tags.member.01.Key=z&Tags.member.0.Key=z"
    )
    assert iam().decode_request(body)[1] == {
        "UserName": "alice",
        "Tags": [{"Key": "k", "Value": "v"}],
    }


def test_list_indices_are_read_in_order_and_gaps_close_up() -> None:
    body = (
        b"Action=TagUser&UserName=a&Tags.member.10.Key=c&Tags.member.10.Value=3"
        b"&Tags.member.2.Key=b&Tags.member.2.Value=2&Tags.member.1.Key=a&Tags.member.1.Value=1"
    )
    assert iam().decode_request(body)[1]["Tags"] == [
        {"Key": "a", "Value": "1"},
        {"Key": "b", "Value": "2"},
        {"Key": "c", "Value": "3"},
    ]


def test_action_and_version() -> None:
    assert iam().operation_for({"Action": "ListUsers"}).name == "ListUsers"
    with pytest.raises(UnknownOperationError, match="must contain the parameter Action"):
        iam().decode_request(b"Version=2010-05-08")
    with pytest.raises(
        UnknownOperationError, match=r"^Could not find operation Frobnicate for version 2010-05-08$"
    ):
        iam().decode_request(b"Action=Frobnicate&Version=2010-05-08")
    with pytest.raises(
        UnknownOperationError, match=r"^Could not find operation ListUsers for version 2011-06-15$"
    ):
        iam().decode_request(b"Action=ListUsers&Version=2011-06-15")


# --------------------------------------------------------------------------- request errors


def test_user_name_of_65_characters() -> None:
    name = "a" * 65
    with pytest.raises(ValidationError) as caught:
        iam().decode_request(f"Action=CreateUser&Version=2010-05-08&UserName={name}".encode())
    assert caught.value.message == one(
        f"Value '{name}' at 'userName' failed to satisfy constraint: "
        "Member must have length less than or equal to 64"
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            b"Action=CreateUser",
            "Value null at 'userName' failed to satisfy constraint: Member must not be null",
        ),
        (
            b"Action=ListUsers&MaxItems=0",
            "Value '0' at 'maxItems' failed to satisfy constraint: "
            "Member must have value greater than or equal to 1",
        ),
        (
            b"Action=TagUser&UserName=a&Tags.member.1.Key=bad%21&Tags.member.1.Value=v",
            "Value 'bad!' at 'tags.1.member.key' failed to satisfy constraint: "
            "Member must satisfy regular expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+",
        ),
        (
            b"Action=TagUser&UserName=a&Tags.member.1.Value=v",
            "Value null at 'tags.1.member.key' failed to satisfy constraint: "
            "Member must not be null",
        ),
    ],
)
def test_validation_errors_in_aws_words(body: bytes, message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        iam().decode_request(body)
    assert caught.value.message == one(message)


def test_several_violations_are_reported_together() -> None:
    body = b"Action=CreateUser&Path=nope&Tags.member.1.Key=k"
    with pytest.raises(ValidationError) as caught:
        iam().decode_request(body)
    assert caught.value.message.startswith("3 validation errors detected: Value 'nope' at 'path'")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"Action=ListUsers&MaxItems=abc", "STRING_VALUE can not be converted to an Integer"),
        (b"Action=ListUsers&MaxItems=1.5", "STRING_VALUE can not be converted to an Integer"),
        (b"Action=ListUsers&MaxItems=%EF%BC%91", "STRING_VALUE can not be converted to an Integer"),
        (b"Action=ListUsers&MaxItems=", "STRING_VALUE can not be converted to an Integer"),
        (
            b"Action=UpdateAccountPasswordPolicy&RequireSymbols=maybe",
            "STRING_VALUE can not be converted to an Boolean",
        ),
    ],
)
def test_text_that_cannot_become_the_type(body: bytes, message: str) -> None:
    with pytest.raises(SerializationError) as caught:
        iam().decode_request(body)
    assert caught.value.message == message


def test_huge_numbers_are_reported_not_crashed_on() -> None:
    with pytest.raises(ValidationError, match="less than or equal to 1000"):
        iam().decode_request(b"Action=ListUsers&MaxItems=" + b"9" * 40)
    with pytest.raises(SerializationError):
        iam().decode_request(b"Action=ListUsers&MaxItems=" + b"9" * 5000)


# --------------------------------------------------------------------------- every trait

# A made-up Query service using every serialisation trait botocore knows for this protocol.
SYNTHETIC: dict[str, Any] = {
    "metadata": {
        "apiVersion": "2020-01-01",
        "protocol": "query",
        "xmlNamespace": "https://example.com/doc/2020-01-01/",
        "endpointPrefix": "example",
        "signatureVersion": "v4",
    },
    "operations": {
        "Op": {
            "name": "Op",
            "http": {"method": "POST", "requestUri": "/"},
            "input": {"shape": "Everything"},
            "output": {"shape": "Everything", "resultWrapper": "OpResult"},
        },
        "Void": {"name": "Void", "http": {"method": "POST", "requestUri": "/"}},
    },
    "shapes": {
        "Everything": {
            "type": "structure",
            "members": {
                "Renamed": {"shape": "Str", "locationName": "Other"},
                "Flat": {"shape": "FlatList"},
                "FlatNamed": {"shape": "FlatNamedList"},
                "Named": {"shape": "NamedList"},
                "Nested": {"shape": "ListOfLists"},
                "Map": {"shape": "StrMap"},
                "FlatMap": {"shape": "FlatNamedMap"},
                "Structs": {"shape": "StructList"},
                "Blob": {"shape": "Blob"},
                "Long": {"shape": "Long"},
                "Double": {"shape": "Double"},
                "When": {"shape": "When"},
                "Epoch": {"shape": "When", "timestampFormat": "unixTimestamp"},
                "Flag": {"shape": "Bool"},
                "Int": {"shape": "Int"},
            },
        },
        "Str": {"type": "string"},
        "Blob": {"type": "blob"},
        "Long": {"type": "long"},
        "Double": {"type": "double"},
        "When": {"type": "timestamp"},
        "Bool": {"type": "boolean"},
        "Int": {"type": "integer", "max": 10},
        "FlatList": {"type": "list", "member": {"shape": "Str"}, "flattened": True},
        "FlatNamedList": {
            "type": "list",
            "member": {"shape": "Str", "locationName": "Item"},
            "flattened": True,
        },
        "NamedList": {"type": "list", "member": {"shape": "Str", "locationName": "Thing"}},
        "StrList": {"type": "list", "member": {"shape": "Str"}},
        "ListOfLists": {"type": "list", "member": {"shape": "StrList"}},
        "StrMap": {"type": "map", "key": {"shape": "Str"}, "value": {"shape": "Str"}},
        "FlatNamedMap": {
            "type": "map",
            "key": {"shape": "Str", "locationName": "Name"},
            "value": {"shape": "Int", "locationName": "Val"},
            "flattened": True,
        },
        "Pair": {
            "type": "structure",
            "required": ["A"],
            "members": {"A": {"shape": "Str"}, "B": {"shape": "StrList"}},
        },
        "StructList": {"type": "list", "member": {"shape": "Pair"}},
    },
}
EVERYTHING: dict[str, Any] = {
    "Renamed": "r & <r>",
    "Flat": ["f1", "f 2"],
    "FlatNamed": ["i1", "i2", "i3"],
    "Named": ["t1"],
    "Nested": [["a", "b"], ["c"]],
    "Map": {"k1": "v1", "k 2": "v=2"},
    "FlatMap": {"n1": 1, "n2": 2},
    "Structs": [{"A": "x", "B": ["y", "z"]}, {"A": "w"}],
    "Blob": bytes(range(256)),
    "Long": 2**40,
    "Double": 1.25e-7,
    "When": datetime(2026, 11, 29, 4, 56, 25, 123456, tzinfo=UTC),
    "Epoch": datetime(2026, 11, 29, 4, 56, 25, tzinfo=UTC),
    "Flag": True,
    "Int": -3,
}


def synthetic() -> tuple[botocore.model.ServiceModel, QueryService]:
    botocore_service = botocore.model.ServiceModel(SYNTHETIC, service_name="example")
    return botocore_service, QueryService(ServiceModel("example", SYNTHETIC))


def synthetic_body(params: dict[str, Any]) -> bytes:
    botocore_service, _ = synthetic()
    serializer = botocore.serialize.create_serializer("query")
    request = serializer.serialize_to_request(params, botocore_service.operation_model("Op"))
    body = AWSRequest(method="POST", url="https://example.com/", data=request["body"])
    prepared = body.prepare().body
    assert isinstance(prepared, str)
    return prepared.encode()


def test_every_trait_decodes_as_botocore_encodes() -> None:
    body = synthetic_body(EVERYTHING)
    for key in (b"Other=", b"&Flat.2=f+2", b"&Item.3=i3", b"&Named.Thing.1=t1"):
        assert key in body
    for key in (b"&Nested.member.2.member.1=c", b"&FlatMap.2.Name=n2", b"&FlatMap.2.Val=2"):
        assert key in body
    assert synthetic()[1].decode_request(body)[1] == EVERYTHING


def test_empty_lists_are_sent_as_empty_values() -> None:
    params: dict[str, Any] = {
        "Flat": [],
        "FlatNamed": [],
        "Named": [],
        "Nested": [[]],
        "Structs": [],
    }
    body = synthetic_body(params)
    assert b"&Flat=&FlatNamed=&Named=&Nested.member.1=&Structs=" in body
    assert synthetic()[1].decode_request(body)[1] == params


def test_timestamps_in_any_rfc3339_form() -> None:
    operation = synthetic()[1].operation("Op")
    expected = datetime(2026, 11, 29, 4, 56, 25, tzinfo=UTC)
    for text in (
        "2026-11-29T04:56:25Z",
        "2026-11-29t04:56:25z",
        "2026-11-29T06:56:25+02:00",
        "2026-11-28T23:26:25-05:30",
        "2026-11-29T04:56:25.000000000Z",
    ):
        assert operation.decode({"When": text}) == {"When": expected}
    assert operation.decode({"When": "2026-11-29T04:56:25.5Z"})["When"] == expected.replace(
        microsecond=500000
    )
    assert operation.decode({"Epoch": "1795928185"}) == {"Epoch": expected}
    for bad in ("2026-11-29", "2026-13-01T00:00:00Z", "2026-11-29T04:56:25+99:00", "1795928185"):
        with pytest.raises(SerializationError, match="can not be converted to a Timestamp"):
            operation.decode({"When": bad})


def test_scalar_texts() -> None:
    operation = synthetic()[1].operation("Op")
    assert operation.decode({"Double": "NaN"})["Double"] != operation.decode({"Double": "1"})
    assert operation.decode({"Double": "-Infinity", "Long": "-12"}) == {
        "Double": float("-inf"),
        "Long": -12,
    }
    assert operation.decode({"Flag": "false", "Blob": "AAE="}) == {"Flag": False, "Blob": b"\0\1"}
    with pytest.raises(SerializationError, match="to a Double"):
        operation.decode({"Double": "1e"})
    with pytest.raises(SerializationError, match="to a Long"):
        operation.decode({"Long": "0x10"})
    with pytest.raises(SerializationError, match="Base64"):
        operation.decode({"Blob": "AAE"})
    with pytest.raises(ValidationError, match="'int' failed to satisfy"):
        operation.decode({"Int": "11"})


def test_partial_containers() -> None:
    operation = synthetic()[1].operation("Op")
    # A map entry without a key is skipped; one without a value is a null.
    with pytest.raises(ValidationError, match="Map value must satisfy constraint"):
        operation.decode({"Map.entry.1.value": "v", "Map.entry.2.key": "k"})
    assert operation.decode(
        {"Map.entry.1.value": "v", "Map.entry.2.key": "k", "Map.entry.2.value": ""}
    ) == {"Map": {"k": ""}}
    # A list item that is a structure without members still counts (and is then invalid).
    with pytest.raises(ValidationError, match=r"'structs\.1\.member\.a'"):
        operation.decode({"Structs.member.1": "x"})
    assert synthetic()[1].operation("Void").decode({"Anything": "x"}) == {}


def test_every_trait_encodes_as_botocore_parses() -> None:
    botocore_service, service = synthetic()
    payload = encode_response(service.operation("Op"), EVERYTHING, "rid")
    text = payload.decode()
    assert text.startswith('<OpResponse xmlns="https://example.com/doc/2020-01-01/"><OpResult>')
    for fragment in (
        "<Other>r &amp; &lt;r&gt;</Other>",
        "<Flat>f1</Flat><Flat>f 2</Flat>",
        "<Item>i1</Item><Item>i2</Item>",
        "<Named><Thing>t1</Thing></Named>",
        "<Nested><member><member>a</member><member>b</member></member>",
        "<Map><entry><key>k1</key><value>v1</value></entry>",
        "<FlatMap><Name>n1</Name><Val>1</Val></FlatMap><FlatMap><Name>n2</Name>",
        "<When>2026-11-29T04:56:25.123456Z</When><Epoch>1795928185</Epoch>",
        "<Flag>true</Flag><Int>-3</Int>",
    ):
        assert fragment in text
    shape = botocore_service.operation_model("Op").output_shape
    parsed = botocore.parsers.create_parser("query").parse(
        {"body": payload, "status_code": 200, "headers": {}}, shape
    )
    assert parsed.pop("ResponseMetadata")["RequestId"] == "rid"
    assert parsed == EVERYTHING


def test_recursive_shapes_both_ways() -> None:
    model = {
        "metadata": {"apiVersion": "2020-01-01", "protocol": "query", "xmlNamespace": "urn:x"},
        "operations": {
            "Tree": {
                "name": "Tree",
                "http": {"method": "POST", "requestUri": "/"},
                "input": {"shape": "In"},
                "output": {"shape": "In", "resultWrapper": "TreeResult"},
            }
        },
        "shapes": {
            "In": {"type": "structure", "members": {"Node": {"shape": "N"}}},
            "N": {
                "type": "structure",
                "required": ["Name"],
                "members": {"Name": {"shape": "S"}, "Children": {"shape": "NL"}},
            },
            "NL": {"type": "list", "member": {"shape": "N"}},
            "S": {"type": "string", "min": 1},
        },
    }
    service = QueryService(ServiceModel("tree", model))
    operation = service.operation("Tree")
    params = {"Node.Name": "a", "Node.Children.member.1.Name": "b"}
    params["Node.Children.member.1.Children.member.1.Name"] = "c"
    value = {"Node": {"Name": "a", "Children": [{"Name": "b", "Children": [{"Name": "c"}]}]}}
    assert operation.decode(params) == value
    with pytest.raises(ValidationError, match=r"'node\.children\.1\.member\.children\.1\.member"):
        operation.decode({"Node.Name": "a", "Node.Children.member.1.Children.member.1.X": "c"})
    botocore_service = botocore.model.ServiceModel(model, service_name="tree")
    payload = encode_response(operation, value, "rid")
    shape = botocore_service.operation_model("Tree").output_shape
    parsed = botocore.parsers.create_parser("query").parse(
        {"body": payload, "status_code": 200, "headers": {}}, shape
    )
    parsed.pop("ResponseMetadata")
    assert parsed == value


def test_validate_matches_parse_input_for_json() -> None:
    """OperationModel.validate is parse_input without the JSON parsing."""
    operation = ServiceModel.load("kms").operation("Encrypt")
    document = {"KeyId": "alias/app", "Plaintext": "AAE=", "EncryptionContext": {"a": "b"}}
    assert operation.validate(document) == operation.parse_input(json.dumps(document).encode())
    with pytest.raises(ValidationError) as caught:
        operation.validate({"Plaintext": "AAE="})
    with pytest.raises(ValidationError) as expected:
        operation.parse_input(b'{"Plaintext": "AAE="}')
    assert caught.value.message == expected.value.message
