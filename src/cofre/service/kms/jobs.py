"""The work KMS does on keys by itself, when it is due: deletion at the end of the waiting
period, automatic rotation, expiry of imported key material, and the end of the transient
states of multi-Region keys (Creating, Updating). Each is recorded in the audit trail in
the transaction that does it.

Every serving process runs the jobs; each key is locked and checked again before the
work, so a job is done once.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from cofre.core.audit.events import service_event
from cofre.core.ids import key_row_id
from cofre.core.kms.keys import DEFAULT_ROTATION_PERIOD_DAYS, Key, KeyState, Origin, RotationType
from cofre.service.kms import multi_region
from cofre.service.kms.imported import remove_material, settle
from cofre.service.kms.resolver import KeyResolver
from cofre.service.ports import AuditRecorder, WriteTx


class KeyJobs:
    def __init__(self, resolver: KeyResolver, audit: AuditRecorder | None = None) -> None:
        """``audit``: where the work is recorded, inside the transaction that does it."""
        self._r = resolver
        self._audit = audit
        self.on_done: Callable[[str], None] | None = None  # told "deletion" or "rotation"

    def run_due_jobs(self, now: datetime, batch: int = 100) -> int:
        """Do what is due at ``now`` on up to ``batch`` keys; how many keys were changed."""
        done = 0
        with self._r.storage.read() as rtx:
            due = rtx.keys_due(now, batch)
        for candidate in due:
            touched: list[str] = [candidate.row_id]
            job = ""
            with self._r.storage.write() as tx:
                key = tx.lock_key(candidate.row_id)
                if key is None:
                    continue
                if key.settles_at is not None and key.settles_at <= now:
                    self._settle(tx, key, now)
                elif (
                    key.state is KeyState.PENDING_DELETION
                    and key.deletion_date is not None
                    and key.deletion_date <= now
                ):
                    tx.delete_key(key.row_id)
                    job = "deletion"
                    self._key_event(tx, "DeleteKey", key)
                    touched.extend(self._after_replica_deleted(tx, key, now))
                elif (
                    key.material_valid_to is not None
                    and key.material_valid_to <= now
                    and key.state is not KeyState.PENDING_IMPORT
                ):
                    remove_material(tx, key)  # imported material expired
                    self._key_event(tx, "DeleteExpiredKeyMaterial", key)
                elif (
                    key.state is KeyState.ENABLED
                    and key.rotation_enabled
                    and key.next_rotation_at is not None
                    and key.next_rotation_at <= now
                    and not key.is_replica
                ):
                    period = key.rotation_period_days or DEFAULT_ROTATION_PERIOD_DAYS
                    _, touched = multi_region.rotate(
                        tx,
                        self._r,
                        key,
                        RotationType.AUTOMATIC,
                        next_rotation_at=now + timedelta(days=period),
                    )
                    self._key_event(tx, "RotateKey", key)
                    job = "rotation"
                else:
                    continue
                done += 1
            for row_id in touched:
                self._r.cache.invalidate("key", row_id)
            if job and self.on_done is not None:
                self.on_done(job)
        return done

    @staticmethod
    def _settle(tx: WriteTx, key: Key, now: datetime) -> None:
        """End Creating (Enabled, or PendingImport until the replica's imported key
        material is all there) or Updating (Enabled again)."""
        if key.state is KeyState.CREATING and key.origin is Origin.EXTERNAL:
            settle(tx, key.evolve(state=KeyState.PENDING_IMPORT, settles_at=None), now)
            return
        if key.state in (KeyState.CREATING, KeyState.UPDATING):
            tx.update_key(key.evolve(state=KeyState.ENABLED, settles_at=None))
        else:  # scheduled for deletion meanwhile
            tx.update_key(key.evolve(settles_at=None))

    def _after_replica_deleted(self, tx: WriteTx, key: Key, now: datetime) -> list[str]:
        """Once the last replica of a primary waiting in PendingReplicaDeletion is deleted,
        the primary's own waiting period starts (PendingDeletion, with a deletion date)."""
        if not key.is_replica or key.primary_region is None:
            return []
        primary = tx.lock_key(key_row_id(key.key_id, key.primary_region))
        if primary is None or primary.state is not KeyState.PENDING_REPLICA_DELETION:
            return []
        if len(tx.related_keys(primary.account_id, primary.key_id)) > 1:
            return []
        days = primary.pending_window_days or 30
        tx.update_key(
            primary.evolve(
                state=KeyState.PENDING_DELETION, deletion_date=now + timedelta(days=days)
            )
        )
        return [primary.row_id]

    def _key_event(self, tx: WriteTx, name: str, key: Key) -> None:
        """Record background work on ``key`` in ``tx``: it commits with the work, or
        neither does."""
        if self._audit is not None:
            when = self._r.clock.now()
            details = {"keyId": key.key_id}
            call = service_event(when, "kms", name, key.region, key.account_id, key.arn, details)
            self._audit.record(call, within=tx)
