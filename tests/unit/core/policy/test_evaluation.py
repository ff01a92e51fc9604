"""The evaluation tables: condition operators and KMS's combined decision."""

from __future__ import annotations

import json
from typing import Any

import pytest

from cofre.core.ids import root_arn
from cofre.core.kms.default_policy import default_key_policy
from cofre.core.policy import (
    Decision,
    PolicyKind,
    Reason,
    authorize,
    evaluate_policy,
    parse_policy,
)
from tests.unit.core.policy.cases_authorize import ALICE, AUTH_CASES, CAROL_B, KEY, A, B
from tests.unit.core.policy.cases_conditions import CONDITION_CASES
from tests.unit.core.policy.support import (
    context_from_condition_keys,
    make_context,
    make_grant,
)


@pytest.mark.parametrize(
    ("condition", "keys", "holds"),
    [pytest.param(c, k, h, id=name) for name, c, k, h in CONDITION_CASES],
)
def test_condition(condition: dict[str, Any], keys: dict[str, Any], holds: bool) -> None:
    document: dict[str, Any] = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "c",
                "Effect": "Allow",
                "Action": "kms:Encrypt",
                "Resource": "*",
                "Condition": condition,
            }
        ],
    }
    policy = parse_policy(json.dumps(document), PolicyKind.IDENTITY)
    result = evaluate_policy(policy, context_from_condition_keys(keys))
    assert result.decision is (Decision.ALLOW if holds else Decision.NOT_APPLICABLE)
    if holds:
        assert result.statements == ("c",)
    # The same condition on a Deny statement flips to an explicit deny.
    document["Statement"][0]["Effect"] = "Deny"
    denied = evaluate_policy(
        parse_policy(json.dumps(document), PolicyKind.IDENTITY), context_from_condition_keys(keys)
    )
    assert denied.decision is (Decision.DENY if holds else Decision.NOT_APPLICABLE)


@pytest.mark.parametrize(
    ("key_policy", "identity", "over", "grants", "expected"),
    [pytest.param(kp, ip, o, g, e, id=name) for name, kp, ip, o, g, e in AUTH_CASES],
)
def test_authorize(
    key_policy: dict[str, Any] | None,
    identity: list[dict[str, Any]],
    over: dict[str, Any],
    grants: list[dict[str, Any]],
    expected: str,
) -> None:
    kp_text = default_key_policy(A) if key_policy is None else json.dumps(key_policy)
    kp = parse_policy(kp_text, PolicyKind.KEY)
    ips = [parse_policy(json.dumps(p), PolicyKind.IDENTITY) for p in identity]
    ctx = make_context(over)
    decision = authorize(kp, ips, ctx, [make_grant(g, i) for i, g in enumerate(grants)])
    assert decision.reason is Reason(expected)
    assert decision.allowed is (expected in ("key-policy", "iam-delegation", "grant"))
    assert bool(decision.message) is not decision.allowed
    if expected == "grant":
        assert decision.grant_id is not None


def test_messages_have_aws_shape() -> None:
    kp = parse_policy(default_key_policy(A))
    ctx = make_context({})
    denied = authorize(kp, [], ctx)
    assert denied.message == (
        f"User: {ALICE} is not authorized to perform: kms:Encrypt on resource: {KEY} "
        "because no identity-based policy allows the kms:Encrypt action"
    )
    other = make_context({"principal": CAROL_B, "account": B})
    assert authorize(kp, [], other).message.endswith(
        "because no resource-based policy allows the kms:Encrypt action"
    )
    deny = parse_policy(
        json.dumps(
            {
                "Statement": [
                    {"Effect": "Deny", "Principal": "*", "Action": "kms:*", "Resource": "*"}
                ]
            }
        )
    )
    assert authorize(deny, [], ctx).message.endswith(
        "with an explicit deny in a resource-based policy"
    )
    iam_deny = parse_policy(
        json.dumps({"Statement": [{"Effect": "Deny", "Action": "kms:*", "Resource": "*"}]}),
        PolicyKind.IDENTITY,
    )
    assert authorize(kp, [iam_deny], ctx).message.endswith(
        "with an explicit deny in an identity-based policy"
    )


def test_evaluate_reports_delegation_and_statement_ids() -> None:
    kp = parse_policy(default_key_policy(A))
    user = evaluate_policy(kp, make_context({}))
    assert user.decision is Decision.NOT_APPLICABLE
    assert user.delegated == ("Enable IAM User Permissions",)
    root = evaluate_policy(kp, make_context({"principal": root_arn(A)}))
    assert root.decision is Decision.ALLOW
    assert root.statements == ("Enable IAM User Permissions",)


def test_unnamed_statements_are_labelled_by_position() -> None:
    policy = parse_policy(
        json.dumps(
            {
                "Statement": [
                    {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"},
                    {"Effect": "Allow", "Action": "kms:*", "Resource": "*"},
                ]
            }
        ),
        PolicyKind.IDENTITY,
    )
    assert evaluate_policy(policy, make_context({})).statements == ("Statement[1]",)


def test_table_sizes() -> None:
    assert len(CONDITION_CASES) + len(AUTH_CASES) > 200
