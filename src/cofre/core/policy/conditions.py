"""Condition operators (IAM User Guide, "IAM JSON policy elements: Condition operators").

Each operator is a row of ``OPERATORS``: how a policy value is compiled, how one context
value is compared with it, and whether the operator is a negation. The rules for absent
keys follow the guide: a missing key makes a positive operator false and a negated one
(``StringNotEquals``, ``NotIpAddress``, ...) true; ``...IfExists`` makes it true;
``ForAllValues:`` is true and ``ForAnyValue:`` false on a missing or empty key.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from cofre.core.policy._template import Lookup, Matcher, Template, normalize_key, split_arn

IpNet = ipaddress.IPv4Network | ipaddress.IPv6Network


class SetQualifier(Enum):
    NONE = ""
    FOR_ALL_VALUES = "ForAllValues"
    FOR_ANY_VALUE = "ForAnyValue"


def parse_number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def parse_date(text: str) -> float | None:
    """Seconds since the epoch for an ISO 8601 date/time or an epoch number."""
    number = parse_number(text)
    if number is not None:
        return number
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def _parse_ip(text: str) -> IpNet | None:
    try:
        return ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        return None


def _parse_binary(text: str) -> bytes | None:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


class _Kind(Enum):
    STRING = "string"
    STRING_IC = "string-ic"
    LIKE = "like"
    NUMERIC = "numeric"
    DATE = "date"
    BOOL = "bool"
    BINARY = "binary"
    IP = "ip"
    ARN = "arn"
    NULL = "null"


_CMP: dict[str, Callable[[float, float], bool]] = {
    "Equals": lambda a, b: a == b,
    "LessThan": lambda a, b: a < b,
    "LessThanEquals": lambda a, b: a <= b,
    "GreaterThan": lambda a, b: a > b,
    "GreaterThanEquals": lambda a, b: a >= b,
}

# operator -> (kind, comparison name for numeric/date, negated)
OPERATORS: dict[str, tuple[_Kind, str, bool]] = {
    "StringEquals": (_Kind.STRING, "", False),
    "StringNotEquals": (_Kind.STRING, "", True),
    "StringEqualsIgnoreCase": (_Kind.STRING_IC, "", False),
    "StringNotEqualsIgnoreCase": (_Kind.STRING_IC, "", True),
    "StringLike": (_Kind.LIKE, "", False),
    "StringNotLike": (_Kind.LIKE, "", True),
    "Bool": (_Kind.BOOL, "", False),
    "BinaryEquals": (_Kind.BINARY, "", False),
    "IpAddress": (_Kind.IP, "", False),
    "NotIpAddress": (_Kind.IP, "", True),
    "ArnEquals": (_Kind.ARN, "", False),
    "ArnLike": (_Kind.ARN, "", False),
    "ArnNotEquals": (_Kind.ARN, "", True),
    "ArnNotLike": (_Kind.ARN, "", True),
    "Null": (_Kind.NULL, "", False),
}
for _family, _kind in (("Numeric", _Kind.NUMERIC), ("Date", _Kind.DATE)):
    OPERATORS[f"{_family}NotEquals"] = (_kind, "Equals", True)
    for _cmp in _CMP:
        OPERATORS[f"{_family}{_cmp}"] = (_kind, _cmp, False)


class ConditionError(ValueError):
    """A condition operator or value that cannot be compiled."""


def split_operator(name: str) -> tuple[SetQualifier, str, bool]:
    """``ForAnyValue:StringLikeIfExists`` -> (FOR_ANY_VALUE, "StringLike", True)."""
    qualifier = SetQualifier.NONE
    base = name
    if ":" in name:
        prefix, _, base = name.partition(":")
        try:
            qualifier = SetQualifier(prefix)
        except ValueError:
            raise ConditionError(f"unknown set operator {prefix!r}") from None
    if_exists = base.endswith("IfExists") and base != "IfExists"
    if if_exists:
        base = base[: -len("IfExists")]
    if base not in OPERATORS:
        raise ConditionError(f"unknown condition operator {name!r}")
    if base == "Null" and (if_exists or qualifier is not SetQualifier.NONE):
        raise ConditionError(f"operator {name!r}: Null takes no IfExists or set qualifier")
    return qualifier, base, if_exists


def value_text(value: Any) -> str:
    """A JSON scalar as the string IAM compares (true -> "true", 5 -> "5")."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    return str(value)


@dataclass(frozen=True, slots=True)
class Condition:
    """One (operator, key) pair of a Condition block, its values compiled."""

    operator: str
    key: str  # normalised
    qualifier: SetQualifier
    if_exists: bool
    negated: bool
    kind: _Kind
    cmp: Callable[[float, float], bool] | None
    values: tuple[Any, ...]
    # Precomputed for static values: the set of strings (StringEquals) or one matcher
    # (StringLike), so the common case is one set look-up or one regex.
    exact_set: frozenset[str] | None
    like: Matcher | None

    def evaluate(self, lookup: Lookup) -> bool:
        found = lookup(self.key)
        exact = self.exact_set
        if exact is not None and found:  # fast path: static StringEquals / NotEquals
            negated = self.negated
            qualifier = self.qualifier
            if qualifier is SetQualifier.NONE:
                for v in found:
                    if v in exact:
                        return not negated
                return negated
            if qualifier is SetQualifier.FOR_ALL_VALUES:
                for v in found:
                    if (v in exact) == negated:
                        return False
                return True
            for v in found:
                if (v in exact) != negated:
                    return True
            return False
        if self.kind is _Kind.NULL:
            absent = not found
            return any(v == absent for v in self.values)
        if not found:
            if self.if_exists or self.qualifier is SetQualifier.FOR_ALL_VALUES:
                return True
            if self.qualifier is SetQualifier.FOR_ANY_VALUE:
                return False
            return self.negated
        if self.qualifier is SetQualifier.FOR_ALL_VALUES:
            return all(self._positive(v, lookup) != self.negated for v in found)
        if self.qualifier is SetQualifier.FOR_ANY_VALUE:
            return any(self._positive(v, lookup) != self.negated for v in found)
        hit = any(self._positive(v, lookup) for v in found)
        return hit != self.negated

    def _positive(self, ctx_value: str, lookup: Lookup) -> bool:
        """Does one context value match any of the policy values (OR)?"""
        kind = self.kind
        if self.exact_set is not None:
            return ctx_value in self.exact_set
        if self.like is not None:
            return self.like.matches(ctx_value, lookup)
        if kind is _Kind.STRING:
            return any(t.resolve(lookup) == ctx_value for t in self.values)
        if kind is _Kind.STRING_IC:
            lowered = ctx_value.lower()
            for t in self.values:
                resolved = t.resolve(lookup)
                if resolved is not None and resolved.lower() == lowered:
                    return True
            return False
        if kind is _Kind.LIKE:
            return any(t.matches(ctx_value, lookup) for t in self.values)
        if kind is _Kind.ARN:
            return any(_arn_match(p, ctx_value, lookup) for p in self.values)
        if kind is _Kind.BOOL:
            return ctx_value.lower() in self.values
        if kind is _Kind.IP:
            address = _parse_ip(ctx_value)
            if address is None or address.num_addresses != 1:
                return False
            ip = address.network_address
            return any(ip.version == net.version and ip in net for net in self.values)
        if kind is _Kind.BINARY:
            raw = _parse_binary(ctx_value)
            return raw is not None and raw in self.values
        number = parse_number(ctx_value) if kind is _Kind.NUMERIC else parse_date(ctx_value)
        cmp = self.cmp
        if number is None or cmp is None:
            return False
        return any(cmp(number, v) for v in self.values)


def _arn_match(pattern: tuple[Template, ...], value: str, lookup: Lookup) -> bool:
    if len(pattern) == 1:
        return pattern[0].matches(value, lookup)
    parts = split_arn(value)
    if len(parts) != 6 or len(pattern) != 6:
        return False
    return all(t.matches(v, lookup) for t, v in zip(pattern, parts, strict=True))


def compile_condition(
    operator: str, key: str, raw_values: list[Any], *, variables: bool
) -> Condition:
    """Compile one operator/key entry; raises ConditionError with the reason."""
    qualifier, base, if_exists = split_operator(operator)
    kind, cmp_name, negated = OPERATORS[base]
    texts = [value_text(v) for v in raw_values]
    values: list[Any] = []
    for text in texts:
        if kind in (_Kind.STRING, _Kind.STRING_IC):
            values.append(Template(text, variables=variables))
        elif kind is _Kind.LIKE:
            values.append(Template(text, variables=variables))
        elif kind is _Kind.ARN:
            parts = split_arn(text)
            if text == "*":  # a bare "*" matches any ARN; other short patterns none
                parts = [text]
            values.append(tuple(Template(p, variables=variables) for p in parts))
        elif kind in (_Kind.BOOL, _Kind.NULL):
            lowered = text.lower()
            if lowered not in ("true", "false"):
                raise ConditionError(f"{operator}: {text!r} is not true or false")
            values.append(lowered == "true" if kind is _Kind.NULL else lowered)
        elif kind is _Kind.IP:
            net = _parse_ip(text)
            if net is None:
                raise ConditionError(f"{operator}: {text!r} is not an IP address or CIDR")
            values.append(net)
        elif kind is _Kind.BINARY:
            raw = _parse_binary(text)
            if raw is None:
                raise ConditionError(f"{operator}: {text!r} is not base64")
            values.append(raw)
        else:
            number = parse_number(text) if kind is _Kind.NUMERIC else parse_date(text)
            if number is None:
                what = "a number" if kind is _Kind.NUMERIC else "a date"
                raise ConditionError(f"{operator}: {text!r} is not {what}")
            values.append(number)
    exact_set = like = None
    if kind is _Kind.STRING and not any(t.is_dynamic for t in values):
        exact_set = frozenset(t.plain for t in values)
    elif kind is _Kind.LIKE:
        like = Matcher(tuple(values))
    return Condition(
        exact_set=exact_set,
        like=like,
        operator=operator,
        key=normalize_key(key),
        qualifier=qualifier,
        if_exists=if_exists,
        negated=negated,
        kind=kind,
        cmp=_CMP.get(cmp_name),
        values=tuple(values),
    )
