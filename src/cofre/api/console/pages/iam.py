"""IAM: users and roles; a user's access keys (a new key's secret shown once), inline
policies in the validating editor, attached managed policies."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from cofre.api.console.calls import CallError, Client
from cofre.api.console.pages import attempt, pretty_json
from cofre.api.console.pages.owners import POLICY_ACTIONS, Owner, change_policies, policy_parts
from cofre.api.console.view import Route, View
from cofre.api.console.web import Page, redirect, url


def overview(view: View, error: CallError | None = None, **extra: Any) -> Page:
    client: Client = view.client
    users, users_error = attempt(lambda: client.iam("ListUsers", MaxItems=200).get("Users", []))
    roles, roles_error = attempt(lambda: client.iam("ListRoles", MaxItems=200).get("Roles", []))
    policies, policies_error = attempt(
        lambda: client.iam("ListPolicies", Scope="Local", MaxItems=200).get("Policies", [])
    )
    failed = error or extra.get("policy_failure") or extra.get("trust_failure")
    context = {
        "section": "iam", "users": users or [], "users_error": users_error, "roles": roles or [],
        "roles_error": roles_error, "policies": policies or [], "policies_error": policies_error,
        "error": error, "done": view.query.get("done", ""), **extra,
    }  # fmt: skip
    return Page("iam.html", context, status=failed.status if failed is not None else 200)


def create_user(view: View) -> Page:
    name = view.form.get("user_name", "").strip()
    try:
        view.client.iam("CreateUser", UserName=name)
    except CallError as error:
        return overview(view, error=error)
    return redirect(url(f"/console/iam/users/{name}", done="created"))


def user(view: View, error: CallError | None = None, **extra: Any) -> Page:
    client: Client = view.client
    name = view.arg("name")
    found = client.iam("GetUser", UserName=name)["User"]
    keys, keys_error = attempt(
        lambda: client.iam("ListAccessKeys", UserName=name).get("AccessKeyMetadata", [])
    )
    failed = error or extra.get("policy_failure")
    context = {
        "section": "iam", "user": found, "keys": keys or [], "keys_error": keys_error,
        **policy_parts(client, Owner("User", "UserName", name)),
        "error": error, "done": view.query.get("done", ""), **extra,
    }  # fmt: skip
    return Page("user.html", context, status=failed.status if failed is not None else 200)


def user_change(view: View) -> Page:
    name, action, form = view.arg("name"), view.arg("action"), view.form
    iam = view.client.iam
    try:
        if action == "create-key":
            created = iam("CreateAccessKey", UserName=name)["AccessKey"]
            return user(view, new_key=created)  # the only time the secret is shown
        if action == "key-status":
            iam("UpdateAccessKey", UserName=name, AccessKeyId=form.get("access_key_id", ""),
                Status=form.get("status", "Inactive"))  # fmt: skip
        elif action == "delete-key":
            iam("DeleteAccessKey", UserName=name, AccessKeyId=form.get("access_key_id", ""))
        elif action in POLICY_ACTIONS:
            try:
                change_policies(view.client, Owner("User", "UserName", name), action, form)
            except CallError as failure:
                if action != "put-policy":
                    raise
                return user(view, policy_failure=failure, draft=form)  # in place, as typed
        elif action == "delete-user":
            iam("DeleteUser", UserName=name)
            return redirect(url("/console/iam", done="user deleted"))
        else:
            return Page("error.html", {"missing": True}, status=404)
    except CallError as error:
        return user(view, error=error)
    return redirect(url(f"/console/iam/users/{name}", done=action))


def create_policy(view: View) -> Page:
    form = view.form
    try:
        out = view.client.iam("CreatePolicy", PolicyName=form.get("policy_name", "").strip(),
                              PolicyDocument=form.get("document", ""))  # fmt: skip
    except CallError as failure:  # in place, the document as it was typed
        return overview(view, policy_failure=failure, draft=form)
    return redirect(url("/console/iam/policy", arn=out["Policy"]["Arn"], done="created"))


def policy(view: View, **extra: Any) -> Page:
    client: Client = view.client
    arn = view.query.get("arn") or view.form.get("arn", "")
    found = client.iam("GetPolicy", PolicyArn=arn)["Policy"]
    version = client.iam("GetPolicyVersion", PolicyArn=arn,
                         VersionId=found["DefaultVersionId"])["PolicyVersion"]  # fmt: skip
    versions, _ = attempt(
        lambda: client.iam("ListPolicyVersions", PolicyArn=arn).get("Versions", [])
    )
    failed = extra.get("policy_failure")
    context = {
        "section": "iam", "policy": found, "document": pretty_json(unquote(version["Document"])),
        "versions": versions or [], "done": view.query.get("done", ""), **extra,
    }  # fmt: skip
    return Page("policy.html", context, status=failed.status if failed is not None else 200)


def policy_version(view: View) -> Page:
    """A new default version of a managed policy, from the editor."""
    arn = view.form.get("arn", "")
    draft = view.form.get("document", "")
    try:
        view.client.iam(
            "CreatePolicyVersion", PolicyArn=arn, PolicyDocument=draft, SetAsDefault="true"
        )
    except CallError as failure:
        return policy(view, policy_failure=failure, draft=draft)
    return redirect(url("/console/iam/policy", arn=arn, done="saved"))


_NAME = r"(?P<name>[\w+=,.@-]{1,64})"
ROUTES: list[Route] = [
    ("GET", r"/console/iam", overview),
    ("POST", r"/console/iam/users", create_user),
    ("POST", r"/console/iam/policies", create_policy),
    ("GET", r"/console/iam/policy", policy),
    ("POST", r"/console/iam/policy", policy_version),
    ("GET", r"/console/iam/users/" + _NAME, user),
    ("POST", r"/console/iam/users/" + _NAME + r"/(?P<action>[a-z-]{1,40})", user_change),
]
