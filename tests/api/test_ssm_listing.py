"""Listing parameters over the wire: GetParametersByPath (Recursive, filters, NextToken) and
DescribeParameters (Filters, ParameterFilters), with pagination through a few thousand
parameters, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.server import CofreServer
from tests.support.ssm import fails, put_many, unique_path, walk

GROUPS, PER_GROUP = 25, 100  # 2,500 parameters under one root, in 25 sub-trees


@pytest.fixture
def ssm(server: CofreServer) -> Any:
    return server.client("ssm")


@pytest.fixture(scope="module")
def big_tree(server: CofreServer) -> tuple[str, list[str]]:
    """/load-<id>/g00/p000 ... : a few thousand parameters, created once per module."""
    root = unique_path("/load")
    names = [
        f"{root}/g{g:02d}/{'deep/' if p % 2 else ''}p{p:03d}"
        for g in range(GROUPS)
        for p in range(PER_GROUP)
    ]
    put_many(server, names)
    return root, sorted(names)


def names_of(items: list[dict[str, Any]]) -> list[str]:
    return [i["Name"] for i in items]


def test_by_path_walks_thousands_in_order(ssm: Any, big_tree: tuple[str, list[str]]) -> None:
    root, names = big_tree
    items, requests = walk(ssm.get_parameters_by_path, Path=root, Recursive=True)
    assert names_of(items) == names  # each exactly once, in name order
    assert requests == len(names) // 10  # MaxResults defaults to (and is capped at) 10
    items, _ = walk(ssm.get_parameters_by_path, Path=f"{root}/g03", Recursive=True, MaxResults=7)
    assert names_of(items) == [n for n in names if n.startswith(f"{root}/g03/")]
    one_level, _ = walk(ssm.get_parameters_by_path, Path=f"{root}/g03/")
    assert names_of(one_level) == [f"{root}/g03/p{p:03d}" for p in range(0, PER_GROUP, 2)]
    assert ssm.get_parameters_by_path(Path=root)["Parameters"] == []  # nothing directly there
    assert all(i["Value"] == i["Name"] for i in items)


def test_describe_walks_thousands(ssm: Any, big_tree: tuple[str, list[str]]) -> None:
    root, names = big_tree
    items, requests = walk(
        ssm.describe_parameters,
        ParameterFilters=[{"Key": "Path", "Option": "Recursive", "Values": [root]}],
        MaxResults=50,
    )
    assert names_of(items) == names and requests == len(names) // 50
    items, _ = walk(
        ssm.describe_parameters,
        ParameterFilters=[
            {"Key": "Path", "Option": "Recursive", "Values": [root]},
            {"Key": "Name", "Option": "Contains", "Values": ["deep/p09"]},
        ],
    )
    assert names_of(items) == [n for n in names if "deep/p09" in n]
    assert len(items) == GROUPS * 5


def test_by_path_filters(ssm: Any) -> None:
    base = unique_path()
    ssm.put_parameter(Name=f"{base}/s", Value="v", Type="String")
    ssm.put_parameter(Name=f"{base}/l", Value="a,b", Type="StringList")
    ssm.put_parameter(Name=f"{base}/x/secret", Value="hidden", Type="SecureString")
    for i in range(2, 4):
        ssm.put_parameter(Name=f"{base}/s", Value=f"v{i}", Overwrite=True)
    ssm.label_parameter_version(Name=f"{base}/s", ParameterVersion=2, Labels=["blue"])
    ssm.label_parameter_version(Name=f"{base}/l", ParameterVersion=1, Labels=["green"])

    def found(*filters: dict[str, Any], **kwargs: Any) -> list[tuple[str, str]]:
        items, _ = walk(
            ssm.get_parameters_by_path,
            Path=base,
            Recursive=True,
            ParameterFilters=list(filters),
            **kwargs,
        )
        return [(i["Name"], i["Value"]) for i in items]

    assert found(
        {"Key": "Type", "Values": ["StringList", "SecureString"]}, WithDecryption=True
    ) == [(f"{base}/l", "a,b"), (f"{base}/x/secret", "hidden")]
    assert found({"Key": "KeyId", "Values": ["alias/aws/ssm"]}) != []
    assert found({"Key": "KeyId", "Option": "BeginsWith", "Values": ["alias/other"]}) == []
    # A Label filter returns the labelled version.
    assert found({"Key": "Label", "Values": ["blue", "green"]}) == [
        (f"{base}/l", "a,b"),
        (f"{base}/s", "v2"),
    ]
    for key in ("Name", "Path", "Tier", "DataType", "tag:env"):
        msg = fails(
            "InvalidFilterKey",
            ssm.get_parameters_by_path,
            Path=base,
            ParameterFilters=[{"Key": key, "Values": ["x"]}],
        )
        assert msg.endswith("Valid filter keys include: [Type, KeyId, Label].")
    fails(
        "InvalidFilterOption",
        ssm.get_parameters_by_path,
        Path=base,
        ParameterFilters=[{"Key": "Label", "Option": "BeginsWith", "Values": ["b"]}],
    )
    fails(
        "InvalidFilterValue",
        ssm.get_parameters_by_path,
        Path=base,
        ParameterFilters=[{"Key": "Type"}],
    )
    fails(
        "InvalidFilterKey",
        ssm.get_parameters_by_path,
        Path=base,
        ParameterFilters=[
            {"Key": "Type", "Values": ["String"]},
            {"Key": "Type", "Values": ["String"]},
        ],
    )


def test_by_path_paths(ssm: Any, server: CofreServer) -> None:
    base = unique_path()
    flat = "flat" + base.replace("/", "-")
    ssm.put_parameter(Name=flat, Value="v", Type="String")
    ssm.put_parameter(Name=f"{base}/a", Value="v", Type="String")
    top, _ = walk(ssm.get_parameters_by_path, Path="/")
    assert flat in names_of(top)  # single-level names live at the root
    assert all(n.count("/") == 0 for n in names_of(top))
    everything, _ = walk(ssm.get_parameters_by_path, Path="/", Recursive=True)
    assert {flat, f"{base}/a"} <= set(names_of(everything))
    for bad in ("noslash", "/a//b", "/a b"):
        msg = fails("ValidationException", ssm.get_parameters_by_path, Path=bad)
        assert msg.startswith("The parameter doesn't meet the parameter name requirements.")
    deep = "".join(f"/l{i}" for i in range(16))
    fails("HierarchyLevelLimitExceededException", ssm.get_parameters_by_path, Path=deep)
    raw = server.client("ssm", validate=False)
    fails("ValidationException", raw.get_parameters_by_path, Path=base, MaxResults=11)
    fails("InvalidNextToken", ssm.get_parameters_by_path, Path=base, NextToken="x")


def test_describe_filters(ssm: Any, server: CofreServer) -> None:
    base = unique_path()
    ssm.put_parameter(
        Name=f"{base}/app/one", Value="1", Type="String", Tags=[{"Key": "env", "Value": "prod-eu"}]
    )
    ssm.put_parameter(
        Name=f"{base}/app/two",
        Value="2",
        Type="StringList",
        Tags=[{"Key": "env", "Value": "dev"}, {"Key": "team", "Value": "x"}],
    )
    ssm.put_parameter(
        Name=f"{base}/app/deep/three", Value="3", Type="SecureString", Tier="Advanced"
    )
    ssm.put_parameter(
        Name=f"{base}/ami", Value="ami-12345678", Type="String", DataType="aws:ec2:image"
    )
    scope = {"Key": "Path", "Option": "Recursive", "Values": [base]}

    def described(*filters: dict[str, Any]) -> list[str]:
        items, _ = walk(ssm.describe_parameters, ParameterFilters=[scope, *filters])
        return [n[len(base) :] for n in names_of(items)]

    assert described() == ["/ami", "/app/deep/three", "/app/one", "/app/two"]
    one_level, _ = walk(
        ssm.describe_parameters, ParameterFilters=[{"Key": "Path", "Values": [f"{base}/app"]}]
    )
    assert names_of(one_level) == [f"{base}/app/one", f"{base}/app/two"]
    assert described({"Key": "Type", "Values": ["SecureString"]}) == ["/app/deep/three"]
    assert described({"Key": "Tier", "Values": ["Advanced"]}) == ["/app/deep/three"]
    assert described({"Key": "DataType", "Values": ["aws:ec2:image"]}) == ["/ami"]
    assert described({"Key": "KeyId", "Values": ["alias/aws/ssm"]}) == ["/app/deep/three"]
    assert described({"Key": "Name", "Values": [f"{base}/app/one"]}) == ["/app/one"]
    assert described({"Key": "Name", "Option": "BeginsWith", "Values": [f"{base}/app/t"]}) == [
        "/app/two"
    ]
    contains = {"Key": "Name", "Option": "Contains", "Values": ["hre"]}  # not hex: not in base
    assert described(contains) == ["/app/deep/three"]
    assert described({"Key": "tag:env", "Values": ["dev"]}) == ["/app/two"]
    assert described({"Key": "tag:env", "Option": "BeginsWith", "Values": ["prod"]}) == ["/app/one"]
    assert described({"Key": "tag:team"}) == ["/app/two"]  # no Values: has the tag
    legacy = ssm.describe_parameters(Filters=[{"Key": "Name", "Values": [f"{base}/app/t"]}])
    assert names_of(legacy["Parameters"]) == [f"{base}/app/two"]
    assert ssm.describe_parameters(Shared=True)["Parameters"] == []
    msg = fails(
        "ValidationException",
        ssm.describe_parameters,
        Filters=[{"Key": "Type", "Values": ["String"]}],
        ParameterFilters=[scope],
    )
    assert "either Filters or ParameterFilters" in msg
    fails(
        "InvalidFilterKey",
        ssm.describe_parameters,
        ParameterFilters=[{"Key": "Label", "Values": ["x"]}],
    )
    fails(
        "InvalidFilterOption",
        ssm.describe_parameters,
        ParameterFilters=[{"Key": "Type", "Option": "Contains", "Values": ["String"]}],
    )
    fails(
        "InvalidFilterValue",
        ssm.describe_parameters,
        ParameterFilters=[{"Key": "Type", "Values": ["Text"]}],
    )
    msg = fails(
        "ValidationException",
        ssm.describe_parameters,
        ParameterFilters=[{"Key": "Path", "Values": ["/aws/service"]}],
    )
    assert "common parameters" in msg
    raw = server.client("ssm", validate=False)
    fails(
        "ValidationException",
        raw.describe_parameters,
        ParameterFilters=[{"Key": "tag-key", "Values": ["x"]}],
    )  # the model's key pattern
    fails("ValidationException", raw.describe_parameters, MaxResults=51)
    fails("InvalidNextToken", ssm.describe_parameters, NextToken="bm90IG91cnM=")
