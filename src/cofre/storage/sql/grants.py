"""The grant SQL: a mixin of ``SqlTx`` (``cofre.storage.sql.transaction``), whose helpers it uses.

Operations and constraints are JSON text; constraints are NULL when the grant has none.
Writes record a change of kind "grant" with the key id as ref.
"""

# Statements are built only from constant column lists; every value is a bound parameter.
# ruff: noqa: S608

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from cofre.core.kms.grants import Grant, GrantConstraints
from cofre.storage.sql.common import Row, SqlHelpers, from_micros, to_micros

GRANT_COLUMNS = (
    "grant_id, key_id, key_arn, account_id, name, grantee_principal, retiring_principal,"
    " issuing_account, operations, constraints, created_at"
)
_SUBSET = "encryption_context_subset"
_EQUALS = "encryption_context_equals"


def _json(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)


def _constraints_json(constraints: GrantConstraints) -> str | None:
    found: dict[str, Mapping[str, str]] = {}
    if constraints.encryption_context_subset is not None:
        found[_SUBSET] = dict(constraints.encryption_context_subset)
    if constraints.encryption_context_equals is not None:
        found[_EQUALS] = dict(constraints.encryption_context_equals)
    return _json(found) if found else None


def _constraints_from_json(text: str | None) -> GrantConstraints:
    if text is None:
        return GrantConstraints()
    found: dict[str, dict[str, str]] = json.loads(text)
    return GrantConstraints(found.get(_SUBSET), found.get(_EQUALS))


def _grant_row(grant: Grant) -> tuple[Any, ...]:
    return (
        grant.grant_id,
        grant.key_row_id,
        grant.key_arn,
        grant.account_id,
        grant.name,
        grant.grantee_principal,
        grant.retiring_principal,
        grant.issuing_account,
        _json(list(grant.operations)),  # in the caller's order
        _constraints_json(grant.constraints),
        to_micros(grant.created_at),
    )


def _grant_from_row(row: Row) -> Grant:
    return Grant(
        grant_id=row[0],
        key_row_id=row[1],
        key_arn=row[2],
        account_id=row[3],
        name=row[4],
        grantee_principal=row[5],
        retiring_principal=row[6],
        issuing_account=row[7],
        operations=tuple(json.loads(row[8])),
        constraints=_constraints_from_json(row[9]),
        created_at=from_micros(row[10]),
    )


class GrantSql(SqlHelpers):
    """The grant methods of ``IamReadTx`` / ``IamWriteTx``. Lists are ordered by grant id."""

    def get_grant(self, grant_id: str) -> Grant | None:
        row = self._one(f"SELECT {GRANT_COLUMNS} FROM grants WHERE grant_id = ?", (grant_id,))
        return None if row is None else _grant_from_row(row)

    def list_grants(self, row_id: str, after: str | None, limit: int) -> list[Grant]:
        rows = self._all(
            f"SELECT {GRANT_COLUMNS} FROM grants WHERE key_id = ? AND grant_id > ?"
            " ORDER BY grant_id LIMIT ?",
            (row_id, after or "", limit),
        )
        return [_grant_from_row(r) for r in rows]

    def list_retirable_grants(
        self, retiring_principal: str, after: str | None, limit: int
    ) -> list[Grant]:
        rows = self._all(
            f"SELECT {GRANT_COLUMNS} FROM grants WHERE retiring_principal = ? AND grant_id > ?"
            " ORDER BY grant_id LIMIT ?",
            (retiring_principal, after or "", limit),
        )
        return [_grant_from_row(r) for r in rows]

    def find_grant_by_name(self, row_id: str, name: str) -> Grant | None:
        """The grant of that name with the smallest grant id, if several share it."""
        row = self._one(
            f"SELECT {GRANT_COLUMNS} FROM grants WHERE key_id = ? AND name = ?"
            " ORDER BY grant_id LIMIT 1",
            (row_id, name),
        )
        return None if row is None else _grant_from_row(row)

    def count_grants(self, row_id: str) -> int:
        row = self._one("SELECT COUNT(*) FROM grants WHERE key_id = ?", (row_id,))
        return int(row[0])

    def insert_grant(self, grant: Grant) -> None:
        self._exec(
            f"INSERT INTO grants ({GRANT_COLUMNS}) VALUES ({', '.join('?' * 11)})",
            _grant_row(grant),
        )
        self.record_change("grant", grant.key_row_id)

    def delete_grant(self, grant_id: str) -> None:
        """Deleting a grant that does not exist records nothing."""
        row = self._one("SELECT key_id FROM grants WHERE grant_id = ?", (grant_id,))
        if row is None:
            return
        self._exec("DELETE FROM grants WHERE grant_id = ?", (grant_id,))
        self.record_change("grant", str(row[0]))
