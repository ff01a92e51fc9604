"""IAM and STS operations on the wire (AWS Query protocol): decode, call, encode.

IAM returns policy documents URL-encoded (botocore decodes every ``policyDocumentType``
member with ``unquote`` then ``json.loads``), so handlers quote them.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from cofre.api.handlers.operation import Handler, Operation, Params, Result
from cofre.container import Services
from cofre.core.iam.entities import ManagedPolicy, OwnerKind, PolicyVersion, Role, User
from cofre.core.iam.principals import Caller, Credential
from cofre.errors import UnsupportedOperationError
from cofre.service.pagination import Page


def _document(text: str) -> str:
    return quote(text, safe="")


def _no_tags(p: Params) -> None:
    if p.get("Tags") or p.get("PermissionsBoundary"):
        raise UnsupportedOperationError(
            "Tags and permissions boundaries on IAM entities are not supported by Cofre yet."
        )


def _listed(out: Result, page: Page[Any]) -> Result:
    out["IsTruncated"] = page.next_marker is not None
    if page.next_marker is not None:
        out["Marker"] = page.next_marker
    return out


def _user(user: User) -> Result:
    return {
        "Path": user.path,
        "UserName": user.name,
        "UserId": user.user_id,
        "Arn": user.arn,
        "CreateDate": user.created_at,
    }


def _key(credential: Credential) -> Result:
    return {
        "UserName": credential.user_name,
        "AccessKeyId": credential.access_key_id,
        "Status": credential.status.value,
        "CreateDate": credential.created_at,
    }


def _role(role: Role) -> Result:
    return {
        "Path": role.path,
        "RoleName": role.name,
        "RoleId": role.role_id,
        "Arn": role.arn,
        "CreateDate": role.created_at,
        "AssumeRolePolicyDocument": _document(role.trust_policy),
        "Description": role.description or None,
        "MaxSessionDuration": role.max_session_duration,
    }


def _policy(policy: ManagedPolicy, attachments: int) -> Result:
    return {
        "PolicyName": policy.name,
        "PolicyId": policy.policy_id,
        "Arn": policy.arn,
        "Path": policy.path,
        "DefaultVersionId": policy.default_version_id,
        "AttachmentCount": attachments,
        "PermissionsBoundaryUsageCount": 0,
        "IsAttachable": True,
        "Description": policy.description or None,
        "CreateDate": policy.created_at,
        "UpdateDate": policy.updated_at,
    }


def _version(policy: ManagedPolicy, version: PolicyVersion, document: bool) -> Result:
    out: Result = {
        "VersionId": version.version_id,
        "IsDefaultVersion": version.version_id == policy.default_version_id,
        "CreateDate": version.created_at,
    }
    if document:
        out["Document"] = _document(version.document)
    return out


# users and access keys ---------------------------------------------------------------
def create_user(s: Services, c: Caller, p: Params) -> Result:
    _no_tags(p)
    return {"User": _user(s.users.create_user(c, p["UserName"], p.get("Path")))}


def get_user(s: Services, c: Caller, p: Params) -> Result:
    user = s.users.get_user(c, p.get("UserName"))
    if user is None:  # the account root asking about itself
        return {"User": {"UserId": c.account_id, "Arn": c.principal_arn, "Path": "/"}}
    return {"User": _user(user)}


def list_users(s: Services, c: Caller, p: Params) -> Result:
    page = s.users.list_users(c, p.get("PathPrefix"), p.get("Marker"), p.get("MaxItems"))
    return _listed({"Users": [_user(u) for u in page.items]}, page)


def delete_user(s: Services, c: Caller, p: Params) -> Result:
    s.users.delete_user(c, p["UserName"])
    return {}


def create_access_key(s: Services, c: Caller, p: Params) -> Result:
    new = s.users.create_access_key(c, p.get("UserName"))
    return {"AccessKey": {**_key(new.credential), "SecretAccessKey": new.secret_access_key}}


def list_access_keys(s: Services, c: Caller, p: Params) -> Result:
    keys = s.users.list_access_keys(c, p.get("UserName"))
    return {"AccessKeyMetadata": [_key(k) for k in keys], "IsTruncated": False}


def update_access_key(s: Services, c: Caller, p: Params) -> Result:
    s.users.update_access_key(c, p.get("UserName"), p["AccessKeyId"], p["Status"])
    return {}


def delete_access_key(s: Services, c: Caller, p: Params) -> Result:
    s.users.delete_access_key(c, p.get("UserName"), p["AccessKeyId"])
    return {}


# inline policies of users and roles --------------------------------------------------
def _inline_handlers(kind: OwnerKind, member: str) -> dict[str, Handler]:
    word = "User" if kind is OwnerKind.USER else "Role"

    def put(s: Services, c: Caller, p: Params) -> Result:
        s.policies.put_inline(c, kind, p[member], p["PolicyName"], p["PolicyDocument"])
        return {}

    def get(s: Services, c: Caller, p: Params) -> Result:
        policy = s.policies.get_inline(c, kind, p[member], p["PolicyName"])
        return {
            member: policy.owner_name,
            "PolicyName": policy.name,
            "PolicyDocument": _document(policy.document),
        }

    def list_(s: Services, c: Caller, p: Params) -> Result:
        return {"PolicyNames": s.policies.list_inline(c, kind, p[member]), "IsTruncated": False}

    def delete(s: Services, c: Caller, p: Params) -> Result:
        s.policies.delete_inline(c, kind, p[member], p["PolicyName"])
        return {}

    def attach(s: Services, c: Caller, p: Params) -> Result:
        s.policies.attach(c, kind, p[member], p["PolicyArn"])
        return {}

    def detach(s: Services, c: Caller, p: Params) -> Result:
        s.policies.detach(c, kind, p[member], p["PolicyArn"])
        return {}

    def list_attached(s: Services, c: Caller, p: Params) -> Result:
        policies = s.policies.list_attached(c, kind, p[member])
        return {
            "AttachedPolicies": [{"PolicyName": x.name, "PolicyArn": x.arn} for x in policies],
            "IsTruncated": False,
        }

    return {
        f"Put{word}Policy": put,
        f"Get{word}Policy": get,
        f"List{word}Policies": list_,
        f"Delete{word}Policy": delete,
        f"Attach{word}Policy": attach,
        f"Detach{word}Policy": detach,
        f"ListAttached{word}Policies": list_attached,
    }


# managed policies --------------------------------------------------------------------
def create_policy(s: Services, c: Caller, p: Params) -> Result:
    _no_tags(p)
    policy = s.policies.create_policy(
        c, p["PolicyName"], p.get("Path"), p["PolicyDocument"], p.get("Description", "")
    )
    return {"Policy": _policy(policy, 0)}


def get_policy(s: Services, c: Caller, p: Params) -> Result:
    return {"Policy": _policy(*s.policies.get_policy(c, p["PolicyArn"]))}


def list_policies(s: Services, c: Caller, p: Params) -> Result:
    page = s.policies.list_policies(
        c,
        p.get("Scope"),
        bool(p.get("OnlyAttached")),
        p.get("PathPrefix"),
        p.get("Marker"),
        p.get("MaxItems"),
    )
    return _listed({"Policies": [_policy(x, n) for x, n in page.items]}, page)


def delete_policy(s: Services, c: Caller, p: Params) -> Result:
    s.policies.delete_policy(c, p["PolicyArn"])
    return {}


def create_policy_version(s: Services, c: Caller, p: Params) -> Result:
    arn = p["PolicyArn"]
    version = s.policies.create_version(c, arn, p["PolicyDocument"], bool(p.get("SetAsDefault")))
    return {
        "PolicyVersion": {
            "VersionId": version.version_id,
            "IsDefaultVersion": bool(p.get("SetAsDefault")),
            "CreateDate": version.created_at,
        }
    }


def get_policy_version(s: Services, c: Caller, p: Params) -> Result:
    policy, version = s.policies.get_version(c, p["PolicyArn"], p["VersionId"])
    return {"PolicyVersion": _version(policy, version, document=True)}


def list_policy_versions(s: Services, c: Caller, p: Params) -> Result:
    policy, versions = s.policies.list_versions(c, p["PolicyArn"])
    return {
        "Versions": [_version(policy, v, document=False) for v in versions],
        "IsTruncated": False,
    }


def delete_policy_version(s: Services, c: Caller, p: Params) -> Result:
    s.policies.delete_version(c, p["PolicyArn"], p["VersionId"])
    return {}


def set_default_policy_version(s: Services, c: Caller, p: Params) -> Result:
    s.policies.set_default_version(c, p["PolicyArn"], p["VersionId"])
    return {}


# roles -------------------------------------------------------------------------------
def create_role(s: Services, c: Caller, p: Params) -> Result:
    _no_tags(p)
    role = s.roles.create_role(
        c,
        p["RoleName"],
        p.get("Path"),
        p["AssumeRolePolicyDocument"],
        p.get("Description", ""),
        p.get("MaxSessionDuration"),
    )
    return {"Role": _role(role)}


def get_role(s: Services, c: Caller, p: Params) -> Result:
    return {"Role": _role(s.roles.get_role(c, p["RoleName"]))}


def list_roles(s: Services, c: Caller, p: Params) -> Result:
    page = s.roles.list_roles(c, p.get("PathPrefix"), p.get("Marker"), p.get("MaxItems"))
    return _listed({"Roles": [_role(r) for r in page.items]}, page)


def update_assume_role_policy(s: Services, c: Caller, p: Params) -> Result:
    s.roles.update_trust_policy(c, p["RoleName"], p["PolicyDocument"])
    return {}


def update_role(s: Services, c: Caller, p: Params) -> Result:
    s.roles.update_role(c, p["RoleName"], p.get("Description"), p.get("MaxSessionDuration"))
    return {}


def delete_role(s: Services, c: Caller, p: Params) -> Result:
    s.roles.delete_role(c, p["RoleName"])
    return {}


# STS ---------------------------------------------------------------------------------
def get_caller_identity(s: Services, c: Caller, p: Params) -> Result:
    return {"UserId": c.principal_id or c.account_id, "Account": c.account_id,
            "Arn": c.principal_arn}  # fmt: skip


def assume_role(s: Services, c: Caller, p: Params) -> Result:
    if p.get("Tags") or p.get("TransitiveTagKeys"):
        raise UnsupportedOperationError("Session tags are not supported by Cofre yet.")
    session = s.roles.assume_role(
        c,
        p["RoleArn"],
        p["RoleSessionName"],
        p.get("DurationSeconds"),
        p.get("ExternalId"),
        session_policy=bool(p.get("Policy") or p.get("PolicyArns")),
    )
    return {
        "Credentials": {
            "AccessKeyId": session.access_key_id,
            "SecretAccessKey": session.secret_access_key,
            "SessionToken": session.session_token,
            "Expiration": session.expiration,
        },
        "AssumedRoleUser": {"AssumedRoleId": session.assumed_role_id, "Arn": session.arn},
    }


def _threaded(handlers: dict[str, Handler]) -> dict[str, Operation]:
    return {name: Operation(handler, inline=False) for name, handler in handlers.items()}


IAM_OPERATIONS: dict[str, Operation] = _threaded(
    {
        "CreateUser": create_user,
        "GetUser": get_user,
        "ListUsers": list_users,
        "DeleteUser": delete_user,
        "CreateAccessKey": create_access_key,
        "ListAccessKeys": list_access_keys,
        "UpdateAccessKey": update_access_key,
        "DeleteAccessKey": delete_access_key,
        **_inline_handlers(OwnerKind.USER, "UserName"),
        **_inline_handlers(OwnerKind.ROLE, "RoleName"),
        "CreatePolicy": create_policy,
        "GetPolicy": get_policy,
        "ListPolicies": list_policies,
        "DeletePolicy": delete_policy,
        "CreatePolicyVersion": create_policy_version,
        "GetPolicyVersion": get_policy_version,
        "ListPolicyVersions": list_policy_versions,
        "DeletePolicyVersion": delete_policy_version,
        "SetDefaultPolicyVersion": set_default_policy_version,
        "CreateRole": create_role,
        "GetRole": get_role,
        "ListRoles": list_roles,
        "UpdateAssumeRolePolicy": update_assume_role_policy,
        "UpdateRole": update_role,
        "DeleteRole": delete_role,
    }
)

STS_OPERATIONS: dict[str, Operation] = _threaded(
    {"GetCallerIdentity": get_caller_identity, "AssumeRole": assume_role}
)
