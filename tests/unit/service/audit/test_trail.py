"""The audit trail on a real SQLite database: group commit, fail closed, digests, pruning,
lookups, key usage and exports. The only stand-in is a database that refuses writes."""

from __future__ import annotations

import base64
import gzip
import json
import os
import sqlite3
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cofre.config import Settings
from cofre.container import Services
from cofre.core.audit.events import AuditCall, AuditReceipt
from cofre.core.audit.verify import ProblemKind
from cofre.core.iam.principals import Caller
from cofre.errors import (
    AccessDeniedError,
    AuditUnavailableError,
    InvalidLookupAttributesError,
    InvalidTimeRangeError,
    InvalidTrailTokenError,
    StorageError,
)
from cofre.service.audit.export import export_trail
from cofre.service.audit.models import botocore_model
from cofre.service.audit.trail import AuditTrail
from cofre.service.clock import ManualClock
from cofre.service.ports import ReadTx, Storage, WriteTx
from cofre.service.seal.keyring import Keyring
from tests.support import audit_db

ACCOUNT = "111122223333"
OTHER = "444455556666"
REGION = "us-east-1"
T0 = datetime(2025, 3, 14, 9, 26, 53, tzinfo=UTC)
KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
ROOT = Caller(ACCOUNT, f"arn:aws:iam::{ACCOUNT}:root", "AKIAROOT", REGION, "127.0.0.1", "test")
OTHER_ROOT = Caller(OTHER, f"arn:aws:iam::{OTHER}:root", "AKIAOTHER", REGION)
SECRET = "pl41ntext-M4RK"


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    settings = Settings(
        data_dir=tmp_path / "data",
        root_key_b64=base64.b64encode(os.urandom(32)).decode(),
        job_interval=3600,
        change_poll_interval=3600,
        audit_digest_interval=3600,
    )
    services = Services.build(settings, clock=ManualClock(T0))
    try:
        yield services
    finally:
        services.close()


def _keyring() -> Keyring:
    keyring = Keyring()
    keyring.load(os.urandom(32))
    return keyring


def commit(trail: AuditTrail, storage: Storage, call: AuditCall) -> AuditReceipt:
    """Record ``call`` straight into the chain, in a write transaction of its own (as a
    mutating call is recorded), rather than through the journal."""
    with storage.write() as tx:
        receipt = trail.record(call, within=tx)
    assert receipt is not None
    return receipt


def encrypt_call(n: int = 0, caller: Caller = ROOT, when: datetime = T0) -> AuditCall:
    key = KEY.replace(ACCOUNT, caller.account_id)
    return AuditCall(
        when, "kms", "Encrypt", REGION, caller, f"req-{n}",
        params={"KeyId": key, "Plaintext": SECRET.encode(), "EncryptionContext": {"n": str(n)}},
        output={"KeyId": key, "CiphertextBlob": SECRET.encode() * 2},
        resources=(key,),
    )  # fmt: skip


# concurrent records ------------------------------------------------------------------------
def test_concurrent_records_keep_a_gapless_chain(services: Services) -> None:
    trail = services.audit
    commit(trail, services.storage, encrypt_call())  # warm up: models, tables
    with ThreadPoolExecutor(32) as pool:
        receipts = list(
            pool.map(lambda n: commit(trail, services.storage, encrypt_call(n)), range(1, 801))
        )
    seqs = sorted(seq for receipt in receipts for seq in receipt.seqs)
    assert seqs == list(range(2, 802))
    assert trail.signing.sign_head() is not None
    report = trail.reads.verify()
    assert report.ok, report.problems
    assert (report.events, report.signed_through) == (801, 801)


def test_a_record_and_its_receipt(services: Services) -> None:
    receipt = commit(services.audit, services.storage, encrypt_call())
    assert receipt.seqs == (1,) and len(receipt.event_ids[0]) == 36
    usage = services.audit.reads.key_last_usage(KEY)
    assert usage is not None and usage.operation == "Encrypt"
    assert usage.event_id == receipt.event_ids[0] and usage.request_id == "req-0"
    assert services.audit.reads.tracking_start() == T0


def test_cross_account_call_is_recorded_for_both_accounts(services: Services) -> None:
    other_key = KEY.replace(ACCOUNT, OTHER)
    call = AuditCall(T0, "kms", "Decrypt", REGION, ROOT, "req", resources=(other_key,))
    receipt = commit(services.audit, services.storage, call)
    assert len(receipt.seqs) == 2
    mine = services.audit.reads.lookup(ROOT).events
    theirs = services.audit.reads.lookup(OTHER_ROOT).events
    assert [e.index.event_id for e in mine] == [receipt.event_ids[0]]
    assert [e.index.event_id for e in theirs] == [receipt.event_ids[1]]
    assert json.loads(theirs[0].body)["userIdentity"]["type"] == "AWSAccount"


def test_no_secret_reaches_the_database_file(services: Services) -> None:
    commit(services.audit, services.storage, encrypt_call())
    services.storage.close()
    raw = b"".join(p.read_bytes() for p in services.settings.data_dir.glob("cofre.db*"))
    for needle in (SECRET.encode(), base64.b64encode(SECRET.encode())[:-4]):
        assert needle not in raw


# fail closed ---------------------------------------------------------------------------------
class RefusingDatabase:
    """The real database, except that writes fail as a full disk or a read-only file would:
    at BEGIN, or after the statements ran (the commit)."""

    def __init__(self, inner: Storage) -> None:
        self.inner = inner
        self.refuse: str | None = None  # None, "begin" or "commit"

    def migrate(self) -> int:
        return self.inner.migrate()

    def read(self) -> contextmanager[ReadTx]:  # type: ignore[valid-type]
        return self.inner.read()

    @contextmanager
    def write(self, *, flush: bool = True) -> Iterator[WriteTx]:
        if self.refuse == "begin":
            raise sqlite3.OperationalError("attempt to write a readonly database")
        with self.inner.write(flush=flush) as tx:
            yield tx
            if self.refuse == "commit":
                raise sqlite3.OperationalError("database or disk is full")

    def in_transaction(self) -> bool:
        return self.inner.in_transaction()

    def close(self) -> None:
        self.inner.close()


@pytest.mark.parametrize("refuse", ["begin", "commit"])
def test_an_unwritable_trail_fails_every_call(services: Services, refuse: str) -> None:
    database = RefusingDatabase(services.storage)
    trail = AuditTrail(
        database,
        services.clock,
        os.urandom,
        _keyring(),
        botocore_model,  # type: ignore[arg-type]
    )
    trail.record(encrypt_call())  # no journal: every call commits its own records

    def attempt(n: int) -> BaseException | None:
        try:
            trail.record(encrypt_call(n))
        except (AuditUnavailableError, StorageError) as error:  # fails closed
            return error
        return None

    database.refuse = refuse
    with ThreadPoolExecutor(8) as pool:
        failures = list(pool.map(attempt, range(50)))
    assert all(isinstance(failure, (AuditUnavailableError, StorageError)) for failure in failures)
    with pytest.raises((AuditUnavailableError, StorageError)):
        trail.record(encrypt_call())
    with services.storage.read() as tx:
        assert tx.audit_chain_state().head_seq == 1  # nothing half-written
    database.refuse = None
    receipt = trail.record(encrypt_call())
    assert receipt is not None and receipt.seqs == (2,)  # and it recovers, gapless
    trail.close()
    with pytest.raises(AuditUnavailableError):
        trail.record(encrypt_call())


def test_an_event_that_cannot_be_built_fails_closed(services: Services) -> None:
    broken = AuditCall(T0, "kms", "Encrypt", REGION, ROOT, extra={"x": object()})
    with pytest.raises(AuditUnavailableError):
        commit(services.audit, services.storage, broken)


# digests, pruning, verification ------------------------------------------------------------------
def test_digests_cover_the_chain_and_the_key_survives_restarts(services: Services) -> None:
    trail = services.audit
    assert trail.signing.sign_head() is None and trail.signing.public_key_pem() is None
    commit(trail, services.storage, encrypt_call())
    first = trail.signing.sign_head()
    assert first is not None and (first.first_seq, first.last_seq) == (1, 1)
    assert trail.signing.sign_head() is None  # the head did not move
    for n in range(3):
        commit(trail, services.storage, encrypt_call(n))
    second = trail.signing.sign_head()
    assert second is not None and (second.first_seq, second.last_seq) == (2, 4)
    pem = trail.signing.public_key_pem()
    assert pem is not None and pem.startswith("-----BEGIN PUBLIC KEY-----")
    again = Services.build(services.settings, clock=services.clock)
    try:
        commit(again.audit, again.storage, encrypt_call())
        assert again.audit.signing.sign_head() is not None
        assert again.audit.signing.public_key_pem() == pem
        report = again.audit.reads.verify()
        assert report.ok and report.digests == 3 and report.signed_through == 5
    finally:
        again.close()


def test_prune_keeps_what_remains_verifiable(services: Services) -> None:
    trail = services.audit
    for n in range(10):
        commit(trail, services.storage, encrypt_call(n, when=T0 + timedelta(days=n)))
    trail.signing.sign_head()
    assert trail.signing.prune(T0 + timedelta(days=4)) == 4
    assert trail.signing.prune(T0 + timedelta(days=4)) == 0
    report = trail.reads.verify()
    assert report.ok, report.problems
    assert (report.first_seq, report.anchor_seq, report.events) == (5, 4, 6)
    assert len(trail.reads.lookup(ROOT).events) == 6
    assert trail.reads.key_last_usage(KEY) is not None  # usage outlives pruned events


def test_tampering_behind_the_trails_back_is_named(services: Services) -> None:
    trail = services.audit
    for n in range(5):
        commit(trail, services.storage, encrypt_call(n))
    audit_db.tamper(
        services.settings.data_dir, None, audit_db.replace_in_body(3, b'"n":"2"', b'"n":"9"')
    )
    report = trail.reads.verify()
    assert report.first_problem is not None
    assert (report.first_problem.kind, report.first_problem.seq) == (ProblemKind.ALTERED, 3)


# lookups ------------------------------------------------------------------------------------------
def test_lookup_pages_filters_and_isolation(services: Services) -> None:
    trail = services.audit
    for n in range(7):
        commit(trail, services.storage, encrypt_call(n, when=T0 + timedelta(seconds=n)))
    commit(trail, services.storage, encrypt_call(99, caller=OTHER_ROOT))
    page = trail.reads.lookup(ROOT, max_results=3)
    assert [e.seq for e in page.events] == [7, 6, 5] and page.next_token
    page = trail.reads.lookup(ROOT, max_results=3, next_token=page.next_token)
    assert [e.seq for e in page.events] == [4, 3, 2]
    page = trail.reads.lookup(ROOT, max_results=3, next_token=page.next_token)
    assert [e.seq for e in page.events] == [1] and page.next_token is None
    after = T0 + timedelta(seconds=5)
    found = trail.reads.lookup(ROOT, attributes=[("ResourceName", KEY)], start=after)
    assert [e.seq for e in found.events] == [7, 6]
    assert [e.seq for e in trail.reads.lookup(OTHER_ROOT).events] == [8]
    assert trail.reads.lookup(ROOT, insights=True).events == []


def test_lookup_refusals(services: Services) -> None:
    trail = services.audit
    commit(trail, services.storage, encrypt_call())
    token = trail.reads.lookup(ROOT, max_results=1).next_token
    assert token is None
    for n in range(3):
        commit(trail, services.storage, encrypt_call(n))
    token = trail.reads.lookup(ROOT, max_results=1).next_token
    assert token is not None
    with pytest.raises(InvalidTrailTokenError):
        trail.reads.lookup(ROOT, attributes=[("EventName", "Encrypt")], next_token=token)
    with pytest.raises(InvalidTrailTokenError):
        trail.reads.lookup(ROOT, next_token="not-a-token")
    with pytest.raises(InvalidLookupAttributesError):
        trail.reads.lookup(ROOT, attributes=[("EventName", "a"), ("Username", "b")])
    with pytest.raises(InvalidLookupAttributesError):
        trail.reads.lookup(ROOT, attributes=[("ReadOnly", "maybe")])
    with pytest.raises(InvalidTimeRangeError):
        trail.reads.lookup(ROOT, start=T0, end=T0 - timedelta(seconds=1))
    bob = Caller(ACCOUNT, f"arn:aws:iam::{ACCOUNT}:user/bob", "AKIABOB", REGION, user_name="bob")
    with pytest.raises(AccessDeniedError):
        trail.reads.lookup(bob)


# exports ------------------------------------------------------------------------------------------
def test_exports(services: Services, tmp_path: Path) -> None:
    trail = services.audit
    for n in range(6):
        commit(trail, services.storage, encrypt_call(n, when=T0 + timedelta(minutes=3 * n)))
    commit(trail, services.storage, encrypt_call(9, caller=OTHER_ROOT, when=T0))
    trail.signing.sign_head()
    out = tmp_path / "jsonl"
    summary = export_trail(
        trail.reads, services.storage, out, fmt="jsonl", until=T0 + timedelta(minutes=15)
    )
    # seqs 1..7: the stretch from the first event to the last one before 09:41:53 (seq 7,
    # another account's at 09:26:53), so seq 6 (at 09:41:53) is in it too: exports are
    # contiguous, so that they verify
    assert (summary.first_seq, summary.last_seq, summary.events) == (1, 7, 7)
    lines = (out / "cofre-audit-000000000001-000000000007.jsonl").read_bytes().splitlines()
    bodies = [e.body for e in trail.reads.events(0)]
    assert lines == bodies
    manifest = json.loads((out / "cofre-audit-000000000001-000000000007.manifest.json").read_text())
    assert manifest["previousHash"] == bytes(32).hex() and manifest["events"] == 7
    assert manifest["lastHash"] == next(iter(trail.reads.events(6))).hash.hex()
    assert manifest["publicKey"] == trail.signing.public_key_pem()
    assert [(d["firstSeq"], d["lastSeq"]) for d in manifest["digests"]] == [(1, 7)]

    summary = export_trail(trail.reads, services.storage, tmp_path / "ct", fmt="cloudtrail")
    gz = [p for p in summary.files if p.suffix == ".gz"]
    records = [r for p in gz for r in json.loads(gzip.decompress(p.read_bytes()))["Records"]]
    assert sorted(r["eventID"] for r in records) == sorted(json.loads(b)["eventID"] for b in bodies)
    names = sorted(p.relative_to(tmp_path / "ct").as_posix() for p in gz)
    assert names[0].startswith(
        f"AWSLogs/{ACCOUNT}/CloudTrail/{REGION}/2025/03/14/{ACCOUNT}_CloudTrail_{REGION}_20250314T0925Z_"
    )
    assert any(name.startswith(f"AWSLogs/{OTHER}/") for name in names)
    assert len({p.parent for p in gz}) == 2 and len(gz) == 5  # 5-minute files per account
    with pytest.raises(FileExistsError):  # never overwrites
        export_trail(trail.reads, services.storage, tmp_path / "ct", fmt="cloudtrail")


def test_a_record_within_a_transaction_commits_with_the_effect_or_not_at_all(
    services: Services,
) -> None:
    """The shape the pipeline uses for mutating operations: the effect and its record in
    one transaction (the use case's own transaction joins the outer one)."""
    trail = services.audit
    with services.storage.write() as tx:
        with services.storage.write() as inner:  # the use case's transaction joins
            inner.set_meta("effect", "one")
        receipt = trail.record(encrypt_call(1), within=tx)
    assert receipt is not None
    assert receipt.seqs == (1,)
    with pytest.raises(RuntimeError), services.storage.write() as tx:
        tx.set_meta("effect", "two")
        trail.record(encrypt_call(2), within=tx)
        raise RuntimeError("the commit fails")
    with services.storage.read() as tx:
        assert tx.get_meta("effect") == "one"
        assert tx.audit_chain_state().head_seq == 1
    broken = AuditCall(T0, "kms", "CreateKey", REGION, ROOT, extra={"x": object()})
    with pytest.raises(AuditUnavailableError), services.storage.write() as tx:
        tx.set_meta("effect", "three")
        trail.record(broken, within=tx)
    with services.storage.read() as tx:
        assert tx.get_meta("effect") == "one"
    assert commit(trail, services.storage, encrypt_call(3)).seqs == (2,)
    assert trail.reads.verify().ok
