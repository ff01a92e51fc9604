"""The SQL both backends share: one transaction class over a DB-API connection.

Statements are written with ``?`` placeholders; the PostgreSQL backend rewrites them to
``%s`` once. Times are stored as integer microseconds since the epoch (UTC). The IAM and
grant statements are mixins of ``SqlTx``: ``sql_iam`` and ``sql_grants``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from cofre.core.iam.principals import Account, Credential
from cofre.core.ids import alias_arn, key_id_of_row, key_row_id
from cofre.core.kms.keys import (
    Alias,
    Key,
    KeyManager,
    KeyRef,
    KeyState,
    KeyVersion,
    Origin,
    RotationType,
)
from cofre.errors import AlreadyExistsError, ValidationError
from cofre.service.ports import Change
from cofre.storage.sql.audit import AuditSql
from cofre.storage.sql.common import (
    CREDENTIAL_COLUMNS,
    Cursor,
    Row,
    credential_from_row,
    credential_row,
    from_micros,
    to_micros,
)
from cofre.storage.sql.common import dt as _dt
from cofre.storage.sql.custom_stores import CustomStoresSql
from cofre.storage.sql.grants import GrantSql
from cofre.storage.sql.iam import IamSql
from cofre.storage.sql.imported import ImportedSql
from cofre.storage.sql.operations import OperationsSql
from cofre.storage.sql.params import ParamsSql
from cofre.storage.sql.webhooks import WebhooksSql
from cofre.storage.sql.xks import XksSql

# key_id holds the key's row id (core.ids.key_row_id); mrk_id the key id related
# multi-Region keys share (ADR 16).
KEY_COLUMNS = (
    "key_id, account_id, region, arn, created_at, description, key_spec, key_usage, origin,"
    " key_manager, state, policy, current_version_id, deletion_date, pending_window_days,"
    " rotation_enabled, rotation_period_days, next_rotation_at, on_demand_rotation_started_at,"
    " revision, expiration_model, material_valid_to, imported_material_id, mrk_id,"
    " primary_region, settles_at"
)
_KEY_COLUMN_COUNT = 26


def _key_row(key: Key) -> tuple[Any, ...]:
    return (
        key.row_id,
        key.account_id,
        key.region,
        key.arn,
        to_micros(key.created_at),
        key.description,
        key.key_spec,
        key.key_usage,
        key.origin.value,
        key.key_manager.value,
        key.state.value,
        key.policy,
        key.current_version_id,
        to_micros(key.deletion_date),
        key.pending_window_days,
        int(key.rotation_enabled),
        key.rotation_period_days,
        to_micros(key.next_rotation_at),
        to_micros(key.on_demand_rotation_started_at),
        key.revision,
        key.expiration_model,
        to_micros(key.material_valid_to),
        key.imported_material_id,
        key.key_id if key.multi_region else None,
        key.primary_region,
        to_micros(key.settles_at),
    )


def _key_from_row(row: Row) -> Key:
    return Key(
        key_id=row[23] or row[0],
        account_id=row[1],
        region=row[2],
        arn=row[3],
        created_at=_dt(row[4]),
        description=row[5],
        key_spec=row[6],
        key_usage=row[7],
        origin=Origin(row[8]),
        key_manager=KeyManager(row[9]),
        state=KeyState(row[10]),
        policy=row[11],
        current_version_id=bytes(row[12]),
        deletion_date=from_micros(row[13]),
        pending_window_days=row[14],
        rotation_enabled=bool(row[15]),
        rotation_period_days=row[16],
        next_rotation_at=from_micros(row[17]),
        on_demand_rotation_started_at=from_micros(row[18]),
        revision=row[19],
        expiration_model=row[20],
        material_valid_to=from_micros(row[21]),
        imported_material_id=None if row[22] is None else bytes(row[22]),
        primary_region=row[24],
        settles_at=from_micros(row[25]),
    )


def _alias_from_row(row: Row) -> Alias:
    return Alias(row[0], row[1], row[2], key_id_of_row(row[3]), _dt(row[4]), _dt(row[5]))


class SqlTx(
    IamSql,
    GrantSql,
    ParamsSql,
    AuditSql,
    WebhooksSql,
    ImportedSql,
    OperationsSql,
    XksSql,
    CustomStoresSql,
):
    """Every read and write Cofre makes, as SQL; one instance per transaction."""

    def __init__(
        self,
        cursor: Cursor,
        sql: Callable[[str], str],
        now: Callable[[], datetime],
        lock_suffix: str = "",
        integrity_errors: tuple[type[Exception], ...] = (),
    ) -> None:
        self._cur = cursor
        self._integrity_errors = integrity_errors
        self._sql = sql
        self._now = now
        self._lock_suffix = lock_suffix

    def _exec(self, statement: str, params: Sequence[Any] = ()) -> Any:
        for value in params:  # PostgreSQL cannot hold U+0000 in text; neither backend takes it
            if type(value) is str and "\x00" in value:
                raise ValidationError(
                    "A text value holds a NUL character (U+0000), which Cofre does not store."
                )
        return self._cur.execute(self._sql(statement), params)

    def _one(self, statement: str, params: Sequence[Any] = ()) -> Any:
        self._exec(statement, params)
        return self._cur.fetchone()

    def _all(self, statement: str, params: Sequence[Any] = ()) -> list[Any]:
        self._exec(statement, params)
        return self._cur.fetchall()

    # meta ------------------------------------------------------------------------------
    def get_meta(self, name: str) -> str | None:
        row = self._one("SELECT value FROM meta WHERE name = ?", (name,))
        return None if row is None else str(row[0])

    def lock_meta(self, name: str) -> str | None:
        row = self._one(f"SELECT value FROM meta WHERE name = ?{self._lock_suffix}", (name,))
        return None if row is None else str(row[0])

    def set_meta(self, name: str, value: str) -> None:
        self._exec(
            "INSERT INTO meta (name, value) VALUES (?, ?)"
            " ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            (name, value),
        )

    # accounts and credentials ----------------------------------------------------------
    def get_account(self, account_id: str) -> Account | None:
        row = self._one(
            "SELECT account_id, name, created_at FROM accounts WHERE account_id = ?", (account_id,)
        )
        return None if row is None else Account(row[0], row[1], _dt(row[2]))

    def list_accounts(self) -> list[Account]:
        rows = self._all("SELECT account_id, name, created_at FROM accounts ORDER BY account_id")
        return [Account(r[0], r[1], _dt(r[2])) for r in rows]

    def insert_account(self, account: Account) -> None:
        self._exec(
            "INSERT INTO accounts (account_id, name, created_at) VALUES (?, ?, ?)",
            (account.account_id, account.name, to_micros(account.created_at)),
        )

    def get_credential(self, access_key_id: str) -> Credential | None:
        row = self._one(
            f"SELECT {CREDENTIAL_COLUMNS} FROM credentials WHERE access_key_id = ?",
            (access_key_id,),
        )
        return None if row is None else credential_from_row(row)

    def put_credential(self, credential: Credential) -> None:
        self._exec(
            f"INSERT INTO credentials ({CREDENTIAL_COLUMNS}) VALUES ({', '.join('?' * 11)})"
            " ON CONFLICT (access_key_id) DO UPDATE SET account_id = excluded.account_id,"
            " principal_arn = excluded.principal_arn, user_name = excluded.user_name,"
            " secret_wrapped = excluded.secret_wrapped, status = excluded.status,"
            " principal_id = excluded.principal_id, expires_at = excluded.expires_at,"
            " session_token_hash = excluded.session_token_hash, role_arn = excluded.role_arn",
            credential_row(credential),
        )
        self.record_change("credential", credential.access_key_id)

    # keys ------------------------------------------------------------------------------
    def get_key(self, row_id: str) -> Key | None:
        row = self._one(f"SELECT {KEY_COLUMNS} FROM keys WHERE key_id = ?", (row_id,))
        return None if row is None else _key_from_row(row)

    def lock_key(self, row_id: str) -> Key | None:
        row = self._one(
            f"SELECT {KEY_COLUMNS} FROM keys WHERE key_id = ?{self._lock_suffix}", (row_id,)
        )
        return None if row is None else _key_from_row(row)

    def related_keys(self, account_id: str, key_id: str) -> list[Key]:
        rows = self._all(
            f"SELECT {KEY_COLUMNS} FROM keys WHERE mrk_id = ? AND account_id = ? ORDER BY region",
            (key_id, account_id),
        )
        return [_key_from_row(r) for r in rows]

    def lock_related_keys(self, account_id: str, key_id: str) -> list[Key]:
        rows = self._all(
            f"SELECT {KEY_COLUMNS} FROM keys WHERE mrk_id = ? AND account_id = ?"
            f" ORDER BY region{self._lock_suffix}",
            (key_id, account_id),
        )
        return [_key_from_row(r) for r in rows]

    def list_keys(
        self, account_id: str, region: str, after: str | None, limit: int
    ) -> list[KeyRef]:
        rows = self._all(
            "SELECT key_id, arn FROM keys WHERE account_id = ? AND region = ? AND key_id > ?"
            " ORDER BY key_id LIMIT ?",
            (account_id, region, after or "", limit),
        )
        return [KeyRef(key_id_of_row(str(r[0])), str(r[1])) for r in rows]

    def keys_due(self, now: datetime, limit: int) -> list[Key]:
        # One query per reason, so that each uses its partial index instead of a scan.
        micros = to_micros(now)
        deleting = self._all(
            f"SELECT {KEY_COLUMNS} FROM keys WHERE deletion_date IS NOT NULL"
            " AND deletion_date <= ? ORDER BY deletion_date LIMIT ?",
            (micros, limit),
        )
        rotating = self._all(  # a replica rotates with its primary, never by itself
            f"SELECT {KEY_COLUMNS} FROM keys WHERE next_rotation_at IS NOT NULL"
            " AND next_rotation_at <= ? AND state = 'Enabled'"
            " AND (primary_region IS NULL OR primary_region = region)"
            " ORDER BY next_rotation_at LIMIT ?",
            (micros, limit),
        )
        expiring = self._all(
            f"SELECT {KEY_COLUMNS} FROM keys WHERE material_valid_to IS NOT NULL"
            " AND material_valid_to <= ? ORDER BY material_valid_to LIMIT ?",
            (micros, limit),
        )
        settling = self._all(
            f"SELECT {KEY_COLUMNS} FROM keys WHERE settles_at IS NOT NULL"
            " AND settles_at <= ? ORDER BY settles_at LIMIT ?",
            (micros, limit),
        )
        due = {row[0]: row for row in (*deleting, *rotating, *expiring, *settling)}
        return [_key_from_row(due[row_id]) for row_id in sorted(due)][:limit]

    def insert_key(self, key: Key, first_version: KeyVersion | None) -> None:
        try:
            self._exec(
                f"INSERT INTO keys ({KEY_COLUMNS}) VALUES ({', '.join('?' * _KEY_COLUMN_COUNT)})",
                _key_row(key),
            )
        except self._integrity_errors as exc:  # a replica already in that Region
            raise AlreadyExistsError(f"{key.arn} already exists") from exc
        if first_version is not None:
            self.insert_version(first_version)

    def update_key(self, key: Key) -> None:
        row = _key_row(key)
        self._exec(
            "UPDATE keys SET description = ?, state = ?, policy = ?, current_version_id = ?,"
            " deletion_date = ?, pending_window_days = ?, rotation_enabled = ?,"
            " rotation_period_days = ?, next_rotation_at = ?, on_demand_rotation_started_at = ?,"
            " revision = ?, expiration_model = ?, material_valid_to = ?,"
            " imported_material_id = ?, primary_region = ?, settles_at = ? WHERE key_id = ?",
            (row[5], row[10], row[11], *row[12:23], row[24], row[25], key.row_id),
        )
        self.record_change("key", key.row_id)

    def delete_versions(self, row_id: str) -> None:
        self._exec("DELETE FROM key_versions WHERE key_id = ?", (row_id,))

    def delete_key(self, row_id: str) -> None:
        for row in self._all(
            "SELECT account_id, region, alias_name FROM aliases WHERE key_id = ?", (row_id,)
        ):
            self.record_change("alias", f"{row[0]}/{row[1]}/{row[2]}")
        self._exec("DELETE FROM aliases WHERE key_id = ?", (row_id,))
        self._exec("DELETE FROM grants WHERE key_id = ?", (row_id,))
        if self._cur.rowcount > 0:
            self.record_change("grant", row_id)
        self._exec("DELETE FROM key_tags WHERE key_id = ?", (row_id,))
        self._exec("DELETE FROM key_versions WHERE key_id = ?", (row_id,))
        self._exec("DELETE FROM imported_materials WHERE key_id = ?", (row_id,))
        self._exec("DELETE FROM keys WHERE key_id = ?", (row_id,))
        self.record_change("key", row_id)

    def insert_version(self, version: KeyVersion) -> None:
        self._exec(
            "INSERT INTO key_versions (key_id, version_id, wrapped_material, created_at,"
            " rotation_type) VALUES (?, ?, ?, ?, ?)",
            (
                version.row_id,
                version.version_id,
                version.wrapped_material,
                to_micros(version.created_at),
                None if version.rotation_type is None else version.rotation_type.value,
            ),
        )

    def versions(self, row_id: str) -> list[KeyVersion]:
        rows = self._all(
            "SELECT key_id, version_id, wrapped_material, created_at, rotation_type"
            " FROM key_versions WHERE key_id = ? ORDER BY created_at, version_id",
            (row_id,),
        )
        return [
            KeyVersion(
                r[0],
                bytes(r[1]),
                bytes(r[2]),
                _dt(r[3]),
                None if r[4] is None else RotationType(r[4]),
            )
            for r in rows
        ]

    # aliases ---------------------------------------------------------------------------
    _ALIAS_COLUMNS = "account_id, region, alias_name, key_id, created_at, updated_at"

    def get_alias(self, account_id: str, region: str, name: str) -> Alias | None:
        row = self._one(
            f"SELECT {self._ALIAS_COLUMNS} FROM aliases"
            " WHERE account_id = ? AND region = ? AND alias_name = ?",
            (account_id, region, name),
        )
        return None if row is None else _alias_from_row(row)

    def list_aliases(
        self, account_id: str, region: str, key_id: str | None, after: str | None, limit: int
    ) -> list[Alias]:
        statement = (
            f"SELECT {self._ALIAS_COLUMNS} FROM aliases"
            " WHERE account_id = ? AND region = ? AND alias_name > ?"
        )
        params: list[Any] = [account_id, region, after or ""]
        if key_id is not None:
            statement += " AND key_id = ?"
            params.append(key_row_id(key_id, region))
        statement += " ORDER BY alias_name LIMIT ?"
        params.append(limit)
        return [_alias_from_row(r) for r in self._all(statement, params)]

    def insert_alias(self, alias: Alias) -> None:
        try:
            self._exec(
                f"INSERT INTO aliases ({self._ALIAS_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    alias.account_id,
                    alias.region,
                    alias.name,
                    key_row_id(alias.key_id, alias.region),
                    to_micros(alias.created_at),
                    to_micros(alias.updated_at),
                ),
            )
        except self._integrity_errors as exc:
            raise AlreadyExistsError(
                f"An alias with the name {alias_arn(alias.region, alias.account_id, alias.name)}"
                " already exists"
            ) from exc
        self.record_change("alias", f"{alias.account_id}/{alias.region}/{alias.name}")

    def update_alias(self, alias: Alias) -> None:
        self._exec(
            "UPDATE aliases SET key_id = ?, updated_at = ?"
            " WHERE account_id = ? AND region = ? AND alias_name = ?",
            (
                key_row_id(alias.key_id, alias.region),
                to_micros(alias.updated_at),
                alias.account_id,
                alias.region,
                alias.name,
            ),
        )
        self.record_change("alias", f"{alias.account_id}/{alias.region}/{alias.name}")

    def delete_alias(self, account_id: str, region: str, name: str) -> None:
        self._exec(
            "DELETE FROM aliases WHERE account_id = ? AND region = ? AND alias_name = ?",
            (account_id, region, name),
        )
        self.record_change("alias", f"{account_id}/{region}/{name}")

    # tags ------------------------------------------------------------------------------
    def get_tags(self, row_id: str) -> dict[str, str]:
        rows = self._all(
            "SELECT tag_key, tag_value FROM key_tags WHERE key_id = ? ORDER BY tag_key", (row_id,)
        )
        return {r[0]: r[1] for r in rows}

    def set_tags(self, row_id: str, tags: Mapping[str, str]) -> None:
        for tag_key, tag_value in tags.items():
            self._exec(
                "INSERT INTO key_tags (key_id, tag_key, tag_value) VALUES (?, ?, ?)"
                " ON CONFLICT (key_id, tag_key) DO UPDATE SET tag_value = excluded.tag_value",
                (row_id, tag_key, tag_value),
            )

    def remove_tags(self, row_id: str, tag_keys: Sequence[str]) -> None:
        for tag_key in tag_keys:
            self._exec("DELETE FROM key_tags WHERE key_id = ? AND tag_key = ?", (row_id, tag_key))

    # change feed -----------------------------------------------------------------------
    def record_change(self, kind: str, ref: str) -> None:
        self._exec(
            "INSERT INTO changes (kind, ref, at) VALUES (?, ?, ?)",
            (kind, ref, to_micros(self._now())),
        )

    def changes_after(self, seq: int, limit: int) -> list[Change]:
        rows = self._all(
            "SELECT seq, kind, ref FROM changes WHERE seq > ? ORDER BY seq LIMIT ?", (seq, limit)
        )
        return [Change(int(r[0]), r[1], r[2]) for r in rows]

    def max_change_seq(self) -> int:
        row = self._one("SELECT MAX(seq) FROM changes")
        return 0 if row is None or row[0] is None else int(row[0])

    def prune_changes(self, before: datetime) -> None:
        self._exec("DELETE FROM changes WHERE at < ?", (to_micros(before),))
