"""Keys: the list (filter, paging, create) and a key's page (aliases, tags, state,
deletion, rotation, grants, the key policy)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cofre.api.console.calls import CallError, Client
from cofre.api.console.pages import attempt, pretty_json
from cofre.api.console.view import Route, View
from cofre.api.console.web import Page, redirect, url

PAGE_SIZE = 25
SCAN_LIMIT = 500  # keys described per page at most while filtering
STATES = ("Enabled", "Disabled", "PendingDeletion", "PendingImport", "Unavailable", "Creating")
# The kinds of key the create form offers: only valid spec and usage combinations.
KINDS: tuple[tuple[str, str, str], ...] = (
    ("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT", "Symmetric (AES-256-GCM), encrypt and decrypt"),
    ("RSA_2048", "ENCRYPT_DECRYPT", "RSA 2048, encrypt and decrypt"),
    ("RSA_3072", "ENCRYPT_DECRYPT", "RSA 3072, encrypt and decrypt"),
    ("RSA_4096", "ENCRYPT_DECRYPT", "RSA 4096, encrypt and decrypt"),
    ("RSA_2048", "SIGN_VERIFY", "RSA 2048, sign and verify"),
    ("RSA_3072", "SIGN_VERIFY", "RSA 3072, sign and verify"),
    ("RSA_4096", "SIGN_VERIFY", "RSA 4096, sign and verify"),
    ("ECC_NIST_P256", "SIGN_VERIFY", "ECC NIST P-256, sign and verify"),
    ("ECC_NIST_P384", "SIGN_VERIFY", "ECC NIST P-384, sign and verify"),
    ("ECC_NIST_P521", "SIGN_VERIFY", "ECC NIST P-521, sign and verify"),
    ("ECC_SECG_P256K1", "SIGN_VERIFY", "ECC secp256k1, sign and verify"),
    ("HMAC_224", "GENERATE_VERIFY_MAC", "HMAC 224, generate and verify MACs"),
    ("HMAC_256", "GENERATE_VERIFY_MAC", "HMAC 256, generate and verify MACs"),
    ("HMAC_384", "GENERATE_VERIFY_MAC", "HMAC 384, generate and verify MACs"),
    ("HMAC_512", "GENERATE_VERIFY_MAC", "HMAC 512, generate and verify MACs"),
)
SPECS = tuple(dict.fromkeys(spec for spec, _, _ in KINDS))


def _aliases_by_key(client: Client) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    marker = None
    for _ in range(50):
        out = client.kms("ListAliases", Limit=100, Marker=marker)
        for alias in out.get("Aliases", []):
            if alias.get("TargetKeyId"):
                found.setdefault(alias["TargetKeyId"], []).append(alias["AliasName"])
        marker = out.get("NextMarker")
        if not out.get("Truncated"):
            break
    return found


def _matches(meta: Mapping[str, Any], aliases: list[str], q: str, state: str, spec: str) -> bool:
    if state and meta.get("KeyState") != state:
        return False
    if spec and meta.get("KeySpec") != spec:
        return False
    if q:
        text = " ".join([meta.get("KeyId", ""), meta.get("Description", ""), *aliases]).lower()
        return q.lower() in text
    return True


def _describe(client: Client, key_id: str) -> tuple[Any, CallError | None]:
    return attempt(lambda: client.kms("DescribeKey", KeyId=key_id))


def key_list(view: View) -> Page:
    client: Client = view.client
    q, state = view.query.get("q", "").strip(), view.query.get("state", "")
    spec = view.query.get("spec", "")
    marker = view.query.get("marker") or None
    aliases, alias_error = attempt(lambda: _aliases_by_key(client))
    aliases = aliases or {}
    rows: list[dict[str, Any]] = []
    scanned = 0
    next_marker = None
    while True:
        out = client.kms("ListKeys", Limit=PAGE_SIZE, Marker=marker)
        for entry in out.get("Keys", []):
            scanned += 1
            key_id = str(entry["KeyId"])
            meta, error = _describe(client, key_id)
            names = aliases.get(entry["KeyId"], [])
            if error is not None:
                if not (q or state or spec):
                    rows.append({"KeyId": entry["KeyId"], "aliases": names, "error": error})
                continue
            assert meta is not None
            metadata = meta["KeyMetadata"]
            if _matches(metadata, names, q, state, spec):
                rows.append({**metadata, "aliases": names})
        next_marker = out.get("NextMarker") if out.get("Truncated") else None
        if next_marker is None or len(rows) >= PAGE_SIZE or scanned >= SCAN_LIMIT:
            break
        marker = next_marker
    context = {
        "section": "keys", "rows": rows, "q": q, "state": state, "spec": spec,
        "states": STATES, "specs": SPECS, "kinds": KINDS, "next_marker": next_marker,
        "alias_error": alias_error, "done": view.query.get("done", ""),
        "paged": bool(view.query.get("marker")),
    }  # fmt: skip
    return Page("keys.html", context)


def key_create(view: View) -> Page:
    form = view.form
    spec, _, usage = form.get("kind", "SYMMETRIC_DEFAULT|ENCRYPT_DECRYPT").partition("|")
    params: dict[str, Any] = {"KeySpec": spec, "KeyUsage": usage}
    if form.get("description"):
        params["Description"] = form["description"]
    if form.get("origin") == "EXTERNAL":
        params["Origin"] = "EXTERNAL"
    if form.get("multi_region") == "on":
        params["MultiRegion"] = True
    try:
        out = view.client.kms("CreateKey", **params)
    except CallError as error:
        view.query = {}
        page = key_list(view)
        return Page("keys.html", {**page.context, "error": error, "form": form}, error.status)
    key_id = out["KeyMetadata"]["KeyId"]
    alias = form.get("alias", "").strip()
    if alias:
        name = alias if alias.startswith("alias/") else f"alias/{alias}"
        try:
            view.client.kms("CreateAlias", AliasName=name, TargetKeyId=key_id)
        except CallError as failure:
            return key_detail(view, key_id=key_id, error=failure)
    return redirect(url(f"/console/keys/{key_id}", done="created"))


def _detail_parts(client: Client, key_id: str) -> dict[str, Any]:
    meta = client.kms("DescribeKey", KeyId=key_id)["KeyMetadata"]
    part: dict[str, Any] = {"key": meta}
    part["aliases"], part["aliases_error"] = attempt(
        lambda: client.kms("ListAliases", KeyId=key_id, Limit=100).get("Aliases", [])
    )
    part["tags"], part["tags_error"] = attempt(
        lambda: client.kms("ListResourceTags", KeyId=key_id, Limit=50).get("Tags", [])
    )
    if meta.get("KeySpec") == "SYMMETRIC_DEFAULT" and meta.get("Origin") == "AWS_KMS":
        part["rotation"], part["rotation_error"] = attempt(
            lambda: client.kms("GetKeyRotationStatus", KeyId=key_id)
        )
        part["rotations"], _ = attempt(
            lambda: client.kms("ListKeyRotations", KeyId=key_id, Limit=50).get("Rotations", [])
        )
    part["grants"], part["grants_error"] = attempt(
        lambda: client.kms("ListGrants", KeyId=key_id, Limit=100).get("Grants", [])
    )
    policy, part["policy_error"] = attempt(
        lambda: client.kms("GetKeyPolicy", KeyId=key_id, PolicyName="default")["Policy"]
    )
    part["policy"] = pretty_json(policy) if policy else ""
    return part


def key_detail(
    view: View, key_id: str | None = None, error: CallError | None = None, **extra: Any
) -> Page:
    key_id = key_id or view.arg("key_id")
    parts = _detail_parts(view.client, key_id)
    context = {"section": "keys", **parts, "error": error, "done": view.query.get("done", "")}
    context.update(extra)
    failed = error or extra.get("policy_failure")
    return Page("key.html", context, status=failed.status if failed is not None else 200)


def _action(view: View, key_id: str, action: str) -> None:
    """One change to a key, as the form of ``action`` asks it."""
    kms, form = view.client.kms, view.form
    if action == "enable":
        kms("EnableKey", KeyId=key_id)
    elif action == "disable":
        kms("DisableKey", KeyId=key_id)
    elif action == "description":
        kms("UpdateKeyDescription", KeyId=key_id, Description=form.get("description", ""))
    elif action == "add-alias":
        name = form.get("alias", "").strip()
        kms("CreateAlias", AliasName=name if name.startswith("alias/") else f"alias/{name}",
            TargetKeyId=key_id)  # fmt: skip
    elif action == "delete-alias":
        kms("DeleteAlias", AliasName=form.get("alias", ""))
    elif action == "tag":
        tag = {"TagKey": form.get("tag_key", ""), "TagValue": form.get("tag_value", "")}
        kms("TagResource", KeyId=key_id, Tags=[tag])
    elif action == "untag":
        kms("UntagResource", KeyId=key_id, TagKeys=[form.get("tag_key", "")])
    elif action == "schedule-deletion":
        days = form.get("days", "30")
        kms("ScheduleKeyDeletion", KeyId=key_id,
            PendingWindowInDays=int(days) if days.isdigit() else 30)  # fmt: skip
    elif action == "cancel-deletion":
        kms("CancelKeyDeletion", KeyId=key_id)
    elif action == "rotation-on":
        days = form.get("period", "365")
        kms("EnableKeyRotation", KeyId=key_id,
            RotationPeriodInDays=int(days) if days.isdigit() else 365)  # fmt: skip
    elif action == "rotation-off":
        kms("DisableKeyRotation", KeyId=key_id)
    elif action == "rotate":
        kms("RotateKeyOnDemand", KeyId=key_id)
    elif action == "revoke-grant":
        kms("RevokeGrant", KeyId=key_id, GrantId=form.get("grant_id", ""))
    elif action == "policy":
        kms("PutKeyPolicy", KeyId=key_id, PolicyName="default", Policy=form.get("policy", ""))


ACTIONS = frozenset({
    "enable", "disable", "description", "add-alias", "delete-alias", "tag", "untag",
    "schedule-deletion", "cancel-deletion", "rotation-on", "rotation-off", "rotate",
    "revoke-grant", "policy",
})  # fmt: skip


def key_change(view: View) -> Page:
    key_id, action = view.arg("key_id"), view.arg("action")
    if action not in ACTIONS:
        return Page("error.html", {"missing": True}, status=404)
    try:
        _action(view, key_id, action)
    except CallError as error:
        if action == "policy":  # shown in place, the document as it was typed
            return key_detail(view, key_id, policy_failure=error,
                              policy_draft=view.form.get("policy", ""))  # fmt: skip
        return key_detail(view, key_id, error=error)
    return redirect(url(f"/console/keys/{key_id}", done=action))


_KEY = r"(?P<key_id>[A-Za-z0-9_-]{1,128})"
ROUTES: list[Route] = [
    ("GET", r"/console/keys", key_list),
    ("POST", r"/console/keys", key_create),
    ("GET", r"/console/keys/" + _KEY, key_detail),
    ("POST", r"/console/keys/" + _KEY + r"/(?P<action>[a-z-]{1,40})", key_change),
]
