"""Micro-benchmark of one authorization decision: AWS's default key policy (delegating
to IAM) plus an identity policy of five statements with encryption-context conditions.

Run directly for the figure: ``.venv/bin/python -m tests.unit.core.policy.bench_policy``.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

from cofre.core.kms.default_policy import default_key_policy
from cofre.core.policy import PolicyKind, RequestContext, authorize, parse_policy

ACCOUNT = "111122223333"
KEY = f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
KEYS = f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/*"

IDENTITY_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "Describe",
            "Effect": "Allow",
            "Action": ["kms:Describe*", "kms:List*"],
            "Resource": "*",
        },
        {
            "Sid": "DenyWithoutTenant",
            "Effect": "Deny",
            "Action": ["kms:Encrypt", "kms:Decrypt"],
            "Resource": "*",
            "Condition": {"Null": {"kms:EncryptionContext:tenant": "true"}},
        },
        {
            "Sid": "DecryptBilling",
            "Effect": "Allow",
            "Action": "kms:Decrypt",
            "Resource": KEYS,
            "Condition": {"StringEquals": {"kms:EncryptionContext:app": "billing"}},
        },
        {
            "Sid": "OnlyKnownKeys",
            "Effect": "Deny",
            "Action": "kms:*",
            "Resource": "*",
            "Condition": {
                "ForAnyValue:StringNotEquals": {
                    "kms:EncryptionContextKeys": ["app", "tenant", "purpose"]
                }
            },
        },
        {
            "Sid": "EncryptOwnTenant",
            "Effect": "Allow",
            "Action": ["kms:Encrypt", "kms:GenerateDataKey*"],
            "Resource": KEYS,
            "Condition": {
                "StringEquals": {"kms:EncryptionContext:app": "billing"},
                "StringLike": {"kms:EncryptionContext:tenant": "t-*"},
            },
        },
    ],
}


def scenario() -> tuple[object, ...]:
    key_policy = parse_policy(default_key_policy(ACCOUNT), PolicyKind.KEY)
    identity = [parse_policy(json.dumps(IDENTITY_POLICY), PolicyKind.IDENTITY)]
    ctx = RequestContext(
        principal_arn=f"arn:aws:iam::{ACCOUNT}:user/alice",
        principal_account=ACCOUNT,
        action="kms:Encrypt",
        resource_arn=KEY,
        resource_account=ACCOUNT,
        current_time=datetime(2024, 6, 1, tzinfo=UTC),
        source_ip="10.0.0.1",
        secure_transport=True,
        username="alice",
        encryption_context={"app": "billing", "tenant": "t-42"},
    )
    return key_policy, identity, ctx


def measure(iterations: int = 20000, *, with_context: bool = False) -> float:
    """Microseconds per decision (best of three runs); optionally also building the
    RequestContext each time, as a request does."""
    key_policy, identity, ctx = scenario()
    assert isinstance(ctx, RequestContext)
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(iterations):
            if with_context:
                ctx = RequestContext(
                    principal_arn=ctx.principal_arn,
                    principal_account=ACCOUNT,
                    action="kms:Encrypt",
                    resource_arn=KEY,
                    resource_account=ACCOUNT,
                    current_time=ctx.current_time,
                    username="alice",
                    encryption_context={"app": "billing", "tenant": "t-42"},
                )
            decision = authorize(key_policy, identity, ctx)  # type: ignore[arg-type]
        elapsed = time.perf_counter() - start
        assert decision.allowed
        best = min(best, elapsed)
    return best / iterations * 1e6


if __name__ == "__main__":
    print(f"decision: {measure():.2f} us; with context build: {measure(with_context=True):.2f} us")
