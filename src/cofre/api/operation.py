"""What every wire operation is: a handler from (services, caller, input) to output."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cofre.core.principals import Caller
from cofre.service.container import Services
from cofre.service.keys import Page

Params = dict[str, Any]
Result = dict[str, Any]
Handler = Callable[[Services, Caller, Params], Result]


@dataclass(frozen=True, slots=True)
class Operation:
    handler: Handler
    inline: bool  # runs on the event loop (hot path, cache only); else in a worker thread


def threaded(handler: Handler) -> Operation:
    return Operation(handler, inline=False)


def inline(handler: Handler) -> Operation:
    return Operation(handler, inline=True)


def paged(out: Result, page: Page[Any]) -> Result:
    """Add KMS's pagination members (Truncated, NextMarker) to a list response."""
    out["Truncated"] = page.next_marker is not None
    if page.next_marker:
        out["NextMarker"] = page.next_marker
    return out
