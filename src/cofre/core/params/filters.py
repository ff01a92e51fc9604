"""Filters of DescribeParameters and GetParametersByPath, checked and turned into a query.

The rules are a table (``FILTER_KEYS``): which keys each operation takes, their options
and default option, and the values a key accepts. A checked filter becomes a ``Term``;
the storage layer turns terms into its own query language. Errors carry the messages SSM
gives (InvalidFilterKey / InvalidFilterOption / InvalidFilterValue, ValidationException
for a bad Path).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from cofre.core.params.parameters import DATA_TYPES, ParameterType, Tier, canonical_path
from cofre.errors import (
    InvalidFilterKeyError,
    InvalidFilterOptionError,
    InvalidFilterValueError,
    ValidationError,
)


class Field(StrEnum):
    NAME = "Name"
    TYPE = "Type"
    KEY_ID = "KeyId"
    PATH = "Path"
    TIER = "Tier"
    DATA_TYPE = "DataType"
    LABEL = "Label"
    TAG = "tag"


class Option(StrEnum):
    EQUALS = "Equals"
    BEGINS_WITH = "BeginsWith"
    CONTAINS = "Contains"
    RECURSIVE = "Recursive"
    ONE_LEVEL = "OneLevel"
    EXISTS = "Exists"  # tag:<key> without Values: the parameter has that tag


class Operation(StrEnum):
    DESCRIBE = "DescribeParameters"
    BY_PATH = "GetParametersByPath"


@dataclass(frozen=True, slots=True)
class KeyRule:
    options: tuple[Option, ...]  # the first is the default
    operations: frozenset[Operation]
    values: tuple[str, ...] | None = None  # the values the key accepts; None: any
    values_required: bool = True


_BOTH = frozenset(Operation)
_DESCRIBE = frozenset({Operation.DESCRIBE})
_EQ_BEGINS = (Option.EQUALS, Option.BEGINS_WITH)

FILTER_KEYS: dict[Field, KeyRule] = {
    Field.NAME: KeyRule((Option.EQUALS, Option.BEGINS_WITH, Option.CONTAINS), _DESCRIBE),
    Field.TYPE: KeyRule(_EQ_BEGINS, _BOTH, tuple(ParameterType)),
    Field.KEY_ID: KeyRule(_EQ_BEGINS, _BOTH),
    Field.PATH: KeyRule((Option.ONE_LEVEL, Option.RECURSIVE), _DESCRIBE),
    Field.TIER: KeyRule(_EQ_BEGINS, _DESCRIBE, tuple(Tier)),
    Field.DATA_TYPE: KeyRule(_EQ_BEGINS, _DESCRIBE, tuple(DATA_TYPES)),
    Field.LABEL: KeyRule((Option.EQUALS,), frozenset({Operation.BY_PATH})),
    Field.TAG: KeyRule(_EQ_BEGINS, _DESCRIBE, values_required=False),
}
# The legacy ``Filters`` member of DescribeParameters: Name matches by prefix.
LEGACY_OPTIONS = {"Name": Option.BEGINS_WITH, "Type": Option.EQUALS, "KeyId": Option.EQUALS}
_RESERVED_PATH = (
    'Filters for common parameters can\'t be prefixed with "aws" or "ssm" (case-insensitive).'
    " When using global parameters, please specify within a global namespace."
)


@dataclass(frozen=True, slots=True)
class Term:
    """One filter: a parameter matches when ``field`` matches any of ``values``."""

    field: Field
    option: Option
    values: tuple[str, ...]
    tag_key: str | None = None  # Field.TAG


@dataclass(frozen=True, slots=True)
class ParamQuery:
    """A page of parameters of one account and Region, in name order.

    ``limit``: the page size. ``path`` (``/a/b/``, with its trailing slash) keeps names
    under it: all of them when ``recursive``, else only its direct children (``/`` holds
    the single-level names). ``after``: an exclusive name bound. Terms are ANDed. With a
    Label term each parameter is returned at the newest version carrying one of the labels
    (and the other terms test that version), else at its current one.
    """

    account_id: str
    region: str
    limit: int
    path: str | None = None
    recursive: bool = True
    terms: tuple[Term, ...] = ()
    after: str | None = None


def _field(key: str, operation: Operation) -> Field:
    field = Field.TAG if key.startswith("tag:") and len(key) > 4 else None
    if field is None:
        try:
            field = Field(key)
        except ValueError:
            field = None
    if field is None or operation not in FILTER_KEYS[field].operations:
        valid = [f.value for f, rule in FILTER_KEYS.items() if operation in rule.operations]
        raise InvalidFilterKeyError(
            f"The following filter key is not valid: {key[:132]}. Valid filter keys include:"
            f" [{', '.join(valid)}]."
        )
    return field


def _values(field: Field, option: Option, rule: KeyRule, values: Sequence[str]) -> tuple[str, ...]:
    if rule.values is not None:
        for value in values:
            if value not in rule.values:
                raise InvalidFilterValueError(
                    f"The following filter value is not valid: {value[:200]}. Valid values"
                    f" include: [{', '.join(rule.values)}]."
                )
    if field is Field.PATH:
        for value in values:
            if value.strip(" ").lower().startswith(("/aws", "/ssm")):
                raise ValidationError(_RESERVED_PATH)
        return tuple(canonical_path(v) for v in values)
    if field is Field.NAME and option is Option.EQUALS:
        return tuple(_equal_name(v) for v in values)
    if field is Field.NAME and option is Option.BEGINS_WITH:
        return tuple(p for v in values for p in _name_prefixes(v))
    return tuple(values)


def _equal_name(value: str) -> str:
    """Names compare as if written with one leading slash (``foo`` is ``/foo``): the stored
    name a value means."""
    slashed = "/" + value.strip(" ").lstrip("/")
    return slashed[1:] if slashed.count("/") == 1 else slashed


def _name_prefixes(value: str) -> tuple[str, ...]:
    """The stored-name prefixes a BeginsWith value means: ``/fo`` starts ``/fo...`` paths
    and the single-level names ``fo...``."""
    slashed = "/" + value.strip(" ").lstrip("/")
    rest = slashed[1:]
    return (slashed,) if "/" in rest else (slashed, rest)


def check_filters(
    filters: Sequence[Mapping[str, Any]] | None, operation: Operation
) -> tuple[Term, ...]:
    """ParameterFilters as terms; the first error found, as SSM reports it."""
    terms: list[Term] = []
    seen: set[str] = set()
    for item in filters or ():
        key = str(item["Key"])
        field = _field(key, operation)
        rule = FILTER_KEYS[field]
        if key in seen:
            raise InvalidFilterKeyError(
                f"The following filter is duplicated in the request: {key}. A request can"
                " contain only one occurrence of a specific filter."
            )
        seen.add(key)
        values = list(item.get("Values") or ())
        if not values and rule.values_required:
            raise InvalidFilterValueError(
                f"The following filter values are missing : null for filter key {key}."
            )
        given = item.get("Option")
        option = rule.options[0] if given is None else given
        if option not in rule.options:
            raise InvalidFilterOptionError(
                f"The following filter option is not valid: {option}. Valid options include:"
                f" [{', '.join(rule.options)}]."
            )
        chosen = Option.EXISTS if field is Field.TAG and not values else Option(option)
        tag_key = key[4:] if field is Field.TAG else None
        terms.append(Term(field, chosen, _values(field, chosen, rule, values), tag_key))
    return tuple(terms)


def legacy_terms(filters: Sequence[Mapping[str, Any]] | None) -> tuple[Term, ...]:
    """DescribeParameters' deprecated ``Filters`` (Name, Type, KeyId) as terms."""
    items = [
        {"Key": f["Key"], "Values": f["Values"], "Option": LEGACY_OPTIONS[f["Key"]]}
        for f in filters or ()
    ]
    return check_filters(items, Operation.DESCRIBE)
