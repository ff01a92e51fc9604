"""The audit page: the console's own actions are found with LookupEvents' filters."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.support.console import ConsoleUser, key_id_of
from tests.support.iam import allow, make_user
from tests.support.server import CofreServer


@pytest.fixture(scope="module")
def console_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CofreServer]:
    server = CofreServer(tmp_path_factory.mktemp("cofre-console-audit") / "data").start()
    try:
        yield server
    finally:
        server.stop()


def _eventually(user: ConsoleUser, text: str, **query: str) -> str:
    """The audit page with ``query`` once it shows ``text`` (read-only calls reach the
    chain through the journal, a moment after they are answered)."""
    deadline = time.monotonic() + 20
    while True:
        page = user.page("/console/audit", **query)
        assert page.status_code == 200
        if text in page.text or time.monotonic() > deadline:
            return page.text
        time.sleep(0.3)


def test_console_actions_appear_on_the_audit_page(console_server: CofreServer) -> None:
    with ConsoleUser(console_server) as user:
        user.sign_in()
        created = user.post("/console/keys", {"kind": "SYMMETRIC_DEFAULT|ENCRYPT_DECRYPT"})
        key_id = key_id_of(created.headers["location"])
        user.post(f"/console/keys/{key_id}/disable")
        page = _eventually(user, "DisableKey", attr="EventName", value="DisableKey")
        assert key_id in page and "cofre-console" in page
        arn = console_server.client("kms").describe_key(KeyId=key_id)["KeyMetadata"]["Arn"]
        assert (
            f"value={arn.replace(':', '%3A').replace('/', '%2F')}"
            in user.page(f"/console/keys/{key_id}").text
        )  # the key's page links to its events
        by_key = _eventually(user, "CreateKey", attr="ResourceName", value=arn)
        assert "CreateKey" in by_key and "DisableKey" in by_key
        assert by_key.index("DisableKey") < by_key.index("CreateKey")  # newest first
        nothing = user.page("/console/audit", attr="EventName", value="DisableKey",
                            start="2001-01-01T00:00", end="2001-01-02T00:00")  # fmt: skip
        assert "No events." in nothing.text


def test_audit_page_denied_without_lookup_events(console_server: CofreServer) -> None:
    nobody = make_user(console_server)
    with ConsoleUser(console_server) as user:
        user.sign_in(nobody.access_key_id, nobody.secret_access_key)
        page = user.page("/console/audit")
        assert page.status_code == 400
        assert "AccessDenied" in page.text and "cloudtrail:LookupEvents" in page.text


def test_verify_the_trail_for_administrators_only(console_server: CofreServer) -> None:
    with ConsoleUser(console_server) as admin:
        admin.sign_in()
        page = admin.post("/console/audit/verify")
        assert page.status_code == 200
        assert 'id="verify-result"' in page.text and "Audit trail intact" in page.text
    nobody = make_user(console_server, allow("cloudtrail:LookupEvents"))
    with ConsoleUser(console_server) as user:
        user.sign_in(nobody.access_key_id, nobody.secret_access_key)
        user.page("/console/audit")
        refused = user.post("/console/audit/verify")
        assert refused.status_code == 400
        assert 'id="verify-error"' in refused.text and "AccessDenied" in refused.text


def test_sign_ins_are_recorded_without_the_form(console_server: CofreServer) -> None:
    from tests.support.server import ACCESS_KEY_ID, SECRET_ACCESS_KEY

    with ConsoleUser(console_server) as user:
        assert user.sign_in(secret="wrong-secret-for-the-record").status_code == 401
        assert user.sign_in().status_code == 303
    trail = console_server.client("cloudtrail")
    deadline = time.monotonic() + 20
    records: list[str] = []
    while len(records) < 2 and time.monotonic() < deadline:
        events = trail.lookup_events(
            LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "ConsoleLogin"}]
        )["Events"]
        records = [e["CloudTrailEvent"] for e in events if ACCESS_KEY_ID in e["CloudTrailEvent"]]
        time.sleep(0.3)
    failed = [r for r in records if '"errorCode":"AccessDenied"' in r.replace(" ", "")]
    passed = [r for r in records if '"errorCode"' not in r]
    assert failed and passed
    for record in records:
        assert '"userAgent":"cofre-console"' in record.replace(" ", "")
        assert SECRET_ACCESS_KEY not in record and "wrong-secret-for-the-record" not in record
