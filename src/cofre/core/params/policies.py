"""Parameter policies (Advanced tier): Expiration, ExpirationNotification, NoChangeNotification.

PutParameter's ``Policies`` is a JSON array (User Guide, "Assigning parameter policies")::

    [{"Type": "Expiration", "Version": "1.0",
      "Attributes": {"Timestamp": "2030-12-02T21:34:33.000Z"}},
     {"Type": "ExpirationNotification", "Version": "1.0",
      "Attributes": {"Before": "15", "Unit": "Days"}},
     {"Type": "NoChangeNotification", "Version": "1.0",
      "Attributes": {"After": "20", "Unit": "Days"}}]

Stored as given (re-serialised compactly), returned as ``ParameterInlinePolicy`` entries.
``schedule`` turns a stored document into the moments its policies act (User Guide,
"Assigning parameter policies"): Expiration deletes the parameter at Timestamp;
ExpirationNotification fires Before units earlier; NoChangeNotification fires After units
after the last change. ``action`` describes what happened, for the Policy Action event.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cofre.core.params.events import PolicyAction, PolicyType
from cofre.core.params.parameters import ParamId
from cofre.errors import (
    IncompatiblePolicyError,
    InvalidPolicyAttributeError,
    InvalidPolicyTypeError,
    PoliciesLimitExceededError,
    ValidationError,
)

MAX_POLICIES = 10
POLICY_VERSION = "1.0"
UNITS = ("Days", "Hours")


@dataclass(frozen=True, slots=True)
class PolicyRule:
    """The attributes a policy type takes: name -> kind ("timestamp" or "count"/"unit")."""

    attributes: dict[str, str]


POLICY_TYPES: dict[str, PolicyRule] = {
    "Expiration": PolicyRule({"Timestamp": "timestamp"}),
    "ExpirationNotification": PolicyRule({"Before": "count", "Unit": "unit"}),
    "NoChangeNotification": PolicyRule({"After": "count", "Unit": "unit"}),
}


@dataclass(frozen=True, slots=True)
class ParameterPolicy:
    type: str
    text: str  # this policy's JSON, as returned in PolicyText


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _attribute(type_: str, name: str, kind: str, value: Any, now: datetime) -> None:
    bad = InvalidPolicyAttributeError(
        f"A policy attribute or its value is invalid: {type_} {name}={str(value)[:100]!r}."
    )
    if not isinstance(value, str):
        raise bad
    if kind == "unit":
        if value not in UNITS:
            raise bad
    elif kind == "count":
        if not value.isdigit() or not 0 < int(value) <= 1_000_000:
            raise bad
    else:
        try:
            moment = datetime.fromisoformat(value)
        except ValueError as exc:
            raise bad from exc
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        if moment <= now:
            raise InvalidPolicyAttributeError(
                f"The Expiration policy's Timestamp {value} is not in the future."
            )


def _one(item: Any, now: datetime) -> ParameterPolicy:
    if not isinstance(item, dict):
        raise InvalidPolicyAttributeError("Each parameter policy must be a JSON object.")
    type_ = item.get("Type")
    if not isinstance(type_, str) or type_ not in POLICY_TYPES:
        raise InvalidPolicyTypeError(
            f"The following policy type is not supported: {str(type_)[:100]}. Parameter Store"
            f" supports: {', '.join(POLICY_TYPES)}."
        )
    if set(item) - {"Type", "Version", "Attributes"}:
        raise InvalidPolicyAttributeError(
            f"A {type_} policy has only Type, Version and Attributes members."
        )
    if item.get("Version", POLICY_VERSION) != POLICY_VERSION:
        raise InvalidPolicyAttributeError(f"The policy version must be {POLICY_VERSION}.")
    attributes = item.get("Attributes")
    rule = POLICY_TYPES[type_]
    if not isinstance(attributes, dict) or set(attributes) != set(rule.attributes):
        raise InvalidPolicyAttributeError(
            f"A {type_} policy takes the attributes {', '.join(rule.attributes)}."
        )
    for name, kind in rule.attributes.items():
        _attribute(type_, name, kind, attributes[name], now)
    return ParameterPolicy(type_, _json(item))


def parse_policies(text: str, now: datetime) -> tuple[ParameterPolicy, ...]:
    """Validate a Policies document; ``[]`` is valid and removes every policy."""
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise ValidationError("Policies must be a JSON array of parameter policies.") from exc
    if not isinstance(document, list):
        raise ValidationError("Policies must be a JSON array of parameter policies.")
    if len(document) > MAX_POLICIES:
        raise PoliciesLimitExceededError(
            f"A parameter can have at most {MAX_POLICIES} policies; {len(document)} were given."
        )
    policies = tuple(_one(item, now) for item in document)
    types = [p.type for p in policies]
    for type_ in POLICY_TYPES:
        if types.count(type_) > 1:
            raise IncompatiblePolicyError(
                f"There is a conflict in the policies specified for this parameter: more than"
                f" one {type_} policy."
            )
    if "ExpirationNotification" in types and "Expiration" not in types:
        raise IncompatiblePolicyError(
            "An ExpirationNotification policy needs an Expiration policy on the parameter."
        )
    return policies


def encode_policies(policies: tuple[ParameterPolicy, ...]) -> str | None:
    """The stored form: a JSON array, or None for no policies."""
    if not policies:
        return None
    return "[" + ",".join(p.text for p in policies) + "]"


def describe_policies(stored: str | None) -> list[dict[str, str]]:
    """``ParameterInlinePolicy`` entries for a stored Policies document."""
    if stored is None:
        return []
    return [
        {"PolicyText": _json(item), "PolicyType": str(item["Type"]), "PolicyStatus": "Pending"}
        for item in json.loads(stored)
    ]


_UNIT = {"Days": timedelta(days=1), "Hours": timedelta(hours=1)}


@dataclass(frozen=True, slots=True)
class ScheduledPolicy:
    """When one policy of a parameter acts next."""

    type: PolicyType
    due_at: datetime


def _timestamp(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _period(attributes: dict[str, str], count: str) -> timedelta:
    return int(attributes[count]) * _UNIT[attributes["Unit"]]


def _by_type(stored: str | None) -> dict[str, dict[str, Any]]:
    return {} if stored is None else {str(p["Type"]): p for p in json.loads(stored)}


def schedule(stored: str | None, last_change: datetime) -> list[ScheduledPolicy]:
    """When each policy of a stored (validated) document acts."""
    policies = _by_type(stored)
    out: list[ScheduledPolicy] = []
    expiration = policies.get(PolicyType.EXPIRATION)
    if expiration is not None:
        expires = _timestamp(expiration["Attributes"]["Timestamp"])
        out.append(ScheduledPolicy(PolicyType.EXPIRATION, expires))
        notice = policies.get(PolicyType.EXPIRATION_NOTIFICATION)
        if notice is not None:
            before = _period(notice["Attributes"], "Before")
            out.append(ScheduledPolicy(PolicyType.EXPIRATION_NOTIFICATION, expires - before))
    no_change = policies.get(PolicyType.NO_CHANGE_NOTIFICATION)
    if no_change is not None:
        after = _period(no_change["Attributes"], "After")
        out.append(ScheduledPolicy(PolicyType.NO_CHANGE_NOTIFICATION, last_change + after))
    return out


def _count(attributes: dict[str, str], count: str) -> str:
    unit = attributes["Unit"].lower()
    return f"{attributes[count]} {unit[:-1] if attributes[count] == '1' else unit}"


def action(
    pid: ParamId, parameter_type: str, stored: str, policy_type: PolicyType, now: datetime
) -> PolicyAction | None:
    """The Policy Action event's content when ``policy_type`` of ``stored`` acts at ``now``;
    None when the document has no such policy (any more)."""
    policies = _by_type(stored)
    policy = policies.get(policy_type)
    if policy is None:
        return None
    attributes = policy["Attributes"]
    if policy_type is PolicyType.EXPIRATION:
        status = "Finished"
        reason = (
            f"The parameter was deleted because its expiration time"
            f" {attributes['Timestamp']} was reached."
        )
    elif policy_type is PolicyType.EXPIRATION_NOTIFICATION:
        status = "Success"
        expires = policies[PolicyType.EXPIRATION]["Attributes"]["Timestamp"]
        reason = f"The parameter will expire in {_count(attributes, 'Before')}, at {expires}."
    else:
        status = "Success"
        reason = f"The parameter has not been changed for {_count(attributes, 'After')}."
    return PolicyAction(pid, parameter_type, policy_type, _json(policy), status, reason, now)
