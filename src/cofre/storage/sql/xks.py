"""External key stores as SQL (ADR 22): the stores Cofre serves as an XKS proxy and the
keys each may use. A mixin of ``SqlTx`` (``cofre.storage.sql.transaction``).

Schema in ``migrations/*/0012_xks.sql``. Every write records an ``xks`` change naming the
store, so that each serving process drops what it cached of it (``service/xks/proxy.py``).
"""

# Statements are built only from constant column lists and placeholders.
# ruff: noqa: S608

from __future__ import annotations

from datetime import datetime

from cofre.core.xks.stores import XksCredential, XksStore
from cofre.errors import AlreadyExistsError
from cofre.storage.sql.common import Row, SqlHelpers, dt, to_micros

_COLUMNS = (
    "store_id, account_id, region, name, access_key_id, secret_wrapped,"
    " previous_access_key_id, previous_secret_wrapped, created_at"
)


def _store(row: Row) -> XksStore:
    previous = None
    if row[6] is not None:
        previous = XksCredential(row[6], bytes(row[7]))
    return XksStore(
        row[0], row[1], row[2], row[3], XksCredential(row[4], bytes(row[5])), previous, dt(row[8])
    )


class XksSql(SqlHelpers):
    """The ``XksReadTx`` / ``XksWriteTx`` methods."""

    def get_xks_store(self, store_id: str) -> XksStore | None:
        row = self._one(f"SELECT {_COLUMNS} FROM xks_stores WHERE store_id = ?", (store_id,))
        return None if row is None else _store(row)

    def xks_store_of_access_key(self, access_key_id: str) -> XksStore | None:
        row = self._one(
            f"SELECT {_COLUMNS} FROM xks_stores WHERE access_key_id = ?"
            " OR previous_access_key_id = ?",
            (access_key_id, access_key_id),
        )
        return None if row is None else _store(row)

    def list_xks_stores(self, account_id: str, region: str) -> list[XksStore]:
        rows = self._all(
            f"SELECT {_COLUMNS} FROM xks_stores WHERE account_id = ? AND region = ? ORDER BY name",
            (account_id, region),
        )
        return [_store(r) for r in rows]

    def xks_store_keys(self, store_id: str) -> list[str]:
        rows = self._all(
            "SELECT key_id FROM xks_store_keys WHERE store_id = ? ORDER BY key_id", (store_id,)
        )
        return [str(r[0]) for r in rows]

    def xks_store_has_key(self, store_id: str, key_id: str) -> bool:
        row = self._one(
            "SELECT 1 FROM xks_store_keys WHERE store_id = ? AND key_id = ?", (store_id, key_id)
        )
        return row is not None

    def insert_xks_store(self, store: XksStore) -> None:
        try:
            self._exec(
                f"INSERT INTO xks_stores ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    store.store_id,
                    store.account_id,
                    store.region,
                    store.name,
                    store.credential.access_key_id,
                    store.credential.secret_wrapped,
                    None if store.previous is None else store.previous.access_key_id,
                    None if store.previous is None else store.previous.secret_wrapped,
                    to_micros(store.created_at),
                ),
            )
        except self._integrity_errors as exc:
            raise AlreadyExistsError(f"A key store named {store.name} already exists.") from exc
        self.record_change("xks", store.store_id)

    def update_xks_credentials(self, store: XksStore) -> None:
        previous = store.previous
        self._exec(
            "UPDATE xks_stores SET access_key_id = ?, secret_wrapped = ?,"
            " previous_access_key_id = ?, previous_secret_wrapped = ? WHERE store_id = ?",
            (
                store.credential.access_key_id,
                store.credential.secret_wrapped,
                None if previous is None else previous.access_key_id,
                None if previous is None else previous.secret_wrapped,
                store.store_id,
            ),
        )
        self.record_change("xks", store.store_id)

    def delete_xks_store(self, store_id: str) -> bool:
        self._exec("DELETE FROM xks_store_keys WHERE store_id = ?", (store_id,))
        self._exec("DELETE FROM xks_stores WHERE store_id = ?", (store_id,))
        gone = bool(self._cur.rowcount > 0)
        self.record_change("xks", store_id)
        return gone

    def add_xks_store_key(self, store_id: str, key_id: str, added_at: datetime) -> bool:
        """False if the store had the key already."""
        if self.xks_store_has_key(store_id, key_id):
            return False
        self._exec(
            "INSERT INTO xks_store_keys (store_id, key_id, added_at) VALUES (?, ?, ?)",
            (store_id, key_id, to_micros(added_at)),
        )
        self.record_change("xks", store_id)
        return True

    def remove_xks_store_key(self, store_id: str, key_id: str) -> bool:
        self._exec(
            "DELETE FROM xks_store_keys WHERE store_id = ? AND key_id = ?", (store_id, key_id)
        )
        gone = bool(self._cur.rowcount > 0)
        self.record_change("xks", store_id)
        return gone
