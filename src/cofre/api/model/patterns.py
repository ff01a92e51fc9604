"""Java regular expressions (the ``pattern`` of AWS model shapes) translated to Python ``re``."""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from typing import Final

__all__ = ["compile_pattern"]

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
