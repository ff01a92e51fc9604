"""The seal keeper on a real SQLite store: a ``shamir`` store stays sealed until a quorum
of unseal keys is entered, seals again on demand, rotates its root key online (the
keyring key stays), and refuses to rotate with an unseal key that a rekey made stale.
The seal record is replaced only by a writer that read the record it replaces."""

from __future__ import annotations

import os

import pytest

from cofre.core.seal import SealRecord, decode_share
from cofre.errors import SealedError, SealError
from cofre.service.seal import shamir
from cofre.service.seal.keeper import (
    SealAccess,
    SealKeeper,
    SealStatus,
    open_keyring,
    read_record,
    write_record,
)
from cofre.service.seal.keyring import Keyring
from cofre.service.seal.setup import SealChoice, SetUp, initialise, rekey
from cofre.storage.sqlite import SqliteStorage
from tests.unit.service.seal.support import Racing, node, unsealed


@pytest.fixture
def shamir_store(storage: SqliteStorage, access: SealAccess) -> SetUp:
    return initialise(storage, SealChoice("shamir", shares=5, threshold=3), access, os.urandom)


def _root(record: SealRecord, keys: list[str]) -> bytes:
    """R, rebuilt from ``keys`` as an operator's tool would."""
    return shamir.open_root(record, shamir.combine([decode_share(k) for k in keys]))


# unsealing ------------------------------------------------------------------------------------
def test_a_shamir_store_unseals_with_a_quorum(
    storage: SqliteStorage, access: SealAccess, shamir_store: SetUp
) -> None:
    keeper, keyring = node(storage, access)
    assert keeper.status() == SealStatus("shamir", sealed=True, threshold=3, shares=5)
    keys = shamir_store.unseal_keys
    assert keeper.submit_share(keys[4]) == SealStatus("shamir", True, 3, 5, progress=1)
    assert keeper.submit_share(keys[0]).progress == 2
    with pytest.raises(SealedError):
        keyring.key()
    assert keeper.submit_share(keys[2]) == SealStatus("shamir", sealed=False, threshold=3, shares=5)
    assert keyring.key() == shamir_store.keyring_key


def test_a_refused_key_does_not_count(
    storage: SqliteStorage, access: SealAccess, shamir_store: SetUp
) -> None:
    keeper, keyring = node(storage, access)
    keys = shamir_store.unseal_keys
    keeper.submit_share(keys[0])
    typo = keys[1][:10] + ("B" if keys[1][10] == "A" else "A") + keys[1][11:]
    for refused in (keys[0], typo, "not an unseal key"):
        with pytest.raises(SealError):
            keeper.submit_share(refused)
    assert keeper.status().progress == 1
    keeper.submit_share(keys[1])
    assert keyring.sealed
    keeper.submit_share(keys[3])
    assert keyring.key() == shamir_store.keyring_key


def test_keys_given_to_an_unsealed_node_change_nothing(
    storage: SqliteStorage, access: SealAccess, shamir_store: SetUp
) -> None:
    keeper, _ = unsealed(storage, access, shamir_store.unseal_keys[:3])
    status = keeper.submit_share(shamir_store.unseal_keys[3])
    assert status == SealStatus("shamir", sealed=False, threshold=3, shares=5)


def test_a_file_store_takes_no_unseal_keys(storage: SqliteStorage, access: SealAccess) -> None:
    initialise(storage, SealChoice("file"), access, os.urandom)
    keeper, _ = node(storage, access)
    with pytest.raises(SealError, match="file seal takes no unseal keys"):
        keeper.submit_share("AAAA")


def test_a_store_never_initialised_has_no_seal(storage: SqliteStorage, access: SealAccess) -> None:
    keeper = SealKeeper(storage, Keyring(), access, os.urandom)
    with pytest.raises(SealError, match="never initialised"):
        keeper.status()


def test_status_document_round_trip() -> None:
    status = SealStatus("shamir", sealed=True, threshold=3, shares=5, progress=2)
    document = status.document()
    assert document == {"type": "shamir", "sealed": True, "threshold": 3, "shares": 5,
                        "progress": 2}  # fmt: skip
    assert SealStatus.from_document(document) == status
    failed = SealStatus("pkcs11", sealed=True, error="the token is absent")
    assert failed.document()["error"] == "the token is absent"
    assert SealStatus.from_document(failed.document()) == failed


# sealing --------------------------------------------------------------------------------------
def test_seal_drops_the_key_and_tells_the_listeners(
    storage: SqliteStorage, access: SealAccess, shamir_store: SetUp
) -> None:
    keyring = Keyring()
    changes: list[bool] = []
    keeper = SealKeeper(storage, keyring, access, os.urandom, on_change=changes.append)
    dropped: list[str] = []
    keyring.on_drop(lambda: dropped.append("cache"))
    keeper.open()
    for text in shamir_store.unseal_keys[:3]:
        keeper.submit_share(text)
    status = keeper.seal()
    assert status == SealStatus("shamir", sealed=True, threshold=3, shares=5)
    assert changes == [False, True]
    assert dropped == ["cache"]
    with pytest.raises(SealedError):
        keyring.key()
    with pytest.raises(SealedError):
        keyring.derive(b"audit-chain-mac")
    with pytest.raises(SealedError):
        keeper.rotate()
    for text in shamir_store.unseal_keys[2:]:  # unseals again, with another quorum
        keeper.submit_share(text)
    assert keyring.key() == shamir_store.keyring_key


def test_seal_forgets_keys_given_so_far(
    storage: SqliteStorage, access: SealAccess, shamir_store: SetUp
) -> None:
    keeper, keyring = node(storage, access)
    keeper.submit_share(shamir_store.unseal_keys[0])
    keeper.submit_share(shamir_store.unseal_keys[1])
    assert keeper.seal().progress == 0
    keeper.submit_share(shamir_store.unseal_keys[2])
    assert keyring.sealed


# rotating the root key ------------------------------------------------------------------------
def test_rotate_rewraps_the_keyring_under_a_new_root(
    storage: SqliteStorage, access: SealAccess, shamir_store: SetUp
) -> None:
    keys = shamir_store.unseal_keys
    keeper, _ = unsealed(storage, access, keys[:3])
    before = read_record(storage)
    assert before == shamir_store.record
    rotated = keeper.rotate()
    assert read_record(storage) == rotated
    assert rotated.shamir == before.shamir  # the operators' keys are the same
    assert rotated.sealed_root != before.sealed_root
    assert rotated.keyring != before.keyring
    old_root, new_root = _root(before, keys[:3]), _root(rotated, keys[:3])
    assert old_root != new_root
    assert open_keyring(rotated, new_root) == shamir_store.keyring_key
    with pytest.raises(SealError, match="does not open this store's keyring"):
        open_keyring(rotated, old_root)
    assert keeper.status().sealed is False

    starting, _ = unsealed(storage, access, keys[2:])  # a node starting now, with other keys
    assert starting.rotate_root() == SealStatus("shamir", sealed=False, threshold=3, shares=5)


def test_a_node_unsealed_before_a_rekey_refuses_to_rotate(
    storage: SqliteStorage, access: SealAccess, shamir_store: SetUp
) -> None:
    keeper, _ = unsealed(storage, access, shamir_store.unseal_keys[:3])
    rekeyed = rekey(storage, shamir_store.unseal_keys[1:4], 5, 3, os.urandom)
    with pytest.raises(SealError, match="reissued"):
        keeper.rotate()
    assert read_record(storage) == rekeyed.record
    keeper.seal()
    for text in rekeyed.unseal_keys[:3]:
        keeper.submit_share(text)
    rotated = keeper.rotate()  # with the new keys, it rotates
    assert open_keyring(rotated, _root(rotated, rekeyed.unseal_keys[2:])) == (
        shamir_store.keyring_key
    )


def test_a_rotate_that_loses_to_a_rekey_changes_nothing(
    storage: SqliteStorage, access: SealAccess, shamir_store: SetUp
) -> None:
    rekeyed: list[SetUp] = []
    racing = Racing(
        lambda: rekeyed.append(rekey(storage, shamir_store.unseal_keys[:3], 4, 2, os.urandom))
    )
    keyring = Keyring()
    keeper = SealKeeper(storage, keyring, access, racing)
    keeper.open()
    for text in shamir_store.unseal_keys[:3]:
        keeper.submit_share(text)
    racing.armed = True
    with pytest.raises(SealError, match="changed meanwhile"):
        keeper.rotate()
    assert read_record(storage) == rekeyed[0].record
    fresh, _ = unsealed(storage, access, rekeyed[0].unseal_keys[:2])  # the new keys still open
    assert fresh.status().threshold == 2
    assert keyring.key() == shamir_store.keyring_key


def test_a_rekey_while_sealed_restarts_the_count(
    storage: SqliteStorage, access: SealAccess, shamir_store: SetUp
) -> None:
    keeper, keyring = node(storage, access)
    keeper.submit_share(shamir_store.unseal_keys[0])
    keeper.submit_share(shamir_store.unseal_keys[1])
    rekeyed = rekey(storage, shamir_store.unseal_keys[2:], 5, 3, os.urandom)
    with pytest.raises(SealError, match="another set"):
        keeper.submit_share(shamir_store.unseal_keys[4])
    assert keeper.submit_share(rekeyed.unseal_keys[0]).progress == 1
    keeper.submit_share(rekeyed.unseal_keys[1])
    assert keyring.sealed
    keeper.submit_share(rekeyed.unseal_keys[2])
    assert keyring.key() == shamir_store.keyring_key


def test_status_after_a_rekey_counts_no_keys_of_the_new_set(
    storage: SqliteStorage, access: SealAccess, shamir_store: SetUp
) -> None:
    keeper, _ = node(storage, access)
    keeper.submit_share(shamir_store.unseal_keys[0])
    keeper.submit_share(shamir_store.unseal_keys[1])
    rekey(storage, shamir_store.unseal_keys[2:], 5, 3, os.urandom)
    assert keeper.status().progress == 0


# the record's compare-and-set -----------------------------------------------------------------
def test_write_record_refuses_a_stale_replacing(
    storage: SqliteStorage, access: SealAccess, shamir_store: SetUp
) -> None:
    stale = read_record(storage)
    assert stale is not None
    rotated = unsealed(storage, access, shamir_store.unseal_keys[:3])[0].rotate()
    with pytest.raises(SealError, match="changed meanwhile"):
        write_record(storage, stale.with_root(b"x", b"y"), replacing=stale)
    with pytest.raises(SealError, match="changed meanwhile"):
        write_record(storage, stale, replacing=None)  # as a second initialisation would
    assert read_record(storage) == rotated
    write_record(storage, rotated.with_root(b"x", b"y"), replacing=rotated)
    assert read_record(storage) == rotated.with_root(b"x", b"y")


def test_write_record_refuses_to_replace_a_record_that_is_not_there(
    storage: SqliteStorage,
) -> None:
    ghost = SealRecord("file", b"k")
    with pytest.raises(SealError, match="changed meanwhile"):
        write_record(storage, ghost, replacing=ghost)
    assert read_record(storage) is None
    write_record(storage, ghost, replacing=None)
    assert read_record(storage) == ghost
