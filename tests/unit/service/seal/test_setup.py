"""Setting up a store's root of trust on a real SQLite store: a new store on the ``file``
and ``shamir`` seals, the ``file`` seal opening by itself (and refusing another root key),
moving a store off the ``file`` seal, new unseal keys (rekey), and adopting a store made
before seals existed."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest

from cofre.core.audit.chain import ChainedEvent, canonical_json, chain_hash, index_event
from cofre.core.crypto import Cipher
from cofre.errors import SealError
from cofre.service.audit.chain import AUDIT_MAC_SINCE_META
from cofre.service.rootkey import RootKeyError, stored_check, verify_root_key
from cofre.service.seal.files import FileRoot
from cofre.service.seal.keeper import (
    SealAccess,
    SealKeeper,
    SealStatus,
    open_keyring,
    open_root,
    read_record,
)
from cofre.service.seal.keyring import Keyring
from cofre.service.seal.setup import (
    SealChoice,
    SetUp,
    adopt_legacy,
    initialise,
    migrate_seal,
    rekey,
)
from cofre.storage.sqlite import SqliteStorage
from tests.unit.service.seal.support import Racing, copy_store, node, unsealed

SHAMIR = SealChoice("shamir", shares=5, threshold=3)


def _meta(storage: SqliteStorage, name: str) -> str | None:
    with storage.read() as tx:
        return tx.get_meta(name)


# a new store ----------------------------------------------------------------------------------
def test_initialise_file_writes_root_key_and_opens_by_itself(
    storage: SqliteStorage, access: SealAccess
) -> None:
    set_up = initialise(storage, SealChoice("file"), access, os.urandom)
    assert set_up.unseal_keys == []
    path = access.file.path
    assert path.stat().st_mode & 0o777 == 0o600
    root = path.read_bytes()
    assert len(root) == 32
    record = read_record(storage)
    assert record == set_up.record
    assert (record.seal_type, record.sealed_root, record.shamir) == ("file", b"", None)
    assert open_keyring(record, root) == set_up.keyring_key != root

    keeper, keyring = node(storage, access)
    assert keeper.status() == SealStatus("file", sealed=False)
    assert keyring.key() == set_up.keyring_key


def test_initialise_file_from_the_environment_writes_no_file(
    storage: SqliteStorage, tmp_path: Path
) -> None:
    root = os.urandom(32)
    access = SealAccess(FileRoot.in_dir(tmp_path, base64.b64encode(root).decode()))
    set_up = initialise(storage, SealChoice("file"), access, os.urandom)
    assert not access.file.path.exists()
    assert open_keyring(set_up.record, root) == set_up.keyring_key
    assert node(storage, access)[1].key() == set_up.keyring_key


def test_initialise_shamir_stays_sealed_until_a_quorum(
    storage: SqliteStorage, access: SealAccess
) -> None:
    set_up = initialise(storage, SHAMIR, access, os.urandom)
    assert len(set(set_up.unseal_keys)) == 5
    assert not access.file.path.exists()
    keeper, keyring = node(storage, access)
    assert keeper.status() == SealStatus("shamir", sealed=True, threshold=3, shares=5)
    for text in set_up.unseal_keys[1:4]:
        keeper.submit_share(text)
    assert keyring.key() == set_up.keyring_key


def test_initialise_stores_the_keyring_key_check(
    storage: SqliteStorage, access: SealAccess
) -> None:
    set_up = initialise(storage, SHAMIR, access, os.urandom)
    assert stored_check(storage) is not None
    verify_root_key(storage, Cipher(set_up.keyring_key), os.urandom)
    with pytest.raises(RootKeyError):
        verify_root_key(storage, Cipher(os.urandom(32)), os.urandom)


@pytest.mark.parametrize("second", [SealChoice("file"), SHAMIR], ids=["file", "shamir"])
@pytest.mark.parametrize("first", [SealChoice("file"), SHAMIR], ids=["file", "shamir"])
def test_initialise_twice_refuses(
    storage: SqliteStorage, access: SealAccess, first: SealChoice, second: SealChoice
) -> None:
    set_up = initialise(storage, first, access, os.urandom)
    with pytest.raises(SealError, match="initialised already"):
        initialise(storage, second, access, os.urandom)
    assert read_record(storage) == set_up.record


def test_initialise_refuses_a_store_made_before_seals(
    storage: SqliteStorage, access: SealAccess
) -> None:
    verify_root_key(storage, Cipher(os.urandom(32)), os.urandom)
    with pytest.raises(SealError, match="before seals existed"):
        initialise(storage, SHAMIR, access, os.urandom)
    assert read_record(storage) is None


def test_initialise_refuses_an_unknown_seal(storage: SqliteStorage, access: SealAccess) -> None:
    with pytest.raises(SealError, match="no such seal: vault"):
        initialise(storage, SealChoice("vault"), access, os.urandom)
    assert read_record(storage) is None


def test_initialise_file_with_a_root_key_already_in_place(
    storage: SqliteStorage, access: SealAccess
) -> None:
    placed = access.file.create(os.urandom)  # the operator's own root key
    set_up = initialise(storage, SealChoice("file"), access, os.urandom)
    assert access.file.read() == placed  # used, not replaced
    assert open_keyring(set_up.record, placed) == set_up.keyring_key


# the file seal --------------------------------------------------------------------------------
def test_a_wrong_root_key_file_is_refused(storage: SqliteStorage, access: SealAccess) -> None:
    initialise(storage, SealChoice("file"), access, os.urandom)
    access.file.path.write_bytes(os.urandom(32))  # another key in the same 0600 file
    keyring = Keyring()
    with pytest.raises(SealError, match="not this store's root key"):
        SealKeeper(storage, keyring, access, os.urandom).open()
    assert keyring.sealed


def test_a_missing_root_key_file_is_refused(storage: SqliteStorage, access: SealAccess) -> None:
    initialise(storage, SealChoice("file"), access, os.urandom)
    access.file.path.unlink()
    with pytest.raises(SealError, match="does not exist"):
        SealKeeper(storage, Keyring(), access, os.urandom).open()


def test_a_root_key_file_others_can_read_is_refused(
    storage: SqliteStorage, access: SealAccess
) -> None:
    initialise(storage, SealChoice("file"), access, os.urandom)
    access.file.path.chmod(0o640)
    with pytest.raises(SealError, match="must not be readable by group or others"):
        SealKeeper(storage, Keyring(), access, os.urandom).open()


def test_rotate_on_the_file_seal_replaces_root_key_only(
    storage: SqliteStorage, access: SealAccess
) -> None:
    set_up = initialise(storage, SealChoice("file"), access, os.urandom)
    old_root = access.file.read()
    keeper, keyring = node(storage, access)
    rotated = keeper.rotate()
    new_root = access.file.read()
    assert new_root != old_root
    assert read_record(storage) == rotated
    assert rotated.keyring != set_up.record.keyring
    assert open_keyring(rotated, new_root) == set_up.keyring_key == keyring.key()
    assert node(storage, access)[1].key() == set_up.keyring_key


def test_rotate_refuses_a_root_key_from_the_environment(
    storage: SqliteStorage, tmp_path: Path
) -> None:
    env = base64.b64encode(os.urandom(32)).decode()
    access = SealAccess(FileRoot.in_dir(tmp_path, env))
    set_up = initialise(storage, SealChoice("file"), access, os.urandom)
    keeper, _ = node(storage, access)
    with pytest.raises(SealError, match="COFRE_ROOT_KEY"):
        keeper.rotate()
    assert read_record(storage) == set_up.record


def test_a_file_rotate_that_loses_the_race_leaves_the_store_openable(
    storage: SqliteStorage, access: SealAccess
) -> None:
    set_up = initialise(storage, SealChoice("file"), access, os.urandom)
    other, _ = node(storage, access)  # another process of this node, same root.key
    racing = Racing(lambda: other.rotate())
    keeper, _ = node(storage, access, racing)
    racing.armed = True
    with pytest.raises(SealError, match="changed meanwhile"):
        keeper.rotate()
    record = read_record(storage)
    assert record is not None
    assert open_keyring(record, access.file.read()) == set_up.keyring_key


def test_a_file_rotate_cut_short_after_its_commit_is_finished_at_the_next_open(
    storage: SqliteStorage, access: SealAccess, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The record committed under the new root key, then the process died before renaming
    the staged key over root.key: the next open finds the staged key opens the record and
    promotes it; an offline reader uses it without promoting."""
    set_up = initialise(storage, SealChoice("file"), access, os.urandom)
    keeper, _ = node(storage, access)
    old_root = access.file.read()

    def crash(self: FileRoot, staged: Path) -> None:
        raise OSError("the process died here")

    with monkeypatch.context() as patch:
        patch.setattr(FileRoot, "promote", crash)
        with pytest.raises(OSError, match="died"):
            keeper.rotate()
    assert access.file.read() == old_root  # root.key untouched, the staged key beside it
    record = read_record(storage)
    assert record is not None and record != set_up.record
    ((staged_path, staged_key),) = access.file.staged().items()
    assert open_keyring(record, staged_key) == set_up.keyring_key
    assert open_root(record, access, repair=False) == staged_key
    assert staged_path.exists()  # an offline reader changes nothing
    fresh, keyring = node(storage, access)
    fresh.open()
    assert keyring.key() == set_up.keyring_key
    assert access.file.read() == staged_key and access.file.staged() == {}


# moving off the file seal ---------------------------------------------------------------------
def test_migrate_file_to_shamir_keeps_the_keyring_key(
    storage: SqliteStorage, access: SealAccess
) -> None:
    set_up = initialise(storage, SealChoice("file"), access, os.urandom)
    root = access.file.read()
    moved = migrate_seal(storage, SHAMIR, access, os.urandom)
    assert not access.file.path.exists()
    assert moved.keyring_key == set_up.keyring_key
    assert len(moved.unseal_keys) == 5
    assert read_record(storage) == moved.record
    assert moved.record.keyring == set_up.record.keyring  # the root key is the same
    keeper, keyring = node(storage, access)
    assert keeper.status() == SealStatus("shamir", sealed=True, threshold=3, shares=5)
    for text in moved.unseal_keys[2:]:
        keeper.submit_share(text)
    assert keyring.key() == set_up.keyring_key
    assert open_keyring(moved.record, root) == set_up.keyring_key


def test_migrate_from_the_environment_keeps_the_keyring_key(
    storage: SqliteStorage, tmp_path: Path
) -> None:
    env = base64.b64encode(os.urandom(32)).decode()
    access = SealAccess(FileRoot.in_dir(tmp_path, env))
    set_up = initialise(storage, SealChoice("file"), access, os.urandom)
    moved = migrate_seal(storage, SealChoice("shamir", shares=1, threshold=1), access, os.urandom)
    assert unsealed(storage, access, moved.unseal_keys)[1].key() == set_up.keyring_key


def test_migrate_refuses_a_store_not_on_the_file_seal(
    storage: SqliteStorage, access: SealAccess
) -> None:
    with pytest.raises(SealError, match="from the file seal"):
        migrate_seal(storage, SHAMIR, access, os.urandom)  # no seal yet
    set_up = initialise(storage, SHAMIR, access, os.urandom)
    with pytest.raises(SealError, match="from the file seal"):
        migrate_seal(storage, SHAMIR, access, os.urandom)
    assert read_record(storage) == set_up.record


def test_migrate_to_the_file_seal_is_refused(storage: SqliteStorage, access: SealAccess) -> None:
    set_up = initialise(storage, SealChoice("file"), access, os.urandom)
    with pytest.raises(SealError, match="on the file seal already"):
        migrate_seal(storage, SealChoice("file"), access, os.urandom)
    assert read_record(storage) == set_up.record
    assert access.file.path.exists()


# new unseal keys ------------------------------------------------------------------------------
@pytest.fixture
def shamir_store(storage: SqliteStorage, access: SealAccess) -> SetUp:
    return initialise(storage, SHAMIR, access, os.urandom)


def test_rekey_issues_new_keys_and_the_old_ones_open_nothing(
    storage: SqliteStorage, access: SealAccess, shamir_store: SetUp
) -> None:
    rekeyed = rekey(storage, shamir_store.unseal_keys[1:4], 3, 2, os.urandom)
    assert rekeyed.keyring_key == shamir_store.keyring_key
    assert len(rekeyed.unseal_keys) == 3
    assert not set(rekeyed.unseal_keys) & set(shamir_store.unseal_keys)
    assert read_record(storage) == rekeyed.record
    assert rekeyed.record.keyring == shamir_store.record.keyring  # R is the same

    keeper, keyring = node(storage, access)
    assert keeper.status() == SealStatus("shamir", sealed=True, threshold=2, shares=3)
    for old in shamir_store.unseal_keys:
        with pytest.raises(SealError, match="another set"):
            keeper.submit_share(old)
    assert keeper.status().progress == 0
    keeper.submit_share(rekeyed.unseal_keys[2])
    keeper.submit_share(rekeyed.unseal_keys[0])
    assert keyring.key() == shamir_store.keyring_key


def test_rekey_with_too_few_keys_refuses(storage: SqliteStorage, shamir_store: SetUp) -> None:
    with pytest.raises(SealError, match=r"needs 3 of the current unseal keys \(got 2\)"):
        rekey(storage, shamir_store.unseal_keys[:2], 5, 3, os.urandom)
    assert read_record(storage) == shamir_store.record


def test_rekey_refuses_keys_of_another_store(
    storage: SqliteStorage, shamir_store: SetUp, migrated: Path, tmp_path: Path
) -> None:
    other = copy_store(migrated, tmp_path / "other.db")
    try:
        foreign = initialise(other, SHAMIR, SealAccess(FileRoot(tmp_path / "x")), os.urandom)
    finally:
        other.close()
    with pytest.raises(SealError, match="another set"):
        rekey(storage, foreign.unseal_keys[:3], 5, 3, os.urandom)
    assert read_record(storage) == shamir_store.record


def test_rekey_refuses_a_store_on_another_seal(storage: SqliteStorage, access: SealAccess) -> None:
    initialise(storage, SealChoice("file"), access, os.urandom)
    with pytest.raises(SealError, match="store on the shamir seal"):
        rekey(storage, [], 5, 3, os.urandom)


def test_rekey_refuses_impossible_counts_and_changes_nothing(
    storage: SqliteStorage, shamir_store: SetUp
) -> None:
    with pytest.raises(SealError, match="key shares must be"):
        rekey(storage, shamir_store.unseal_keys[:3], 2, 3, os.urandom)
    assert read_record(storage) == shamir_store.record


# adopting a store made before seals -----------------------------------------------------------
def _append_audit_events(storage: SqliteStorage, count: int) -> int:
    """``count`` records at the chain's head (the MACs do not matter here); the new head."""
    with storage.write() as tx:
        state = tx.lock_audit_chain()
        seq, prev = state.head_seq, state.head_hash
        events = []
        for _ in range(count):
            seq += 1
            event = {"eventID": f"ev-{seq}", "eventTime": "2026-01-01T00:00:00Z",
                     "eventSource": "kms.amazonaws.com", "eventName": "CreateKey"}  # fmt: skip
            body = canonical_json(event)
            prev = chain_hash(prev, seq, body)
            events.append(ChainedEvent(seq, body, prev, bytes(32), index_event(event)))
        tx.append_audit_events(events, [])
    return seq


@pytest.fixture
def legacy_store(storage: SqliteStorage, access: SealAccess) -> bytes:
    """A store of the release before seals: its root key, in root.key, checked in meta;
    three audit records. Returns that root key."""
    root = access.file.create(os.urandom)
    verify_root_key(storage, Cipher(root), os.urandom)
    assert _append_audit_events(storage, 3) == 3
    return root


def test_adopt_makes_the_old_root_key_the_keyring_key(
    storage: SqliteStorage, access: SealAccess, legacy_store: bytes
) -> None:
    record = adopt_legacy(storage, access, os.urandom)
    assert (record.seal_type, record.sealed_root, record.shamir) == ("file", b"", None)
    assert read_record(storage) == record
    assert open_keyring(record, legacy_store) == legacy_store
    assert _meta(storage, AUDIT_MAC_SINCE_META) == "4"
    keeper, keyring = node(storage, access)
    assert keeper.status() == SealStatus("file", sealed=False)
    assert keyring.key() == legacy_store


def test_adopt_on_two_nodes_keeps_the_first_record(
    storage: SqliteStorage, access: SealAccess, legacy_store: bytes
) -> None:
    first = adopt_legacy(storage, access, os.urandom)
    _append_audit_events(storage, 2)  # the first node went on serving
    second = adopt_legacy(storage, access, os.urandom)
    assert second == first
    assert read_record(storage) == first
    assert _meta(storage, AUDIT_MAC_SINCE_META) == "4"


def test_an_adopted_store_rotates_to_a_root_key_of_its_own(
    storage: SqliteStorage, access: SealAccess, legacy_store: bytes
) -> None:
    adopt_legacy(storage, access, os.urandom)
    keeper, keyring = node(storage, access)
    rotated = keeper.rotate()
    assert access.file.read() != legacy_store
    assert open_keyring(rotated, access.file.read()) == legacy_store == keyring.key()
