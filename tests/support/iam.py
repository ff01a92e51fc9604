"""Helpers for tests that act as several principals: users with policies, their clients."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from tests.support.server import ACCOUNT_ID, CofreServer


def document(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action: str | list[str], resource: str = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action: str | list[str], resource: str = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@dataclass(frozen=True)
class Principal:
    name: str
    arn: str
    access_key_id: str
    secret_access_key: str
    session_token: str | None = None

    def client(self, server: CofreServer, service: str = "kms", **overrides: Any) -> Any:
        return server.client(
            service,
            aws_access_key_id=self.access_key_id,
            aws_secret_access_key=self.secret_access_key,
            aws_session_token=self.session_token,
            **overrides,
        )


def make_user(
    server: CofreServer,
    *statements: dict[str, Any],
    iam: Any = None,
    account_id: str = ACCOUNT_ID,
) -> Principal:
    """A new IAM user with an access key and (if any statements) one inline policy."""
    iam = iam or server.client("iam")
    name = unique("user")
    user = iam.create_user(UserName=name)["User"]
    if statements:
        iam.put_user_policy(
            UserName=name, PolicyName="inline", PolicyDocument=document(*statements)
        )
    key = iam.create_access_key(UserName=name)["AccessKey"]
    assert user["Arn"] == f"arn:aws:iam::{account_id}:user/{name}"
    return Principal(name, user["Arn"], key["AccessKeyId"], key["SecretAccessKey"])
