"""IAM roles: create one with its trust policy, its page (the trust policy and inline
policies in the validating editor, attached policies), delete."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from cofre.api.console.calls import CallError, Client
from cofre.api.console.pages import pretty_json
from cofre.api.console.pages.iam import overview
from cofre.api.console.pages.owners import POLICY_ACTIONS, Owner, change_policies, policy_parts
from cofre.api.console.view import Route, View
from cofre.api.console.web import Page, redirect, url


def create_role(view: View) -> Page:
    form = view.form
    name = form.get("role_name", "").strip()
    try:
        view.client.iam("CreateRole", RoleName=name,
                        AssumeRolePolicyDocument=form.get("trust", ""))  # fmt: skip
    except CallError as failure:
        return overview(view, trust_failure=failure, trust_draft=form)
    return redirect(url(f"/console/iam/roles/{name}", done="created"))


def role(view: View, error: CallError | None = None, **extra: Any) -> Page:
    client: Client = view.client
    name = view.arg("name")
    found = client.iam("GetRole", RoleName=name)["Role"]
    failed = error or extra.get("policy_failure") or extra.get("trust_failure")
    context = {
        "section": "iam", "role": found,
        "trust": pretty_json(unquote(found.get("AssumeRolePolicyDocument") or "")),
        **policy_parts(client, Owner("Role", "RoleName", name)),
        "error": error, "done": view.query.get("done", ""), **extra,
    }  # fmt: skip
    return Page("role.html", context, status=failed.status if failed is not None else 200)


def role_change(view: View) -> Page:
    name, action, form = view.arg("name"), view.arg("action"), view.form
    try:
        if action == "trust":
            try:
                view.client.iam("UpdateAssumeRolePolicy", RoleName=name,
                                PolicyDocument=form.get("trust", ""))  # fmt: skip
            except CallError as failure:  # in place, as typed
                return role(view, trust_failure=failure, trust_draft=form.get("trust", ""))
        elif action in POLICY_ACTIONS:
            try:
                change_policies(view.client, Owner("Role", "RoleName", name), action, form)
            except CallError as failure:
                if action != "put-policy":
                    raise
                return role(view, policy_failure=failure, draft=form)
        elif action == "delete-role":
            view.client.iam("DeleteRole", RoleName=name)
            return redirect(url("/console/iam", done="role deleted"))
        else:
            return Page("error.html", {"missing": True}, status=404)
    except CallError as error:
        return role(view, error=error)
    return redirect(url(f"/console/iam/roles/{name}", done=action))


_NAME = r"(?P<name>[\w+=,.@-]{1,64})"
ROUTES: list[Route] = [
    ("POST", r"/console/iam/roles", create_role),
    ("GET", r"/console/iam/roles/" + _NAME, role),
    ("POST", r"/console/iam/roles/" + _NAME + r"/(?P<action>[a-z-]{1,40})", role_change),
]
