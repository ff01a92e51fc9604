"""What a request can be addressed to: the AWS JSON services Cofre serves and Cofre's own
JSON APIs (told apart by their ``X-Amz-Target`` prefix), and the ids requests get."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from cofre.api.handlers import admin, xks
from cofre.api.handlers import webhooks as hooks
from cofre.api.handlers.operation import Operation, Params
from cofre.api.model.service import ServiceModel
from cofre.core.ids import CountingIds

request_id = CountingIds(os.urandom)  # request ids: no syscall per request


@dataclass(frozen=True, slots=True)
class JsonService:
    """An AWS JSON 1.1 service: its model, its handlers, the SigV4 service it signs for."""

    signing_name: str
    model: ServiceModel
    operations: dict[str, Operation]

    @classmethod
    def load(cls, name: str, operations: dict[str, Operation]) -> JsonService:
        return cls(name, ServiceModel.load(name), operations)


@dataclass(frozen=True, slots=True)
class CustomTarget:
    """A JSON API of Cofre's own, told apart by its target prefix."""

    prefix: str
    service: str  # the SigV4 service it signs for, and its records' event source
    operations: dict[str, Operation]
    parse: Callable[[str, bytes], Params]  # (operation, body) -> input


CUSTOM_TARGETS = (
    CustomTarget(admin.TARGET_PREFIX, "cofre", admin.OPERATIONS,
                  lambda _operation, body: admin.parse_input(body)),
    CustomTarget(hooks.TARGET_PREFIX, hooks.SIGNING_NAME, hooks.OPERATIONS,
                  hooks.parse_input),  # Parameter Store webhooks (ADR 13)
    CustomTarget(xks.TARGET_PREFIX, "cofre", xks.OPERATIONS,
                  xks.parse_input),  # XKS key stores (ADR 22)
)  # fmt: skip


_CUSTOM_PREFIXES = tuple(custom.prefix for custom in CUSTOM_TARGETS)


def custom_target(target: str) -> CustomTarget | None:
    if not target.startswith(_CUSTOM_PREFIXES):  # most requests: one call
        return None
    for custom in CUSTOM_TARGETS:
        if target.startswith(custom.prefix):
            return custom
    return None
