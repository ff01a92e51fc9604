"""The durable outbox of Parameter Store notifications (ADR 0013).

``WebhookOutbox`` is the ``ParamChangeSink`` the server uses: told of a change or a policy
action inside the transaction that makes it, it builds the EventBridge event once (one id)
and writes one outbox row per webhook of the account and Region whose path prefix matches
the parameter. The row commits with the change or not at all, so an acknowledged change
always has its event; ``params_delivery.DeliveryWorker`` sends the rows.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from cofre.core.crypto import Random
from cofre.core.params.events import (
    Delivery,
    PolicyAction,
    change_event,
    encode_event,
    event_id,
    matches,
    policy_event,
)
from cofre.core.params.parameters import ParamChange, ParamId
from cofre.service.ports import WriteTx


class WebhookOutbox:
    def __init__(self, random: Random) -> None:
        self._random = random

    def parameter_changed(self, tx: WriteTx, change: ParamChange) -> None:
        self._record(tx, change.id, change.at, lambda ident: change_event(change, ident))

    def policy_acted(self, tx: WriteTx, action: PolicyAction) -> None:
        self._record(tx, action.id, action.at, lambda ident: policy_event(action, ident))

    def _record(
        self,
        tx: WriteTx,
        pid: ParamId,
        at: datetime,
        build: Callable[[str], dict[str, Any]],
    ) -> None:
        targets = [
            w
            for w in tx.list_param_webhooks(pid.account_id, pid.region)
            if matches(w.path_prefix, pid.name)
        ]
        if not targets:
            return
        ident = event_id(self._random(16))
        body = encode_event(build(ident))
        tx.insert_param_deliveries([Delivery(0, w.webhook_id, ident, body, at) for w in targets])
