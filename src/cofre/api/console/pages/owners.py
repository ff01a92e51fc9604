"""What IAM users and roles share on their pages: inline policies (in the validating
editor) and attached managed policies."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from cofre.api.console.calls import Client
from cofre.api.console.pages import attempt, pretty_json


@dataclass(frozen=True)
class Owner:
    """A user or a role: ``word`` as the operations name it, ``member`` its input member."""

    word: str  # "User" or "Role"
    member: str  # "UserName" or "RoleName"
    name: str

    def call(self, client: Client, operation: str, **params: Any) -> Any:
        return client.iam(operation.format(self.word), **{self.member: self.name}, **params)


def policy_parts(client: Client, owner: Owner) -> dict[str, Any]:
    """The inline and attached policies of ``owner``, each part possibly denied."""

    def inline() -> list[dict[str, str]]:
        names = owner.call(client, "List{}Policies").get("PolicyNames", [])
        out = []
        for name in names:
            got = owner.call(client, "Get{}Policy", PolicyName=name)
            out.append({"name": name, "document": pretty_json(unquote(got["PolicyDocument"]))})
        return out

    part: dict[str, Any] = {}
    policies, part["policies_error"] = attempt(inline)
    attached, part["attached_error"] = attempt(
        lambda: owner.call(client, "ListAttached{}Policies").get("AttachedPolicies", [])
    )
    part["policies"], part["attached"] = policies or [], attached or []
    return part


POLICY_ACTIONS = frozenset({"put-policy", "delete-policy", "attach", "detach"})


def change_policies(client: Client, owner: Owner, action: str, form: dict[str, str]) -> None:
    """One of :data:`POLICY_ACTIONS`; the call's ``CallError`` if refused."""
    if action == "put-policy":
        owner.call(client, "Put{}Policy", PolicyName=form.get("policy_name", ""),
                   PolicyDocument=form.get("document", ""))  # fmt: skip
    elif action == "delete-policy":
        owner.call(client, "Delete{}Policy", PolicyName=form.get("policy_name", ""))
    elif action == "attach":
        owner.call(client, "Attach{}Policy", PolicyArn=form.get("policy_arn", ""))
    elif action == "detach":
        owner.call(client, "Detach{}Policy", PolicyArn=form.get("policy_arn", ""))
