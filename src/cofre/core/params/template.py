"""CloudFormation dynamic references to Parameter Store in any text: pure parsing and substitution.

The syntax is CloudFormation's (User Guide, "Get values stored in other services using
dynamic references"): ``{{resolve:ssm:parameter-name}}``, ``{{resolve:ssm:parameter-name:version}}``
and the same with ``ssm-secure``. The name is flat (``name``) or a path (``/a/b``) of
``[a-zA-Z0-9_.-/]``; the version, when given, is a number. Labels and public or shared
(ARN) parameters are not part of the syntax ("CloudFormation doesn't support using Systems
Manager parameter labels or public parameters in dynamic references").

Every ``{{resolve:`` starts a reference: one that does not parse is a
:class:`TemplateSyntaxError` naming its line and column, never copied through unresolved.
Everything else is kept exactly as it is.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from cofre.core.params.parameters import MAX_HIERARCHY_LEVELS, canonical_name
from cofre.errors import CofreError, ValidationError

OPEN = "{{resolve:"
CLOSE = "}}"
SERVICES = {"ssm": False, "ssm-secure": True}  # service name -> SecureString (WithDecryption)
_NAME_CHARS = re.compile(r"[a-zA-Z0-9_.\-/]+")
_VERSION = re.compile(r"[0-9]{1,18}")  # the selector digits SSM accepts as a version
_SHOWN = 80  # characters of a bad reference quoted in its error


class TemplateSyntaxError(ValidationError):
    """A ``{{resolve:...}}`` that is not a valid Parameter Store dynamic reference."""

    def __init__(self, line: int, column: int, problem: str, text: str) -> None:
        shown = text if len(text) <= _SHOWN else text[:_SHOWN] + "..."
        super().__init__(f"line {line}, column {column}: {problem}: {shown}")
        self.line = line
        self.column = column


@dataclass(frozen=True, slots=True)
class ParamKey:
    """What one reference asks for; references asking for the same thing share one lookup."""

    name: str  # canonical: ``/foo`` is ``foo``, as Parameter Store names it
    version: int | None
    secure: bool  # ssm-secure: the parameter must be a SecureString, read WithDecryption

    @property
    def selector(self) -> str:
        """The GetParameters name: ``name`` or ``name:version``."""
        return self.name if self.version is None else f"{self.name}:{self.version}"

    @property
    def service(self) -> str:
        return "ssm-secure" if self.secure else "ssm"


@dataclass(frozen=True, slots=True)
class DynamicReference:
    key: ParamKey
    name: str  # as written, for messages (``/foo`` and ``foo`` share one key)
    start: int  # offsets of ``{{`` and just past ``}}`` in the template text
    end: int
    line: int  # 1-based
    column: int  # 1-based, in characters


def _parse_one(body: str) -> tuple[ParamKey, str]:
    """``ssm:/a/b:3`` -> (its key, the name as written); ValueError with the problem."""
    service, _, key = body.partition(":")
    if service not in SERVICES:
        raise ValueError(f"unsupported service {service!r} (only ssm and ssm-secure)")
    if not key:
        raise ValueError("no parameter name")
    if key.startswith("arn:"):
        raise ValueError("ARNs (shared parameters) are not supported; give the parameter name")
    name, colon, version = key.partition(":")
    if not name or _NAME_CHARS.fullmatch(name) is None:
        raise ValueError("the parameter name may hold only a-z A-Z 0-9 _ . - /")
    try:
        canonical = canonical_name(name)
    except CofreError:
        raise ValueError("not a parameter name (flat, or a path such as /a/b)") from None
    if canonical.count("/") > MAX_HIERARCHY_LEVELS:
        raise ValueError(f"a hierarchy can have at most {MAX_HIERARCHY_LEVELS} levels")
    if not colon:
        return ParamKey(canonical, None, SERVICES[service]), name
    if not version:
        raise ValueError("empty version")
    if _VERSION.fullmatch(version) is None:
        if version.isascii() and version.isdigit():
            raise ValueError("version number too large")
        raise ValueError("the version must be a number (labels are not supported)")
    if int(version) == 0:
        raise ValueError("versions start at 1")
    return ParamKey(canonical, int(version), SERVICES[service]), name


def parse_template(text: str) -> list[DynamicReference]:
    """Every dynamic reference of ``text`` in order; TemplateSyntaxError at the first bad one."""
    found: list[DynamicReference] = []
    line, counted = 1, 0  # lines are counted once, from the previous reference on
    start = text.find(OPEN)
    while start != -1:
        line += text.count("\n", counted, start)
        counted = start
        column = start - (text.rfind("\n", 0, start) + 1) + 1
        close = text.find(CLOSE, start + len(OPEN))
        newline = text.find("\n", start)
        if close == -1 or (newline != -1 and newline < close):
            stop = len(text) if newline == -1 else newline
            raise TemplateSyntaxError(line, column, "unterminated reference", text[start:stop])
        end = close + len(CLOSE)
        try:
            key, name = _parse_one(text[start + len(OPEN) : close])
        except ValueError as exc:
            raise TemplateSyntaxError(line, column, str(exc), text[start:end]) from None
        found.append(DynamicReference(key, name, start, end, line, column))
        start = text.find(OPEN, end)
    return found


def substitute(text: str, refs: list[DynamicReference], values: Mapping[ParamKey, str]) -> str:
    """``text`` with each reference replaced by its value; the rest untouched."""
    parts: list[str] = []
    at = 0
    for ref in refs:
        parts += (text[at : ref.start], values[ref.key])
        at = ref.end
    parts.append(text[at:])
    return "".join(parts)
