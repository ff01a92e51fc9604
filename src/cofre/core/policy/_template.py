"""Wildcard patterns and policy-variable templates, compiled once per policy.

A policy string may hold wildcards (``*`` any run, ``?`` one character) and, in
``2012-10-17`` policies, variables such as ``${aws:username}`` or
``${aws:username, 'default'}`` plus the escapes ``${*}``, ``${?}`` and ``${$}``
(IAM User Guide, "IAM policy elements: Variables and tags"). Static strings become a
literal, a frozen regex or "anything"; strings with variables keep their parts and are
resolved per request, with the compiled regex cached.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

# A lookup returns the values of a normalised condition key, or None when it is absent.
Lookup = Callable[[str], "tuple[str, ...] | None"]

_VAR_RE = re.compile(r"\$\{([^}]*)\}")
_ESCAPES = {"*": "*", "?": "?", "$": "$"}


def normalize_key(name: str) -> str:
    """Condition key names are case-insensitive, except the part after
    ``kms:EncryptionContext:`` (the context key itself is case-sensitive)."""
    lower = name.lower()
    if lower.startswith("kms:encryptioncontext:"):
        return "kms:encryptioncontext:" + name[22:]
    return lower


def wildcard_source(text: str) -> str:
    """Regex source for ``text`` with ``*`` and ``?`` as wildcards."""
    out: list[str] = []
    for ch in text:
        if ch == "*":
            out.append(".*")
        elif ch == "?":
            out.append(".")
        else:
            out.append(re.escape(ch))
    return "".join(out)


@functools.lru_cache(maxsize=4096)
def compile_wildcard(source: str, ignore_case: bool) -> re.Pattern[str]:
    flags = re.DOTALL | (re.IGNORECASE if ignore_case else 0)
    return re.compile(source, flags)


# A part: ("lit", text) text may hold wildcards; ("chr", c) a literal character;
# ("var", key, default) a policy variable.
Part = tuple[str, str] | tuple[str, str, str | None]


class TemplateError(ValueError):
    """A ``${...}`` that is not a well-formed variable."""


def _parse_parts(text: str) -> tuple[Part, ...]:
    parts: list[Part] = []
    pos = 0
    for m in _VAR_RE.finditer(text):
        if m.start() > pos:
            parts.append(("lit", text[pos : m.start()]))
        inner = m.group(1).strip()
        if inner in _ESCAPES:
            parts.append(("chr", _ESCAPES[inner]))
        else:
            name, sep, default = inner.partition(",")
            name = name.strip()
            dflt: str | None = None
            if sep:
                d = default.strip()
                if len(d) < 2 or d[0] != "'" or d[-1] != "'":
                    raise TemplateError(f"bad default value in variable ${{{inner}}}")
                dflt = d[1:-1]
            if not name:
                raise TemplateError("empty policy variable ${}")
            parts.append(("var", normalize_key(name), dflt))
        pos = m.end()
    if pos < len(text):
        parts.append(("lit", text[pos:]))
    return tuple(parts)


class Template:
    """One policy string, matched as a wildcard pattern or compared as a plain value."""

    __slots__ = ("_any", "_dynamic", "_exact", "_parts", "_plain", "_regex", "ignore_case", "raw")

    def __init__(self, raw: str, *, variables: bool, ignore_case: bool = False) -> None:
        self.raw = raw
        self.ignore_case = ignore_case
        parts: tuple[Part, ...] = (
            _parse_parts(raw) if variables and "${" in raw else (("lit", raw),)
        )
        self._parts = parts
        self._dynamic = any(p[0] == "var" for p in parts)
        self._any = raw == "*"
        self._exact: str | None = None
        self._regex: re.Pattern[str] | None = None
        self._plain: str | None = None
        if not self._dynamic:
            plain = "".join(p[1] for p in parts)
            self._plain = plain
            has_wild = any(p[0] == "lit" and ("*" in p[1] or "?" in p[1]) for p in parts)
            if has_wild:
                self._regex = compile_wildcard(self._source_static(), ignore_case)
            else:
                self._exact = plain.lower() if ignore_case else plain

    @property
    def exact(self) -> str | None:
        """The literal to compare with, when the template has no wildcard or variable."""
        return self._exact

    @property
    def plain(self) -> str | None:
        """The value with escapes applied, when the template has no variable."""
        return self._plain

    def static_source(self) -> str:
        return self._source_static()

    def _source_static(self) -> str:
        return "".join(
            wildcard_source(p[1]) if p[0] == "lit" else re.escape(p[1]) for p in self._parts
        )

    @property
    def is_dynamic(self) -> bool:
        return self._dynamic

    def resolve(self, lookup: Lookup) -> str | None:
        """The plain value (no wildcard meaning), or None when a variable is unresolved."""
        if self._plain is not None:
            return self._plain
        out: list[str] = []
        for part in self._parts:
            if part[0] == "var":
                values = lookup(part[1])
                if values:
                    out.append(values[0])
                elif len(part) == 3 and part[2] is not None:
                    out.append(part[2])
                else:
                    return None
            else:
                out.append(part[1])
        return "".join(out)

    def matches(self, value: str, lookup: Lookup) -> bool:
        """Wildcard match of ``value`` (already lower-cased when ignore_case)."""
        if self._any:
            return True
        if self._exact is not None:
            return value == self._exact
        if self._regex is not None:
            return self._regex.fullmatch(value) is not None
        src: list[str] = []
        for part in self._parts:
            if part[0] == "lit":
                src.append(wildcard_source(part[1]))
            elif part[0] == "chr":
                src.append(re.escape(part[1]))
            else:
                values = lookup(part[1])
                if values:
                    src.append(re.escape(values[0]))
                elif len(part) == 3 and part[2] is not None:
                    src.append(re.escape(part[2]))
                else:
                    return False  # an unresolved variable matches nothing
        regex = compile_wildcard("".join(src), self.ignore_case)
        return regex.fullmatch(value) is not None


def split_arn(text: str) -> list[str]:
    """Split an ARN (or ARN pattern) into its six parts, ignoring ':' inside ``${...}``."""
    parts: list[str] = []
    start = 0
    depth = 0
    i = 0
    while i < len(text) and len(parts) < 5:
        if text.startswith("${", i):
            depth += 1
            i += 2
            continue
        ch = text[i]
        if ch == "}" and depth:
            depth -= 1
        elif ch == ":" and not depth:
            parts.append(text[start:i])
            start = i + 1
        i += 1
    parts.append(text[start:])
    return parts


class Matcher:
    """Any-of several templates, folded for speed: "*" short-circuits, literals go into a
    set, static wildcards into one regex; only templates with variables are walked."""

    __slots__ = ("_any", "_dynamic", "_exact", "_prefixes", "_regex")

    def __init__(self, templates: tuple[Template, ...], ignore_case: bool = False) -> None:
        self._any = any(t.raw == "*" for t in templates)
        exact: set[str] = set()
        prefixes: list[str] = []
        sources: list[str] = []
        dynamic: list[Template] = []
        for t in templates:
            plain = t.plain
            if t.is_dynamic:
                dynamic.append(t)
            elif t.exact is not None:
                exact.add(t.exact)
            elif (
                plain is not None
                and plain.endswith("*")
                and "*" not in plain[:-1]
                and "?" not in plain
                and t.raw == plain  # no ${*} escapes
            ):
                prefixes.append(plain[:-1].lower() if ignore_case else plain[:-1])
            else:
                sources.append(t.static_source())
        self._exact = frozenset(exact)
        self._prefixes = tuple(prefixes)
        self._regex = (
            compile_wildcard("|".join(f"(?:{s})" for s in sources), ignore_case)
            if sources
            else None
        )
        self._dynamic = tuple(dynamic)

    def matches(self, value: str, lookup: Lookup) -> bool:
        if self._any or value in self._exact:
            return True
        if self._prefixes and value.startswith(self._prefixes):
            return True
        if self._regex is not None and self._regex.fullmatch(value) is not None:
            return True
        if self._dynamic:
            return any(t.matches(value, lookup) for t in self._dynamic)
        return False
