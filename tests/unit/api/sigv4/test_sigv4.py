"""SigV4 verifier: requests signed by botocore itself must verify; tampering must not."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock
from urllib.parse import urlsplit

import botocore.auth
import pytest
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cofre.api.sigv4.verify import HttpRequest, SigV4Caller, SigV4Verifier
from cofre.errors import (
    AuthenticationError,
    IncompleteSignatureError,
    InvalidSignatureError,
    MissingAuthenticationError,
    UnrecognizedClientError,
)

AKID = "AKIDEXAMPLE0000001"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
TOKEN = "FwoGZXIvYXdzEXAMPLE//session+token=="
REGION = "eu-west-1"
SERVICE = "kms"
ENDPOINT = "https://kms.eu-west-1.amazonaws.com"
SIGNED_AT = datetime(2026, 1, 1, 0, 10, 0, tzinfo=UTC)
KMS_BODY = b'{"KeyId": "alias/app", "Plaintext": "aGVsbG8="}'

MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. "
    "Consult the service documentation for details."
)


class DictSecrets:
    def __init__(self, secrets: dict[str, str]) -> None:
        self.secrets = secrets
        self.lookups: list[str] = []

    def secret_for(self, access_key_id: str) -> str | None:
        self.lookups.append(access_key_id)
        return self.secrets.get(access_key_id)


@contextmanager
def frozen_clock(moment: datetime) -> Iterator[None]:
    naive = moment.astimezone(UTC).replace(tzinfo=None)

    def fake_now(remove_tzinfo: bool = True) -> datetime:
        return naive if remove_tzinfo else naive.replace(tzinfo=UTC)

    with mock.patch.object(botocore.auth, "get_current_datetime", fake_now):
        yield


def to_http(request: AWSRequest) -> HttpRequest:
    """What an ASGI server would hand the verifier for botocore's request."""
    prepared = request.prepare()
    parts = urlsplit(prepared.url)
    headers: list[tuple[bytes, bytes]] = []
    for name, value in prepared.headers.items():
        raw = value.encode("utf-8") if isinstance(value, str) else value
        headers.append((name.lower().encode("latin-1"), raw))
    if not any(name == b"host" for name, _ in headers):
        headers.insert(0, (b"host", parts.netloc.encode("ascii")))
    body = prepared.body or b""
    if isinstance(body, str):
        body = body.encode("utf-8")
    return HttpRequest(
        method=prepared.method,
        path=parts.path or "/",
        query_string=parts.query.encode("latin-1"),
        headers=headers,
        body=body,
    )


def sign(
    *,
    method: str = "POST",
    url: str = ENDPOINT + "/",
    body: bytes = KMS_BODY,
    headers: dict[str, str] | None = None,
    params: Sequence[tuple[str, str]] | None = None,
    secret: str = SECRET,
    akid: str = AKID,
    token: str | None = None,
    at: datetime = SIGNED_AT,
    signer: type[botocore.auth.SigV4Auth] = botocore.auth.SigV4Auth,
    context: dict[str, Any] | None = None,
    **signer_kwargs: Any,
) -> HttpRequest:
    if headers is None:
        headers = {
            "X-Amz-Target": "TrentService.Encrypt",
            "Content-Type": "application/x-amz-json-1.1",
            "User-Agent": "Boto3/1.34 md/Botocore#1.34",
        }
    request = AWSRequest(
        method=method, url=url, data=body, headers=headers, params=list(params or [])
    )
    if context:
        request.context.update(context)
    credentials = Credentials(akid, secret, token)
    with frozen_clock(at):
        signer(credentials, SERVICE, REGION, **signer_kwargs).add_auth(request)
    return to_http(request)


def presign(*, expires: int = 300, **kwargs: Any) -> HttpRequest:
    kwargs.setdefault("method", "GET")
    kwargs.setdefault("body", b"")
    kwargs.setdefault("headers", {})
    return sign(signer=botocore.auth.SigV4QueryAuth, expires=expires, **kwargs)


def header(request: HttpRequest, name: bytes) -> bytes:
    values = [v for n, v in request.headers if n == name]
    assert len(values) == 1, name
    return values[0]


def with_header(request: HttpRequest, name: bytes, value: bytes | None) -> HttpRequest:
    """Replace (or, with None, drop) a header."""
    headers = [(n, v) for n, v in request.headers if n != name]
    if value is not None:
        headers.append((name, value))
    return dataclasses.replace(request, headers=headers)


def with_authorization(request: HttpRequest, old: str, new: str) -> HttpRequest:
    value = header(request, b"authorization").decode()
    assert old in value
    return with_header(request, b"authorization", value.replace(old, new, 1).encode())


def signature_of(request: HttpRequest) -> str:
    for name, value in request.headers:
        if name == b"authorization":
            return value.decode().rpartition("Signature=")[2]
    query = request.query_string.decode()
    return query.rpartition("X-Amz-Signature=")[2].partition("&")[0]


@pytest.fixture
def secrets() -> DictSecrets:
    return DictSecrets({AKID: SECRET})


@pytest.fixture
def verifier(secrets: DictSecrets) -> SigV4Verifier:
    return SigV4Verifier(secrets)


def refused(
    verifier: SigV4Verifier,
    request: HttpRequest,
    error: type[AuthenticationError],
    now: datetime = SIGNED_AT,
) -> str:
    """Assert the request is refused with ``error``; return the (clean) message."""
    with pytest.raises(error) as caught:
        verifier.verify(request, now)
    message = caught.value.message
    assert SECRET not in message
    signature = signature_of(request)
    if len(signature) >= 16:
        assert signature not in message
    if request.body:
        assert request.body.decode("latin-1") not in message
    return message


# ---------------------------------------------------------------- acceptance


def test_kms_json_post_verifies(verifier: SigV4Verifier) -> None:
    request = sign()
    assert b"x-amz-target" in header(request, b"authorization")
    caller = verifier.verify(request, SIGNED_AT)
    assert caller == SigV4Caller(
        access_key_id=AKID,
        region=REGION,
        service=SERVICE,
        request_time=SIGNED_AT,
        session_token=None,
    )
    assert caller.request_time.tzinfo is not None


def test_naive_now_is_taken_as_utc(verifier: SigV4Verifier) -> None:
    verifier.verify(sign(), SIGNED_AT.replace(tzinfo=None))


def test_query_string_needing_encoding_and_repeated_keys(verifier: SigV4Verifier) -> None:
    request = sign(
        method="GET",
        body=b"",
        headers={},
        params=[
            ("b", "x y"),
            ("a", "2"),
            ("a", "1"),
            ("c", "+*~/é=&"),
            ("Z-upper", ""),
            ("ä key", "ü"),
        ],
    )
    assert b"+" in request.query_string  # spaces travel form-encoded
    verifier.verify(request, SIGNED_AT)


def test_raw_query_string_in_url(verifier: SigV4Verifier) -> None:
    # botocore signs a query already in the URL verbatim (it does not re-encode
    # %7E to ~), so the URL here is in canonical encoding already.
    url = ENDPOINT + "/?b=2&a=%2Fx~%20&a=1&flag"
    verifier.verify(sign(method="GET", url=url, body=b"", headers={}), SIGNED_AT)


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/a/b",
        "/a/b%2Fc/d~e",
        "/a/./b/../c/",
        "//double//slash",
        "/with%20space/%41",
        "/x:y@z",
        "/é/ü",
        "/a/../../b",
        "/.hidden/x.",
    ],
)
def test_paths_are_double_encoded_like_botocore(verifier: SigV4Verifier, path: str) -> None:
    request = sign(method="GET", url=ENDPOINT + path, body=b"", headers={})
    assert request.path == path
    verifier.verify(request, SIGNED_AT)


def test_header_values_with_runs_of_spaces(verifier: SigV4Verifier) -> None:
    request = sign(
        headers={
            "X-Amz-Target": "TrentService.Encrypt",
            "Content-Type": "application/x-amz-json-1.1",
            "X-Custom": "  a   b \t c  ",
        }
    )
    assert header(request, b"x-custom") == b"  a   b \t c  "
    verifier.verify(request, SIGNED_AT)


def test_repeated_headers_are_joined_with_commas(verifier: SigV4Verifier) -> None:
    # botocore signs one header "a,b c"; the wire carries it as two headers whose
    # trimmed values joined with "," give the same canonical value.
    request = sign(headers={"X-Amz-Target": "TrentService.Encrypt", "X-Multi": "a,b   c"})
    split = with_header(request, b"x-multi", None)
    split = dataclasses.replace(
        split, headers=[(b"x-multi", b"a "), *split.headers, (b"x-multi", b" b \t c ")]
    )
    verifier.verify(split, SIGNED_AT)
    swapped = dataclasses.replace(
        split, headers=[(b"x-multi", b"b c"), *split.headers[1:-1], (b"x-multi", b"a")]
    )
    refused(verifier, swapped, InvalidSignatureError)


def test_uppercase_header_names_are_tolerated(verifier: SigV4Verifier) -> None:
    request = sign()
    shouting = [(n.upper(), v) for n, v in request.headers]
    verifier.verify(dataclasses.replace(request, headers=shouting), SIGNED_AT)


def test_session_token_is_reported(verifier: SigV4Verifier) -> None:
    request = sign(token=TOKEN)
    assert b"x-amz-security-token" in header(request, b"authorization")
    assert verifier.verify(request, SIGNED_AT).session_token == TOKEN


def test_date_header_instead_of_x_amz_date(verifier: SigV4Verifier) -> None:
    request = sign(
        headers={"X-Amz-Target": "TrentService.Encrypt", "Date": "Thu, 01 Jan 1970 00:00:00 GMT"}
    )
    assert header(request, b"date").startswith(b"Thu, 01 Jan 2026 00:10:00 ")
    assert not any(name == b"x-amz-date" for name, _ in request.headers)
    assert verifier.verify(request, SIGNED_AT).request_time == SIGNED_AT


def test_signed_content_sha256_header(verifier: SigV4Verifier) -> None:
    request = sign(signer=botocore.auth.S3SigV4Auth)
    assert len(header(request, b"x-amz-content-sha256")) == 64
    verifier.verify(request, SIGNED_AT)


def test_presigned_get(verifier: SigV4Verifier) -> None:
    request = presign(params=[("Action", "ListKeys"), ("Limit", "10")])
    assert not any(name == b"authorization" for name, _ in request.headers)
    caller = verifier.verify(request, SIGNED_AT + timedelta(seconds=299))
    assert caller.access_key_id == AKID
    assert caller.session_token is None


def test_presigned_with_session_token(verifier: SigV4Verifier) -> None:
    request = presign(token=TOKEN)
    assert b"X-Amz-Security-Token=" in request.query_string
    assert verifier.verify(request, SIGNED_AT).session_token == TOKEN


def test_presigned_over_unsigned_payload(verifier: SigV4Verifier) -> None:
    # S3-style presigners sign UNSIGNED-PAYLOAD rather than the body's hash.
    request = sign(
        method="GET", body=b"", headers={}, signer=botocore.auth.S3SigV4QueryAuth, expires=60
    )
    verifier.verify(request, SIGNED_AT)


def test_presigned_signature_binds_the_body(verifier: SigV4Verifier) -> None:
    # botocore's SigV4QueryAuth signs the hash of the (empty) body, not UNSIGNED-PAYLOAD.
    request = presign(method="PUT")
    verifier.verify(request, SIGNED_AT)
    refused(verifier, dataclasses.replace(request, body=b"smuggled"), InvalidSignatureError)


def test_presigned_without_expires_uses_the_skew_window(verifier: SigV4Verifier) -> None:
    request = presign()
    query = b"&".join(
        part for part in request.query_string.split(b"&") if not part.startswith(b"X-Amz-Exp")
    )
    # The signature covered X-Amz-Expires, so dropping it must break it -- after the
    # time checks, which now follow the 15-minute window.
    stripped = dataclasses.replace(request, query_string=query)
    refused(verifier, stripped, InvalidSignatureError)
    message = refused(
        verifier, stripped, InvalidSignatureError, now=SIGNED_AT + timedelta(minutes=16)
    )
    assert message.startswith("Signature expired:")


class _CapturedError(Exception):
    def __init__(self, request: Any) -> None:
        super().__init__("captured")
        self.request = request


def _capture(request: Any, **_: Any) -> None:
    raise _CapturedError(request)


@pytest.mark.parametrize(
    ("service", "call"),
    [
        ("kms", lambda client: client.encrypt(KeyId="alias/app", Plaintext=b"hello")),
        ("ssm", lambda client: client.get_parameter(Name="/app/db", WithDecryption=True)),
    ],
)
def test_real_boto3_client_requests_verify(
    verifier: SigV4Verifier, service: str, call: Any
) -> None:
    import boto3

    client = boto3.client(
        service,
        region_name=REGION,
        aws_access_key_id=AKID,
        aws_secret_access_key=SECRET,
        aws_session_token=TOKEN,
        endpoint_url="http://localhost:8080",
    )
    client.meta.events.register("before-send", _capture)
    with pytest.raises(_CapturedError) as captured:
        call(client)
    sent = captured.value.request
    parts = urlsplit(sent.url)
    headers = [(b"host", parts.netloc.encode())]
    for name, value in sent.headers.items():
        headers.append(
            (name.lower().encode(), value if isinstance(value, bytes) else value.encode())
        )
    body = sent.body if isinstance(sent.body, bytes) else (sent.body or "").encode()
    request = HttpRequest(sent.method, parts.path or "/", parts.query.encode(), headers, body)
    caller = verifier.verify(request, datetime.now(UTC))
    assert (caller.access_key_id, caller.service, caller.session_token) == (AKID, service, TOKEN)


# ------------------------------------------------------------------ failures


def test_wrong_secret(verifier: SigV4Verifier) -> None:
    message = refused(verifier, sign(secret=SECRET + "x"), InvalidSignatureError)
    assert message == MISMATCH


def test_unknown_access_key(verifier: SigV4Verifier, secrets: DictSecrets) -> None:
    message = refused(verifier, sign(akid="AKIDUNKNOWN"), UnrecognizedClientError)
    assert message == "The security token included in the request is invalid."
    assert secrets.lookups == ["AKIDUNKNOWN"]


def test_tampered_body(verifier: SigV4Verifier) -> None:
    request = sign()
    tampered = dataclasses.replace(request, body=request.body.replace(b"app", b"ops"))
    assert refused(verifier, tampered, InvalidSignatureError) == MISMATCH


def test_tampered_body_with_content_sha256_header(verifier: SigV4Verifier) -> None:
    request = sign(signer=botocore.auth.S3SigV4Auth)
    tampered = dataclasses.replace(request, body=request.body + b" ")
    message = refused(verifier, tampered, InvalidSignatureError)
    assert message == "The provided 'x-amz-content-sha256' header does not match what was computed."


def test_unsigned_payload_refused_in_header_form(verifier: SigV4Verifier) -> None:
    request = sign(context={"payload_signing_enabled": False})
    assert header(request, b"x-amz-content-sha256") == b"UNSIGNED-PAYLOAD"
    refused(verifier, request, InvalidSignatureError)


def test_tampered_signed_header_value(verifier: SigV4Verifier) -> None:
    request = with_header(sign(), b"x-amz-target", b"TrentService.ScheduleKeyDeletion")
    assert refused(verifier, request, InvalidSignatureError) == MISMATCH


def test_tampered_host(verifier: SigV4Verifier) -> None:
    request = with_header(sign(), b"host", b"kms.us-east-1.amazonaws.com")
    refused(verifier, request, InvalidSignatureError)


def test_dropped_signed_header(verifier: SigV4Verifier) -> None:
    request = with_header(sign(), b"content-type", None)
    refused(verifier, request, InvalidSignatureError)


def test_tampered_signed_headers_list(verifier: SigV4Verifier) -> None:
    request = with_authorization(sign(), "SignedHeaders=content-type;", "SignedHeaders=")
    refused(verifier, request, InvalidSignatureError)


def test_unsigned_header_may_change(verifier: SigV4Verifier) -> None:
    request = with_header(sign(), b"user-agent", b"something else entirely")
    verifier.verify(request, SIGNED_AT)


def test_tampered_query(verifier: SigV4Verifier) -> None:
    request = sign(method="GET", body=b"", headers={}, params=[("Limit", "10")])
    tampered = dataclasses.replace(request, query_string=b"Limit=11")
    refused(verifier, tampered, InvalidSignatureError)


def test_tampered_path(verifier: SigV4Verifier) -> None:
    request = sign(url=ENDPOINT + "/a")
    refused(verifier, dataclasses.replace(request, path="/b"), InvalidSignatureError)


def test_tampered_method(verifier: SigV4Verifier) -> None:
    refused(verifier, dataclasses.replace(sign(), method="PUT"), InvalidSignatureError)


def test_missing_authorization_json(verifier: SigV4Verifier) -> None:
    request = with_header(sign(), b"authorization", None)
    message = refused(verifier, request, MissingAuthenticationError)
    assert message == "Request is missing Authentication Token"


def test_missing_authorization_plain(verifier: SigV4Verifier) -> None:
    request = HttpRequest("GET", "/", b"a=1", [(b"host", b"example.com")], b"")
    assert refused(verifier, request, MissingAuthenticationError) == "Missing Authentication Token"


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "Credential=",
            "Kredential=",
            "Authorization header requires 'Credential' parameter.",
        ),
        (
            "SignedHeaders=",
            "SignedHeader=",
            "Authorization header requires 'SignedHeaders' parameter.",
        ),
        ("Signature=", "Sig=", "Authorization header requires 'Signature' parameter."),
        (
            "AWS4-HMAC-SHA256 ",
            "AWS4-HMAC-SHA512 ",
            "The authorization mechanism you have provided is not supported. "
            "Please use AWS4-HMAC-SHA256.",
        ),
        (
            "Credential=",
            "Credential=AKID ",
            "A component of the Authorization header is not a valid key=value pair "
            "(missing equal-sign).",
        ),
        (
            "/aws4_request",
            "",
            "Credential must have exactly 5 slash-delimited elements, e.g. "
            f"keyid/date/region/service/term, got '{AKID}/20260101/{REGION}/{SERVICE}'",
        ),
        (
            "/aws4_request",
            "/aws5_request",
            "Credential should be scoped with a valid terminator: 'aws4_request', "
            "not 'aws5_request'.",
        ),
        (
            "/20260101/",
            "/2026-1-1/",
            "Invalid credential scope: the date '2026-1-1' is not in yyyyMMdd format.",
        ),
        (f"/{REGION}/", "//", "Credential should be scoped to a valid region."),
        (
            "SignedHeaders=",
            "SignedHeaders=;",
            "SignedHeaders must list non-empty header names.",
        ),
    ],
)
def test_malformed_authorization(
    verifier: SigV4Verifier, secrets: DictSecrets, old: str, new: str, expected: str
) -> None:
    request = with_authorization(sign(), old, new)
    assert refused(verifier, request, IncompleteSignatureError) == expected
    assert secrets.lookups == []  # nothing is looked up before the header parses


def test_everything_missing_lists_every_part(verifier: SigV4Verifier) -> None:
    request = with_header(with_header(sign(), b"authorization", b"Bearer"), b"x-amz-date", None)
    assert refused(verifier, request, IncompleteSignatureError) == (
        "Authorization header requires 'Credential' parameter. "
        "Authorization header requires 'Signature' parameter. "
        "Authorization header requires 'SignedHeaders' parameter. "
        "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
    )


def test_bearer_token_is_not_echoed(verifier: SigV4Verifier) -> None:
    token = "eyJhbGciOiJIUzI1NiJ9.c2VjcmV0LXN0dWZm.c2lnbmF0dXJl"
    request = with_header(sign(), b"authorization", f"Bearer {token}".encode())
    assert token not in refused(verifier, request, IncompleteSignatureError)


def test_duplicate_parameter(verifier: SigV4Verifier) -> None:
    request = with_authorization(sign(), "Signature=", "Signature=00, Signature=")
    refused(verifier, request, IncompleteSignatureError)


def test_malformed_x_amz_date(verifier: SigV4Verifier) -> None:
    request = with_header(sign(), b"x-amz-date", b"2026-01-01T00:10:00Z")
    message = refused(verifier, request, IncompleteSignatureError)
    assert message.startswith("Date must be in ISO-8601 'basic format'. Got '2026-01-01T00:10:00Z'")


def test_impossible_x_amz_date(verifier: SigV4Verifier) -> None:
    request = with_header(sign(), b"x-amz-date", b"20261301T001000Z")
    refused(verifier, request, IncompleteSignatureError)


def test_host_not_signed(verifier: SigV4Verifier) -> None:
    request = with_authorization(sign(), ";host;", ";")
    message = refused(verifier, request, IncompleteSignatureError)
    assert message == "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."


def test_target_not_signed(verifier: SigV4Verifier) -> None:
    request = with_authorization(sign(), ";x-amz-target,", ",")
    message = refused(verifier, request, IncompleteSignatureError)
    assert message == "'X-Amz-Target' must be a 'SignedHeader' in the AWS Authorization."


def test_skew_limits(verifier: SigV4Verifier) -> None:
    request = sign()
    verifier.verify(request, SIGNED_AT + timedelta(minutes=15))
    verifier.verify(request, SIGNED_AT - timedelta(minutes=15))


def test_request_16_minutes_old_is_expired(verifier: SigV4Verifier) -> None:
    now = SIGNED_AT + timedelta(minutes=16)
    message = refused(verifier, sign(), InvalidSignatureError, now=now)
    assert message == (
        "Signature expired: 20260101T001000Z is now earlier than 20260101T001100Z "
        "(20260101T002600Z - 15 min.)"
    )


def test_request_16_minutes_ahead_is_not_yet_current(verifier: SigV4Verifier) -> None:
    now = SIGNED_AT - timedelta(minutes=16)
    message = refused(verifier, sign(), InvalidSignatureError, now=now)
    assert message == (
        "Signature not yet current: 20260101T001000Z is still later than 20260101T000900Z "
        "(20251231T235400Z + 15 min.)"
    )


def test_custom_max_skew(secrets: DictSecrets) -> None:
    verifier = SigV4Verifier(secrets, max_skew=timedelta(seconds=90))
    verifier.verify(sign(), SIGNED_AT + timedelta(seconds=90))
    message = refused(
        verifier, sign(), InvalidSignatureError, now=SIGNED_AT + timedelta(seconds=91)
    )
    assert message.endswith("(20260101T001131Z - 90 sec.)")


def test_skew_is_checked_before_the_secret_lookup(
    verifier: SigV4Verifier, secrets: DictSecrets
) -> None:
    refused(verifier, sign(), InvalidSignatureError, now=SIGNED_AT + timedelta(hours=1))
    assert secrets.lookups == []


def test_scope_date_differs_from_request_date(verifier: SigV4Verifier) -> None:
    request = with_authorization(sign(), "/20260101/", "/20251231/")
    message = refused(verifier, request, InvalidSignatureError)
    assert message == (
        "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from "
        "HTTP: '20251231' != '20260101', from '20260101T001000Z'."
    )


def test_both_auth_mechanisms(verifier: SigV4Verifier) -> None:
    request = presign()
    both = dataclasses.replace(
        request,
        headers=[*request.headers, (b"authorization", header(sign(), b"authorization"))],
    )
    refused(verifier, both, IncompleteSignatureError)


def test_expired_presigned_url(verifier: SigV4Verifier) -> None:
    request = presign(expires=60)
    verifier.verify(request, SIGNED_AT + timedelta(seconds=60))
    message = refused(
        verifier, request, InvalidSignatureError, now=SIGNED_AT + timedelta(seconds=61)
    )
    assert message == (
        "Signature expired: 20260101T001000Z is now earlier than 20260101T001001Z "
        "(20260101T001101Z - 1 min.)"
    )


def test_presigned_url_from_the_future(verifier: SigV4Verifier) -> None:
    request = presign(expires=3600)
    message = refused(
        verifier, request, InvalidSignatureError, now=SIGNED_AT - timedelta(minutes=16)
    )
    assert message.startswith("Signature not yet current:")


def test_week_old_presigned_url_within_its_expiry(verifier: SigV4Verifier) -> None:
    request = presign(expires=604800)
    verifier.verify(request, SIGNED_AT + timedelta(days=7))
    refused(verifier, request, InvalidSignatureError, now=SIGNED_AT + timedelta(days=7, seconds=1))


@pytest.mark.parametrize("expires", [0, 604801])
def test_presigned_expires_out_of_range(verifier: SigV4Verifier, expires: int) -> None:
    refused(verifier, presign(expires=expires), IncompleteSignatureError)


def test_presigned_unknown_access_key(verifier: SigV4Verifier) -> None:
    refused(verifier, presign(akid="AKIDUNKNOWN"), UnrecognizedClientError)


def test_presigned_wrong_secret(verifier: SigV4Verifier) -> None:
    assert refused(verifier, presign(secret="nope"), InvalidSignatureError) == MISMATCH


def test_presigned_tampered_query(verifier: SigV4Verifier) -> None:
    request = presign(params=[("Limit", "10")])
    tampered = dataclasses.replace(
        request, query_string=request.query_string.replace(b"Limit=10", b"Limit=11")
    )
    refused(verifier, tampered, InvalidSignatureError)


def test_presigned_missing_parameters(verifier: SigV4Verifier) -> None:
    request = presign()
    query = b"&".join(
        part
        for part in request.query_string.split(b"&")
        if not part.startswith((b"X-Amz-Date=", b"X-Amz-SignedHeaders="))
    )
    message = refused(
        verifier, dataclasses.replace(request, query_string=query), IncompleteSignatureError
    )
    assert message == (
        "AWS query-string parameters must include 'X-Amz-SignedHeaders'. "
        "AWS query-string parameters must include 'X-Amz-Date'. "
        "Re-examine the query-string parameters."
    )


def test_presigned_bad_algorithm(verifier: SigV4Verifier) -> None:
    request = presign()
    query = request.query_string.replace(b"AWS4-HMAC-SHA256", b"AWS4-ECDSA-P256-SHA256")
    refused(verifier, dataclasses.replace(request, query_string=query), IncompleteSignatureError)


def test_presigned_duplicate_signature(verifier: SigV4Verifier) -> None:
    request = presign()
    query = request.query_string + b"&X-Amz-Signature=" + b"0" * 64
    refused(verifier, dataclasses.replace(request, query_string=query), IncompleteSignatureError)


def test_presigned_host_not_signed(verifier: SigV4Verifier) -> None:
    request = presign()
    query = request.query_string.replace(b"X-Amz-SignedHeaders=host", b"X-Amz-SignedHeaders=x")
    refused(verifier, dataclasses.replace(request, query_string=query), IncompleteSignatureError)


# ------------------------------------------------------------- key caching


def test_rotated_secret_does_not_reuse_a_cached_key(secrets: DictSecrets) -> None:
    verifier = SigV4Verifier(secrets)
    old = sign()
    verifier.verify(old, SIGNED_AT)
    secrets.secrets[AKID] = "a-brand-new-secret"
    refused(verifier, old, InvalidSignatureError)
    verifier.verify(sign(secret="a-brand-new-secret"), SIGNED_AT)


@pytest.mark.parametrize("cache_size", [0, 1, 2])
def test_small_caches(secrets: DictSecrets, cache_size: int) -> None:
    secrets.secrets["AKIDOTHER"] = "other-secret"
    verifier = SigV4Verifier(secrets, cache_size=cache_size)
    first = sign()
    second = sign(akid="AKIDOTHER", secret="other-secret")
    for _ in range(3):
        verifier.verify(first, SIGNED_AT)
        verifier.verify(second, SIGNED_AT)
        refused(verifier, sign(secret="wrong"), InvalidSignatureError)


def test_constructor_rejects_nonsense(secrets: DictSecrets) -> None:
    with pytest.raises(ValueError, match="cache_size"):
        SigV4Verifier(secrets, cache_size=-1)
    with pytest.raises(ValueError, match="max_skew"):
        SigV4Verifier(secrets, max_skew=timedelta(seconds=-1))


# ---------------------------------------------------------------- property

_header_text = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E) | st.just("\t"), max_size=40
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    body=st.binary(max_size=300),
    value=_header_text,
    other=_header_text,
    data=st.data(),
)
def test_property_botocore_signed_requests_verify(
    body: bytes, value: str, other: str, data: st.DataObject
) -> None:
    verifier = SigV4Verifier(DictSecrets({AKID: SECRET}))
    request = sign(
        body=body,
        headers={
            "X-Amz-Target": "TrentService.Decrypt",
            "Content-Type": "application/x-amz-json-1.1",
            "X-Test-Value": value,
            "X-Test-Other": other,
        },
    )
    verifier.verify(request, SIGNED_AT)
    if body:
        index = data.draw(st.integers(min_value=0, max_value=len(body) - 1), label="index")
        delta = data.draw(st.integers(min_value=1, max_value=255), label="delta")
        changed = bytearray(body)
        changed[index] ^= delta
        with pytest.raises(InvalidSignatureError):
            verifier.verify(dataclasses.replace(request, body=bytes(changed)), SIGNED_AT)
