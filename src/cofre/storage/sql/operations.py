"""What operating a node reads and sets, as SQL: counts for the metrics a scrape reports,
and the request quotas set for one account. A mixin of ``SqlTx``
(``cofre.storage.sql.transaction``), whose helpers it uses.

The counts are single aggregate queries over indexed or small tables; a scrape makes them
once (ADR 20). Quota overrides: ``migrations/*/0010_quota_overrides.sql``.
"""

from __future__ import annotations

from datetime import datetime

from cofre.storage.sql.common import SqlHelpers, to_micros


class OperationsSql(SqlHelpers):
    """The metrics counts and the quota overrides of ``ReadTx`` / ``WriteTx``."""

    def key_counts(self) -> list[tuple[str, str, int]]:
        rows = self._all("SELECT state, key_spec, COUNT(*) FROM keys GROUP BY state, key_spec")
        return [(str(row[0]), str(row[1]), int(row[2])) for row in rows]

    def rotation_count(self) -> int:
        row = self._one("SELECT COUNT(*) FROM key_versions WHERE rotation_type IS NOT NULL")
        return int(row[0])

    def delivery_count(self) -> int:
        return int(self._one("SELECT COUNT(*) FROM param_deliveries")[0])

    def quota_overrides(self) -> list[tuple[str, str, str]]:
        rows = self._all("SELECT account_id, quota, rate FROM quota_overrides ORDER BY 1, 2")
        return [(str(row[0]), str(row[1]), str(row[2])) for row in rows]

    def put_quota_override(self, account_id: str, quota: str, rate: str, now: datetime) -> None:
        self._exec(
            "DELETE FROM quota_overrides WHERE account_id = ? AND quota = ?", (account_id, quota)
        )
        self._exec(
            "INSERT INTO quota_overrides (account_id, quota, rate, updated_at) VALUES (?, ?, ?, ?)",
            (account_id, quota, rate, to_micros(now)),
        )
        self.record_change("quota", account_id)

    def delete_quota_override(self, account_id: str, quota: str) -> None:
        self._exec(
            "DELETE FROM quota_overrides WHERE account_id = ? AND quota = ?", (account_id, quota)
        )
        self.record_change("quota", account_id)
