"""AWS's wording for request-decoding failures (internal to :mod:`cofre.api.model.service`).

Two kinds of message: the deserialiser's, raised at once as a
:class:`~cofre.errors.SerializationError` and never carrying a value; and the validator's,
collected one line per violation and joined into one :class:`~cofre.errors.ValidationError`.
A violation quotes its value (rendered like Java's ``toString``, cut at
:data:`MAX_ECHO_CHARS`) only when the caller says the value is safe to echo.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from cofre.errors import SerializationError

__all__ = [
    "LIST_START",
    "MAP_START",
    "MAX_ECHO_CHARS",
    "MAX_REPORTED_ERRORS",
    "NOT_NULL",
    "quote_value",
    "report",
    "token_name",
    "validation_message",
    "wrong_type",
]

#: At most this many violations are reported in one ValidationError (as AWS does).
MAX_REPORTED_ERRORS: Final = 10
#: Echoed values longer than this many characters are cut, and end in "...".
MAX_ECHO_CHARS: Final = 4096
NOT_NULL: Final = "Member must not be null"
LIST_START: Final = "Start of list found where not expected"
MAP_START: Final = "Start of structure or map found where not expected."


def token_name(value: Any) -> str:
    """The name AWS's deserialiser gives the JSON token of ``value``."""
    kind = type(value)
    if kind is str:
        return "STRING_VALUE"
    if kind is bool:
        return "TRUE_VALUE" if value else "FALSE_VALUE"
    if kind is float:
        return "DECIMAL_VALUE"
    return "NUMBER_VALUE"


def wrong_type(value: Any, target: str) -> SerializationError:
    """The error for a scalar JSON value that cannot become ``target`` ("a String" ...)."""
    kind = type(value)
    if kind is list:
        return SerializationError(LIST_START)
    if kind is dict:
        return SerializationError(MAP_START)
    return SerializationError(f"{token_name(value)} can not be converted to {target}")


def report(errors: list[str], echo: str | None, path: str, constraint: str) -> None:
    """Collect one violation; ``echo`` is the quoted value, "null", or None to omit it."""
    if len(errors) < MAX_REPORTED_ERRORS:
        value = "Value" if echo is None else f"Value {echo}"
        errors.append(f"{value} at '{path}' failed to satisfy constraint: {constraint}")


def validation_message(errors: list[str]) -> str:
    shown = errors[:MAX_REPORTED_ERRORS]
    count = len(shown)
    plural = "" if count == 1 else "s"
    return f"{count} validation error{plural} detected: " + "; ".join(shown)


def _render_into(value: Any, parts: list[str], budget: list[int]) -> None:
    """Java-``toString``-like rendering of a decoded value, stopping once over budget."""
    if budget[0] <= 0:
        return
    kind = type(value)
    if kind is str:
        text: str = value
    elif kind is bool:
        text = "true" if value else "false"
    elif kind is int or kind is float:
        text = str(value)
    elif value is None:
        text = "null"
    elif isinstance(value, datetime):
        text = value.isoformat()
    elif kind is list:
        parts.append("[")
        for index, item in enumerate(value):
            if budget[0] <= 0:
                return
            if index:
                parts.append(", ")
            _render_into(item, parts, budget)
        parts.append("]")
        return
    elif kind is dict:
        parts.append("{")
        for index, (key, item) in enumerate(value.items()):
            if budget[0] <= 0:
                return
            if index:
                parts.append(", ")
            parts.append(f"{key}=")
            _render_into(item, parts, budget)
        parts.append("}")
        return
    else:  # pragma: no cover - bytes are never echoed, nothing else is decoded
        text = "?"
    parts.append(text)
    budget[0] -= len(text)


def quote_value(value: Any) -> str:
    """The value as AWS quotes it in a validation message: ``'...'``, truncated if long."""
    parts: list[str] = []
    _render_into(value, parts, [MAX_ECHO_CHARS + 1])
    text = "".join(parts)
    if len(text) > MAX_ECHO_CHARS:
        text = text[:MAX_ECHO_CHARS] + "..."
    return f"'{text}'"
