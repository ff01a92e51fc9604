"""One conformance suite for every storage backend: the ``Storage`` / ``ReadTx`` / ``WriteTx``
ports of ``cofre.service.ports``, run against SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import dataclasses
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from cofre.core.iam.principals import Account, Credential, CredentialStatus
from cofre.core.kms.keys import Alias, Key, KeyManager, KeyState, KeyVersion, Origin, RotationType
from cofre.errors import AlreadyExistsError
from cofre.service.clock import ManualClock
from cofre.service.ports import Change, Storage
from cofre.storage.migrate import migrations
from cofre.storage.postgres import PostgresStorage
from cofre.storage.sqlite import SqliteStorage
from tests.conftest import BACKENDS, require_postgres
from tests.support.server import postgres_database

ACCOUNT = "111122223333"
OTHER_ACCOUNT = "444455556666"
REGION = "us-east-1"
OTHER_REGION = "eu-west-1"
T0 = datetime(2025, 3, 14, 9, 26, 53, 589793, tzinfo=UTC)
DIALECT = {"sqlite": "sqlite", "postgres": "postgresql"}


# fixtures and builders ---------------------------------------------------------------------
@dataclass
class Db:
    """A migrated storage on a fresh database, its clock, and a way to open it again."""

    backend: str
    storage: Storage
    clock: ManualClock
    opener: Callable[[], Storage]
    opened: list[Storage] = field(default_factory=list)
    version: int = 0  # what the first migrate() returned

    def another(self) -> Storage:
        """A second, independent Storage on the same database (another process or node)."""
        storage = self.opener()
        self.opened.append(storage)
        storage.migrate()
        return storage


def _db(backend: str, opener: Callable[[], Storage], clock: ManualClock) -> Iterator[Db]:
    storage = opener()
    db = Db(backend, storage, clock, opener, [storage])
    try:
        db.version = storage.migrate()
        yield db
    finally:
        for opened in db.opened:
            opened.close()


@pytest.fixture(params=BACKENDS)
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Db]:
    clock = ManualClock(T0)
    if request.param == "postgres":
        require_postgres()
        with postgres_database() as url:
            yield from _db("postgres", lambda: PostgresStorage(url, clock.now), clock)
    else:
        path = tmp_path / "c.db"
        yield from _db("sqlite", lambda: SqliteStorage(path, clock.now), clock)


def new_id() -> str:
    return str(uuid.uuid4())


def make_key(
    key_id: str | None = None,
    *,
    account: str = ACCOUNT,
    region: str = REGION,
    created_at: datetime = T0,
    **changes: object,
) -> tuple[Key, KeyVersion]:
    key_id = key_id or new_id()
    version_id = uuid.uuid4().bytes * 2
    key = Key(
        key_id=key_id,
        account_id=account,
        region=region,
        arn=f"arn:aws:kms:{region}:{account}:key/{key_id}",
        created_at=created_at,
        description="a test key",
        key_spec="SYMMETRIC_DEFAULT",
        key_usage="ENCRYPT_DECRYPT",
        origin=Origin.AWS_KMS,
        key_manager=KeyManager.CUSTOMER,
        state=KeyState.ENABLED,
        policy='{"Version": "2012-10-17", "Statement": []}',
        current_version_id=version_id,
    )
    key = dataclasses.replace(key, **changes)  # type: ignore[arg-type]
    version = KeyVersion(key_id, version_id, b"wrapped:" + version_id, created_at, None)
    return key, version


def insert_key(storage: Storage, key_id: str | None = None, **changes: Any) -> Key:
    key, version = make_key(key_id, **changes)
    with storage.write() as tx:
        tx.insert_key(key, version)
    return key


def make_alias(name: str, key_id: str, *, account: str = ACCOUNT, region: str = REGION) -> Alias:
    return Alias(account, region, name, key_id, T0, T0 + timedelta(microseconds=1))


def alias_ref(alias: Alias) -> str:
    return f"{alias.account_id}/{alias.region}/{alias.name}"


def make_credential(access_key_id: str = "AKIAAAAAAAAAAAAAAAAA", **changes: object) -> Credential:
    credential = Credential(
        access_key_id=access_key_id,
        account_id=ACCOUNT,
        principal_arn=f"arn:aws:iam::{ACCOUNT}:root",
        user_name=None,
        secret_wrapped=b"\x00secret\xff" * 4,
        status=CredentialStatus.ACTIVE,
        created_at=T0,
    )
    return dataclasses.replace(credential, **changes)  # type: ignore[arg-type]


def all_changes(storage: Storage) -> list[Change]:
    with storage.read() as tx:
        return tx.changes_after(0, 100_000)


def max_seq(storage: Storage) -> int:
    with storage.read() as tx:
        return tx.max_change_seq()


# migrations ------------------------------------------------------------------------------
def test_migrate_twice_is_a_no_op_returning_the_same_version(db: Db) -> None:
    first = db.version
    assert first == migrations(DIALECT[db.backend])[-1].version
    assert db.storage.migrate() == first
    assert db.storage.migrate() == first
    assert db.another().migrate() == first
    with db.storage.read() as tx:  # the schema is usable and still empty
        assert tx.list_accounts() == []
        assert tx.max_change_seq() == 0


# meta ------------------------------------------------------------------------------------
def test_meta_get_set_overwrite(db: Db) -> None:
    with db.storage.read() as tx:
        assert tx.get_meta("default_account") is None
    with db.storage.write() as tx:
        tx.set_meta("default_account", ACCOUNT)
        tx.set_meta("other", "x" * 5000)
        assert tx.get_meta("default_account") == ACCOUNT  # a write sees its own writes
    with db.storage.write() as tx:
        tx.set_meta("default_account", OTHER_ACCOUNT)
    with db.storage.read() as tx:
        assert tx.get_meta("default_account") == OTHER_ACCOUNT
        assert tx.get_meta("other") == "x" * 5000
        assert tx.get_meta("missing") is None


# accounts and credentials -----------------------------------------------------------------
def test_accounts_insert_get_list(db: Db) -> None:
    b = Account(OTHER_ACCOUNT, "second", T0 + timedelta(days=1, microseconds=7))
    a = Account(ACCOUNT, "default", T0)
    with db.storage.write() as tx:
        tx.insert_account(b)
        tx.insert_account(a)
    with db.storage.read() as tx:
        assert tx.get_account(ACCOUNT) == a
        assert tx.get_account(OTHER_ACCOUNT) == b
        assert tx.get_account("999999999999") is None
        assert tx.list_accounts() == [a, b]  # ordered by account id


def test_credentials_put_inserts_then_updates(db: Db) -> None:
    with db.storage.write() as tx:
        tx.insert_account(Account(ACCOUNT, "default", T0))
        tx.insert_account(Account(OTHER_ACCOUNT, "other", T0))
    original = make_credential()
    with db.storage.write() as tx:
        tx.put_credential(original)
    with db.storage.read() as tx:
        stored = tx.get_credential(original.access_key_id)
        assert stored == original
        assert stored is not None and type(stored.secret_wrapped) is bytes
        assert tx.get_credential("AKIANOSUCHKEY0000000") is None

    updated = make_credential(
        account_id=OTHER_ACCOUNT,
        principal_arn=f"arn:aws:iam::{OTHER_ACCOUNT}:user/alice",
        user_name="alice",
        secret_wrapped=b"another wrapped secret",
        status=CredentialStatus.INACTIVE,
        created_at=T0 + timedelta(days=3),
    )
    with db.storage.write() as tx:
        tx.put_credential(updated)
    with db.storage.read() as tx:
        # Every field but the creation time is replaced; the access key keeps its birthday.
        assert tx.get_credential(original.access_key_id) == dataclasses.replace(
            updated, created_at=original.created_at
        )


# keys ------------------------------------------------------------------------------------
def test_insert_key_with_first_version_then_get_and_lock(db: Db) -> None:
    key, version = make_key()
    with db.storage.write() as tx:
        tx.insert_key(key, version)
    with db.storage.read() as tx:
        assert tx.get_key(key.key_id) == key
        assert tx.versions(key.key_id) == [version]
        assert tx.get_key(new_id()) is None
        assert tx.versions(new_id()) == []
    with db.storage.write() as tx:
        assert tx.lock_key(key.key_id) == key
        assert tx.lock_key(new_id()) is None
    stored = db.another()
    with stored.read() as tx:
        got = tx.get_key(key.key_id)
    assert got == key
    assert got is not None and type(got.current_version_id) is bytes
    assert isinstance(got.state, KeyState) and isinstance(got.origin, Origin)
    assert isinstance(got.key_manager, KeyManager)


def test_update_key_round_trips_every_mutable_field(db: Db) -> None:
    key = insert_key(db.storage)
    new_version = KeyVersion(
        key.key_id, b"\x07" * 32, b"wrapped-2", T0 + timedelta(seconds=1), RotationType.ON_DEMAND
    )
    updated = dataclasses.replace(
        key,
        description="described again ✓",
        state=KeyState.PENDING_DELETION,
        policy='{"Version": "2012-10-17", "Statement": [{"Sid": "x"}]}',
        current_version_id=new_version.version_id,
        deletion_date=T0 + timedelta(days=7, microseconds=123457),
        pending_window_days=7,
        rotation_enabled=True,
        rotation_period_days=2560,
        next_rotation_at=T0 + timedelta(days=2560, microseconds=999999),
        on_demand_rotation_started_at=T0 + timedelta(hours=1, microseconds=1),
        revision=key.revision + 41,
    )
    with db.storage.write() as tx:
        tx.insert_version(new_version)
        tx.update_key(updated)
    with db.storage.read() as tx:
        assert tx.get_key(key.key_id) == updated
    with db.storage.write() as tx:
        assert tx.lock_key(key.key_id) == updated

    # ... and back to None for every optional field.
    cleared = dataclasses.replace(
        updated,
        state=KeyState.DISABLED,
        deletion_date=None,
        pending_window_days=None,
        rotation_enabled=False,
        rotation_period_days=None,
        next_rotation_at=None,
        on_demand_rotation_started_at=None,
        revision=updated.revision + 1,
    )
    with db.storage.write() as tx:
        tx.update_key(cleared)
    with db.another().read() as tx:
        assert tx.get_key(key.key_id) == cleared


@pytest.mark.parametrize(
    "moment",
    [
        T0,
        datetime(1970, 1, 1, 0, 0, 0, 1, tzinfo=UTC),
        datetime(2004, 3, 27, 4, 44, 42, 366098, tzinfo=UTC),
        datetime(2005, 9, 1, 13, 9, 13, 385105, tzinfo=UTC),
        datetime(2031, 5, 6, 7, 8, 9, 123456, tzinfo=timezone(timedelta(hours=2))),
        datetime(2039, 7, 20, 2, 50, 2, 668555, tzinfo=UTC),
        datetime(2099, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    ],
    ids=str,
)
def test_aware_datetimes_round_trip_to_the_microsecond(db: Db, moment: datetime) -> None:
    key, version = make_key(
        created_at=moment,
        deletion_date=moment,
        next_rotation_at=moment,
        on_demand_rotation_started_at=moment,
    )
    account = Account(ACCOUNT, "default", moment)
    alias = Alias(ACCOUNT, REGION, "alias/when", key.key_id, moment, moment)
    with db.storage.write() as tx:
        tx.insert_account(account)
        tx.put_credential(make_credential(created_at=moment))
        tx.insert_key(key, version)
        tx.insert_alias(alias)
    with db.storage.read() as tx:
        stored_key = tx.get_key(key.key_id)
        stored_alias = tx.get_alias(ACCOUNT, REGION, "alias/when")
        stored_account = tx.get_account(ACCOUNT)
        stored_credential = tx.get_credential("AKIAAAAAAAAAAAAAAAAA")
        (stored_version,) = tx.versions(key.key_id)
    assert stored_key and stored_alias and stored_account and stored_credential
    stored = {
        "key.created_at": stored_key.created_at,
        "key.deletion_date": stored_key.deletion_date,
        "key.next_rotation_at": stored_key.next_rotation_at,
        "key.on_demand_rotation_started_at": stored_key.on_demand_rotation_started_at,
        "version.created_at": stored_version.created_at,
        "alias.created_at": stored_alias.created_at,
        "alias.updated_at": stored_alias.updated_at,
        "account.created_at": stored_account.created_at,
        "credential.created_at": stored_credential.created_at,
    }
    # The same instant, to the microsecond, as an aware datetime in UTC.
    assert stored == dict.fromkeys(stored, moment)
    assert all(v is not None and v.utcoffset() == timedelta(0) for v in stored.values())


def test_delete_key_cascades_to_versions_aliases_and_tags(db: Db) -> None:
    doomed = insert_key(db.storage)
    kept = insert_key(db.storage)
    extra = KeyVersion(doomed.key_id, b"\x09" * 32, b"w", T0, RotationType.AUTOMATIC)
    with db.storage.write() as tx:
        tx.insert_version(extra)
        tx.insert_alias(make_alias("alias/doomed-1", doomed.key_id))
        tx.insert_alias(make_alias("alias/doomed-2", doomed.key_id))
        tx.insert_alias(make_alias("alias/kept", kept.key_id))
        tx.set_tags(doomed.key_id, {"a": "1", "b": "2"})
        tx.set_tags(kept.key_id, {"a": "1"})
    with db.storage.read() as tx:
        kept_versions = tx.versions(kept.key_id)
    with db.storage.write() as tx:
        tx.delete_key(doomed.key_id)
    with db.storage.read() as tx:
        assert tx.get_key(doomed.key_id) is None
        assert tx.versions(doomed.key_id) == []
        assert tx.get_alias(ACCOUNT, REGION, "alias/doomed-1") is None
        assert tx.get_alias(ACCOUNT, REGION, "alias/doomed-2") is None
        assert tx.get_tags(doomed.key_id) == {}
        assert [a.name for a in tx.list_aliases(ACCOUNT, REGION, None, None, 100)] == ["alias/kept"]
        # Nothing of the other key went with it.
        assert tx.get_key(kept.key_id) == kept
        assert tx.versions(kept.key_id) == kept_versions
        assert tx.get_tags(kept.key_id) == {"a": "1"}
    # A deleted key can be deleted again (no-op) and its id is free once more.
    with db.storage.write() as tx:
        tx.delete_key(doomed.key_id)
    insert_key(db.storage, doomed.key_id)


def test_list_keys_paginates_within_account_and_region(db: Db) -> None:
    mine = sorted(new_id() for _ in range(7))
    for key_id in mine:
        insert_key(db.storage, key_id)
    insert_key(db.storage, account=OTHER_ACCOUNT)
    insert_key(db.storage, region=OTHER_REGION)
    insert_key(db.storage, "0" * 8 + mine[3][8:], account=OTHER_ACCOUNT, region=OTHER_REGION)

    with db.storage.read() as tx:
        assert [k.key_id for k in tx.list_keys(ACCOUNT, REGION, None, 100)] == mine
        pages: list[list[str]] = []
        after: str | None = None
        while True:
            page = [k.key_id for k in tx.list_keys(ACCOUNT, REGION, after, 3)]
            if not page:
                break
            pages.append(page)
            after = page[-1]
        assert pages == [mine[0:3], mine[3:6], mine[6:7]]
        assert [k.key_id for k in tx.list_keys(ACCOUNT, REGION, mine[4], 100)] == mine[5:]
        assert tx.list_keys(ACCOUNT, REGION, mine[-1], 100) == []
        assert len(tx.list_keys(OTHER_ACCOUNT, REGION, None, 100)) == 1
        assert len(tx.list_keys(ACCOUNT, OTHER_REGION, None, 100)) == 1
        assert tx.list_keys("999999999999", REGION, None, 100) == []
        listed = tx.list_keys(ACCOUNT, REGION, None, 1)[0]
        first = tx.get_key(mine[0])
        assert first is not None and listed == (first.key_id, first.arn)


def test_keys_due(db: Db) -> None:
    now = T0 + timedelta(days=30)
    second = timedelta(seconds=1)
    deletion_due = insert_key(
        db.storage, state=KeyState.PENDING_DELETION, deletion_date=now - second
    )
    deletion_exact = insert_key(db.storage, state=KeyState.PENDING_DELETION, deletion_date=now)
    deletion_later = insert_key(
        db.storage, state=KeyState.PENDING_DELETION, deletion_date=now + second
    )
    rotation_due = insert_key(db.storage, rotation_enabled=True, next_rotation_at=now - second)
    rotation_later = insert_key(db.storage, rotation_enabled=True, next_rotation_at=now + second)
    rotation_disabled = insert_key(
        db.storage, state=KeyState.DISABLED, rotation_enabled=True, next_rotation_at=now - second
    )
    rotation_pending_import = insert_key(
        db.storage,
        state=KeyState.PENDING_IMPORT,
        rotation_enabled=True,
        next_rotation_at=now - second,
    )
    plain = insert_key(db.storage)
    other_owner = insert_key(
        db.storage, account=OTHER_ACCOUNT, rotation_enabled=True, next_rotation_at=now - second
    )
    del deletion_later, rotation_later, rotation_disabled, rotation_pending_import, plain

    expected = sorted(
        [deletion_due, deletion_exact, rotation_due, other_owner], key=lambda k: k.key_id
    )
    with db.storage.read() as tx:
        assert tx.keys_due(now, 100) == expected
        assert tx.keys_due(now, 2) == expected[:2]
        assert tx.keys_due(T0, 100) == []


def test_versions_are_ordered_by_creation_then_id(db: Db) -> None:
    key = insert_key(db.storage, created_at=T0)
    later = KeyVersion(key.key_id, b"\x01" * 32, b"w", T0 + timedelta(days=2), None)
    middle_b = KeyVersion(
        key.key_id, b"\xff" * 32, b"w", T0 + timedelta(days=1), RotationType.AUTOMATIC
    )
    middle_a = KeyVersion(
        key.key_id, b"\x80" * 32, b"w", T0 + timedelta(days=1), RotationType.ON_DEMAND
    )
    with db.storage.write() as tx:
        first = tx.versions(key.key_id)[0]
        tx.insert_version(later)
        tx.insert_version(middle_b)
        tx.insert_version(middle_a)
    with db.storage.read() as tx:
        assert tx.versions(key.key_id) == [first, middle_a, middle_b, later]


# aliases ---------------------------------------------------------------------------------
def test_alias_insert_get_duplicate(db: Db) -> None:
    key = insert_key(db.storage)
    alias = make_alias("alias/app", key.key_id)
    with db.storage.write() as tx:
        tx.insert_alias(alias)
    with db.storage.read() as tx:
        assert tx.get_alias(ACCOUNT, REGION, "alias/app") == alias
        assert tx.get_alias(ACCOUNT, REGION, "alias/other") is None
        assert tx.get_alias(OTHER_ACCOUNT, REGION, "alias/app") is None
        assert tx.get_alias(ACCOUNT, OTHER_REGION, "alias/app") is None

    other = insert_key(db.storage)
    with pytest.raises(AlreadyExistsError), db.storage.write() as tx:
        tx.insert_alias(make_alias("alias/app", other.key_id))
    # The same name in another account or region is another alias.
    with db.storage.write() as tx:
        tx.insert_alias(make_alias("alias/app", other.key_id, account=OTHER_ACCOUNT))
        tx.insert_alias(make_alias("alias/app", other.key_id, region=OTHER_REGION))
    with db.storage.read() as tx:
        assert tx.get_alias(ACCOUNT, REGION, "alias/app") == alias


def test_alias_update_and_delete(db: Db) -> None:
    first = insert_key(db.storage)
    second = insert_key(db.storage)
    alias = make_alias("alias/app", first.key_id)
    with db.storage.write() as tx:
        tx.insert_alias(alias)
        tx.insert_alias(make_alias("alias/stays", first.key_id))
    moved = dataclasses.replace(
        alias, key_id=second.key_id, updated_at=T0 + timedelta(days=1, microseconds=5)
    )
    with db.storage.write() as tx:
        tx.update_alias(moved)
    with db.storage.read() as tx:
        assert tx.get_alias(ACCOUNT, REGION, "alias/app") == moved
    with db.storage.write() as tx:
        tx.delete_alias(ACCOUNT, REGION, "alias/app")
        tx.delete_alias(ACCOUNT, REGION, "alias/never-was")  # no error
    with db.storage.read() as tx:
        assert tx.get_alias(ACCOUNT, REGION, "alias/app") is None
        assert tx.get_alias(ACCOUNT, REGION, "alias/stays") is not None
        assert tx.get_key(second.key_id) == second  # deleting an alias leaves its key


def test_list_aliases_filters_by_key_and_paginates(db: Db) -> None:
    a = insert_key(db.storage)
    b = insert_key(db.storage)
    names_a = [f"alias/a-{i}" for i in range(5)]
    names_b = ["alias/b-0", "alias/b-1"]
    with db.storage.write() as tx:
        for name in reversed(names_a):
            tx.insert_alias(make_alias(name, a.key_id))
        for name in names_b:
            tx.insert_alias(make_alias(name, b.key_id))
        tx.insert_alias(make_alias("alias/elsewhere", a.key_id, account=OTHER_ACCOUNT))
        tx.insert_alias(make_alias("alias/elsewhere", a.key_id, region=OTHER_REGION))

    def names(key_id: str | None, after: str | None, limit: int) -> list[str]:
        with db.storage.read() as tx:
            return [x.name for x in tx.list_aliases(ACCOUNT, REGION, key_id, after, limit)]

    assert names(None, None, 100) == names_a + names_b
    assert names(a.key_id, None, 100) == names_a
    assert names(b.key_id, None, 100) == names_b
    assert names(new_id(), None, 100) == []
    assert names(None, None, 3) == names_a[:3]
    assert names(None, names_a[2], 3) == [*names_a[3:], names_b[0]]
    assert names(a.key_id, names_a[1], 2) == names_a[2:4]
    assert names(a.key_id, names_a[-1], 2) == []
    assert names(b.key_id, names_a[0], 100) == names_b
    with db.storage.read() as reader:
        listed = reader.list_aliases(ACCOUNT, REGION, b.key_id, None, 1)
        assert listed == [make_alias("alias/b-0", b.key_id)]
        assert [x.name for x in reader.list_aliases(OTHER_ACCOUNT, REGION, None, None, 10)] == [
            "alias/elsewhere"
        ]


# tags ------------------------------------------------------------------------------------
def test_tags_set_overwrite_remove(db: Db) -> None:
    key = insert_key(db.storage)
    other = insert_key(db.storage)
    with db.storage.read() as tx:
        assert tx.get_tags(key.key_id) == {}
    with db.storage.write() as tx:
        tx.set_tags(key.key_id, {"team": "a", "env": "prod", "empty": ""})
        tx.set_tags(other.key_id, {"team": "z"})
    with db.storage.write() as tx:
        tx.set_tags(key.key_id, {"team": "b", "cost": "42"})  # overwrites one, adds one
    with db.storage.read() as tx:
        assert tx.get_tags(key.key_id) == {"cost": "42", "empty": "", "env": "prod", "team": "b"}
        assert list(tx.get_tags(key.key_id)) == ["cost", "empty", "env", "team"]
    with db.storage.write() as tx:
        tx.remove_tags(key.key_id, ["env", "no-such-tag", "empty"])
        tx.set_tags(key.key_id, {})
    with db.storage.read() as tx:
        assert tx.get_tags(key.key_id) == {"cost": "42", "team": "b"}
        assert tx.get_tags(other.key_id) == {"team": "z"}


# change feed -----------------------------------------------------------------------------
def test_change_feed_records_explicit_and_implicit_changes(db: Db) -> None:
    with db.storage.write() as tx:
        tx.insert_account(Account(ACCOUNT, "default", T0))
    key = insert_key(db.storage)
    start = max_seq(db.storage)
    credential = make_credential()
    alias = make_alias("alias/feed", key.key_id)
    with db.storage.write() as tx:
        tx.record_change("key", "explicit")
        tx.update_key(dataclasses.replace(key, description="changed"))
        tx.insert_alias(alias)
        tx.update_alias(dataclasses.replace(alias, updated_at=T0 + timedelta(days=1)))
        tx.delete_alias(ACCOUNT, REGION, alias.name)
        tx.put_credential(credential)
        tx.put_credential(dataclasses.replace(credential, status=CredentialStatus.INACTIVE))
    with db.storage.write() as tx:
        tx.delete_key(key.key_id)

    with db.storage.read() as tx:
        changes = tx.changes_after(start, 1000)
        top = tx.max_change_seq()
    assert [(c.kind, c.ref) for c in changes] == [
        ("key", "explicit"),
        ("key", key.key_id),
        ("alias", alias_ref(alias)),
        ("alias", alias_ref(alias)),
        ("alias", alias_ref(alias)),
        ("credential", credential.access_key_id),
        ("credential", credential.access_key_id),
        ("key", key.key_id),
    ]
    seqs = [c.seq for c in changes]
    assert seqs == sorted(set(seqs))  # strictly increasing
    assert seqs[0] > start
    assert top == seqs[-1]


def test_changes_after_respects_seq_and_limit(db: Db) -> None:
    assert max_seq(db.storage) == 0
    with db.storage.read() as tx:
        assert tx.changes_after(0, 10) == []
    for i in range(5):
        with db.storage.write() as tx:
            tx.record_change("key", f"k{i}")
    changes = all_changes(db.storage)
    assert [c.ref for c in changes] == [f"k{i}" for i in range(5)]
    with db.storage.read() as tx:
        assert tx.changes_after(0, 2) == changes[:2]
        assert tx.changes_after(changes[1].seq, 2) == changes[2:4]
        assert tx.changes_after(changes[-1].seq, 10) == []
        assert tx.max_change_seq() == changes[-1].seq
    with db.another().read() as tx:
        assert tx.changes_after(changes[2].seq, 100) == changes[3:]


def test_prune_changes_removes_only_older_rows_and_never_reuses_seqs(db: Db) -> None:
    with db.storage.write() as tx:
        tx.record_change("key", "old-1")
        tx.record_change("key", "old-2")
    db.clock.advance(timedelta(hours=2))
    cut = db.clock.now()
    with db.storage.write() as tx:
        tx.record_change("key", "at-cut")
    db.clock.advance(timedelta(microseconds=1))
    with db.storage.write() as tx:
        tx.record_change("key", "new")
    before = all_changes(db.storage)

    with db.storage.write() as tx:
        tx.prune_changes(cut)
    assert [c.ref for c in all_changes(db.storage)] == ["at-cut", "new"]
    assert all_changes(db.storage) == before[2:]
    assert max_seq(db.storage) == before[-1].seq

    with db.storage.write() as tx:
        tx.prune_changes(db.clock.now() + timedelta(seconds=1))
    assert all_changes(db.storage) == []
    with db.storage.write() as tx:
        tx.record_change("alias", "a/b/alias/c")
    (after,) = all_changes(db.storage)
    assert after.seq > before[-1].seq  # sequence numbers are never handed out twice
    assert after == Change(after.seq, "alias", "a/b/alias/c")


# transactions ----------------------------------------------------------------------------
class BoomError(Exception):
    pass


def test_a_failing_write_transaction_rolls_back_everything(db: Db) -> None:
    existing = insert_key(db.storage)
    with db.storage.write() as tx:
        tx.set_meta("m", "before")
    start = max_seq(db.storage)
    key, version = make_key()
    with pytest.raises(BoomError), db.storage.write() as tx:
        tx.set_meta("m", "during")
        tx.insert_account(Account(ACCOUNT, "default", T0))
        tx.put_credential(make_credential())
        tx.insert_key(key, version)
        tx.update_key(dataclasses.replace(existing, state=KeyState.DISABLED))
        tx.insert_alias(make_alias("alias/rolled-back", key.key_id))
        tx.set_tags(existing.key_id, {"t": "v"})
        tx.record_change("key", "explicit")
        assert tx.get_key(key.key_id) == key
        raise BoomError
    for storage in (db.storage, db.another()):
        with storage.read() as tx:
            assert tx.get_meta("m") == "before"
            assert tx.get_account(ACCOUNT) is None
            assert tx.get_credential(make_credential().access_key_id) is None
            assert tx.get_key(key.key_id) is None
            assert tx.versions(key.key_id) == []
            assert tx.get_key(existing.key_id) == existing
            assert tx.get_alias(ACCOUNT, REGION, "alias/rolled-back") is None
            assert tx.get_tags(existing.key_id) == {}
            assert tx.changes_after(start, 100) == []
            assert tx.max_change_seq() == start
    # The storage is still perfectly usable afterwards.
    with db.storage.write() as tx:
        tx.set_meta("m", "after")
    with db.storage.read() as tx:
        assert tx.get_meta("m") == "after"


def test_a_duplicate_alias_rolls_back_its_whole_transaction(db: Db) -> None:
    key = insert_key(db.storage)
    with db.storage.write() as tx:
        tx.insert_alias(make_alias("alias/taken", key.key_id))
    with pytest.raises(AlreadyExistsError), db.storage.write() as tx:
        tx.set_tags(key.key_id, {"lost": "yes"})
        tx.insert_alias(make_alias("alias/taken", key.key_id))
    with db.storage.read() as tx:
        assert tx.get_tags(key.key_id) == {}
    with db.storage.write() as tx:
        tx.set_tags(key.key_id, {"kept": "yes"})
    with db.storage.read() as tx:
        assert tx.get_tags(key.key_id) == {"kept": "yes"}


def test_committed_writes_are_visible_to_new_read_transactions(db: Db) -> None:
    other = db.another()
    with db.storage.write() as tx:
        tx.set_meta("visible", "no")
    with db.storage.write() as tx:
        tx.set_meta("visible", "yes")
        with other.read() as reader:  # another connection does not see uncommitted data
            assert reader.get_meta("visible") == "no"
    for storage in (db.storage, other):
        with storage.read() as tx:
            assert tx.get_meta("visible") == "yes"
    inserted = insert_key(db.storage)
    with other.read() as tx:
        assert tx.get_key(inserted.key_id) == inserted


# concurrency -----------------------------------------------------------------------------
@pytest.mark.parametrize("layout", ["one-storage", "two-storages"])
def test_locked_read_modify_write_loses_no_update(db: Db, layout: str) -> None:
    key = insert_key(db.storage)
    storages = [db.storage, db.storage] if layout == "one-storage" else [db.storage, db.another()]
    rounds = 50
    barrier = threading.Barrier(len(storages))

    def work(storage: Storage) -> None:
        barrier.wait()
        for _ in range(rounds):
            with storage.write() as tx:
                current = tx.lock_key(key.key_id)
                assert current is not None
                tx.update_key(dataclasses.replace(current, revision=current.revision + 1))

    with ThreadPoolExecutor(max_workers=len(storages)) as pool:
        for future in [pool.submit(work, s) for s in storages]:
            future.result(timeout=120)
    with db.storage.read() as tx:
        final = tx.get_key(key.key_id)
    assert final is not None
    assert final.revision == key.revision + rounds * len(storages)
