"""Query protocol responses and errors, as botocore's ``QueryParser`` reads them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from enum import Enum
from typing import Any

import botocore.parsers
import pytest

from cofre.api.query.protocol import (
    IAM_NAMESPACE,
    STS_NAMESPACE,
    QueryService,
    encode_error,
    encode_response,
    escape,
    iso8601,
)
from tests.unit.api.query.test_query_models import botocore_model, botocore_parse

CREATED = datetime(2026, 11, 29, 4, 56, 25, tzinfo=UTC)


class Status(Enum):
    ACTIVE = "Active"


def iam_response(operation: str, result: dict[str, Any] | None, request_id: str = "rid") -> bytes:
    return encode_response(QueryService.load("iam").operation(operation), result, request_id)


def test_create_access_key_bytes() -> None:
    payload = iam_response(
        "CreateAccessKey",
        {
            "AccessKey": {
                "UserName": "alice",
                "AccessKeyId": "AKIAIOSFODNN7EXAMPLE",
                "Status": Status.ACTIVE,
                "SecretAccessKey": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                "CreateDate": CREATED,
            }
        },
        "7a62c49f-347e-4fc4-9331-6e8eEXAMPLE",
    )
    assert payload == (
        b'<CreateAccessKeyResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">'
        b"<CreateAccessKeyResult><AccessKey><UserName>alice</UserName>"
        b"<AccessKeyId>AKIAIOSFODNN7EXAMPLE</AccessKeyId><Status>Active</Status>"
        b"<SecretAccessKey>wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY</SecretAccessKey>"
        b"<CreateDate>2026-11-29T04:56:25Z</CreateDate></AccessKey></CreateAccessKeyResult>"
        b"<ResponseMetadata><RequestId>7a62c49f-347e-4fc4-9331-6e8eEXAMPLE</RequestId>"
        b"</ResponseMetadata></CreateAccessKeyResponse>"
    )
    parsed = botocore_parse("iam", "CreateAccessKey", payload)
    assert parsed["AccessKey"]["CreateDate"] == CREATED
    assert parsed["AccessKey"]["Status"] == "Active"


def test_list_users_keeps_model_order_and_omits_none() -> None:
    result: dict[str, Any] = {
        "Marker": "next page",
        "IsTruncated": True,
        "Users": [
            {
                "UserName": "a",
                "Path": "/",
                "UserId": "AIDA1",
                "Arn": "arn:a",
                "CreateDate": CREATED,
            },
            {
                "UserName": "b",
                "Path": "/",
                "UserId": "AIDA2",
                "Arn": "arn:b",
                "CreateDate": CREATED,
                "PasswordLastUsed": None,
                "Unknown": "ignored",
            },
        ],
    }
    payload = iam_response("ListUsers", result)
    text = payload.decode()
    assert (
        text.index("<Users>")
        < text.index("<IsTruncated>true</IsTruncated>")
        < text.index("<Marker>")
    )
    assert "Unknown" not in text and "PasswordLastUsed" not in text
    parsed = botocore_parse("iam", "ListUsers", payload)
    del result["Users"][1]["PasswordLastUsed"], result["Users"][1]["Unknown"]
    parsed.pop("ResponseMetadata")
    assert parsed == result


def test_empty_list_and_empty_result() -> None:
    parsed = botocore_parse(
        "iam", "ListUsers", iam_response("ListUsers", {"Users": [], "IsTruncated": False})
    )
    assert parsed["Users"] == [] and parsed["IsTruncated"] is False
    assert botocore_parse("iam", "ListUsers", iam_response("ListUsers", None)) == {
        "ResponseMetadata": {"RequestId": "rid", "HTTPStatusCode": 200, "HTTPHeaders": {}}
    }


def test_an_operation_without_output_has_only_metadata() -> None:
    payload = iam_response("DeleteUser", None, "r-1")
    assert payload == (
        b'<DeleteUserResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">'
        b"<ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></DeleteUserResponse>"
    )
    assert botocore_parse("iam", "DeleteUser", payload)["ResponseMetadata"]["RequestId"] == "r-1"


def test_sts_responses_use_the_sts_namespace() -> None:
    service = QueryService.load("sts")
    credentials = {
        "AccessKeyId": "ASIAIOSFODNN7EXAMPLE",
        "SecretAccessKey": "secret",
        "SessionToken": "token+/=",
        "Expiration": datetime(2026, 11, 29, 5, 56, 25, 359000, tzinfo=UTC),
    }
    result = {
        "Credentials": credentials,
        "AssumedRoleUser": {"AssumedRoleId": "AROA:s", "Arn": "arn:aws:sts::1:assumed-role/r/s"},
        "PackedPolicySize": 6,
        "SourceIdentity": "alice",
    }
    payload = encode_response(service.operation("AssumeRole"), result, "rid")
    assert payload.startswith(
        f'<AssumeRoleResponse xmlns="{STS_NAMESPACE}"><AssumeRoleResult>'.encode()
    )
    assert b"<Expiration>2026-11-29T05:56:25.359Z</Expiration>" in payload
    parsed = botocore_parse("sts", "AssumeRole", payload)
    parsed.pop("ResponseMetadata")
    assert parsed == result


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (CREATED, "2026-11-29T04:56:25Z"),
        (datetime(2026, 11, 29, 4, 56, 25), "2026-11-29T04:56:25Z"),
        (
            datetime(2026, 11, 29, 6, 56, 25, tzinfo=timezone(timedelta(hours=2))),
            "2026-11-29T04:56:25Z",
        ),
        (CREATED.replace(microsecond=5000), "2026-11-29T04:56:25.005Z"),
        (CREATED.replace(microsecond=5), "2026-11-29T04:56:25.000005Z"),
        (datetime(999, 1, 2, 3, 4, 5, tzinfo=UTC), "0999-01-02T03:04:05Z"),
    ],
)
def test_iso8601(moment: datetime, text: str) -> None:
    assert iso8601(moment) == text


def test_timestamps_from_dates_and_epoch_seconds() -> None:
    for value in (date(2026, 11, 29), 1795910400, 1795910400.0):
        payload = iam_response(
            "GetUser",
            {
                "User": {
                    "Path": "/",
                    "UserName": "u",
                    "UserId": "i",
                    "Arn": "a",
                    "CreateDate": value,
                }
            },
        )
        assert b"<CreateDate>2026-11-29T00:00:00Z</CreateDate>" in payload


def test_escaping() -> None:
    assert escape("plain") == "plain"
    assert escape('a&b<c>d"e\rf\ng\th') == "a&amp;b&lt;c&gt;d&quot;e&#13;f\ng\th"
    # What XML 1.0 cannot carry at all becomes U+FFFD.
    assert (
        escape("nul\x00 bell\x07 \ud800 \ufffe ok\U0001f600")
        == "nul\ufffd bell\ufffd \ufffd \ufffd ok\U0001f600"
    )
    tricky = 'R&D <team> "quoted" \r\n tab\t \x01 ]]> é'
    payload = iam_response(
        "GetUser",
        {
            "User": {
                "Path": "/",
                "UserName": tricky,
                "UserId": "i",
                "Arn": "a",
                "CreateDate": CREATED,
            }
        },
        "id&<1>",
    )
    parsed = botocore_parse("iam", "GetUser", payload)
    assert parsed["User"]["UserName"] == tricky.replace("\x01", "\ufffd")
    assert parsed["ResponseMetadata"]["RequestId"] == "id&<1>"


def test_maps_and_blobs() -> None:
    payload = iam_response("GetAccountSummary", {"SummaryMap": {"Users": 3, "Groups": 0}})
    assert b"<SummaryMap><entry><key>Users</key><value>3</value></entry>" in payload
    assert botocore_parse("iam", "GetAccountSummary", payload)["SummaryMap"] == {
        "Users": 3,
        "Groups": 0,
    }
    device = {
        "SerialNumber": "arn:aws:iam::1:mfa/d",
        "Base32StringSeed": b"\x00\xffseed",
        "QRCodePNG": b"\x89PNG",
    }
    payload = iam_response("CreateVirtualMFADevice", {"VirtualMFADevice": device})
    assert b"<Base32StringSeed>AP9zZWVk</Base32StringSeed>" in payload
    assert botocore_parse("iam", "CreateVirtualMFADevice", payload)["VirtualMFADevice"] == device


@pytest.mark.parametrize(
    "user",
    [
        {"UserName": {"not": "a string"}},
        {"UserName": 12},
        {"CreateDate": "2026-11-29"},
        {"Tags": "not a list"},
    ],
)
def test_wrong_types_are_refused(user: dict[str, Any]) -> None:
    with pytest.raises(TypeError):
        iam_response("GetUser", {"User": user})


# --------------------------------------------------------------------------- errors


def parse_error(payload: bytes, status: int = 400) -> dict[str, Any]:
    shape = botocore_model("iam").operation_model("GetUser").output_shape
    response = {"body": payload, "status_code": status, "headers": {}}
    parsed: dict[str, Any] = botocore.parsers.create_parser("query").parse(response, shape)
    return parsed


def test_error_bytes_and_botocore_reading() -> None:
    payload = encode_error("NoSuchEntity", "The user with name bob cannot be found.", "rid-1")
    assert payload == (
        b'<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error>'
        b"<Type>Sender</Type><Code>NoSuchEntity</Code>"
        b"<Message>The user with name bob cannot be found.</Message></Error>"
        b"<RequestId>rid-1</RequestId></ErrorResponse>"
    )
    parsed = parse_error(payload, 404)
    assert parsed["Error"] == {
        "Type": "Sender",
        "Code": "NoSuchEntity",
        "Message": "The user with name bob cannot be found.",
    }
    assert parsed["ResponseMetadata"]["RequestId"] == "rid-1"


def test_receiver_faults_escaping_and_namespaces() -> None:
    message = "1 validation error detected: Value '<&>' at 'userName' failed"
    payload = encode_error("ServiceFailure", message, "r&2", sender=False)
    parsed = parse_error(payload, 500)
    assert parsed["Error"] == {"Type": "Receiver", "Code": "ServiceFailure", "Message": message}
    assert parsed["ResponseMetadata"]["RequestId"] == "r&2"
    assert payload.startswith(f'<ErrorResponse xmlns="{IAM_NAMESPACE}">'.encode())
    sts_payload = QueryService.load("sts").encode_error("ExpiredToken", "expired", "r3")
    assert sts_payload.startswith(f'<ErrorResponse xmlns="{STS_NAMESPACE}">'.encode())
    assert parse_error(sts_payload, 403)["Error"]["Code"] == "ExpiredToken"
