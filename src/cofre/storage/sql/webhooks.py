"""Parameter Store notifications as SQL: webhooks, the delivery outbox and the policy
schedule. A mixin of ``SqlTx`` (``cofre.storage.sql.transaction``), whose helpers it uses.

Schema in ``migrations/*/0006_param_notifications.sql``. Claiming takes a lease: a due row
gets ``claimed_until`` (and ``next_attempt_at``) set to the end of the lease, guarded by
``claimed_until <= now`` so that two claimers never both win; on PostgreSQL the candidate
rows are read ``FOR UPDATE SKIP LOCKED`` so that nodes claiming together take different
rows instead of queueing.
"""

# Statements are built only from constant column lists and placeholders.
# ruff: noqa: S608

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from cofre.core.params.events import ClaimedDelivery, Delivery, Webhook
from cofre.core.params.parameters import ParamId
from cofre.storage.sql.common import Row, SqlHelpers, dt, to_micros

_WEBHOOK_COLUMNS = "webhook_id, account_id, region, url, path_prefix, secret_wrapped, created_at"
_PK = "account_id = ? AND region = ? AND name = ?"


def _webhook(row: Row) -> Webhook:
    return Webhook(row[0], row[1], row[2], row[3], row[4], bytes(row[5]), dt(row[6]))


def _pk(pid: ParamId) -> tuple[str, str, str]:
    return (pid.account_id, pid.region, pid.name)


class WebhooksSql(SqlHelpers):
    """The ``WebhooksReadTx`` / ``WebhooksWriteTx`` methods."""

    if TYPE_CHECKING:
        _lock_suffix: str

    # webhooks --------------------------------------------------------------------------
    def list_param_webhooks(self, account_id: str, region: str) -> list[Webhook]:
        rows = self._all(
            f"SELECT {_WEBHOOK_COLUMNS} FROM param_webhooks WHERE account_id = ? AND region = ?"
            " ORDER BY webhook_id",
            (account_id, region),
        )
        return [_webhook(r) for r in rows]

    def insert_param_webhook(self, webhook: Webhook) -> None:
        self._exec(
            f"INSERT INTO param_webhooks ({_WEBHOOK_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                webhook.webhook_id,
                webhook.account_id,
                webhook.region,
                webhook.url,
                webhook.path_prefix,
                webhook.secret_wrapped,
                to_micros(webhook.created_at),
            ),
        )

    def delete_param_webhook(self, account_id: str, region: str, webhook_id: str) -> bool:
        # The outbox rows of the webhook go with it (foreign key, ON DELETE CASCADE).
        self._exec(
            "DELETE FROM param_webhooks WHERE webhook_id = ? AND account_id = ? AND region = ?",
            (webhook_id, account_id, region),
        )
        return bool(self._cur.rowcount > 0)

    # the outbox ------------------------------------------------------------------------
    def insert_param_deliveries(self, deliveries: Sequence[Delivery]) -> None:
        for d in deliveries:
            at = to_micros(d.created_at)
            self._exec(
                "INSERT INTO param_deliveries (webhook_id, event_id, body, created_at, attempts,"
                " next_attempt_at, claimed_until) VALUES (?, ?, ?, ?, ?, ?, 0)",
                (d.webhook_id, d.event_id, d.body, at, d.attempts, at),
            )

    def param_delivery_due(self, now: datetime) -> bool:
        row = self._one(
            "SELECT 1 FROM param_deliveries WHERE next_attempt_at <= ? LIMIT 1", (to_micros(now),)
        )
        return row is not None

    def claim_param_deliveries(
        self, now: datetime, lease_until: datetime, limit: int
    ) -> list[ClaimedDelivery]:
        micros, until = to_micros(now), to_micros(lease_until)
        skip = " SKIP LOCKED" if self._lock_suffix else ""
        candidates = self._all(
            "SELECT delivery_id FROM param_deliveries WHERE next_attempt_at <= ?"
            f" ORDER BY next_attempt_at, delivery_id LIMIT ?{self._lock_suffix}{skip}",
            (micros, limit),
        )
        claimed: list[int] = []
        for (delivery_id,) in candidates:
            self._exec(
                "UPDATE param_deliveries SET claimed_until = ?, next_attempt_at = ?"
                " WHERE delivery_id = ? AND claimed_until <= ?",
                (until, until, delivery_id, micros),
            )
            if self._cur.rowcount > 0:
                claimed.append(int(delivery_id))
        out: list[ClaimedDelivery] = []
        for delivery_id in claimed:
            row = self._one(
                "SELECT d.delivery_id, d.webhook_id, d.event_id, d.body, d.created_at,"
                " d.attempts, w.url, w.secret_wrapped FROM param_deliveries d"
                " JOIN param_webhooks w ON w.webhook_id = d.webhook_id WHERE d.delivery_id = ?",
                (delivery_id,),
            )
            if row is not None:
                delivery = Delivery(
                    int(row[0]), row[1], row[2], bytes(row[3]), dt(row[4]), int(row[5])
                )
                out.append(ClaimedDelivery(delivery, row[6], bytes(row[7])))
        return out

    def finish_param_delivery(self, delivery_id: int) -> None:
        self._exec("DELETE FROM param_deliveries WHERE delivery_id = ?", (delivery_id,))

    def retry_param_delivery(
        self, delivery_id: int, attempts: int, next_attempt_at: datetime, error: str
    ) -> None:
        self._exec(
            "UPDATE param_deliveries SET attempts = ?, next_attempt_at = ?, claimed_until = 0,"
            " last_error = ? WHERE delivery_id = ?",
            (attempts, to_micros(next_attempt_at), error[:500], delivery_id),
        )

    def count_param_deliveries(self, webhook_id: str) -> int:
        row = self._one("SELECT COUNT(*) FROM param_deliveries WHERE webhook_id = ?", (webhook_id,))
        return int(row[0])

    # the policy schedule ---------------------------------------------------------------
    def set_param_policy_schedule(
        self, pid: ParamId, entries: Sequence[tuple[str, datetime]]
    ) -> None:
        self._exec(f"DELETE FROM param_policy_schedule WHERE {_PK}", _pk(pid))
        for policy_type, due_at in entries:
            self.put_param_policy_due(pid, policy_type, due_at)

    def put_param_policy_due(self, pid: ParamId, policy_type: str, due_at: datetime) -> None:
        self._exec(
            "INSERT INTO param_policy_schedule (account_id, region, name, policy_type, due_at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (account_id, region, name, policy_type)"
            " DO UPDATE SET due_at = excluded.due_at",
            (*_pk(pid), policy_type, to_micros(due_at)),
        )

    def param_policies_due(self, now: datetime, limit: int) -> list[tuple[ParamId, str]]:
        rows = self._all(
            "SELECT account_id, region, name, policy_type FROM param_policy_schedule"
            " WHERE due_at <= ? ORDER BY due_at LIMIT ?",
            (to_micros(now), limit),
        )
        return [(ParamId(r[0], r[1], r[2]), str(r[3])) for r in rows]

    def param_policy_due_at(self, pid: ParamId, policy_type: str) -> datetime | None:
        row = self._one(
            f"SELECT due_at FROM param_policy_schedule WHERE {_PK} AND policy_type = ?",
            (*_pk(pid), policy_type),
        )
        return None if row is None else dt(row[0])

    def delete_param_policy_due(self, pid: ParamId, policy_type: str) -> None:
        self._exec(
            f"DELETE FROM param_policy_schedule WHERE {_PK} AND policy_type = ?",
            (*_pk(pid), policy_type),
        )
