"""Path-based access control: IAM identity policies on parameter ARNs decide who reads and
writes which subtree, each SSM operation on its own action; GetParametersByPath returns only
the parameters the caller may read. SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from tests.support.iam import allow, deny, make_user
from tests.support.server import ACCOUNT_ID, REGION, CofreServer
from tests.support.ssm import arn, fails, unique_path, walk

PREFIX = f"arn:aws:ssm:{REGION}:{ACCOUNT_ID}:parameter"


@pytest.fixture(scope="module")
def tree(server: CofreServer) -> str:
    """<base>/app/prod/{db,api,secret/key}, <base>/app/dev/db, <base>/other."""
    base = unique_path("/acl")
    ssm = server.client("ssm")
    for name in ("app/prod/db", "app/prod/api", "app/prod/secret/key", "app/dev/db", "other"):
        ssm.put_parameter(Name=f"{base}/{name}", Value=name, Type="String")
    return base


def test_a_user_confined_to_a_subtree(server: CofreServer, tree: str) -> None:
    prod = f"{PREFIX}{tree}/app/prod/*"
    user = make_user(server, allow("ssm:*", prod))
    ssm = user.client(server, "ssm")
    assert ssm.get_parameter(Name=f"{tree}/app/prod/db")["Parameter"]["Value"] == "app/prod/db"
    ssm.put_parameter(Name=f"{tree}/app/prod/new", Value="mine", Type="String")
    ssm.label_parameter_version(Name=f"{tree}/app/prod/new", Labels=["l"])
    assert ssm.get_parameter_history(Name=f"{tree}/app/prod/new")["Parameters"][0]["Labels"] == [
        "l"
    ]
    msg = fails("AccessDeniedException", ssm.get_parameter, Name=f"{tree}/app/dev/db")
    assert msg == (
        f"User: {user.arn} is not authorized to perform: ssm:GetParameter on resource:"
        f" {arn(tree + '/app/dev/db')} because no identity-based policy allows the"
        " ssm:GetParameter action"
    )
    # Denied before existence is revealed.
    fails("AccessDeniedException", ssm.get_parameter, Name=f"{tree}/app/dev/nope")
    fails(
        "AccessDeniedException",
        ssm.put_parameter,
        Name=f"{tree}/app/dev/db",
        Value="x",
        Overwrite=True,
    )
    fails("AccessDeniedException", ssm.delete_parameter, Name=f"{tree}/other")
    fails(
        "AccessDeniedException", ssm.get_parameters, Names=[f"{tree}/app/prod/db", f"{tree}/other"]
    )
    fails("AccessDeniedException", ssm.describe_parameters)  # its resource is "*"
    # By path: the path itself is the resource ("/app/prod/" is inside "/app/prod/*").
    items, _ = walk(ssm.get_parameters_by_path, Path=f"{tree}/app/prod/", Recursive=True)
    assert sorted(i["Name"] for i in items) == [
        f"{tree}/app/prod/{n}" for n in ("api", "db", "new", "secret/key")
    ]
    fails("AccessDeniedException", ssm.get_parameters_by_path, Path=f"{tree}/app")
    ssm.delete_parameters(Names=[f"{tree}/app/prod/new"])


def test_each_operation_has_its_own_action(server: CofreServer, tree: str) -> None:
    user = make_user(server, allow("ssm:GetParameter", f"{PREFIX}{tree}/*"))
    ssm = user.client(server, "ssm")
    ssm.get_parameter(Name=f"{tree}/other")
    for call, kwargs in [
        (ssm.get_parameters, {"Names": [f"{tree}/other"]}),
        (ssm.get_parameter_history, {"Name": f"{tree}/other"}),
        (ssm.get_parameters_by_path, {"Path": f"{tree}/app/"}),
        (ssm.put_parameter, {"Name": f"{tree}/other", "Value": "x", "Overwrite": True}),
        (ssm.delete_parameters, {"Names": [f"{tree}/other"]}),
        (ssm.label_parameter_version, {"Name": f"{tree}/other", "Labels": ["x"]}),
        (ssm.list_tags_for_resource, {"ResourceType": "Parameter", "ResourceId": f"{tree}/other"}),
    ]:
        fails("AccessDeniedException", call, **kwargs)
    # PutParameter with Tags needs ssm:AddTagsToResource as well.
    writer = make_user(server, allow("ssm:PutParameter", f"{PREFIX}{tree}/*"))
    wssm = writer.client(server, "ssm")
    wssm.put_parameter(Name=f"{tree}/w1", Value="x", Type="String")
    fails(
        "AccessDeniedException",
        wssm.put_parameter,
        Name=f"{tree}/w2",
        Value="x",
        Type="String",
        Tags=[{"Key": "k", "Value": "v"}],
    )


def test_by_path_returns_only_what_the_caller_may_read(server: CofreServer, tree: str) -> None:
    user = make_user(
        server,
        allow("ssm:GetParametersByPath", f"{PREFIX}{tree}/app*"),
        allow("ssm:GetParameter", f"{PREFIX}{tree}/app/*"),
        deny("ssm:GetParameter", f"{PREFIX}{tree}/app/prod/secret/*"),
    )
    ssm = user.client(server, "ssm")
    items, _ = walk(ssm.get_parameters_by_path, Path=f"{tree}/app", Recursive=True)
    assert sorted(i["Name"] for i in items) == [
        f"{tree}/app/dev/db",
        f"{tree}/app/prod/api",
        f"{tree}/app/prod/db",
    ]
    fails("AccessDeniedException", ssm.get_parameter, Name=f"{tree}/app/prod/secret/key")
    narrow = make_user(
        server,
        allow("ssm:GetParametersByPath", f"{PREFIX}{tree}/app*"),
        allow("ssm:GetParameter", f"{PREFIX}{tree}/app/dev/*"),
    )
    items, _ = walk(
        narrow.client(server, "ssm").get_parameters_by_path, Path=f"{tree}/app", Recursive=True
    )
    assert [i["Name"] for i in items] == [f"{tree}/app/dev/db"]


def test_explicit_deny_and_other_accounts(server: CofreServer, tree: str) -> None:
    user = make_user(server, allow("ssm:*"), deny("ssm:PutParameter", f"{PREFIX}{tree}/app/*"))
    ssm = user.client(server, "ssm")
    msg = fails(
        "AccessDeniedException", ssm.put_parameter, Name=f"{tree}/app/x", Value="v", Type="String"
    )
    assert "explicit deny" in msg
    ssm.put_parameter(Name=f"{tree}/elsewhere", Value="v", Type="String")
    # Parameters of another account (or Region) are not shared with this one.
    foreign = f"arn:aws:ssm:{REGION}:444455556666:parameter{tree}/other"
    root = server.client("ssm")
    fails("ParameterNotFound", root.get_parameter, Name=foreign)
    fails(
        "ParameterNotFound",
        root.get_parameter,
        Name=arn(f"{tree}/other").replace(REGION, "eu-west-1"),
    )
    assert root.get_parameters(Names=[foreign])["InvalidParameters"] == [foreign]
    assert root.get_parameter(Name=arn(f"{tree}/other"))["Parameter"]["Value"] == "other"
