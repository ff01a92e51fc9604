"""Parameter Store: the hierarchy as a tree, a parameter (value, history, labels, compare),
create, edit (a new version), delete, and revealing a SecureString (an audited decrypt)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cofre.api.console.calls import CallError, Client
from cofre.api.console.pages import attempt
from cofre.api.console.view import Route, View
from cofre.api.console.web import Page, redirect, url

SCAN_PAGES = 20  # DescribeParameters pages (50 each) read for one level of the tree
TYPES = ("String", "StringList", "SecureString")
TIERS = ("Standard", "Advanced", "Intelligent-Tiering")


def _clean_path(path: str) -> str:
    path = "/" + path.strip().strip("/")
    return path if path == "/" else path + "/"


def _below(client: Client, path: str, name_filter: str) -> list[Mapping[str, Any]]:
    """Every parameter at or below ``path`` (metadata only: no value is read)."""
    filters: list[dict[str, Any]] = []
    if path != "/":
        filters.append({"Key": "Path", "Option": "Recursive", "Values": [path.rstrip("/")]})
    if name_filter:
        filters.append({"Key": "Name", "Option": "Contains", "Values": [name_filter]})
    found: list[Mapping[str, Any]] = []
    token = None
    for _ in range(SCAN_PAGES):
        out = client.ssm(
            "DescribeParameters", ParameterFilters=filters or None, MaxResults=50, NextToken=token
        )
        found.extend(out.get("Parameters", []))
        token = out.get("NextToken")
        if not token:
            break
    return found


def tree(view: View) -> Page:
    path = _clean_path(view.query.get("path", "/"))
    name_filter = view.query.get("filter", "").strip()
    listed, error = attempt(lambda: _below(view.client, path, name_filter))
    folders: dict[str, int] = {}
    here: list[Mapping[str, Any]] = []
    for param in listed or []:
        name = str(param["Name"])
        rest = name[len(path) :] if name.startswith(path) else name.lstrip("/")
        if path == "/" and not name.startswith("/"):
            rest = name
        head, slash, _ = rest.partition("/")
        if slash and not name_filter:
            folders[head] = folders.get(head, 0) + 1
        else:
            here.append(param)
    crumbs = []
    walked = "/"
    for part in path.strip("/").split("/") if path != "/" else []:
        walked += part + "/"
        crumbs.append((part, walked))
    context = {
        "section": "parameters", "path": path, "filter": name_filter, "crumbs": crumbs,
        "folders": sorted(folders.items()), "params": here, "list_error": error,
        "types": TYPES, "tiers": TIERS, "done": view.query.get("done", ""),
    }  # fmt: skip
    return Page("parameters.html", context)


def _parent(name: str) -> str:
    return name.rsplit("/", 1)[0] + "/" if "/" in name.strip("/") else "/"


def _detail(client: Client, name: str, reveal: bool) -> dict[str, Any]:
    got = client.ssm("GetParameter", Name=name, WithDecryption=reveal)["Parameter"]
    part: dict[str, Any] = {"param": got, "revealed": reveal}
    described, _ = attempt(
        lambda: client.ssm(
            "DescribeParameters",
            ParameterFilters=[{"Key": "Name", "Option": "Equals", "Values": [got["Name"]]}],
        ).get("Parameters", [])
    )
    part["meta"] = described[0] if described else {}
    history, part["history_error"] = attempt(
        lambda: client.ssm("GetParameterHistory", Name=name, MaxResults=50).get("Parameters", [])
    )
    part["history"] = list(reversed(history or []))
    return part


def parameter(
    view: View, reveal: bool = False, error: CallError | None = None, **extra: Any
) -> Page:
    name = view.query.get("name") or view.form.get("name", "")
    parts = _detail(view.client, name, reveal)
    compare = view.query.get("compare", "")
    if compare and parts["param"]["Type"] != "SecureString":
        wanted = {v for v in compare.split(",") if v.isdigit()}
        parts["compared"] = [h for h in parts["history"] if str(h.get("Version")) in wanted]
    context = {
        "section": "parameters", **parts, "error": error, "parent": _parent(name),
        "types": TYPES, "tiers": TIERS, "done": view.query.get("done", ""), **extra,
    }  # fmt: skip
    return Page("parameter.html", context, status=error.status if error is not None else 200)


def reveal(view: View) -> Page:
    """The decrypted value of a SecureString: GetParameter WithDecryption, recorded (with
    the KMS Decrypt it makes) in the audit trail; never in a URL or the browser's cache."""
    try:
        return parameter(view, reveal=True)
    except CallError as error:  # denied: the parameter as it was, the reason above it
        return parameter(view, error=error)


def put(view: View) -> Page:
    form = view.form
    name = form.get("name", "").strip()
    params: dict[str, Any] = {
        "Name": name, "Value": form.get("value", ""), "Type": form.get("type") or None,
        "Overwrite": form.get("overwrite") == "on", "Tier": form.get("tier") or None,
        "Description": form.get("description") or None,
    }  # fmt: skip
    if form.get("type") == "SecureString" and form.get("key_id", "").strip():
        params["KeyId"] = form["key_id"].strip()
    try:
        view.client.ssm("PutParameter", **params)
    except CallError as error:
        if params["Overwrite"]:
            view.query = {"name": name}
            return parameter(view, error=error, draft=form)
        view.query = {"path": form.get("path", "/")}
        page = tree(view)
        return Page(
            "parameters.html", {**page.context, "error": error, "draft": form}, error.status
        )
    return redirect(url("/console/parameter", name=name, done="saved"))


def delete(view: View) -> Page:
    name = view.form.get("name", "")
    try:
        view.client.ssm("DeleteParameter", Name=name)
    except CallError as error:
        view.query = {"name": name}
        return parameter(view, error=error)
    return redirect(url("/console/parameters", path=_parent(name), done="deleted"))


def label(view: View) -> Page:
    name, version = view.form.get("name", ""), view.form.get("version", "")
    labels = [part.strip() for part in view.form.get("labels", "").split(",") if part.strip()]
    try:
        view.client.ssm(
            "LabelParameterVersion", Name=name, Labels=labels,
            ParameterVersion=int(version) if version.isdigit() else None,
        )  # fmt: skip
    except CallError as error:
        view.query = {"name": name}
        return parameter(view, error=error)
    return redirect(url("/console/parameter", name=name, done="labelled"))


ROUTES: list[Route] = [
    ("GET", r"/console/parameters", tree),
    ("POST", r"/console/parameters", put),
    ("GET", r"/console/parameter", parameter),
    ("POST", r"/console/parameter/reveal", reveal),
    ("POST", r"/console/parameter/delete", delete),
    ("POST", r"/console/parameter/label", label),
]
