"""Parameter Store over the wire: PutParameter, GetParameter(s), DeleteParameter(s), names,
types, tiers, values, AllowedPattern, data types, policies and tags; boto3 and the AWS CLI,
on SQLite and PostgreSQL (every response is parsed by botocore against the SSM model)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from cofre.core.params.parameters import INVALID_NAME
from tests.support.server import ACCOUNT_ID, REGION, CofreServer
from tests.support.ssm import arn, fails, unique_path


@pytest.fixture
def ssm(server: CofreServer) -> Any:
    return server.client("ssm")


@pytest.fixture
def raw_ssm(server: CofreServer) -> Any:
    """An SSM client that skips botocore's own parameter validation."""
    return server.client("ssm", validate=False)


def test_put_get_overwrite_and_shapes(ssm: Any) -> None:
    name = unique_path() + "/db-url"
    before = datetime.now(UTC) - timedelta(seconds=5)
    out = ssm.put_parameter(Name=name, Value="postgres://x", Type="String", Description="the db")
    assert (out["Version"], out["Tier"]) == (1, "Standard")
    got = ssm.get_parameter(Name=name)["Parameter"]
    assert got["Name"] == name and got["Value"] == "postgres://x" and got["Version"] == 1
    assert got["Type"] == "String" and got["DataType"] == "text"
    assert got["ARN"] == f"arn:aws:ssm:{REGION}:{ACCOUNT_ID}:parameter{name}"
    assert before < got["LastModifiedDate"] < datetime.now(UTC) + timedelta(seconds=5)
    assert "Selector" not in got
    message = fails(
        "ParameterAlreadyExists", ssm.put_parameter, Name=name, Value="y", Type="String"
    )
    assert message == (
        "The parameter already exists. To overwrite this value, set the overwrite option in the"
        " request to true."
    )
    # An update may leave out Type, Description and the rest: they are kept.
    assert ssm.put_parameter(Name=name, Value="y", Overwrite=True)["Version"] == 2
    meta = ssm.describe_parameters(ParameterFilters=[{"Key": "Name", "Values": [name]}])[
        "Parameters"
    ]
    assert [(m["Name"], m["Version"], m["Description"], m["Type"]) for m in meta] == [
        (name, 2, "the db", "String")
    ]
    assert meta[0]["LastModifiedUser"] == f"arn:aws:iam::{ACCOUNT_ID}:root"
    assert meta[0]["Policies"] == [] and "KeyId" not in meta[0]
    assert ssm.get_parameter(Name=name)["Parameter"]["Value"] == "y"
    assert ssm.get_parameter(Name=arn(name))["Parameter"]["Name"] == name
    msg = fails("ValidationException", ssm.put_parameter, Name=unique_path(), Value="v")
    assert "type is required" in msg


def test_types_and_string_list(ssm: Any) -> None:
    base = unique_path()
    ssm.put_parameter(Name=f"{base}/list", Value="a,b,c", Type="StringList")
    got = ssm.get_parameter(Name=f"{base}/list")["Parameter"]
    assert (got["Type"], got["Value"]) == ("StringList", "a,b,c")
    # The type may change on an update; each version keeps its own.
    ssm.put_parameter(Name=f"{base}/list", Value="plain", Type="String", Overwrite=True)
    history = ssm.get_parameter_history(Name=f"{base}/list")["Parameters"]
    assert [h["Type"] for h in history] == ["StringList", "String"]
    msg = fails(
        "ValidationException",
        ssm.put_parameter,
        Name=f"{base}/k",
        Value="v",
        Type="String",
        KeyId="alias/aws/ssm",
    )
    assert "SecureString" in msg


def test_get_and_delete_errors(ssm: Any) -> None:
    name = unique_path()
    assert fails("ParameterNotFound", ssm.get_parameter, Name=name) == ""
    assert fails("ParameterNotFound", ssm.delete_parameter, Name=name) == ""
    ssm.put_parameter(Name=name, Value="v", Type="String")
    ssm.delete_parameter(Name=name)
    fails("ParameterNotFound", ssm.get_parameter, Name=name)
    # After a delete the name is free: versions start again at 1.
    assert ssm.put_parameter(Name=name, Value="v", Type="String")["Version"] == 1


def test_get_parameters_and_delete_parameters(ssm: Any, raw_ssm: Any) -> None:
    base = unique_path()
    for i in range(3):
        ssm.put_parameter(Name=f"{base}/p{i}", Value=f"v{i}", Type="String")
    ssm.put_parameter(Name=f"{base}/p0", Value="v0b", Type="String", Overwrite=True)
    out = ssm.get_parameters(
        Names=[
            f"{base}/p0",
            f"{base}/p1:1",
            f"{base}/nope",
            f"{base}/p2:9",
            "bad name",
            arn(f"{base}/p2"),
            f"{base}/p0",
        ]
    )
    assert [(p["Name"], p["Value"], p.get("Selector")) for p in out["Parameters"]] == [
        (f"{base}/p0", "v0b", None),
        (f"{base}/p1", "v1", ":1"),
        (f"{base}/p2", "v2", None),
    ]
    assert sorted(out["InvalidParameters"]) == sorted([f"{base}/nope", f"{base}/p2:9", "bad name"])
    msg = fails("ValidationException", raw_ssm.get_parameters, Names=[f"/x{i}" for i in range(11)])
    assert "less than or equal to 10" in msg
    out = ssm.delete_parameters(Names=[f"{base}/p0", f"{base}/p1", f"{base}/nope"])
    assert out["DeletedParameters"] == [f"{base}/p0", f"{base}/p1"]
    assert out["InvalidParameters"] == [f"{base}/nope"]
    assert ssm.get_parameters(Names=[f"{base}/p0"])["InvalidParameters"] == [f"{base}/p0"]


# names ----------------------------------------------------------------------------------------
def test_single_level_names_with_or_without_slash_are_one_parameter(ssm: Any) -> None:
    flat = "flat" + unique_path("").replace("/", "")
    out = ssm.put_parameter(Name=f"/{flat}", Value="1", Type="String")
    assert out["Version"] == 1
    got = ssm.get_parameter(Name=flat)["Parameter"]
    assert got["Name"] == flat  # stored without the slash, as AWS does
    assert got["ARN"] == f"arn:aws:ssm:{REGION}:{ACCOUNT_ID}:parameter/{flat}"
    fails("ParameterAlreadyExists", ssm.put_parameter, Name=flat, Value="2", Type="String")
    assert ssm.put_parameter(Name=f"  {flat} ", Value="2", Overwrite=True)["Version"] == 2
    assert ssm.get_parameter(Name=f"/{flat}")["Parameter"]["Value"] == "2"


@pytest.mark.parametrize("name", ["a/b", "/a//b", "/a/b/", "/a b", "a@b", "/a/b:c/d", "/é", "/a/#"])
def test_malformed_names(ssm: Any, name: str) -> None:
    assert (
        fails("ValidationException", ssm.put_parameter, Name=name, Value="v", Type="String")
        == INVALID_NAME
    )
    fails("ValidationException", ssm.get_parameter, Name=name)


def test_reserved_names_levels_and_length(ssm: Any) -> None:
    for name in ("awsx", "SSM-x", "Aws"):
        msg = fails("ValidationException", ssm.put_parameter, Name=name, Value="v", Type="String")
        assert msg == 'Parameter name: can\'t be prefixed with "aws" or "ssm" (case-insensitive).'
    msg = fails("AccessDeniedException", ssm.put_parameter, Name="/aws/x", Value="v", Type="String")
    assert msg == "No access to reserved parameter name: /aws/x."
    fails("ValidationException", ssm.put_parameter, Name="/ssm/x", Value="v", Type="String")
    fails("ParameterNotFound", ssm.get_parameter, Name="/aws/service/x")  # reading is fine
    base = unique_path()  # two levels
    fifteen = base + "".join(f"/l{i}" for i in range(13))
    assert ssm.put_parameter(Name=fifteen, Value="v", Type="String")["Version"] == 1
    msg = fails(
        "HierarchyLevelLimitExceededException",
        ssm.put_parameter,
        Name=fifteen + "/x",
        Value="v",
        Type="String",
    )
    assert msg == "A hierarchy can have a maximum of 15 levels."
    room = 1011 - len(arn(base + "/"))
    long_name = f"{base}/{'n' * room}"
    assert len(arn(long_name)) == 1011
    ssm.put_parameter(Name=long_name, Value="v", Type="String")
    msg = fails(
        "ValidationException", ssm.put_parameter, Name=long_name + "n", Value="v", Type="String"
    )
    assert "1011" in msg


# values and tiers ------------------------------------------------------------------------------
def test_value_limits_and_tiers(ssm: Any, raw_ssm: Any) -> None:
    base = unique_path()
    assert ssm.put_parameter(Name=f"{base}/s", Value="x" * 4096, Type="String")["Tier"] == (
        "Standard"
    )
    msg = fails(
        "ValidationException", ssm.put_parameter, Name=f"{base}/s2", Value="é" * 2049, Type="String"
    )
    assert msg.startswith("Standard tier parameters support a maximum parameter value of 4096")
    out = ssm.put_parameter(Name=f"{base}/a", Value="x" * 8192, Type="String", Tier="Advanced")
    assert out["Tier"] == "Advanced"
    msg = fails(
        "ValidationException",
        ssm.put_parameter,
        Name=f"{base}/a2",
        Value="x" * 8193,
        Type="String",
        Tier="Advanced",
    )
    assert "8192" in msg
    fails("ValidationException", raw_ssm.put_parameter, Name=f"{base}/e", Value="", Type="String")
    msg = fails(
        "ValidationException", ssm.put_parameter, Name=f"{base}/n", Value="a{{x}}b", Type="String"
    )
    assert "nest" in msg
    # Intelligent-Tiering: Standard unless the value needs Advanced.
    it = {"Type": "String", "Tier": "Intelligent-Tiering"}
    assert ssm.put_parameter(Name=f"{base}/i1", Value="small", **it)["Tier"] == "Standard"
    assert ssm.put_parameter(Name=f"{base}/i2", Value="x" * 5000, **it)["Tier"] == "Advanced"
    assert (
        ssm.put_parameter(Name=f"{base}/i1", Value="x" * 5000, Overwrite=True, **it)["Tier"]
        == "Advanced"
    )
    # No way back to Standard; an update without Tier stays Advanced.
    msg = fails(
        "ValidationException",
        ssm.put_parameter,
        Name=f"{base}/a",
        Value="v",
        Overwrite=True,
        Tier="Standard",
    )
    assert "can't downgrade" in msg
    assert ssm.put_parameter(Name=f"{base}/a", Value="v", Overwrite=True)["Tier"] == "Advanced"
    assert ssm.put_parameter(Name=f"{base}/i1", Value="v", Overwrite=True, **it)["Tier"] == (
        "Advanced"
    )
    tiers = {
        p["Name"]: p["Tier"]
        for p in ssm.describe_parameters(ParameterFilters=[{"Key": "Path", "Values": [base]}])[
            "Parameters"
        ]
    }
    assert tiers == {
        f"{base}/{n}": t
        for n, t in [("s", "Standard"), ("a", "Advanced"), ("i1", "Advanced"), ("i2", "Advanced")]
    }


def test_allowed_pattern_applies_to_later_writes(ssm: Any) -> None:
    name = unique_path()
    ssm.put_parameter(Name=name, Value="1000", Type="String", AllowedPattern=r"\d{1,4}")
    msg = fails(
        "ParameterPatternMismatchException",
        ssm.put_parameter,
        Name=name,
        Value="10,000",
        Overwrite=True,
    )
    assert msg == r"Parameter value, cannot be validated against allowedPattern: \d{1,4}"
    assert ssm.put_parameter(Name=name, Value="42", Overwrite=True)["Version"] == 2
    # A new pattern replaces the old one and applies to the value that brings it.
    fails(
        "ParameterPatternMismatchException",
        ssm.put_parameter,
        Name=name,
        Value="42",
        Overwrite=True,
        AllowedPattern="[a-z]+",
    )
    ssm.put_parameter(Name=name, Value="abc", Overwrite=True, AllowedPattern="[a-z]+")
    meta = ssm.describe_parameters(ParameterFilters=[{"Key": "Name", "Values": [name]}])
    assert meta["Parameters"][0]["AllowedPattern"] == "[a-z]+"
    fails(
        "InvalidAllowedPatternException",
        ssm.put_parameter,
        Name=unique_path(),
        Value="v",
        Type="String",
        AllowedPattern="([a-",
    )
    secret = unique_path()
    msg = fails(
        "ParameterPatternMismatchException",
        ssm.put_parameter,
        Name=secret,
        Value="hunter2-secret",
        Type="SecureString",
        AllowedPattern=r"\d+",
    )
    assert "hunter2" not in msg


def test_data_types(ssm: Any) -> None:
    name = unique_path()
    ssm.put_parameter(
        Name=name, Value="ami-0123456789abcdef0", Type="String", DataType="aws:ec2:image"
    )
    assert ssm.get_parameter(Name=name)["Parameter"]["DataType"] == "aws:ec2:image"
    msg = fails(
        "ValidationException", ssm.put_parameter, Name=name, Value="ami-xyz", Overwrite=True
    )
    assert "not a valid image ID" in msg  # the data type is kept by the update
    fails(
        "ValidationException",
        ssm.put_parameter,
        Name=unique_path(),
        Value="ami-12345678",
        Type="StringList",
        DataType="aws:ec2:image",
    )
    msg = fails(
        "ValidationException",
        ssm.put_parameter,
        Name=unique_path(),
        Value="1",
        Type="String",
        DataType="integer-ish",
    )
    assert "The following data type is not supported: integer-ish" in msg


def _policies(*items: dict[str, Any]) -> str:
    return json.dumps(list(items))


def test_policies_on_advanced_parameters(ssm: Any) -> None:
    later = (datetime.now(UTC) + timedelta(days=10)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    expiration = {"Type": "Expiration", "Version": "1.0", "Attributes": {"Timestamp": later}}
    notify = {
        "Type": "ExpirationNotification",
        "Version": "1.0",
        "Attributes": {"Before": "2", "Unit": "Days"},
    }
    nochange = {
        "Type": "NoChangeNotification",
        "Version": "1.0",
        "Attributes": {"After": "5", "Unit": "Hours"},
    }
    name = unique_path()
    msg = fails(
        "ValidationException",
        ssm.put_parameter,
        Name=name,
        Value="v",
        Type="String",
        Policies=_policies(expiration),
    )
    assert "policies" in msg
    out = ssm.put_parameter(
        Name=name,
        Value="v",
        Type="String",
        Tier="Intelligent-Tiering",
        Policies=_policies(expiration, notify, nochange),
    )
    assert out["Tier"] == "Advanced"
    meta = ssm.describe_parameters(ParameterFilters=[{"Key": "Name", "Values": [name]}])
    policies = meta["Parameters"][0]["Policies"]
    assert [(p["PolicyType"], p["PolicyStatus"]) for p in policies] == [
        ("Expiration", "Pending"),
        ("ExpirationNotification", "Pending"),
        ("NoChangeNotification", "Pending"),
    ]
    assert json.loads(policies[0]["PolicyText"]) == expiration
    # Kept by an update that does not send Policies; "[]" removes them.
    ssm.put_parameter(Name=name, Value="v2", Overwrite=True)
    history = ssm.get_parameter_history(Name=name)["Parameters"]
    assert [len(h["Policies"]) for h in history] == [3, 3]
    ssm.put_parameter(Name=name, Value="v3", Overwrite=True, Policies="[]")
    meta = ssm.describe_parameters(ParameterFilters=[{"Key": "Name", "Values": [name]}])
    assert meta["Parameters"][0]["Policies"] == []
    bad = {"Type": "Rotation", "Version": "1.0", "Attributes": {}}
    adv = {"Name": unique_path(), "Value": "v", "Type": "String", "Tier": "Advanced"}
    fails("InvalidPolicyTypeException", ssm.put_parameter, **adv, Policies=_policies(bad))
    wrong = {**nochange, "Attributes": {"After": "soon", "Unit": "Days"}}
    fails("InvalidPolicyAttributeException", ssm.put_parameter, **adv, Policies=_policies(wrong))
    fails(
        "IncompatiblePolicyException",
        ssm.put_parameter,
        **adv,
        Policies=_policies(expiration, expiration),
    )
    fails(
        "PoliciesLimitExceededException",
        ssm.put_parameter,
        **adv,
        Policies=_policies(*[nochange] * 11),
    )


# tags ------------------------------------------------------------------------------------------
def test_tags(ssm: Any, raw_ssm: Any) -> None:
    name = unique_path()
    tags = [{"Key": "env", "Value": "prod"}, {"Key": "team", "Value": "core"}]
    msg = fails(
        "ValidationException",
        ssm.put_parameter,
        Name=name,
        Value="v",
        Type="String",
        Overwrite=True,
        Tags=tags,
    )
    assert msg.startswith("Invalid request: tags and overwrite can't be used together.")
    ssm.put_parameter(Name=name, Value="v", Type="String", Tags=tags)
    listed = ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId=name)["TagList"]
    assert listed == tags
    ssm.add_tags_to_resource(
        ResourceType="Parameter",
        ResourceId=name,
        Tags=[{"Key": "env", "Value": "dev"}, {"Key": "a", "Value": ""}],
    )
    ssm.remove_tags_from_resource(
        ResourceType="Parameter", ResourceId=name, TagKeys=["team", "missing"]
    )
    listed = ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId=name)["TagList"]
    assert listed == [{"Key": "a", "Value": ""}, {"Key": "env", "Value": "dev"}]
    many = [{"Key": f"k{i}", "Value": "v"} for i in range(49)]
    fails(
        "TooManyTagsError",
        ssm.add_tags_to_resource,
        ResourceType="Parameter",
        ResourceId=name,
        Tags=many,
    )
    ssm.add_tags_to_resource(ResourceType="Parameter", ResourceId=name, Tags=many[:48])
    fails(
        "TooManyTagsError",
        ssm.put_parameter,
        Name=unique_path(),
        Value="v",
        Type="String",
        Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(51)],
    )
    fails(
        "ValidationException",
        ssm.add_tags_to_resource,
        ResourceType="Parameter",
        ResourceId=name,
        Tags=[{"Key": "aws:x", "Value": "v"}],
    )
    fails(
        "InvalidResourceId",
        ssm.list_tags_for_resource,
        ResourceType="Parameter",
        ResourceId=unique_path(),
    )
    fails(
        "InvalidResourceId",
        ssm.add_tags_to_resource,
        ResourceType="Parameter",
        ResourceId="bad name",
        Tags=tags,
    )
    fails(
        "InvalidResourceType", ssm.list_tags_for_resource, ResourceType="Document", ResourceId=name
    )
    fails(
        "ValidationException",
        raw_ssm.list_tags_for_resource,
        ResourceType="Bucket",
        ResourceId=name,
    )
    ssm.delete_parameter(Name=name)
    ssm.put_parameter(Name=name, Value="v", Type="String")
    assert ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId=name)["TagList"] == []


def test_unsupported_ssm_operations_say_so(ssm: Any) -> None:
    fails("UnsupportedOperationException", ssm.list_documents)


# the AWS CLI -----------------------------------------------------------------------------------
def test_aws_cli(server: CofreServer) -> None:
    base = unique_path("/cli")

    def aws(*args: str) -> Any:
        out = server.aws_cli("ssm", *args).stdout
        return json.loads(out) if out.strip() else None

    out = aws("put-parameter", "--name", f"{base}/a", "--value", "1", "--type", "String")
    assert out == {"Version": 1, "Tier": "Standard"}
    aws("put-parameter", "--name", f"{base}/b/c", "--value", "s3cret", "--type", "SecureString")
    aws("put-parameter", "--name", f"{base}/a", "--value", "2", "--overwrite")
    got = aws("get-parameter", "--name", f"{base}/a:1")["Parameter"]
    assert (got["Value"], got["Selector"]) == ("1", ":1")
    found = aws("get-parameters-by-path", "--path", base, "--recursive", "--with-decryption")
    assert {p["Name"]: p["Value"] for p in found["Parameters"]} == {
        f"{base}/a": "2",
        f"{base}/b/c": "s3cret",
    }
    aws(
        "label-parameter-version",
        "--name",
        f"{base}/a",
        "--parameter-version",
        "1",
        "--labels",
        "stable",
    )
    history = aws("get-parameter-history", "--name", f"{base}/a")["Parameters"]
    assert [(h["Version"], h["Labels"]) for h in history] == [(1, ["stable"]), (2, [])]
    aws("delete-parameter", "--name", f"{base}/a")
    gone = server.aws_cli("ssm", "get-parameter", "--name", f"{base}/a", check=False)
    assert gone.returncode != 0 and "ParameterNotFound" in gone.stderr
