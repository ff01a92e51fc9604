"""Request decoding and validation for the AWS JSON 1.1 protocol, driven by botocore's models.

The service models that ship inside botocore are the authority for every shape, limit and
enum. Each operation's input shape is compiled, on first use, into a tree of small node
objects; a request then costs one ``orjson.loads`` and one walk of that tree, with no
dictionary lookups in the model itself.

Decoding happens in two kinds of failure, as on AWS:

* A member of the wrong JSON type cannot be deserialised at all. That is a
  :class:`~cofre.errors.SerializationError`, raised at once, with the message AWS's
  deserialiser gives (``"STRING_VALUE can not be converted to an Integer"``,
  ``"Start of list found where not expected"`` ...).
* A well-typed value that breaks a constraint of the model (``required``, ``min``/``max``,
  ``enum``, ``pattern``) is collected. Every violation is reported in one
  :class:`~cofre.errors.ValidationError` in AWS's format::

      2 validation errors detected: Value null at 'keyId' failed to satisfy constraint:
      Member must not be null; Value at 'plaintext' failed to satisfy constraint: Member
      must have length less than or equal to 4096

Values are echoed in messages only when that is safe: a value whose shape (or any shape
around or inside it) is ``sensitive`` in the model, and any blob, is reported as
``Value at '...'`` with no value at all, and long values are truncated. Messages from the
deserialiser never carry values.

:func:`encode_output` is the matching fast path for responses.
"""

from __future__ import annotations

import binascii
import re
import threading
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime
from enum import Enum
from functools import cache
from typing import Any, ClassVar, Final

import orjson
from botocore.loaders import Loader

from cofre.errors import SerializationError, UnknownOperationError, ValidationError

__all__ = [
    "OperationModel",
    "ServiceModel",
    "compile_pattern",
    "encode_output",
]

#: At most this many violations are reported in one ValidationError (as AWS does).
MAX_REPORTED_ERRORS: Final = 10
#: Echoed values longer than this many characters are cut, and end in "...".
MAX_ECHO_CHARS: Final = 4096

_JAVA_INT: Final = (-(2**31), 2**31 - 1)
_JAVA_LONG: Final = (-(2**63), 2**63 - 1)
_NO_MAX: Final = 2**63

_NOT_NULL: Final = "Member must not be null"
_LIST_START: Final = "Start of list found where not expected"
_MAP_START: Final = "Start of structure or map found where not expected."

# A decoder: (raw JSON value, path prefix, member name, collected errors) -> decoded value.
# The path of the value is ``prefix + name``; it is only built when something is reported.
_Decoder = Callable[[Any, str, str, list[str]], Any]


# --------------------------------------------------------------------------- messages


def _token(value: Any) -> str:
    """The name AWS's deserialiser gives the JSON token of ``value``."""
    kind = type(value)
    if kind is str:
        return "STRING_VALUE"
    if kind is bool:
        return "TRUE_VALUE" if value else "FALSE_VALUE"
    if kind is float:
        return "DECIMAL_VALUE"
    return "NUMBER_VALUE"


def _wrong_type(value: Any, target: str) -> SerializationError:
    """The error for a scalar JSON value that cannot become ``target`` ("a String" ...)."""
    kind = type(value)
    if kind is list:
        return SerializationError(_LIST_START)
    if kind is dict:
        return SerializationError(_MAP_START)
    return SerializationError(f"{_token(value)} can not be converted to {target}")


def _report(errors: list[str], echo: str | None, path: str, constraint: str) -> None:
    """Collect one violation; ``echo`` is the quoted value, "null", or None to omit it."""
    if len(errors) < MAX_REPORTED_ERRORS:
        value = "Value" if echo is None else f"Value {echo}"
        errors.append(f"{value} at '{path}' failed to satisfy constraint: {constraint}")


def _validation_message(errors: list[str]) -> str:
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


def _echo(value: Any) -> str:
    """The value as AWS quotes it in a validation message: ``'...'``, truncated if long."""
    parts: list[str] = []
    _render_into(value, parts, [MAX_ECHO_CHARS + 1])
    text = "".join(parts)
    if len(text) > MAX_ECHO_CHARS:
        text = text[:MAX_ECHO_CHARS] + "..."
    return f"'{text}'"


def _lower_first(name: str) -> str:
    return name[:1].lower() + name[1:]


# --------------------------------------------------------------------------- patterns

# Java's "." matches anything but a line terminator; Python's only excludes "\n".
_JAVA_DOT: Final = "[^\\n\\r\\u0085\\u2028\\u2029]"
_JAVA_SHORTHANDS: Final = frozenset("dDwWsS")
_POSIX_CLASSES: Final = {
    "Lower": "a-z",
    "Upper": "A-Z",
    "ASCII": "\\x00-\\x7f",
    "Alpha": "a-zA-Z",
    "Digit": "0-9",
    "Alnum": "a-zA-Z0-9",
    "Punct": "!-/:-@\\[-`{-~",
    "Graph": "!-~",
    "Print": " -~",
    "Blank": " \\t",
    "Cntrl": "\\x00-\\x1f\\x7f",
    "XDigit": "0-9a-fA-F",
    "Space": " \\t\\n\\x0b\\f\\r",
}


@cache
def _category_ranges() -> dict[str, tuple[tuple[int, int], ...]]:
    """Code point ranges of every Unicode general category (two letters, and one letter)."""
    runs: dict[str, list[tuple[int, int]]] = {}
    category = unicodedata.category
    current = category("\x00")
    start = 0
    for code in range(1, 0x110000):
        this = category(chr(code))
        if this != current:
            runs.setdefault(current, []).append((start, code - 1))
            current, start = this, code
    runs.setdefault(current, []).append((start, 0x10FFFF))
    majors: dict[str, list[tuple[int, int]]] = {}
    for name, ranges in runs.items():
        majors.setdefault(name[0], []).extend(ranges)
    result = {name: tuple(ranges) for name, ranges in runs.items()}
    result.update({name: tuple(sorted(ranges)) for name, ranges in majors.items()})
    return result


@cache
def _property_class_body(name: str) -> str:
    """The inside of a Python character class equivalent to Java's ``\\p{name}``."""
    if name in _POSIX_CLASSES:
        return _POSIX_CLASSES[name]
    bare = name[2:] if name.startswith("Is") and len(name) in (3, 4) else name
    ranges = _category_ranges().get(bare)
    if ranges is None:
        raise re.error(f"unsupported Unicode property \\p{{{name}}}")
    return "".join(
        f"\\U{low:08x}" if low == high else f"\\U{low:08x}-\\U{high:08x}" for low, high in ranges
    )


def _read_property(pattern: str, index: int) -> tuple[str, bool, int]:
    """Parse ``\\p{Name}`` / ``\\pL`` / ``\\P{...}`` at ``index``: (name, negated, next index)."""
    negated = pattern[index + 1] == "P"
    if pattern.startswith("{", index + 2):
        end = pattern.find("}", index + 3)
        if end < 0:
            raise re.error("unterminated \\p{...}")
        return pattern[index + 3 : end], negated, end + 1
    if index + 2 >= len(pattern):
        raise re.error("incomplete \\p escape")
    return pattern[index + 2], negated, index + 3


def _read_quoted(pattern: str, index: int) -> tuple[str, int]:
    """Parse Java's ``\\Q...\\E`` at ``index``: (escaped literal, next index)."""
    end = pattern.find("\\E", index + 2)
    if end < 0:
        return re.escape(pattern[index + 2 :]), len(pattern)
    return re.escape(pattern[index + 2 : end]), end + 2


def _read_hex_brace(pattern: str, index: int) -> tuple[str, int]:
    """Parse Java's ``\\x{h...h}`` at ``index``."""
    end = pattern.find("}", index + 3)
    if end < 0:
        raise re.error("unterminated \\x{...}")
    return f"\\U{int(pattern[index + 3 : end], 16):08x}", end + 1


def _translate_class(pattern: str, index: int) -> tuple[str, int]:
    """Translate the Java character class starting at ``pattern[index] == "["``."""
    out = ["["]
    i = index + 1
    if pattern.startswith("^", i):
        out.append("^")
        i += 1
    first = True
    after_shorthand = False
    size = len(pattern)
    while True:
        if i >= size:
            raise re.error("unterminated character class")
        char = pattern[i]
        if char == "]" and not first:
            out.append("]")
            return "".join(out), i + 1
        first = False
        if char == "\\":
            if i + 1 >= size:
                raise re.error("trailing backslash")
            escaped = pattern[i + 1]
            if escaped in "pP":
                name, negated, i = _read_property(pattern, i)
                if negated:
                    raise re.error("\\P{...} inside a character class is not supported")
                out.append(_property_class_body(name))
                after_shorthand = True
                continue
            if escaped == "Q":
                literal, i = _read_quoted(pattern, i)
                out.append(literal)
            elif escaped == "x" and pattern.startswith("{", i + 2):
                code, i = _read_hex_brace(pattern, i)
                out.append(code)
            elif escaped == "e":
                out.append("\\x1b")
                i += 2
            else:
                out.append(pattern[i : i + 2])
                i += 2
            after_shorthand = escaped in _JAVA_SHORTHANDS
            continue
        if char == "[":
            raise re.error("nested character classes are not supported")
        if char == "&" and pattern.startswith("&&", i):
            raise re.error("character class intersection is not supported")
        if char == "-":
            # Java reads "-" after a class shorthand (``[\w-.]``), before one, or doubled as a
            # literal; Python would reject or warn about each.
            following = pattern[i + 1 : i + 3]
            if (
                after_shorthand
                or following[:1] == "-"
                or (following[:1] == "\\" and following[1:] in ("pP" + "dDwWsS"))
            ):
                out.append("\\-")
                i += 1
                after_shorthand = False
                continue
        if char in "&~|":
            out.append("\\" + char)
        elif char == "]":  # "]" first in the class is a literal in Java
            out.append("\\]")
        else:
            out.append(char)
        after_shorthand = False
        i += 1


def _translate(pattern: str) -> str:
    """Translate a Java regular expression (as used in AWS models) to Python ``re`` syntax."""
    out: list[str] = []
    dotall = "(?s" in pattern
    i = 0
    size = len(pattern)
    while i < size:
        char = pattern[i]
        if char == "\\":
            if i + 1 >= size:
                raise re.error("trailing backslash")
            escaped = pattern[i + 1]
            if escaped in "pP":
                name, negated, i = _read_property(pattern, i)
                out.append(("[^" if negated else "[") + _property_class_body(name) + "]")
            elif escaped == "Q":
                literal, i = _read_quoted(pattern, i)
                out.append(literal)
            elif escaped == "x" and pattern.startswith("{", i + 2):
                code, i = _read_hex_brace(pattern, i)
                out.append(code)
            elif escaped == "z":
                out.append("\\Z")
                i += 2
            elif escaped == "Z":
                out.append("(?=[\\n\\r\\u0085\\u2028\\u2029]?\\Z)")
                i += 2
            elif escaped == "e":
                out.append("\\x1b")
                i += 2
            else:
                out.append(pattern[i : i + 2])
                i += 2
        elif char == "[":
            text, i = _translate_class(pattern, i)
            out.append(text)
        elif char == "." and not dotall:
            out.append(_JAVA_DOT)
            i += 1
        elif pattern.startswith("(?<", i) and pattern[i + 3 : i + 4] not in ("=", "!"):
            out.append("(?P<")  # Java named group
            i += 3
        else:
            out.append(char)
            i += 1
    return "".join(out)


@cache
def compile_pattern(pattern: str) -> re.Pattern[str]:
    """Compile a ``pattern`` from an AWS model (Java syntax) to an equivalent Python pattern.

    Use it with ``fullmatch``: AWS requires the whole value to match, anchors or not. Like
    Java's defaults, ``\\w``, ``\\d``, ``\\s``, ``\\b`` and ``(?i)`` are ASCII-only, ``.`` does
    not match line terminators, and ``\\p{L}``-style Unicode categories are supported.
    Raises :class:`re.error` for Java syntax with no Python equivalent.
    """
    return re.compile(_translate(pattern), re.ASCII)


# --------------------------------------------------------------------------- nodes


class _Node:
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

    def convert(self, value: Any, prefix: str, name: str, errors: list[str]) -> Any:
        raise NotImplementedError

    def ok(self, decoded: Any) -> bool:
        return True

    def failures(self, decoded: Any) -> list[str]:
        return []

    def decode(self, value: Any, prefix: str, name: str, errors: list[str]) -> Any:
        start = len(errors)
        decoded = self.convert(value, prefix, name, errors)
        if self.has_own and not self.ok(decoded):
            echo = _echo(decoded) if self.echo else None
            own: list[str] = []
            path = prefix + name
            for constraint in self.failures(decoded):
                _report(own, echo, path, constraint)
            errors[start:start] = own  # a member's own violations come before nested ones
        return decoded


def _length_constraints(shape: Mapping[str, Any]) -> tuple[str, ...]:
    found: list[str] = []
    if "max" in shape:
        found.append(f"Member must have length less than or equal to {shape['max']}")
    if "min" in shape:
        found.append(f"Member must have length greater than or equal to {shape['min']}")
    return tuple(found)


class _StringNode(_Node):
    __slots__ = ("enum", "enum_text", "fullmatch", "high", "low", "pattern_text")

    def __init__(self, shape: Mapping[str, Any], *, echo: bool) -> None:
        constraints = list(_length_constraints(shape))
        self.low: int = shape.get("min", 0)
        self.high: int = shape.get("max", _NO_MAX)
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
        raise _wrong_type(value, "a String")

    def ok(self, decoded: Any) -> bool:
        size = len(decoded)
        if size < self.low or size > self.high:
            return False
        if self.fullmatch is not None and self.fullmatch(decoded) is None:
            return False
        return self.enum is None or decoded in self.enum

    def failures(self, decoded: Any) -> list[str]:
        found: list[str] = []
        size = len(decoded)
        if size > self.high:
            found.append(f"Member must have length less than or equal to {self.high}")
        if size < self.low:
            found.append(f"Member must have length greater than or equal to {self.low}")
        if self.fullmatch is not None and self.fullmatch(decoded) is None:
            found.append(self.pattern_text)
        if self.enum is not None and decoded not in self.enum:
            found.append(self.enum_text)
        return found

    def decode(self, value: Any, prefix: str, name: str, errors: list[str]) -> Any:
        if type(value) is not str:
            raise _wrong_type(value, "a String")
        if self.has_own and not self.ok(value):
            echo = _echo(value) if self.echo else None
            path = prefix + name
            for constraint in self.failures(value):
                _report(errors, echo, path, constraint)
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
            raise SerializationError(_LIST_START)
        if type(value) is dict:
            raise SerializationError(_MAP_START)
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


class _BlobNode(_Node):
    __slots__ = ("high", "low")

    def __init__(self, shape: Mapping[str, Any]) -> None:
        self.low: int = shape.get("min", 0)
        self.high: int = shape.get("max", _NO_MAX)
        super().__init__(echo=False, constraints=_length_constraints(shape))

    def convert(self, value: Any, prefix: str, name: str, errors: list[str]) -> Any:
        return _decode_base64(value)

    def ok(self, decoded: Any) -> bool:
        return self.low <= len(decoded) <= self.high

    def failures(self, decoded: Any) -> list[str]:
        found: list[str] = []
        if len(decoded) > self.high:
            found.append(f"Member must have length less than or equal to {self.high}")
        if len(decoded) < self.low:
            found.append(f"Member must have length greater than or equal to {self.low}")
        return found

    def decode(self, value: Any, prefix: str, name: str, errors: list[str]) -> Any:
        decoded = _decode_base64(value)
        size = len(decoded)
        if size < self.low or size > self.high:
            path = prefix + name
            for constraint in self.failures(decoded):
                _report(errors, None, path, constraint)
        return decoded


def _value_constraints(shape: Mapping[str, Any]) -> tuple[str, ...]:
    found: list[str] = []
    if "max" in shape:
        found.append(f"Member must have value less than or equal to {shape['max']}")
    if "min" in shape:
        found.append(f"Member must have value greater than or equal to {shape['min']}")
    return tuple(found)


class _IntegerNode(_Node):
    """``integer`` and ``long``. Fractional JSON numbers are truncated toward zero, as AWS
    does; values outside Java's range for the type are a SerializationError unless a model
    limit already reports them."""

    __slots__ = ("high", "java_high", "java_low", "low", "target")

    def __init__(self, shape: Mapping[str, Any], *, echo: bool) -> None:
        is_long = shape["type"] == "long"
        self.target = "a Long" if is_long else "an Integer"
        self.java_low, self.java_high = _JAVA_LONG if is_long else _JAVA_INT
        self.low: int | float = shape.get("min", -_NO_MAX * 2)
        self.high: int | float = shape.get("max", _NO_MAX * 2)
        super().__init__(echo=echo, constraints=_value_constraints(shape))

    def convert(self, value: Any, prefix: str, name: str, errors: list[str]) -> Any:
        kind = type(value)
        if kind is int:
            number: int = value
        elif kind is float:
            number = int(value)
        else:
            raise _wrong_type(value, self.target)
        if (number < self.java_low or number > self.java_high) and self.ok(number):
            raise SerializationError(f"NUMBER_VALUE can not be converted to {self.target}")
        return number

    def ok(self, decoded: Any) -> bool:
        return bool(self.low <= decoded <= self.high)

    def failures(self, decoded: Any) -> list[str]:
        found: list[str] = []
        if decoded > self.high:
            found.append(f"Member must have value less than or equal to {self.high}")
        if decoded < self.low:
            found.append(f"Member must have value greater than or equal to {self.low}")
        return found


class _FloatNode(_Node):
    __slots__ = ("high", "low", "target")

    def __init__(self, shape: Mapping[str, Any], *, echo: bool) -> None:
        self.target = "a Float" if shape["type"] == "float" else "a Double"
        self.low: float = shape.get("min", float("-inf"))
        self.high: float = shape.get("max", float("inf"))
        super().__init__(echo=echo, constraints=_value_constraints(shape))

    def convert(self, value: Any, prefix: str, name: str, errors: list[str]) -> Any:
        kind = type(value)
        if kind is float or kind is int:
            return float(value)
        raise _wrong_type(value, self.target)

    def ok(self, decoded: Any) -> bool:
        return bool(self.low <= decoded <= self.high)

    def failures(self, decoded: Any) -> list[str]:
        found: list[str] = []
        if decoded > self.high:
            found.append(f"Member must have value less than or equal to {self.high}")
        if decoded < self.low:
            found.append(f"Member must have value greater than or equal to {self.low}")
        return found


# AWS's deserialiser reads these strings as booleans (case-insensitively, untrimmed).
_TRUE_STRINGS: Final = frozenset({"true", "yes", "y", "t", "1"})
_FALSE_STRINGS: Final = frozenset({"false", "no", "n", "f", "0"})


class _BooleanNode(_Node):
    __slots__ = ()

    def convert(self, value: Any, prefix: str, name: str, errors: list[str]) -> Any:
        kind = type(value)
        if kind is bool:
            return value
        if kind is str:
            lowered = value.lower()
            if lowered in _TRUE_STRINGS:
                return True
            if lowered in _FALSE_STRINGS:
                return False
            # AWS's wording, grammar included.
            raise SerializationError("STRING_VALUE can not be converted to an Boolean")
        raise _wrong_type(value, "a Boolean")

    decode = convert


class _TimestampNode(_Node):
    """Epoch seconds (integer or fractional), the JSON protocols' default timestamp format."""

    __slots__ = ()

    def convert(self, value: Any, prefix: str, name: str, errors: list[str]) -> Any:
        kind = type(value)
        if kind is not int and kind is not float:
            raise _wrong_type(value, "milliseconds since epoch")
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):
            raise SerializationError(
                f"{_token(value)} can not be converted to milliseconds since epoch"
            ) from None

    decode = convert


class _DocumentNode(_Node):
    """Untyped JSON (``document`` shapes): taken as is."""

    __slots__ = ()

    def convert(self, value: Any, prefix: str, name: str, errors: list[str]) -> Any:
        return value

    decode = convert


def _null_note(constraints: tuple[str, ...], null: bool) -> str:
    listed = (*constraints, _NOT_NULL) if null else constraints
    return "[" + ", ".join(listed) + "]"


class _ListNode(_Node):
    __slots__ = ("high", "low", "member")

    def __init__(self, shape: Mapping[str, Any], *, echo: bool) -> None:
        self.low: int = shape.get("min", 0)
        self.high: int = shape.get("max", _NO_MAX)
        self.member: _Node = _DocumentNode(echo=False)  # set by the compiler
        super().__init__(echo=echo, constraints=_length_constraints(shape))
        self.nested = True

    def convert(self, value: Any, prefix: str, name: str, errors: list[str]) -> Any:
        if type(value) is not list:
            if type(value) is dict:
                raise SerializationError(_MAP_START)
            raise SerializationError("Expected list or null")
        member = self.member
        convert = member.convert
        check = member.ok if member.has_own else None
        out: list[Any] = []
        append = out.append
        bad = null = False
        if member.nested:
            base = prefix + name
            for index, item in enumerate(value, 1):
                if item is None:
                    null = True
                    append(None)
                    continue
                decoded = convert(item, f"{base}.{index}.", "member", errors)
                if check is not None and not check(decoded):
                    bad = True
                append(decoded)
        else:
            for item in value:
                if item is None:
                    null = True
                    append(None)
                    continue
                decoded = convert(item, "", "", errors)
                if check is not None and not check(decoded):
                    bad = True
                append(decoded)
        if bad or null:
            _report(
                errors,
                _echo(out) if self.echo else None,
                prefix + name,
                "Member must satisfy constraint: " + _null_note(member.constraints, null),
            )
        return out

    def ok(self, decoded: Any) -> bool:
        return self.low <= len(decoded) <= self.high

    def failures(self, decoded: Any) -> list[str]:
        found: list[str] = []
        if len(decoded) > self.high:
            found.append(f"Member must have length less than or equal to {self.high}")
        if len(decoded) < self.low:
            found.append(f"Member must have length greater than or equal to {self.low}")
        return found


class _MapNode(_ListNode):
    __slots__ = ("key",)

    def __init__(self, shape: Mapping[str, Any], *, echo: bool) -> None:
        super().__init__(shape, echo=echo)
        self.key: _Node = _DocumentNode(echo=False)  # set by the compiler

    def convert(self, value: Any, prefix: str, name: str, errors: list[str]) -> Any:
        if type(value) is not dict:
            if type(value) is list:
                raise SerializationError(_LIST_START)
            raise SerializationError("Expected map or null")
        key_node, member = self.key, self.member
        key_check = key_node.ok if key_node.has_own else None
        check = member.ok if member.has_own else None
        if key_check is None and check is None and type(member) is _StringNode:
            # The common string-to-string map (an encryption context): types only.
            for item in value.values():
                if type(item) is not str:
                    break
            else:
                return dict(value)
        convert = member.convert
        out: dict[str, Any] = {}
        bad_key = bad = null = False
        base = prefix + name + "." if member.nested else ""
        for key, item in value.items():
            if key_check is not None and not key_check(key):
                bad_key = True
            if item is None:
                null = True
                out[key] = None
                continue
            decoded = convert(item, base, key, errors)
            if check is not None and not check(decoded):
                bad = True
            out[key] = decoded
        if bad_key or bad or null:
            echo = _echo(out) if self.echo else None
            path = prefix + name
            if bad_key:
                constraints = _null_note(key_node.constraints, False)
                _report(errors, echo, path, f"Map keys must satisfy constraint: {constraints}")
            if bad or null:
                constraints = _null_note(member.constraints, null)
                _report(errors, echo, path, f"Map value must satisfy constraint: {constraints}")
        return out


class _StructureNode(_Node):
    """A structure. Members are read in body order (as AWS's streaming deserialiser does, so
    the first wrong-typed member is the one reported); when anything is wrong the members are
    checked again in model order, so violations are listed as AWS lists them."""

    __slots__ = ("by_key", "members", "required", "union")

    def __init__(self, shape: Mapping[str, Any]) -> None:
        super().__init__(echo=False)
        self.nested = True
        self.union = bool(shape.get("union"))
        # Set by the compiler: (wire name, name in paths, decoder, required) in model order,
        # the same keyed by wire name, and the required (wire name, name in paths).
        self.members: tuple[tuple[str, str, _Decoder, bool], ...] = ()
        self.by_key: dict[str, tuple[str, _Decoder]] = {}
        self.required: tuple[tuple[str, str], ...] = ()

    def set_members(self, members: Iterable[tuple[str, str, _Decoder, bool]]) -> None:
        self.members = tuple(members)
        self.by_key = {key: (lower, decode) for key, lower, decode, _ in self.members}
        self.required = tuple((key, lower) for key, lower, _, required in self.members if required)

    def convert(self, value: Any, prefix: str, name: str, errors: list[str]) -> Any:
        if type(value) is not dict:
            if type(value) is list:
                raise SerializationError(_LIST_START)
            raise SerializationError("Expected null")
        inner = f"{prefix}{name}." if name else prefix
        start = len(errors)
        out: dict[str, Any] = {}
        by_key = self.by_key
        for key, item in value.items():
            entry = by_key.get(key)
            if entry is not None and item is not None:
                out[key] = entry[1](item, inner, entry[0], errors)
        for key, lower in self.required:
            if key not in out:
                _report(errors, "null", inner + lower, _NOT_NULL)
        if len(errors) > start:
            del errors[start:]
            out = self._convert_in_model_order(value, inner, errors)
        if self.union and len(out) != 1:
            _report(errors, None, prefix + name, "Member must have exactly one member set")
        return out

    def _convert_in_model_order(self, value: Any, inner: str, errors: list[str]) -> Any:
        out: dict[str, Any] = {}
        for key, lower, decode, required in self.members:
            item = value.get(key)
            if item is None:
                if required:
                    _report(errors, "null", inner + lower, _NOT_NULL)
                continue
            out[key] = decode(item, inner, lower, errors)
        return out

    decode = convert


# --------------------------------------------------------------------------- models


def _unsafe_to_echo(shapes: Mapping[str, Mapping[str, Any]]) -> frozenset[str]:
    """Shapes whose values must never appear in messages: sensitive ones, blobs, and every
    shape that contains one of them."""
    children: dict[str, list[str]] = {}
    unsafe: set[str] = set()
    for name, shape in shapes.items():
        if shape.get("sensitive") or shape.get("type") == "blob":
            unsafe.add(name)
        kind = shape.get("type")
        if kind == "structure":
            children[name] = [member["shape"] for member in shape.get("members", {}).values()]
        elif kind == "list":
            children[name] = [shape["member"]["shape"]]
        elif kind == "map":
            children[name] = [shape["key"]["shape"], shape["value"]["shape"]]
    changed = True
    while changed:
        changed = False
        for name, inner in children.items():
            if name not in unsafe and any(child in unsafe for child in inner):
                unsafe.add(name)
                changed = True
    return frozenset(unsafe)


class OperationModel:
    """One operation of a service: decodes and validates its input."""

    __slots__ = ("_decode", "_service", "input_shape", "name", "output_shape")

    def __init__(
        self,
        service: ServiceModel,
        name: str,
        input_shape: str | None,
        output_shape: str | None,
    ) -> None:
        self._service = service
        self.name = name
        self.input_shape = input_shape
        self.output_shape = output_shape
        self._decode: _Decoder | None = None

    def __repr__(self) -> str:
        return f"OperationModel({self._service.service_name}.{self.name})"

    def compile(self) -> None:
        """Build this operation's decoder now rather than on the first request."""
        if self._decode is None:
            if self.input_shape is None:
                node: _Node = _StructureNode({})
            else:
                node = self._service._node(self.input_shape)
            self._decode = node.decode

    def parse_input(self, body: bytes) -> dict[str, Any]:
        """Decode and validate a request body; returns a new dict of decoded members.

        Blobs become ``bytes``, timestamps aware UTC ``datetime``s, unknown members are
        dropped and JSON nulls count as absent. Raises :class:`SerializationError` when the
        body is not a JSON object of the right types, :class:`ValidationError` (with every
        violation) when it breaks the model's constraints.
        """
        decode = self._decode
        if decode is None:
            self.compile()
            decode = self._decode
            assert decode is not None
        if not body or body == b"{}":
            document: Any = {}
        else:
            try:
                document = orjson.loads(body)
            except orjson.JSONDecodeError:
                raise SerializationError("The request body is not valid JSON.") from None
            if type(document) is not dict:
                if type(document) is list:
                    raise SerializationError(_LIST_START)
                raise SerializationError("The request body must be a JSON object.")
        errors: list[str] = []
        decoded: dict[str, Any] = decode(document, "", "", errors)
        if errors:
            raise ValidationError(_validation_message(errors))
        return decoded


class ServiceModel:
    """A botocore service model: its operations, their inputs, and its error shapes."""

    _loaded: ClassVar[dict[str, ServiceModel]] = {}  # process-wide cache
    _load_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, service_name: str, model: Mapping[str, Any]) -> None:
        metadata: Mapping[str, Any] = model["metadata"]
        self.service_name = service_name
        self.target_prefix: str = metadata["targetPrefix"]
        self.api_version: str = metadata["apiVersion"]
        self._shapes: Mapping[str, Mapping[str, Any]] = model["shapes"]
        self._unsafe = _unsafe_to_echo(self._shapes)
        self._nodes: dict[tuple[str, bool], _Node] = {}
        self._compile_lock = threading.RLock()
        operations: dict[str, OperationModel] = {}
        for name, operation in model["operations"].items():
            input_ref = operation.get("input")
            output_ref = operation.get("output")
            operations[name] = OperationModel(
                self,
                name,
                input_ref["shape"] if input_ref else None,
                output_ref["shape"] if output_ref else None,
            )
        self._operations = operations
        self._operation_names = frozenset(operations)
        self._error_shapes = frozenset(
            name for name, shape in self._shapes.items() if shape.get("exception")
        )

    @classmethod
    def load(cls, service_name: str) -> ServiceModel:
        """The model of ``service_name`` ("kms", "ssm") shipped with botocore, cached."""
        model = cls._loaded.get(service_name)
        if model is None:
            with cls._load_lock:
                model = cls._loaded.get(service_name)
                if model is None:
                    raw = Loader().load_service_model(service_name, "service-2")
                    model = cls(service_name, raw)
                    cls._loaded[service_name] = model
        return model

    def __repr__(self) -> str:
        return f"ServiceModel({self.service_name!r})"

    def operation(self, name: str) -> OperationModel:
        try:
            return self._operations[name]
        except KeyError:
            raise UnknownOperationError(f"Unknown operation: {name[:128]}") from None

    def operation_names(self) -> frozenset[str]:
        return self._operation_names

    def error_shapes(self) -> frozenset[str]:
        return self._error_shapes

    def compile_all(self) -> None:
        """Compile every operation's decoder (start-up warm-up; also proves the model)."""
        for operation in self._operations.values():
            operation.compile()

    def _node(self, shape_name: str, sensitive: bool = False) -> _Node:
        with self._compile_lock:
            return self._compile(shape_name, sensitive)

    def _compile(self, shape_name: str, sensitive: bool) -> _Node:
        shape = self._shapes[shape_name]
        sensitive = sensitive or bool(shape.get("sensitive"))
        cached = self._nodes.get((shape_name, sensitive))
        if cached is not None:
            return cached
        echo = not sensitive and shape_name not in self._unsafe
        kind = shape["type"]
        node: _Node
        if kind == "structure":
            structure = _StructureNode(shape)
            self._nodes[shape_name, sensitive] = structure  # before members: shapes recurse
            required = frozenset(shape.get("required", ()))
            members: list[tuple[str, str, _Decoder, bool]] = []
            for member_name, reference in shape.get("members", {}).items():
                child = self._compile(reference["shape"], sensitive)
                members.append(
                    (member_name, _lower_first(member_name), child.decode, member_name in required)
                )
            structure.set_members(members)
            return structure
        if kind in ("list", "map"):
            container = _MapNode(shape, echo=echo) if kind == "map" else _ListNode(shape, echo=echo)
            self._nodes[shape_name, sensitive] = container
            container.member = self._compile(
                shape["value" if kind == "map" else "member"]["shape"], sensitive
            )
            if isinstance(container, _MapNode):
                container.key = self._compile(shape["key"]["shape"], sensitive)
            return container
        if kind == "string":
            node = _StringNode(shape, echo=echo)
        elif kind == "blob":
            node = _BlobNode(shape)
        elif kind in ("integer", "long"):
            node = _IntegerNode(shape, echo=echo)
        elif kind in ("float", "double"):
            node = _FloatNode(shape, echo=echo)
        elif kind == "boolean":
            node = _BooleanNode(echo=echo)
        elif kind == "timestamp":
            node = _TimestampNode(echo=echo)
        elif kind == "document":
            node = _DocumentNode(echo=False)
        else:
            raise ValueError(f"shape {shape_name!r} has unsupported type {kind!r}")
        self._nodes[shape_name, sensitive] = node
        return node

    def shape_patterns(self) -> Iterable[tuple[str, str]]:
        """(shape name, Java pattern) for every shape with a ``pattern``."""
        for name, shape in self._shapes.items():
            pattern = shape.get("pattern")
            if pattern is not None:
                yield name, pattern


# --------------------------------------------------------------------------- output


def _encode_default(value: Any) -> Any:
    if isinstance(value, bytes | bytearray | memoryview):
        return binascii.b2a_base64(value, newline=False).decode("ascii")
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.timestamp()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, set | frozenset):
        return list(value)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC).timestamp()
    raise TypeError(f"cannot encode {type(value).__name__} in a response")


def encode_output(data: Mapping[str, Any]) -> bytes:
    """Serialise a response for the AWS JSON 1.1 protocol.

    Blobs (``bytes``) become base64 strings, ``datetime``s epoch seconds (a float; naive
    ones are taken as UTC), ``Enum``s their value. No model is consulted.
    """
    return orjson.dumps(data, default=_encode_default, option=orjson.OPT_PASSTHROUGH_DATETIME)
