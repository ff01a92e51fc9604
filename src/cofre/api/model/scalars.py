"""Compiled validator nodes for scalar shapes, and the node protocol every shape follows.

Internal to :mod:`cofre.api.model.service`, which compiles a service model's shapes into a tree of
these nodes (containers are in :mod:`cofre.api.model.containers`).
"""

from __future__ import annotations

import binascii
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Final

from cofre.api.model.messages import (
    LIST_START,
    MAP_START,
    quote_value,
    report,
    token_name,
    wrong_type,
)
from cofre.api.model.patterns import compile_pattern
from cofre.errors import SerializationError

__all__ = [
    "NO_MAX",
    "BlobNode",
    "BooleanNode",
    "Decoder",
    "DocumentNode",
    "FloatNode",
    "IntegerNode",
    "Node",
    "StringNode",
    "TimestampNode",
    "limit_constraints",
    "limit_failures",
]

_JAVA_INT: Final = (-(2**31), 2**31 - 1)
_JAVA_LONG: Final = (-(2**63), 2**63 - 1)
NO_MAX: Final = 2**63
# A decoder: (raw JSON value, path prefix, member name, collected errors) -> decoded value.
# The path of the value is ``prefix + name``; it is only built when something is reported.
Decoder = Callable[[Any, str, str, list[str]], Any]


class Node(ABC):
    """One compiled shape.

    ``decode`` converts a raw JSON value (never None), checks everything below it and the
    node's own constraints, and reports violations under ``prefix + name``. ``convert`` does
    the same without the node's own constraints, which a list or map reports for all its
    elements at once (``Member must satisfy constraint: [...]``) using ``ok`` and
    ``constraints``.
    """

    __slots__ = ("constraints", "echo", "has_own", "nested")

    def __init__(self, *, echo: bool, constraints: tuple[str, ...] = ()) -> None:
        self.echo = echo
        self.constraints = constraints
        self.has_own = bool(constraints)
        self.nested = False  # reports under its own path (structures, lists, maps)

    @abstractmethod
    def convert(self, value: Any, prefix: str, name: str, errors: list[str]) -> Any:
        """Decode ``value`` and everything below it, without this node's own constraints."""

    def ok(self, decoded: Any) -> bool:
        return True

    def failures(self, decoded: Any) -> list[str]:
        return []

    def decode(self, value: Any, prefix: str, name: str, errors: list[str]) -> Any:
        start = len(errors)
        decoded = self.convert(value, prefix, name, errors)
        if self.has_own and not self.ok(decoded):
            echo = quote_value(decoded) if self.echo else None
            own: list[str] = []
            path = prefix + name
            for constraint in self.failures(decoded):
                report(own, echo, path, constraint)
            errors[start:start] = own  # a member's own violations come before nested ones
        return decoded


def limit_constraints(shape: Mapping[str, Any], noun: str) -> tuple[str, ...]:
    """The model's max/min as AWS words them; ``noun`` is "length" or "value"."""
    found: list[str] = []
    if "max" in shape:
        found.append(f"Member must have {noun} less than or equal to {shape['max']}")
    if "min" in shape:
        found.append(f"Member must have {noun} greater than or equal to {shape['min']}")
    return tuple(found)


def limit_failures(measure: Any, low: Any, high: Any, noun: str) -> list[str]:
    """The max/min constraints ``measure`` breaks, max first (AWS's order)."""
    found: list[str] = []
    if measure > high:
        found.append(f"Member must have {noun} less than or equal to {high}")
    if measure < low:
        found.append(f"Member must have {noun} greater than or equal to {low}")
    return found


class StringNode(Node):
    __slots__ = ("enum", "enum_text", "fullmatch", "high", "low", "pattern_text")

    def __init__(self, shape: Mapping[str, Any], *, echo: bool) -> None:
        constraints = list(limit_constraints(shape, "length"))
        self.low: int = shape.get("min", 0)
        self.high: int = shape.get("max", NO_MAX)
        pattern = shape.get("pattern")
        self.fullmatch: Callable[[str], re.Match[str] | None] | None = None
        self.pattern_text = ""
        if pattern is not None:
            self.fullmatch = compile_pattern(pattern).fullmatch
            self.pattern_text = f"Member must satisfy regular expression pattern: {pattern}"
            constraints.append(self.pattern_text)
        enum = shape.get("enum")
        self.enum: frozenset[str] | None = None
        self.enum_text = ""
        if enum is not None:
            self.enum = frozenset(enum)
            self.enum_text = f"Member must satisfy enum value set: [{', '.join(enum)}]"
            constraints.append(self.enum_text)
        super().__init__(echo=echo, constraints=tuple(constraints))

    def convert(self, value: Any, prefix: str, name: str, errors: list[str]) -> Any:
        if type(value) is str:
            return value
        raise wrong_type(value, "a String")

    def ok(self, decoded: Any) -> bool:
        size = len(decoded)
        if size < self.low or size > self.high:
            return False
        if self.fullmatch is not None and self.fullmatch(decoded) is None:
            return False
        return self.enum is None or decoded in self.enum

    def failures(self, decoded: Any) -> list[str]:
        found = limit_failures(len(decoded), self.low, self.high, "length")
        if self.fullmatch is not None and self.fullmatch(decoded) is None:
            found.append(self.pattern_text)
        if self.enum is not None and decoded not in self.enum:
            found.append(self.enum_text)
        return found

    def decode(self, value: Any, prefix: str, name: str, errors: list[str]) -> Any:
        if type(value) is not str:
            raise wrong_type(value, "a String")
        if self.has_own and not self.ok(value):
            echo = quote_value(value) if self.echo else None
            path = prefix + name
            for constraint in self.failures(value):
                report(errors, echo, path, constraint)
        return value


_B64_INDEX: Final = {
    char: index
    for index, char in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
}
_B64_NOT_STRING: Final = "only base-64-encoded strings are convertible to bytes"
_B64_BAD_CHAR: Final = "Invalid Base64 character"
# AWS's own wording, spelling included.
_B64_BAD_LAST: Final = "Invalid last non-pad Base64 character dectected"


def _decode_base64(value: Any) -> bytes:
    """Strict standard base64, as AWS's deserialiser reads blobs. Never echoes the value."""
    if type(value) is not str:
        if type(value) is list:
            raise SerializationError(LIST_START)
        if type(value) is dict:
            raise SerializationError(MAP_START)
        raise SerializationError(_B64_NOT_STRING)
    size = len(value)
    if size % 4:
        raise SerializationError(
            f"Base64 encoded length is expected a multiple of 4 bytes but found: {size}"
        )
    try:
        decoded = binascii.a2b_base64(value, strict_mode=True)
    except ValueError:  # binascii.Error, or a non-ASCII str
        raise SerializationError(_B64_BAD_CHAR) from None
    if size and value[-1] == "=":
        # The bits after the last character's payload must be zero (canonical encoding).
        if value[-2] == "=":
            last, mask = value[-3], 0x0F
        else:
            last, mask = value[-2], 0x03
        if _B64_INDEX[last] & mask:
            raise SerializationError(_B64_BAD_LAST)
    return decoded


class BlobNode(Node):
    __slots__ = ("high", "low")

    def __init__(self, shape: Mapping[str, Any]) -> None:
        self.low: int = shape.get("min", 0)
        self.high: int = shape.get("max", NO_MAX)
        super().__init__(echo=False, constraints=limit_constraints(shape, "length"))

    def convert(self, value: Any, prefix: str, name: str, errors: list[str]) -> Any:
        return _decode_base64(value)

    def ok(self, decoded: Any) -> bool:
        return self.low <= len(decoded) <= self.high

    def failures(self, decoded: Any) -> list[str]:
        return limit_failures(len(decoded), self.low, self.high, "length")

    def decode(self, value: Any, prefix: str, name: str, errors: list[str]) -> Any:
        decoded = _decode_base64(value)
        size = len(decoded)
        if size < self.low or size > self.high:
            path = prefix + name
            for constraint in self.failures(decoded):
                report(errors, None, path, constraint)
        return decoded


class IntegerNode(Node):
    """``integer`` and ``long``: JSON integers only (a number with a fraction or an
    exponent is a SerializationError, not truncated); values outside Java's range for the
    type are a SerializationError unless a model limit already reports them."""

    __slots__ = ("high", "java_high", "java_low", "low", "target")

    def __init__(self, shape: Mapping[str, Any], *, echo: bool) -> None:
        is_long = shape["type"] == "long"
        self.target = "a Long" if is_long else "an Integer"
        self.java_low, self.java_high = _JAVA_LONG if is_long else _JAVA_INT
        self.low: int | float = shape.get("min", -NO_MAX * 2)
        self.high: int | float = shape.get("max", NO_MAX * 2)
        super().__init__(echo=echo, constraints=limit_constraints(shape, "value"))

    def convert(self, value: Any, prefix: str, name: str, errors: list[str]) -> Any:
        if type(value) is not int:
            raise wrong_type(value, self.target)
        number: int = value
        if (number < self.java_low or number > self.java_high) and self.ok(number):
            raise SerializationError(f"NUMBER_VALUE can not be converted to {self.target}")
        return number

    def ok(self, decoded: Any) -> bool:
        return bool(self.low <= decoded <= self.high)

    def failures(self, decoded: Any) -> list[str]:
        return limit_failures(decoded, self.low, self.high, "value")


class FloatNode(Node):
    __slots__ = ("high", "low", "target")

    def __init__(self, shape: Mapping[str, Any], *, echo: bool) -> None:
        self.target = "a Float" if shape["type"] == "float" else "a Double"
        self.low: float = shape.get("min", float("-inf"))
        self.high: float = shape.get("max", float("inf"))
        super().__init__(echo=echo, constraints=limit_constraints(shape, "value"))

    def convert(self, value: Any, prefix: str, name: str, errors: list[str]) -> Any:
        kind = type(value)
        if kind is float or kind is int:
            return float(value)
        raise wrong_type(value, self.target)

    def ok(self, decoded: Any) -> bool:
        return bool(self.low <= decoded <= self.high)

    def failures(self, decoded: Any) -> list[str]:
        return limit_failures(decoded, self.low, self.high, "value")


# AWS's deserialiser reads these strings as booleans (case-insensitively, untrimmed).


class BooleanNode(Node):
    """JSON ``true`` and ``false`` only: a word such as ``"yes"`` or ``"true"`` is a
    SerializationError, never read as a boolean."""

    __slots__ = ()

    def convert(self, value: Any, prefix: str, name: str, errors: list[str]) -> Any:
        if type(value) is bool:
            return value
        if type(value) is str:  # AWS's wording, grammar included
            raise SerializationError("STRING_VALUE can not be converted to an Boolean")
        raise wrong_type(value, "a Boolean")

    decode = convert


class TimestampNode(Node):
    """Epoch seconds (integer or fractional), the JSON protocols' default timestamp format."""

    __slots__ = ()

    def convert(self, value: Any, prefix: str, name: str, errors: list[str]) -> Any:
        kind = type(value)
        if kind is not int and kind is not float:
            raise wrong_type(value, "milliseconds since epoch")
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):
            raise SerializationError(
                f"{token_name(value)} can not be converted to milliseconds since epoch"
            ) from None

    decode = convert


class DocumentNode(Node):
    """Untyped JSON (``document`` shapes): taken as is."""

    __slots__ = ()

    def convert(self, value: Any, prefix: str, name: str, errors: list[str]) -> Any:
        return value

    decode = convert
