"""Versions and labels over the wire: selectors, GetParameterHistory, the 100-version limit,
LabelParameterVersion / UnlabelParameterVersion, and concurrent writers of one parameter
(gapless versions, no lost update) on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import BACKENDS
from tests.support.backends import backend_database
from tests.support.server import CofreServer
from tests.support.ssm import fails, unique_path, walk


@pytest.fixture
def ssm(server: CofreServer) -> Any:
    return server.client("ssm")


def versions(ssm: Any, name: str, count: int) -> None:
    """Create ``name`` with ``count`` versions, valued v1, v2, ..."""
    for i in range(1, count + 1):
        ssm.put_parameter(Name=name, Value=f"v{i}", Type="String", Overwrite=True)


def test_selectors(ssm: Any) -> None:
    name = unique_path()
    versions(ssm, name, 3)
    ssm.label_parameter_version(Name=name, ParameterVersion=2, Labels=["stable"])
    got = ssm.get_parameter(Name=f"{name}:2")["Parameter"]
    assert (got["Value"], got["Version"], got["Selector"]) == ("v2", 2, ":2")
    got = ssm.get_parameter(Name=f"{name}:stable")["Parameter"]
    assert (got["Value"], got["Version"], got["Selector"]) == ("v2", 2, ":stable")
    msg = fails("ParameterVersionNotFound", ssm.get_parameter, Name=f"{name}:9")
    assert (
        msg
        == f"Systems Manager could not find version 9 of {name}. Verify the version and try again."
    )
    fails("ParameterVersionNotFound", ssm.get_parameter, Name=f"{name}:nolabel")
    fails("ParameterNotFound", ssm.get_parameter, Name=f"{unique_path()}:1")
    for bad in (f"{name}:", f"{name}:1:2", f"{name}:a b"):
        fails("ValidationException", ssm.get_parameter, Name=bad)
    fails("ValidationException", ssm.get_parameter_history, Name=f"{name}:1")


def test_history_pages(ssm: Any) -> None:
    name = unique_path()
    versions(ssm, name, 7)
    items, requests = walk(ssm.get_parameter_history, Name=name, MaxResults=3)
    assert [i["Version"] for i in items] == list(range(1, 8))
    assert [i["Value"] for i in items] == [f"v{i}" for i in range(1, 8)]
    assert requests == 3
    assert all(i["Name"] == name and i["Labels"] == [] for i in items)
    fails("InvalidNextToken", ssm.get_parameter_history, Name=name, NextToken="garbage")
    fails("ParameterNotFound", ssm.get_parameter_history, Name=unique_path())


def test_hundred_versions_then_the_oldest_goes_unless_labelled(ssm: Any) -> None:
    name = unique_path()
    versions(ssm, name, 100)
    assert ssm.put_parameter(Name=name, Value="v101", Overwrite=True)["Version"] == 101
    items, _ = walk(ssm.get_parameter_history, Name=name)
    assert [i["Version"] for i in items] == list(range(2, 102))
    fails("ParameterVersionNotFound", ssm.get_parameter, Name=f"{name}:1")
    ssm.label_parameter_version(Name=name, ParameterVersion=2, Labels=["keep"])
    msg = fails(
        "ParameterMaxVersionLimitExceeded", ssm.put_parameter, Name=name, Value="x", Overwrite=True
    )
    assert msg == (
        f"You attempted to create a new version of {name} by calling the PutParameter API with"
        " the overwrite flag. Version 2, the oldest version, can't be deleted because it has a"
        " label associated with it. Move the label to another version of the parameter, and try"
        " again."
    )
    ssm.label_parameter_version(Name=name, ParameterVersion=50, Labels=["keep"])  # moves it
    assert ssm.put_parameter(Name=name, Value="v102", Overwrite=True)["Version"] == 102
    items, _ = walk(ssm.get_parameter_history, Name=name)
    assert (items[0]["Version"], len(items)) == (3, 100)


def test_labels(ssm: Any, server: CofreServer) -> None:
    name = unique_path()
    versions(ssm, name, 3)
    out = ssm.label_parameter_version(
        Name=name, Labels=["prod", "1st", "aws-x", "SSMy", "a.b-c_D", "bad label"]
    )
    assert out["ParameterVersion"] == 3  # the latest when no version is given
    assert out["InvalidLabels"] == ["1st", "aws-x", "SSMy", "bad label"]
    out = ssm.label_parameter_version(Name=name, ParameterVersion=1, Labels=["prod"])
    assert (out["ParameterVersion"], out["InvalidLabels"]) == (1, [])
    history = ssm.get_parameter_history(Name=name)["Parameters"]
    assert [h["Labels"] for h in history] == [["prod"], [], ["a.b-c_D"]]  # "prod" moved
    raw = server.client("ssm", validate=False)
    fails("ValidationException", raw.label_parameter_version, Name=name, Labels=["x" * 101])
    labels = [f"l{i}" for i in range(9)]
    ssm.label_parameter_version(Name=name, ParameterVersion=2, Labels=labels)
    ssm.label_parameter_version(Name=name, ParameterVersion=2, Labels=["l0", "l9"])  # 10
    msg = fails(
        "ParameterVersionLabelLimitExceeded",
        ssm.label_parameter_version,
        Name=name,
        ParameterVersion=2,
        Labels=["l10"],
    )
    assert "maximum 10 labels" in msg
    fails(
        "ParameterVersionNotFound",
        ssm.label_parameter_version,
        Name=name,
        ParameterVersion=7,
        Labels=["x"],
    )
    msg = fails("ParameterNotFound", ssm.label_parameter_version, Name=unique_path(), Labels=["x"])
    assert msg.startswith("Parameter ") and msg.endswith(" not found.")
    out = ssm.unlabel_parameter_version(
        Name=name, ParameterVersion=2, Labels=["l0", "l1", "prod", "nope"]
    )
    assert (out["RemovedLabels"], out["InvalidLabels"]) == (["l0", "l1"], ["prod", "nope"])
    fails(
        "ParameterVersionNotFound",
        ssm.unlabel_parameter_version,
        Name=name,
        ParameterVersion=9,
        Labels=["x"],
    )
    fails(
        "ParameterNotFound",
        ssm.unlabel_parameter_version,
        Name=unique_path(),
        ParameterVersion=1,
        Labels=["x"],
    )
    assert ssm.get_parameter(Name=f"{name}:prod")["Parameter"]["Version"] == 1
    fails("ParameterVersionNotFound", ssm.get_parameter, Name=f"{name}:l0")


# concurrency -----------------------------------------------------------------------------------
def _concurrent_puts(server: CofreServer, name: str, writers: int, **extra: Any) -> list[Any]:
    """``writers`` threads, each with its own client, PutParameter at once; their results.
    An empty ``name``: each writer its own new parameter."""
    clients = [server.client("ssm") for _ in range(writers)]
    barrier = threading.Barrier(writers)

    def put(i: int) -> Any:
        barrier.wait()
        try:
            request = {"Name": name or f"{unique_path()}/w{i}", "Value": f"writer-{i}"}
            return clients[i].put_parameter(**{"Type": "String", **request, **extra})["Version"]
        except ClientError as exc:
            return exc.response["Error"]["Code"]

    with ThreadPoolExecutor(max_workers=writers) as pool:
        return list(pool.map(put, range(writers), timeout=300))


def _check_gapless(ssm: Any, name: str, results: list[Any]) -> None:
    """Versions 1..N, each writer's value stored under the version it was told."""
    history, _ = walk(ssm.get_parameter_history, Name=name)
    assert [h["Version"] for h in history] == list(range(1, len(history) + 1))
    told = {version: f"writer-{i}" for i, version in enumerate(results) if isinstance(version, int)}
    stored = {h["Version"]: h["Value"] for h in history}
    assert {v: stored[v] for v in told} == told  # no lost update, no version given twice


def test_concurrent_writers_make_gapless_versions(ssm: Any, server: CofreServer) -> None:
    name = unique_path()
    results = _concurrent_puts(server, name, 48, Overwrite=True)
    assert sorted(results) == list(range(1, 49))  # one created it, the others updated it
    _check_gapless(ssm, name, results)
    # Without Overwrite exactly one creation wins.
    other = unique_path()
    results = _concurrent_puts(server, other, 16)
    assert sorted(map(str, results)) == ["1"] + ["ParameterAlreadyExists"] * 15


@pytest.mark.parametrize("backend", BACKENDS)
def test_concurrent_writers_across_worker_processes(backend: str, tmp_path: Path) -> None:
    """Two server processes (SO_REUSEPORT workers) writing one parameter at once."""
    with backend_database(backend) as database:
        server = CofreServer(tmp_path / "data", database=database, workers=2).start()
        try:
            # First uses of SecureString race to create the AWS managed key alias/aws/ssm.
            first = _concurrent_puts(server, "", 16, Type="SecureString")
            assert first == [1] * 16
            name = unique_path()
            results = _concurrent_puts(server, name, 64, Overwrite=True)
            assert sorted(results) == list(range(1, 65))
            _check_gapless(server.client("ssm"), name, results)
        finally:
            server.stop()
