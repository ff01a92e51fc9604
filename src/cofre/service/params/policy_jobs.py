"""Parameter policies enforced (ADR 0013).

Every write of a version keeps the parameter's policy schedule (``param_policy_schedule``:
one row per policy type, with the moment it acts) in step with its policies; the
background job reads the due rows by an index on that moment, so it costs one indexed
query when nothing is due. Each due row is handled in its own write transaction that
locks the parameter and re-reads the row, so a policy acts once however many processes
and nodes run the job:

* Expiration: the parameter is deleted with all its versions (as AWS does), and a Policy
  Action event and a Delete change event are recorded.
* ExpirationNotification: one Policy Action event when Timestamp - Before is reached.
* NoChangeNotification: one Policy Action event when the parameter has not changed for
  After; a new version re-arms it. Label changes are not changes of the parameter.

A new version keeps the schedule of Expiration and ExpirationNotification unless the
policies themselves change ("Updating a parameter doesn't affect the expiration date or
time of the policy attached to it", User Guide, "Assigning parameter policies").
"""

from __future__ import annotations

import logging
from datetime import datetime

from cofre.core.params.events import PolicyType
from cofre.core.params.parameters import ChangeOperation, ParamChange, ParamId, ParamVersion
from cofre.core.params.policies import action, schedule
from cofre.errors import CofreError
from cofre.service.params.common import NO_PARAM_CHANGES
from cofre.service.ports import ParamChangeSink, Storage, WriteTx

log = logging.getLogger(__name__)

DUE_BATCH = 100


def schedule_policies(tx: WriteTx, previous: str | None, version: ParamVersion) -> None:
    """Keep the schedule in step with a new version (``previous``: the policies of the
    version it replaces, None for a new parameter)."""
    if previous is None and version.policies is None:
        return
    entries = schedule(version.policies, version.modified_at)
    if previous != version.policies:
        tx.set_param_policy_schedule(version.id, [(e.type.value, e.due_at) for e in entries])
        return
    for entry in entries:  # same policies: only "no change for ..." starts again
        if entry.type is PolicyType.NO_CHANGE_NOTIFICATION:
            tx.put_param_policy_due(version.id, entry.type.value, entry.due_at)


class ParamPolicyJobs:
    """The background job that acts on due parameter policies."""

    def __init__(self, storage: Storage, changes: ParamChangeSink = NO_PARAM_CHANGES) -> None:
        self._storage = storage
        self._changes = changes

    def run_due_policies(self, now: datetime) -> int:
        """Act on every policy due at ``now``; how many acted."""
        with self._storage.read() as tx:
            due = tx.param_policies_due(now, DUE_BATCH)
        acted = 0
        for pid, policy_type in due:
            try:
                with self._storage.write() as tx:
                    acted += self._act(tx, pid, policy_type, now)
            except CofreError:
                log.exception("parameter policy %s of %s failed", policy_type, pid.arn)
        return acted

    def _act(self, tx: WriteTx, pid: ParamId, policy_type: str, now: datetime) -> int:
        if tx.lock_param(pid) is None:
            return 0
        due_at = tx.param_policy_due_at(pid, policy_type)
        if due_at is None or due_at > now:
            return 0  # another process acted first, or a new version moved it
        current = tx.get_param_version(pid, None)
        kinds = {k.value: k for k in PolicyType}
        kind = kinds.get(policy_type)
        acted = None
        if current is not None and current.policies is not None and kind is not None:
            acted = action(pid, current.type.value, current.policies, kind, now)
        if current is None or kind is None or acted is None:
            tx.delete_param_policy_due(pid, policy_type)
            return 0
        if kind is PolicyType.EXPIRATION:
            tx.delete_param(pid)  # its versions, labels, tags and schedule go with it
            self._changes.policy_acted(tx, acted)
            self._changes.parameter_changed(
                tx,
                ParamChange(
                    ChangeOperation.DELETE,
                    pid,
                    current.type,
                    current.version,
                    current.description,
                    now,
                ),
            )
        else:
            tx.delete_param_policy_due(pid, policy_type)
            self._changes.policy_acted(tx, acted)
        return 1
