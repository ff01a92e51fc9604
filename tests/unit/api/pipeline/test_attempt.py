"""An ``Attempt`` is the ``AuditCall`` its request is recorded as: begun with what
arrives, finished with the outcome, each field where its name says. The journal entry of
a call is the same whether its context was written before (cached by caller) or not."""

from __future__ import annotations

import dataclasses
import os
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cofre.api.pipeline.attempt import Attempt
from cofre.core.audit.events import API_CALL, AuditCall
from cofre.core.iam.principals import Caller
from cofre.errors import AuditUnavailableError
from cofre.service.audit.models import botocore_model
from cofre.service.audit.records import RecordBuilder


def test_a_finished_attempt_is_the_call_with_each_field_under_its_own_name() -> None:
    caller = Caller(
        "111122223333", "arn:aws:iam::111122223333:user/alice", "AKIAALICE", "eu-west-1",
        "10.0.0.1", "agent/caller", True, None, "alice", "AIDAALICE", None,
    )  # fmt: skip
    when = datetime(2026, 12, 6, 12, 0, 1, 5, tzinfo=UTC)
    attempt = Attempt.begin("request-1", when, "192.0.2.7", "agent/attempt")
    attempt.service, attempt.operation, attempt.region = "kms", "Encrypt", "eu-west-1"
    attempt.caller, attempt.params, attempt.signed_service = caller, {"KeyId": "alias/a"}, "kms"
    attempt.access_key_id, attempt.account_id = "AKIATRIED", "444455556666"
    attempt.session_created_at = datetime(2026, 12, 6, 11, 0, tzinfo=UTC)
    call = attempt.finish(
        output={"KeyId": "k"},
        error_code="NotFoundException",
        error_message="no such key",
        resources=["arn:aws:kms:eu-west-1:111122223333:key/k"],
    )
    expected = AuditCall(
        time=attempt.time,
        service="kms",
        operation="Encrypt",
        region="eu-west-1",
        caller=caller,
        request_id="request-1",
        params={"KeyId": "alias/a"},
        output={"KeyId": "k"},
        error_code="NotFoundException",
        error_message="no such key",
        read_only=None,
        resources=("arn:aws:kms:eu-west-1:111122223333:key/k",),
        event_type=API_CALL,
        source_ip="192.0.2.7",
        user_agent="agent/attempt",
        access_key_id="AKIATRIED",
        account_id="444455556666",
        session_created_at=attempt.session_created_at,
    )
    recorded = dataclasses.asdict(call)
    assert recorded.pop("signed_service") == "kms"  # the attempt's own, not the record's
    assert recorded.pop("charged") is False  # (its request quota: the pipeline's)
    assert recorded == dataclasses.asdict(expected)
    assert call.extra == {} and call.redacted is False


# The journal entry of a call whose context is cached (a caller seen before) must be the
# entry made from scratch, whatever the attempt holds.
_CALLERS = [
    None,
    Caller(
        "111122223333", "arn:aws:iam::111122223333:user/alice", "AKIAALICE", "eu-west-1",
        "10.0.0.1", "agent/caller", True, None, "alice", "AIDAALICE", None,
    ),
    Caller(
        "444455556666", "arn:aws:sts::444455556666:assumed-role/app/s", "ASIAAPP",
        "us-east-1", "10.0.0.2", "agent/role", False, None, None, "AROAAPP:s",
        "arn:aws:iam::444455556666:role/app",
    ),
]  # fmt: skip
_KEY = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
_READ_ONLY = [("kms", "Encrypt"), ("kms", "Decrypt"), ("kms", "DescribeKey"),
              ("ssm", "GetParameter"), ("kms", "GenerateDataKey")]  # fmt: skip
_BUILDER = RecordBuilder(botocore_model, os.urandom)  # shared: later examples hit its cache


@st.composite
def _succeeded(draw: st.DrawFn) -> tuple[Attempt, dict[str, Any] | None, list[str]]:
    caller = draw(st.sampled_from(_CALLERS))
    if caller is not None and draw(st.booleans()):
        caller = dataclasses.replace(caller)  # equal, another object
    service, operation = draw(st.sampled_from(_READ_ONLY))
    text = st.text(max_size=8)
    attempt = Attempt(
        request_id=draw(text),
        time=draw(st.datetimes(timezones=st.just(UTC))),
        source_ip=draw(st.sampled_from(["10.0.0.1", "192.0.2.7"])),
        user_agent=draw(st.sampled_from(["agent/caller", "agent/other"])),
        service=service,
        operation=operation,
        region=draw(st.sampled_from(["eu-west-1", "us-east-1"])),
        caller=caller,
        params=draw(st.none() | st.fixed_dictionaries({"KeyId": text, "Plaintext": st.binary()})),
        signed_service=service,
        access_key_id=draw(st.sampled_from(["", "AKIATRIED"])),
        account_id=draw(st.sampled_from([None, "444455556666"])),
        session_created_at=draw(st.none() | st.datetimes(timezones=st.just(UTC))),
    )
    output = draw(st.none() | st.just({"KeyId": _KEY}))
    collected = draw(st.lists(st.sampled_from([_KEY, _KEY.replace("1234abcd", "5678abcd")])))
    return attempt, output, collected


@settings(max_examples=300, deadline=None)
@given(succeeded=_succeeded())
def test_a_cached_context_gives_the_entry_made_afresh(
    succeeded: tuple[Attempt, dict[str, Any] | None, list[str]],
) -> None:
    attempt, output, collected = succeeded
    call = attempt.finish(output=output, resources=collected)
    expected = RecordBuilder(botocore_model, os.urandom).journal_entry(call)
    assert _BUILDER.journal_entry(call) == expected
    assert _BUILDER.journal_entry(call) == expected  # now cached
    written = orjson.dumps(expected).lower()
    assert b"plaintext" not in written
    for changes in _OTHER:  # one field changed, the caller the same: not found cached
        other = dataclasses.replace(attempt, **changes).finish(output=output, resources=collected)
        fresh = RecordBuilder(botocore_model, os.urandom).journal_entry(other)
        assert _BUILDER.journal_entry(other) == fresh
    elsewhere = dataclasses.replace(call, resources=(*call.resources, "arn:aws:kms:x"))
    assert _BUILDER.journal_entry(elsewhere)[0] != expected[0]  # another context


_OTHER: list[dict[str, Any]] = [
    {"service": "ssm", "operation": "GetParameters"}, {"service": "kms", "operation": "Sign"},
    {"service": "kms", "operation": "ListTagsForResource"},
    {"service": "ssm", "operation": "ListTagsForResource"},  # the service alone differs
    {"region": "ap-south-1"}, {"source_ip": "198.51.100.1"}, {"user_agent": "agent/third"},
    {"access_key_id": "AKIATHIRD"}, {"account_id": "777788889999"},
    {"session_created_at": datetime(2020, 1, 1, tzinfo=UTC)},
]  # fmt: skip


def test_a_mutating_call_that_succeeded_has_no_journal_entry() -> None:
    attempt = Attempt.begin("request-1", datetime(2026, 12, 7, tzinfo=UTC), "10.0.0.1", "agent")
    attempt.service, attempt.operation, attempt.caller = "kms", "CreateKey", _CALLERS[1]
    with pytest.raises(AuditUnavailableError):
        _BUILDER.journal_entry(attempt.finish(resources=(_KEY,)))
