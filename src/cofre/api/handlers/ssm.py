"""Parameter Store (SSM) operations on the wire: decode the shape, call the service, encode.

Operations of the SSM model that are not in ``OPERATIONS`` answer
UnsupportedOperationException. Every handler reads the database, so all run in the
thread pool.
"""

from __future__ import annotations

from typing import Any

from cofre.api.handlers.operation import Operation, Params, Result, threaded
from cofre.container import Services
from cofre.core.iam.principals import Caller
from cofre.core.params.parameters import ParameterType, ParamVersion, Tier
from cofre.core.params.policies import describe_policies
from cofre.service.params.reads import Found
from cofre.service.params.writes import PutRequest


def _parameter(found: Found) -> Result:
    v = found.version
    out: Result = {
        "Name": found.name or v.id.name,
        "Type": v.type.value,
        "Value": found.value,
        "Version": v.version,
        "LastModifiedDate": v.modified_at,
        "ARN": v.id.arn,
        "DataType": v.data_type,
    }
    if found.selector is not None:
        out["Selector"] = found.selector
    return out


def _metadata(v: ParamVersion) -> Result:
    out: Result = {
        "Name": v.id.name,
        "ARN": v.id.arn,
        "Type": v.type.value,
        "LastModifiedDate": v.modified_at,
        "LastModifiedUser": v.modified_by,
        "Version": v.version,
        "Tier": v.tier.value,
        "Policies": describe_policies(v.policies),
        "DataType": v.data_type,
    }
    if v.key_id is not None:
        out["KeyId"] = v.key_id
    if v.description is not None:
        out["Description"] = v.description
    if v.allowed_pattern is not None:
        out["AllowedPattern"] = v.allowed_pattern
    return out


def _history_entry(found: Found) -> Result:
    out = _metadata(found.version)
    del out["ARN"]
    out["Value"] = found.value
    out["Labels"] = list(found.version.labels)
    return out


def _tags(items: list[dict[str, Any]] | None) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in items or ()}


def _paged(out: Result, token: str | None) -> Result:
    if token is not None:
        out["NextToken"] = token
    return out


def put_parameter(s: Services, c: Caller, p: Params) -> Result:
    request = PutRequest(
        name=p["Name"],
        value=p["Value"],
        type=ParameterType(p["Type"]) if p.get("Type") else None,
        description=p.get("Description"),
        key_id=p.get("KeyId"),
        overwrite=bool(p.get("Overwrite")),
        allowed_pattern=p.get("AllowedPattern"),
        tags=_tags(p.get("Tags")) if p.get("Tags") else None,
        tier=Tier(p["Tier"]) if p.get("Tier") else None,
        policies=p.get("Policies"),
        data_type=p.get("DataType") or None,
    )
    version, tier = s.params.put_parameter(c, request)
    return {"Version": version, "Tier": tier.value}


def get_parameter(s: Services, c: Caller, p: Params) -> Result:
    found = s.param_queries.get_parameter(c, p["Name"], bool(p.get("WithDecryption")))
    return {"Parameter": _parameter(found)}


def get_parameters(s: Services, c: Caller, p: Params) -> Result:
    found, invalid = s.param_queries.get_parameters(c, p["Names"], bool(p.get("WithDecryption")))
    return {"Parameters": [_parameter(f) for f in found], "InvalidParameters": invalid}


def get_parameters_by_path(s: Services, c: Caller, p: Params) -> Result:
    listed = s.param_queries.get_parameters_by_path(
        c,
        p["Path"],
        recursive=bool(p.get("Recursive")),
        filters=p.get("ParameterFilters"),
        decrypt=bool(p.get("WithDecryption")),
        max_results=p.get("MaxResults"),
        next_token=p.get("NextToken"),
    )
    return _paged({"Parameters": [_parameter(f) for f in listed.items]}, listed.next_token)


def get_parameter_history(s: Services, c: Caller, p: Params) -> Result:
    listed = s.param_queries.get_parameter_history(
        c,
        p["Name"],
        decrypt=bool(p.get("WithDecryption")),
        max_results=p.get("MaxResults"),
        next_token=p.get("NextToken"),
    )
    return _paged({"Parameters": [_history_entry(f) for f in listed.items]}, listed.next_token)


def describe_parameters(s: Services, c: Caller, p: Params) -> Result:
    page, token = s.param_queries.describe_parameters(
        c,
        filters=p.get("Filters"),
        parameter_filters=p.get("ParameterFilters"),
        max_results=p.get("MaxResults"),
        next_token=p.get("NextToken"),
        shared=bool(p.get("Shared")),
    )
    return _paged({"Parameters": [_metadata(v) for v in page]}, token)


def delete_parameter(s: Services, c: Caller, p: Params) -> Result:
    s.params.delete_parameter(c, p["Name"])
    return {}


def delete_parameters(s: Services, c: Caller, p: Params) -> Result:
    deleted, invalid = s.params.delete_parameters(c, p["Names"])
    return {"DeletedParameters": deleted, "InvalidParameters": invalid}


def label_parameter_version(s: Services, c: Caller, p: Params) -> Result:
    invalid, version = s.param_labels.label_parameter_version(
        c, p["Name"], p.get("ParameterVersion"), p["Labels"]
    )
    return {"InvalidLabels": invalid, "ParameterVersion": version}


def unlabel_parameter_version(s: Services, c: Caller, p: Params) -> Result:
    removed, invalid = s.param_labels.unlabel_parameter_version(
        c, p["Name"], p["ParameterVersion"], p["Labels"]
    )
    return {"RemovedLabels": removed, "InvalidLabels": invalid}


def add_tags_to_resource(s: Services, c: Caller, p: Params) -> Result:
    s.param_tags.add_tags(c, p["ResourceType"], p["ResourceId"], _tags(p["Tags"]))
    return {}


def remove_tags_from_resource(s: Services, c: Caller, p: Params) -> Result:
    s.param_tags.remove_tags(c, p["ResourceType"], p["ResourceId"], p["TagKeys"])
    return {}


def list_tags_for_resource(s: Services, c: Caller, p: Params) -> Result:
    tags = s.param_tags.list_tags(c, p["ResourceType"], p["ResourceId"])
    return {"TagList": [{"Key": k, "Value": v} for k, v in tags.items()]}


OPERATIONS: dict[str, Operation] = {
    "PutParameter": threaded(put_parameter),
    "GetParameter": threaded(get_parameter),
    "GetParameters": threaded(get_parameters),
    "GetParametersByPath": threaded(get_parameters_by_path),
    "GetParameterHistory": threaded(get_parameter_history),
    "DescribeParameters": threaded(describe_parameters),
    "DeleteParameter": threaded(delete_parameter),
    "DeleteParameters": threaded(delete_parameters),
    "LabelParameterVersion": threaded(label_parameter_version),
    "UnlabelParameterVersion": threaded(unlabel_parameter_version),
    "AddTagsToResource": threaded(add_tags_to_resource),
    "RemoveTagsFromResource": threaded(remove_tags_from_resource),
    "ListTagsForResource": threaded(list_tags_for_resource),
}
