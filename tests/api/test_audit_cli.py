"""``cofre audit verify | export | public-key`` on a data directory whose trail was written
through ``AuditTrail`` and then tampered with behind Cofre's back, and CloudTrail's
LookupEvents against a real ``cofre serve`` with boto3 and the AWS CLI."""

from __future__ import annotations

import base64
import gzip
import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from botocore.exceptions import ClientError

from cofre.config import Settings
from cofre.container import Services
from cofre.core.audit.events import SERVICE_EVENT, AuditCall
from cofre.core.iam.principals import Caller
from tests.conftest import BACKENDS
from tests.support import audit_db
from tests.support.backends import backend_database
from tests.support.server import (
    ACCESS_KEY_ID,
    ACCOUNT_ID,
    COFRE,
    REGION,
    CofreServer,
    random_root_key,
)

T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
KEY = f"arn:aws:kms:{REGION}:{ACCOUNT_ID}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
ROOT = Caller(
    ACCOUNT_ID, f"arn:aws:iam::{ACCOUNT_ID}:root", ACCESS_KEY_ID, REGION, "127.0.0.1", "t"
)
ALICE = Caller(
    ACCOUNT_ID, f"arn:aws:iam::{ACCOUNT_ID}:user/alice", "AKIAALICE0000000000A", REGION,
    user_name="alice", principal_id="AIDAALICE",
)  # fmt: skip
EVENTS = 10


@dataclass
class Trail:
    data_dir: Path
    database: str | None
    root_key: str
    event_ids: list[str]
    public_key: str

    def cofre(self, *args: str) -> subprocess.CompletedProcess[str]:
        command = [COFRE, "audit", *args, "--data-dir", str(self.data_dir)]
        if self.database:
            command += ["--database", self.database]
        env = {**os.environ, "COFRE_ROOT_KEY": self.root_key}
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)


def _calls() -> list[AuditCall]:
    calls = []
    for n in range(EVENTS):
        when = T0 + timedelta(seconds=n)
        if n == 3:
            calls.append(AuditCall(when, "kms", "RotateKey", REGION, None, event_type=SERVICE_EVENT,
                                   account_id=ACCOUNT_ID, resources=(KEY,)))  # fmt: skip
        elif n == 5:
            calls.append(AuditCall(when, "kms", "Decrypt", REGION, None, f"req-{n}",
                                   access_key_id="AKIAUNKNOWN",
                                   error_code="UnrecognizedClientException"))  # fmt: skip
        else:
            caller = ALICE if n % 2 else ROOT
            operation = "CreateKey" if n == 0 else "Encrypt"
            calls.append(AuditCall(
                when, "kms", operation, REGION, caller, f"req-{n}",
                params={"KeyId": KEY, "Plaintext": b"top secret",
                        "EncryptionContext": {"n": str(n)}},
                output={"KeyId": KEY, "CiphertextBlob": b"blob"}, resources=(KEY,),
            ))  # fmt: skip
    return calls


@pytest.fixture(params=BACKENDS)
def trail(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Trail]:
    with backend_database(request.param) as database:
        root_key = random_root_key()
        settings = Settings(data_dir=tmp_path / "data", database=database, root_key_b64=root_key)
        services = Services.build(settings)
        try:
            ids = []
            for call in _calls():  # straight into the chain, as a mutating call's record
                with services.storage.write() as tx:
                    receipt = services.audit.record(call, within=tx)
                assert receipt is not None
                ids += receipt.event_ids
            assert services.audit.signing.sign_head() is not None
            pem = services.audit.signing.public_key_pem()
            assert pem is not None
        finally:
            services.close()
        yield Trail(settings.data_dir, database, root_key, ids, pem)


def test_intact_trail_verifies(trail: Trail) -> None:
    result = trail.cofre("verify")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"audit trail intact: {EVENTS} events, seq 1..{EVENTS}" in result.stdout
    assert f"signed through seq {EVENTS}" in result.stdout
    key = trail.cofre("public-key")
    assert key.returncode == 0 and key.stdout == trail.public_key


TAMPERING: dict[str, tuple[audit_db.Edit, int, str, int]] = {
    # name: (edit, seq named, kind, index of the event id named, -1 for none)
    "edit a body": (audit_db.replace_in_body(5, b'"n":"4"', b'"n":"5"'), 5, "altered", 4),
    "delete a row": (audit_db.delete(7), 7, "deleted", -1),
    "swap two rows": (audit_db.swap(4, 5), 4, "reordered", 4),
    "insert a row": (audit_db.insert_copy(6, of=2), 6, "inserted", 1),
    "delete the last rows": (audit_db.delete_from(EVENTS - 1), EVENTS - 1, "truncated", -1),
}


@pytest.mark.parametrize("how", sorted(TAMPERING))
def test_tampering_is_named(trail: Trail, how: str) -> None:
    edit, seq, kind, event = TAMPERING[how]
    audit_db.tamper(trail.data_dir, trail.database, edit)
    result = trail.cofre("verify")
    assert result.returncode == 1, result.stdout + result.stderr
    first = next(line for line in result.stdout.splitlines() if line.startswith("first problem"))
    assert first.startswith(f"first problem: seq {seq}"), result.stdout
    assert f": {kind}: " in first, result.stdout
    if event >= 0:
        assert f"(eventID {trail.event_ids[event]})" in first, result.stdout


def test_export_jsonl_and_cloudtrail(trail: Trail, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = trail.cofre("export", "--output", str(out), "--format", "jsonl")
    assert result.returncode == 0, result.stderr
    assert f"exported {EVENTS} events (seq 1..{EVENTS})" in result.stdout
    [jsonl] = out.glob("*.jsonl")
    records = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert [r["eventID"] for r in records] == trail.event_ids
    assert "top secret" not in jsonl.read_text()
    assert base64.b64encode(b"top secret").decode()[:-4] not in jsonl.read_text()
    [manifest] = out.glob("*.manifest.json")
    assert json.loads(manifest.read_text())["publicKey"] == trail.public_key
    again = trail.cofre("export", "--output", str(out), "--format", "jsonl")
    assert again.returncode == 1 and "not overwriting" in again.stderr

    since = (T0 + timedelta(seconds=2)).isoformat()
    result = trail.cofre("export", "--output", str(tmp_path / "ct"), "--format", "cloudtrail",
                         "--since", since)  # fmt: skip
    assert result.returncode == 0, result.stderr
    files = sorted((tmp_path / "ct").rglob("*.json.gz"))
    assert files and all(f"_CloudTrail_{REGION}_" in f.name for f in files)
    exported = [r for f in files for r in json.loads(gzip.decompress(f.read_bytes()))["Records"]]
    assert sorted(r["eventID"] for r in exported) == sorted(trail.event_ids[2:])
    none = trail.cofre("export", "--output", str(tmp_path / "x"), "--since", "2999-01-01")
    assert none.returncode == 0 and "no events" in none.stdout


def test_public_key_before_any_digest(tmp_path: Path) -> None:
    root_key = random_root_key()
    Services.build(Settings(data_dir=tmp_path / "d", root_key_b64=root_key)).close()
    result = Trail(tmp_path / "d", None, root_key, [], "").cofre("public-key")
    assert result.returncode == 1 and "no digest" in result.stderr
    verify = Trail(tmp_path / "d", None, root_key, [], "").cofre("verify")
    assert verify.returncode == 0 and "no events" in verify.stdout


# LookupEvents against a real server ---------------------------------------------------------------
@pytest.fixture
def server(trail: Trail) -> Iterator[CofreServer]:
    srv = CofreServer(trail.data_dir, database=trail.database, root_key=trail.root_key).start()
    try:
        yield srv
    finally:
        srv.stop()


def test_lookup_events_with_boto3(server: CofreServer, trail: Trail) -> None:
    cloudtrail = server.client("cloudtrail")
    page = cloudtrail.lookup_events(MaxResults=3)
    ids = [e["EventId"] for e in page["Events"]]
    assert ids == trail.event_ids[::-1][:3]  # newest first
    rest: list[str] = []
    token = page["NextToken"]
    while token:
        page = cloudtrail.lookup_events(MaxResults=3, NextToken=token)
        rest += [e["EventId"] for e in page["Events"]]
        token = page.get("NextToken")
    # the unauthenticated call (n=5) belongs to no account
    assert rest == [i for n, i in enumerate(trail.event_ids) if n != 5][::-1][3:]
    event = cloudtrail.lookup_events(
        LookupAttributes=[{"AttributeKey": "Username", "AttributeValue": "alice"}]
    )["Events"]
    assert {e["Username"] for e in event} == {"alice"} and len(event) == 3  # n = 1, 7, 9
    first = event[-1]
    assert first["EventName"] == "Encrypt" and first["ReadOnly"] == "true"
    assert first["EventSource"] == "kms.amazonaws.com"
    assert first["Resources"] == [{"ResourceType": "AWS::KMS::Key", "ResourceName": KEY}]
    assert first["EventTime"] == T0 + timedelta(seconds=1)
    body = json.loads(first["CloudTrailEvent"])
    assert (
        body["userIdentity"]["userName"] == "alice" and "plaintext" not in body["requestParameters"]
    )
    window = cloudtrail.lookup_events(
        StartTime=T0 + timedelta(seconds=8), EndTime=T0 + timedelta(minutes=30)
    )
    assert [e["EventId"] for e in window["Events"]] == trail.event_ids[:7:-1]
    by_key = cloudtrail.lookup_events(
        LookupAttributes=[{"AttributeKey": "ResourceName", "AttributeValue": KEY}]
    )["Events"]
    assert len(by_key) == EVENTS - 1
    with pytest.raises(ClientError) as info:
        cloudtrail.lookup_events(
            LookupAttributes=[
                {"AttributeKey": "Username", "AttributeValue": "a"},
                {"AttributeKey": "EventName", "AttributeValue": "b"},
            ]
        )
    assert info.value.response["Error"]["Code"] == "InvalidLookupAttributesException"
    with pytest.raises(ClientError) as info:
        cloudtrail.lookup_events(StartTime=T0, EndTime=T0 - timedelta(seconds=1))
    assert info.value.response["Error"]["Code"] == "InvalidTimeRangeException"
    with pytest.raises(ClientError) as info:
        cloudtrail.lookup_events(NextToken="bogus")
    assert info.value.response["Error"]["Code"] == "InvalidNextTokenException"


def test_lookup_events_with_the_aws_cli(server: CofreServer, trail: Trail) -> None:
    result = server.aws_cli(
        "cloudtrail", "lookup-events",
        "--lookup-attributes", "AttributeKey=EventName,AttributeValue=CreateKey",
    )  # fmt: skip
    events: list[dict[str, Any]] = json.loads(result.stdout)["Events"]
    assert [e["EventId"] for e in events] == [trail.event_ids[0]]
    assert json.loads(events[0]["CloudTrailEvent"])["eventName"] == "CreateKey"
    result = server.aws_cli("cloudtrail", "lookup-events", "--max-items", "2")
    assert len(json.loads(result.stdout)["Events"]) == 2


def _audit_cli(data_dir: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    command = [COFRE, "audit", *args, "--data-dir", str(data_dir)]
    full_env = {k: v for k, v in os.environ.items() if k != "COFRE_ROOT_KEY"} | env
    return subprocess.run(command, env=full_env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("command", [["verify"], ["public-key"], ["export", "--output", "out"]])
def test_what_is_not_a_store_is_refused_and_left_as_it_was(
    tmp_path: Path, command: list[str]
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    args = [part if part != "out" else str(tmp_path / "out") for part in command]
    result = _audit_cli(empty, *args, env={})
    assert result.returncode == 2, result.stdout + result.stderr
    assert "not the data directory of a Cofre server" in result.stderr
    assert list(empty.iterdir()) == []  # no root key, no database, no journal
    assert not (tmp_path / "out").exists()


def test_a_database_without_a_store_is_refused_without_writing(tmp_path: Path) -> None:
    with backend_database("postgres") as url:
        assert url is not None
        empty = tmp_path / "empty"
        empty.mkdir()
        result = _audit_cli(empty, "verify", "--database", url, env={})
        assert result.returncode == 2, result.stdout + result.stderr
        assert "no schema" in result.stderr
        assert list(empty.iterdir()) == []  # no root key written
        with psycopg.connect(url) as conn:
            tables = conn.execute(
                "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
            ).fetchone()
        assert tables == (0,)


def test_a_store_without_its_root_key_is_refused(trail: Trail, tmp_path: Path) -> None:
    key_file = trail.data_dir / "root.key"
    assert not key_file.exists()  # the fixture gives the key through COFRE_ROOT_KEY
    before = sorted(p.name for p in trail.data_dir.iterdir())
    result = _audit_cli(trail.data_dir, "verify", *(
        ["--database", trail.database] if trail.database else []), env={})  # fmt: skip
    assert result.returncode == 2, result.stdout + result.stderr
    assert "no root key" in result.stderr
    assert sorted(p.name for p in trail.data_dir.iterdir()) == before
