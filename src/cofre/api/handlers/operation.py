"""What every wire operation is: a handler from (services, caller, input) to output."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cofre.container import Services
from cofre.core.iam.principals import Caller
from cofre.errors import ValidationError
from cofre.service.pagination import Page

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


def grant_tokens(params: Params) -> tuple[str, ...]:
    """The GrantTokens member of a KMS request, as the services take it."""
    return tuple(params.get("GrantTokens") or ())


def refuse_recipient(params: Params) -> None:
    """Cofre has no attested enclaves: a Recipient member is refused, not ignored."""
    if params.get("Recipient") is not None:
        raise ValidationError("Recipient (attested enclaves) is not supported by Cofre.")


def paged(out: Result, page: Page[Any]) -> Result:
    """Add KMS's pagination members (Truncated, NextMarker) to a list response."""
    out["Truncated"] = page.next_marker is not None
    if page.next_marker:
        out["NextMarker"] = page.next_marker
    return out
