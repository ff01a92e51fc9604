"""Shared fixtures: real servers on SQLite and PostgreSQL, boto3 clients against them."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.server import (
    CLOCK_ENV,
    CofreServer,
    postgres_available,
    postgres_database,
)

BACKENDS = ["sqlite", "postgres"]


def require_postgres() -> None:
    """Skip without PostgreSQL, except in CI, where its absence is a failure."""
    if postgres_available():
        return
    if os.environ.get("CI") == "true":
        pytest.fail("PostgreSQL is required in CI (127.0.0.1:5432 or COFRE_TEST_POSTGRES_URL)")
    pytest.skip("PostgreSQL is not reachable at 127.0.0.1:5432 (set COFRE_TEST_POSTGRES_URL)")


@pytest.fixture(scope="module", params=BACKENDS)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[CofreServer]:
    """One running server per test module and backend."""
    tmp = tmp_path_factory.mktemp(f"cofre-{request.param}")
    env = {CLOCK_ENV: str(tmp / "clock-offset")}
    if request.param == "postgres":
        require_postgres()
        with postgres_database() as url:
            srv = CofreServer(tmp / "data", database=url, env=env).start()
            try:
                yield srv
            finally:
                srv.stop()
    else:
        srv = CofreServer(tmp / "data", env=env).start()
        try:
            yield srv
        finally:
            srv.stop()


@pytest.fixture
def kms(server: CofreServer) -> Any:
    return server.client("kms")


@pytest.fixture
def raw_kms(server: CofreServer) -> Any:
    """A KMS client that skips botocore's own parameter validation."""
    return server.client("kms", validate=False)


@pytest.fixture
def key_id(kms: Any) -> str:
    return str(kms.create_key(Description="test key")["KeyMetadata"]["KeyId"])


@pytest.fixture
def data_root(tmp_path: Path) -> Path:
    return tmp_path
