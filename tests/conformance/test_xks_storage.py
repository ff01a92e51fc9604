"""The XKS half of the storage conformance suite (``XksReadTx`` / ``XksWriteTx``: key
stores, their credentials, the keys each may use), run against SQLite and PostgreSQL
with the ``db`` fixture of ``test_storage``.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from cofre.core.xks.stores import XksCredential, XksStore
from cofre.errors import AlreadyExistsError
from tests.conformance.test_storage import ACCOUNT, OTHER_ACCOUNT, REGION, T0, Db


def _store(ident: str, name: str, account: str = ACCOUNT) -> XksStore:
    credential = XksCredential("A" * 23 + ident[-1].upper(), b"s" * 40)
    return XksStore(ident, account, REGION, name, credential, None, T0)


def test_stores_credentials_and_keys(db: Db) -> None:
    a = _store("xks-000000000000000a", "one")
    b = _store("xks-000000000000000b", "two", OTHER_ACCOUNT)
    with db.storage.write() as tx:
        tx.insert_xks_store(a)
        tx.insert_xks_store(b)
    with pytest.raises(AlreadyExistsError), db.storage.write() as tx:
        tx.insert_xks_store(
            replace(_store("xks-000000000000000c", "one"), credential=XksCredential("C" * 24, b"x"))
        )
    with db.storage.read() as tx:
        assert tx.list_xks_stores(ACCOUNT, REGION) == [a]
        assert tx.get_xks_store(b.store_id) == b
        assert tx.xks_store_of_access_key(a.credential.access_key_id) == a
    rotated = replace(a, credential=XksCredential("N" * 24, b"n" * 40), previous=a.credential)
    with db.storage.write() as tx:
        tx.update_xks_credentials(rotated)
        assert tx.add_xks_store_key(a.store_id, "k1", T0)
        assert not tx.add_xks_store_key(a.store_id, "k1", T0)
        assert tx.add_xks_store_key(a.store_id, "k0", T0)
    with db.storage.read() as tx:
        assert tx.xks_store_of_access_key(a.credential.access_key_id) == rotated  # previous
        assert tx.xks_store_of_access_key("N" * 24) == rotated
        assert tx.xks_store_keys(a.store_id) == ["k0", "k1"]
        assert tx.xks_store_has_key(a.store_id, "k1")
        assert not tx.xks_store_has_key(b.store_id, "k1")
    with db.storage.write() as tx:
        assert tx.remove_xks_store_key(a.store_id, "k1")
        assert not tx.remove_xks_store_key(a.store_id, "k1")
        assert tx.delete_xks_store(a.store_id)
        assert not tx.delete_xks_store(a.store_id)
    with db.storage.read() as tx:
        assert tx.get_xks_store(a.store_id) is None
        assert tx.xks_store_keys(a.store_id) == []
