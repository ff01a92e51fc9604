"""Helpers for the Parameter Store tests: unique names, expected errors, bulk creation."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.support.server import ACCOUNT_ID, REGION, CofreServer


def unique_path(prefix: str = "/t") -> str:
    """A fresh hierarchy for one test: the module's server is shared."""
    return f"{prefix}/{uuid.uuid4().hex[:12]}"


def arn(name: str) -> str:
    return f"arn:aws:ssm:{REGION}:{ACCOUNT_ID}:parameter/{name.lstrip('/')}"


def fails(code: str, call: Callable[..., Any], *args: Any, **kwargs: Any) -> str:
    """Call, expect the AWS error ``code`` with HTTP 400; return its message."""
    with pytest.raises(ClientError) as exc:
        call(*args, **kwargs)
    error = exc.value.response["Error"]
    assert error["Code"] == code, error
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    return str(error.get("Message", ""))


def put_many(
    server: CofreServer, names: Iterable[str], value: Callable[[str], str] = lambda n: n,
    threads: int = 16, **extra: Any,
) -> None:  # fmt: skip
    """Create parameters quickly: one boto3 client per thread."""
    clients: dict[int, Any] = {}

    def put(name: str) -> None:
        ident = threading.get_ident()
        if ident not in clients:
            clients[ident] = server.client("ssm")
        clients[ident].put_parameter(Name=name, Value=value(name), Type="String", **extra)

    with ThreadPoolExecutor(max_workers=threads) as pool:
        for future in [pool.submit(put, n) for n in names]:
            future.result(timeout=300)


def walk(call: Callable[..., dict[str, Any]], **kwargs: Any) -> tuple[list[dict[str, Any]], int]:
    """Every item of a paginated SSM listing, and how many requests it took."""
    items: list[dict[str, Any]] = []
    requests = 0
    token: str | None = None
    while True:
        page = call(**kwargs, **({"NextToken": token} if token else {}))
        requests += 1
        items += page["Parameters"]
        token = page.get("NextToken")
        if not token:
            return items, requests
