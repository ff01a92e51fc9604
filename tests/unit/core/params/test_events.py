"""The pure parts of Parameter Store notifications: event shapes and bytes, path matching,
validation, the signature, backoff, and the policy schedule."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from cofre.core.params.events import (
    PolicyType,
    change_event,
    check_path_prefix,
    check_secret,
    check_url,
    encode_event,
    event_id,
    matches,
    policy_event,
    retry_delay,
    signature,
)
from cofre.core.params.parameters import ChangeOperation, ParamChange, ParameterType, ParamId
from cofre.core.params.policies import action, schedule
from cofre.errors import ValidationError

T = datetime(2017, 5, 22, 16, 43, 48, 123456, tzinfo=UTC)
PID = ParamId("123456789012", "us-east-1", "foo")
ID = "6a7e4feb-b491-4cf7-a9f1-bf3703497718"


def test_change_event_bytes() -> None:
    change = ParamChange(ChangeOperation.CREATE, PID, ParameterType.STRING, 1, "Sample", T)
    assert encode_event(change_event(change, ID)) == (
        b'{"version":"0","id":"6a7e4feb-b491-4cf7-a9f1-bf3703497718",'
        b'"detail-type":"Parameter Store Change","source":"aws.ssm",'
        b'"account":"123456789012","time":"2017-05-22T16:43:48Z","region":"us-east-1",'
        b'"resources":["arn:aws:ssm:us-east-1:123456789012:parameter/foo"],'
        b'"detail":{"operation":"Create","name":"foo","type":"String",'
        b'"description":"Sample"}}'
    )


def test_label_events_name_their_labels() -> None:
    change = ParamChange(
        ChangeOperation.LABEL, PID, ParameterType.SECURE_STRING, 2, None, T, ("a", "b")
    )
    detail = change_event(change, ID)["detail"]
    assert detail == {
        "operation": "LabelParameterVersion",
        "name": "foo",
        "type": "SecureString",
        "description": "",
        "labels": ["a", "b"],
    }


def test_event_id_is_a_uuid4() -> None:
    assert event_id(bytes(16)) == "00000000-0000-4000-8000-000000000000"


def test_signature_vector() -> None:
    # checked with: printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac secret-secret-secret
    assert signature(b"secret-secret-secret", 1700000000, b'{"a":1}') == (
        "sha256=fa345d5b654e6667128855e14a4938c54b5b813699e6b72c5c4f501aa493ba92"
    )


@pytest.mark.parametrize(
    ("prefix", "name", "expected"),
    [
        ("/", "foo", True),
        ("/", "/a/b", True),
        ("/a/", "/a/b", True),
        ("/a/", "/ab/c", False),
        ("/a", "/ab/c", True),
        ("/foo", "foo", True),
    ],
)
def test_matches(prefix: str, name: str, expected: bool) -> None:
    assert matches(prefix, name) is expected


@pytest.mark.parametrize(
    "url",
    ["ftp://h/x", "http://", "https://u:p@h/", "http://h/#f", "http://h :80/", "x", "h" * 3000],
)
def test_bad_urls(url: str) -> None:
    with pytest.raises(ValidationError):
        check_url(url)


def test_good_values() -> None:
    assert check_url("https://example.com:8443/hook?x=1") == "https://example.com:8443/hook?x=1"
    assert check_path_prefix(None) == "/"
    assert check_path_prefix("/app/prod/") == "/app/prod/"
    assert check_secret("s" * 16) == b"s" * 16
    for bad in ("app", "/a//b", "/a b"):
        with pytest.raises(ValidationError):
            check_path_prefix(bad)
    for bad in ("short", "has space inside!", "x" * 257):
        with pytest.raises(ValidationError):
            check_secret(bad)


def test_retry_delay_doubles_with_jitter_and_a_cap() -> None:
    assert retry_delay(1, 1.0, 300.0, 0.0) == 0.5
    assert retry_delay(1, 1.0, 300.0, 0.999) < 1.0
    assert retry_delay(4, 1.0, 300.0, 0.0) == 4.0
    assert retry_delay(40, 1.0, 300.0, 0.0) == 150.0
    assert retry_delay(10_000, 1.0, 300.0, 0.5) == 225.0


POLICIES = json.dumps(
    [
        {"Type": "Expiration", "Version": "1.0",
         "Attributes": {"Timestamp": "2030-01-02T00:00:00Z"}},
        {"Type": "ExpirationNotification", "Version": "1.0",
         "Attributes": {"Before": "1", "Unit": "Days"}},
        {"Type": "NoChangeNotification", "Version": "1.0",
         "Attributes": {"After": "2", "Unit": "Hours"}},
    ]
)  # fmt: skip


def test_schedule() -> None:
    due = {s.type: s.due_at for s in schedule(POLICIES, T)}
    expires = datetime(2030, 1, 2, tzinfo=UTC)
    assert due == {
        PolicyType.EXPIRATION: expires,
        PolicyType.EXPIRATION_NOTIFICATION: expires - timedelta(days=1),
        PolicyType.NO_CHANGE_NOTIFICATION: T + timedelta(hours=2),
    }
    assert schedule(None, T) == []


def test_policy_actions() -> None:
    acted = action(PID, "String", POLICIES, PolicyType.NO_CHANGE_NOTIFICATION, T)
    assert acted is not None
    detail = policy_event(acted, ID)["detail"]
    assert detail["action-status"] == "Success"
    assert detail["action-reason"] == "The parameter has not been changed for 2 hours."
    assert json.loads(detail["policy-content"])["Attributes"] == {"After": "2", "Unit": "Hours"}
    notice = action(PID, "String", POLICIES, PolicyType.EXPIRATION_NOTIFICATION, T)
    assert notice is not None and "expire in 1 day," in notice.reason
    expired = action(PID, "String", POLICIES, PolicyType.EXPIRATION, T)
    assert expired is not None and expired.status == "Finished"
    assert action(PID, "String", "[]", PolicyType.EXPIRATION, T) is None
