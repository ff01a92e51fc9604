"""The console's pages, one module per section: keys, parameters, audit, IAM."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TypeVar

from cofre.api.console.calls import CallError

T = TypeVar("T")


def attempt(work: Callable[[], T]) -> tuple[T | None, CallError | None]:
    """``work()``, or the error it ended with: one part of a page that may be denied
    while the rest is shown."""
    try:
        return work(), None
    except CallError as error:
        return None, error


def pretty_json(text: str) -> str:
    """A JSON document indented for reading (as given, if it is not JSON)."""
    try:
        return json.dumps(json.loads(text), indent=2, sort_keys=False)
    except ValueError:
        return text
