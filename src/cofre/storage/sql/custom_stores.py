"""Custom key stores of Cofre's KMS as SQL (ADR 22): the stores and the external key of
each KMS key in one. A mixin of ``SqlTx`` (``cofre.storage.sql.transaction``).

Schema in ``migrations/*/0012_xks.sql``. Every write records a ``cks`` change naming the
store, so that each serving process drops what it cached of it.
"""

# Statements are built only from constant column lists and placeholders.
# ruff: noqa: S608

from __future__ import annotations

from cofre.core.kms.custom_stores import ConnectionState, CustomKeyStore, XksBinding
from cofre.errors import AlreadyExistsError
from cofre.storage.sql.common import Row, SqlHelpers, dt, to_micros

_COLUMNS = (
    "store_id, account_id, region, name, uri_endpoint, uri_path, connectivity,"
    " access_key_id, secret_wrapped, state, error_code, created_at"
)


def _store(row: Row) -> CustomKeyStore:
    return CustomKeyStore(
        row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], bytes(row[8]),
        ConnectionState(row[9]), row[10], dt(row[11]),
    )  # fmt: skip


class CustomStoresSql(SqlHelpers):
    """The ``CustomStoresReadTx`` / ``CustomStoresWriteTx`` methods."""

    def get_custom_key_store(self, store_id: str) -> CustomKeyStore | None:
        row = self._one(f"SELECT {_COLUMNS} FROM custom_key_stores WHERE store_id = ?", (store_id,))
        return None if row is None else _store(row)

    def list_custom_key_stores(self, account_id: str, region: str) -> list[CustomKeyStore]:
        rows = self._all(
            f"SELECT {_COLUMNS} FROM custom_key_stores WHERE account_id = ? AND region = ?"
            " ORDER BY store_id",
            (account_id, region),
        )
        return [_store(r) for r in rows]

    def put_custom_key_store(self, store: CustomKeyStore, *, new: bool) -> None:
        values = (
            store.account_id, store.region, store.name, store.uri_endpoint, store.uri_path,
            store.connectivity, store.access_key_id, store.secret_wrapped, store.state.value,
            store.error_code, to_micros(store.created_at),
        )  # fmt: skip
        try:
            if new:
                self._exec(
                    f"INSERT INTO custom_key_stores ({_COLUMNS})"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (store.store_id, *values),
                )
            else:
                self._exec(
                    "UPDATE custom_key_stores SET account_id = ?, region = ?, name = ?,"
                    " uri_endpoint = ?, uri_path = ?, connectivity = ?, access_key_id = ?,"
                    " secret_wrapped = ?, state = ?, error_code = ?, created_at = ?"
                    " WHERE store_id = ?",
                    (*values, store.store_id),
                )
        except self._integrity_errors as exc:
            raise AlreadyExistsError(store.name) from exc
        self.record_change("cks", store.store_id)

    def delete_custom_key_store(self, store_id: str) -> None:
        self._exec("DELETE FROM xks_keys WHERE store_id = ?", (store_id,))
        self._exec("DELETE FROM custom_key_stores WHERE store_id = ?", (store_id,))
        self.record_change("cks", store_id)

    def custom_key_store_keys(self, store_id: str) -> int:
        """How many keys (existing ones, in any state) the store has."""
        row = self._one(
            "SELECT COUNT(*) FROM xks_keys x JOIN keys k ON k.key_id = x.key_id"
            " WHERE x.store_id = ?",
            (store_id,),
        )
        return int(row[0])

    def xks_key_in_use(self, store_id: str, xks_key_id: str) -> bool:
        row = self._one(
            "SELECT 1 FROM xks_keys x JOIN keys k ON k.key_id = x.key_id"
            " WHERE x.store_id = ? AND x.xks_key_id = ?",
            (store_id, xks_key_id),
        )
        return row is not None

    def put_xks_binding(self, binding: XksBinding) -> None:
        self._exec("DELETE FROM xks_keys WHERE key_id = ?", (binding.key_row_id,))
        self._exec(
            "INSERT INTO xks_keys (key_id, store_id, xks_key_id) VALUES (?, ?, ?)",
            (binding.key_row_id, binding.store_id, binding.xks_key_id),
        )

    def get_xks_binding(self, key_row_id: str) -> XksBinding | None:
        row = self._one(
            "SELECT key_id, store_id, xks_key_id FROM xks_keys WHERE key_id = ?", (key_row_id,)
        )
        return None if row is None else XksBinding(row[0], row[1], row[2])
