"""Policy documents: JSON text -> ``Policy``, or ``MalformedPolicyDocumentError`` saying
what is wrong and where (``Statement[1].Condition.StringEquals: ...``)."""

from __future__ import annotations

import json
import re
from typing import Any

from cofre.core.policy._template import Matcher, Template, TemplateError
from cofre.core.policy.conditions import ConditionError, compile_condition
from cofre.core.policy.model import Effect, Policy, PolicyKind, PrincipalSet, Statement
from cofre.errors import MalformedPolicyDocumentError

VERSIONS = ("2012-10-17", "2008-10-17")
DEFAULT_VERSION = "2008-10-17"  # what IAM assumes when Version is omitted
# Limits: key policy 32 KB (KMS quotas); managed identity policy 6,144 characters
# excluding white space (IAM quotas).
KEY_POLICY_MAX_BYTES = 32 * 1024
TRUST_POLICY_MAX_CHARS = 2048  # the default quota for role trust policies
IDENTITY_POLICY_MAX_CHARS = 6144

_TOP_KEYS = frozenset({"Version", "Id", "Statement"})
_STATEMENT_KEYS = frozenset(
    {
        "Sid",
        "Effect",
        "Principal",
        "NotPrincipal",
        "Action",
        "NotAction",
        "Resource",
        "NotResource",
        "Condition",
    }
)
_PRINCIPAL_TYPES = frozenset({"AWS", "Service", "Federated", "CanonicalUser"})
_ACCOUNT_RE = re.compile(r"[0-9]{12}")
_ROOT_RE = re.compile(r"arn:aws[a-z-]*:iam::([0-9]{12}):root")
_ACTION_RE = re.compile(r"[A-Za-z0-9-]+:[A-Za-z0-9*?]+|\*")
_WHITESPACE = re.compile(r"\s+")


def _fail(where: str, what: str) -> MalformedPolicyDocumentError:
    prefix = f"{where}: " if where else ""
    return MalformedPolicyDocumentError(f"The policy is malformed. {prefix}{what}")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _fail("", f"duplicate element {key!r}")
        out[key] = value
    return out


def _reject_constant(name: str) -> Any:
    raise _fail("", f"{name} is not a JSON value")


def _load(text: str | bytes) -> Any:
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_reject_constant)
    except MalformedPolicyDocumentError:
        raise
    except (ValueError, RecursionError, TypeError) as exc:
        raise _fail("", "the document is not valid JSON") from exc


def _strings(value: Any, where: str) -> list[str]:
    """A string or a non-empty list of strings."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return list(value)
    raise _fail(where, "must be a string or a non-empty list of strings")


def _principals(value: Any, where: str, accounts_seen: set[str]) -> PrincipalSet:
    if value == "*":
        return PrincipalSet(True, frozenset(), frozenset(), frozenset(), ())
    if not isinstance(value, dict) or not value:
        raise _fail(where, 'must be "*" or an object such as {"AWS": ...}')
    arns: set[str] = set()
    accounts: set[str] = set()
    services: set[str] = set()
    others: list[str] = []
    wildcard = False
    for ptype, entries in value.items():
        if ptype not in _PRINCIPAL_TYPES:
            raise _fail(where, f"unknown principal type {ptype!r}")
        for entry in _strings(entries, f"{where}.{ptype}"):
            if ptype == "Service":
                services.add(entry)
            elif ptype != "AWS":
                others.append(f"{ptype}:{entry}")
            elif entry == "*":
                wildcard = True
            elif _ACCOUNT_RE.fullmatch(entry):
                accounts.add(entry)
            elif (root := _ROOT_RE.fullmatch(entry)) is not None:
                accounts.add(root.group(1))
            elif entry.startswith("arn:") and len(entry.split(":", 5)) == 6:
                arns.add(entry)
            else:
                raise _fail(where, f"invalid principal {entry!r}")
    accounts_seen.update(accounts)
    return PrincipalSet(
        wildcard, frozenset(arns), frozenset(accounts), frozenset(services), tuple(others)
    )


def _conditions(value: Any, where: str, variables: bool) -> list[Any]:
    if not isinstance(value, dict):
        raise _fail(where, "must be an object of operator -> {key: value(s)}")
    out = []
    for operator, block in value.items():
        here = f"{where}.{operator}"
        if not isinstance(block, dict) or not block:
            raise _fail(here, "must be a non-empty object of condition key -> value(s)")
        for key, raw in block.items():
            if not key or len(key) > 256:
                raise _fail(here, "condition key must be a non-empty string")
            values = raw if isinstance(raw, list) else [raw]
            if not all(isinstance(v, str | bool | int | float) for v in values):
                raise _fail(f"{here}.{key}", "values must be strings, numbers or booleans")
            try:
                out.append(compile_condition(operator, key, values, variables=variables))
            except (ConditionError, TemplateError) as exc:
                raise _fail(f"{here}.{key}", str(exc)) from None
    return out


def _statement(raw: Any, index: int, kind: PolicyKind, variables: bool) -> Statement:
    where = f"Statement[{index}]"
    if not isinstance(raw, dict):
        raise _fail(where, "must be an object")
    unknown = sorted(set(raw) - _STATEMENT_KEYS)
    if unknown:
        raise _fail(where, f"unknown element {unknown[0]!r}")
    sid = raw.get("Sid")
    if sid is not None and not isinstance(sid, str):
        raise _fail(where, "Sid must be a string")
    if sid is not None:
        where = f"Statement[{index}] (Sid {sid!r})"
    effect_raw = raw.get("Effect")
    if effect_raw not in ("Allow", "Deny"):
        raise _fail(where, 'Effect must be "Allow" or "Deny"')
    effect = Effect(effect_raw)

    has_p, has_np = "Principal" in raw, "NotPrincipal" in raw
    principal = not_principal = None
    accounts: set[str] = set()
    if kind is PolicyKind.IDENTITY:
        if has_p or has_np:
            raise _fail(where, "an identity-based policy cannot name a Principal")
    else:
        if has_p == has_np:
            raise _fail(where, "needs exactly one of Principal or NotPrincipal")
        if has_p:
            principal = _principals(raw["Principal"], f"{where}.Principal", accounts)
        else:
            if effect is Effect.ALLOW:
                raise _fail(where, 'NotPrincipal can only be used with "Effect": "Deny"')
            not_principal = _principals(raw["NotPrincipal"], f"{where}.NotPrincipal", accounts)

    if ("Action" in raw) == ("NotAction" in raw):
        raise _fail(where, "needs exactly one of Action or NotAction")
    not_action = "NotAction" in raw
    action_el = "NotAction" if not_action else "Action"
    actions = []
    for action in _strings(raw[action_el], f"{where}.{action_el}"):
        if not _ACTION_RE.fullmatch(action):
            raise _fail(f"{where}.{action_el}", f"invalid action {action!r}")
        actions.append(Template(action.lower(), variables=False, ignore_case=True))

    if kind is PolicyKind.TRUST:
        if "Resource" in raw or "NotResource" in raw:
            raise _fail(where, "a trust policy cannot have a Resource or NotResource")
        raw = {**raw, "Resource": "*"}  # the role itself
    if ("Resource" in raw) == ("NotResource" in raw):
        raise _fail(where, "needs exactly one of Resource or NotResource")
    not_resource = "NotResource" in raw
    res_el = "NotResource" if not_resource else "Resource"
    resources = []
    for resource in _strings(raw[res_el], f"{where}.{res_el}"):
        if resource != "*" and not resource.startswith("arn:"):
            raise _fail(f"{where}.{res_el}", f"invalid resource {resource!r}")
        try:
            resources.append(Template(resource, variables=variables))
        except TemplateError as exc:
            raise _fail(f"{where}.{res_el}", str(exc)) from None

    conditions = (
        _conditions(raw["Condition"], f"{where}.Condition", variables)
        if ("Condition" in raw)
        else []
    )
    return Statement(
        index=index,
        sid=sid,
        effect=effect,
        principal=principal,
        not_principal=not_principal,
        actions=tuple(actions),
        not_action=not_action,
        resources=tuple(resources),
        not_resource=not_resource,
        conditions=tuple(conditions),
        action_matcher=Matcher(tuple(actions), ignore_case=True),
        resource_matcher=Matcher(tuple(resources)),
    )


def check_size(text: str | bytes, kind: PolicyKind) -> None:
    if kind is PolicyKind.KEY:
        size = len(text) if isinstance(text, bytes) else len(text.encode("utf-8", "replace"))
        if size > KEY_POLICY_MAX_BYTES:
            raise _fail("", f"the key policy is {size} bytes; the limit is 32768")
    elif kind is PolicyKind.TRUST:
        chars = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
        count = len(_WHITESPACE.sub("", chars))
        if count > TRUST_POLICY_MAX_CHARS:
            raise _fail("", f"the trust policy has {count} characters; the limit is 2048")
    else:
        chars = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
        count = len(_WHITESPACE.sub("", chars))
        if count > IDENTITY_POLICY_MAX_CHARS:
            raise _fail("", f"the policy has {count} characters; the limit is 6144")


def parse_policy(text: str | bytes, kind: PolicyKind = PolicyKind.KEY) -> Policy:
    """Parse and validate a policy document.

    Raises MalformedPolicyDocumentError for anything AWS would reject: bad JSON, unknown
    elements, a missing Effect/Action/Resource, a Principal in an identity policy or none
    in a key policy, unknown condition operators, values of the wrong type, oversize.
    """
    check_size(text, kind)
    document = _load(text)
    if not isinstance(document, dict):
        raise _fail("", "the document must be a JSON object")
    unknown = sorted(set(document) - _TOP_KEYS)
    if unknown:
        raise _fail("", f"unknown top-level element {unknown[0]!r}")
    version = document.get("Version", DEFAULT_VERSION)
    if version not in VERSIONS:
        raise _fail("Version", f"must be one of {', '.join(VERSIONS)}")
    policy_id = document.get("Id")
    if policy_id is not None and not isinstance(policy_id, str):
        raise _fail("Id", "must be a string")
    if "Statement" not in document:
        raise _fail("", "missing required element 'Statement'")
    raw = document["Statement"]
    raw_list = [raw] if isinstance(raw, dict) else raw
    if not isinstance(raw_list, list) or not raw_list:
        raise _fail("Statement", "must be an object or a non-empty list of objects")
    variables = version == "2012-10-17"  # policy variables need the 2012 language
    statements = tuple(_statement(s, i, kind, variables) for i, s in enumerate(raw_list))
    sids = [s.sid for s in statements if s.sid]
    if len(sids) != len(set(sids)):
        raise _fail("Statement", "Sid values must be unique within a policy")
    return Policy(kind=kind, version=version, id=policy_id, statements=statements)
