"""The model-driven fuzzer: every served operation of KMS, SSM, CloudTrail, IAM and STS
gets the malformed requests ``tests/support/fuzz.py`` makes from botocore's models, signed
for real, on SQLite and PostgreSQL. Every answer must be below 500 and AWS-shaped (an
``__type``, or a Query ``<Error><Code>``, and a non-empty message where there is one); the
server must go on answering; and a refused request to a mutating operation must leave the
store as it was."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from cofre.core.audit.events import is_read_only
from tests.support.fuzz import Case, Generator, load_model, query_form
from tests.support.server import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY, CofreServer

JSON_SERVICES = {  # service -> (target prefix, SigV4 service)
    "kms": ("TrentService", "kms"),
    "ssm": ("AmazonSSM", "ssm"),
    "cloudtrail": ("com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101", "cloudtrail"),
}
QUERY_SERVICES = {"iam": "2010-05-08", "sts": "2011-06-15"}
UNSERVED_SAMPLE = 3  # cases sent to an operation Cofre answers UnsupportedOperation to


def _served(service: str) -> set[str]:
    if service == "kms":
        from cofre.api.handlers.kms.operations import OPERATIONS
    elif service == "ssm":
        from cofre.api.handlers.ssm import OPERATIONS
    elif service == "cloudtrail":
        from cofre.api.handlers.cloudtrail import OPERATIONS
    elif service == "iam":
        from cofre.api.handlers.iam import IAM_OPERATIONS as OPERATIONS
    else:
        from cofre.api.handlers.iam import STS_OPERATIONS as OPERATIONS
    return set(OPERATIONS)


class Sender:
    def __init__(self, server: CofreServer) -> None:
        self.server = server
        self.http = httpx.Client(base_url=server.url, timeout=30)
        self.credentials = Credentials(ACCESS_KEY_ID, SECRET_ACCESS_KEY)

    def json(self, service: str, operation: str, body: Any) -> httpx.Response:
        prefix, signing = JSON_SERVICES[service]
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers = {
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": f"{prefix}.{operation}",
        }
        return self._send(data, headers, signing)

    def query(self, service: str, fields: dict[str, str]) -> httpx.Response:
        data = httpx.QueryParams(fields).__str__().encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
        return self._send(data, headers, service)

    def _send(self, data: bytes, headers: dict[str, str], signing: str) -> httpx.Response:
        request = AWSRequest(method="POST", url=self.server.url + "/", data=data, headers=headers)
        SigV4Auth(self.credentials, signing, REGION).add_auth(request)
        return self.http.post("/", content=data, headers=dict(request.headers.items()))

    def close(self) -> None:
        self.http.close()


def _shaped(response: httpx.Response, query: bool) -> str | None:
    """Why the answer is not an AWS-shaped refusal, or None if it is one."""
    if response.status_code >= 500:
        return f"HTTP {response.status_code}: {response.text[:300]}"
    if response.status_code < 400:
        return None  # accepted: a case the model allows
    if query:
        try:
            root = ET.fromstring(response.content)
        except ET.ParseError:
            return f"not XML: {response.text[:200]}"
        code = root.findtext(".//{*}Error/{*}Code")
        return None if code else f"no <Code>: {response.text[:200]}"
    try:
        document = response.json()
    except ValueError:
        return f"not JSON: {response.text[:200]}"
    if not isinstance(document, dict) or not document.get("__type"):
        return f"no __type: {response.text[:200]}"
    message = document.get("message", document.get("Message"))
    if message is not None and (not isinstance(message, str) or not message.strip()):
        return f"an empty message: {response.text[:200]}"
    return None


class Store:
    """A digest of everything the store holds but the audit trail's own tables."""

    SKIP = ("audit_", "changes", "schema_migrations")

    def __init__(self, server: CofreServer) -> None:
        self.server = server

    def digest(self) -> str:
        digest = hashlib.sha256()
        for table, rows in self._rows():
            digest.update(table.encode())
            for row in sorted(repr(tuple(bytes(v) if isinstance(v, memoryview) else v
                                         for v in row)) for row in rows):  # fmt: skip
                digest.update(row.encode())
        return digest.hexdigest()

    def _rows(self) -> Iterator[tuple[str, list[Any]]]:
        if self.server.database:
            with psycopg.connect(self.server.database) as conn:
                tables = [r[0] for r in conn.execute(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]  # fmt: skip
                for table in sorted(tables):
                    if not table.startswith(self.SKIP):
                        yield table, list(conn.execute(self._select(table)))
            return
        uri = f"file:{self.server.data_dir / 'cofre.db'}?mode=ro"
        with sqlite3.connect(uri, uri=True) as conn:
            tables = [
                r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
            ]
            for table in sorted(tables):
                if not table.startswith(self.SKIP):
                    yield table, list(conn.execute(self._select(table)))

    @staticmethod
    def _select(table: str) -> str:
        if table == "meta":  # the journal's offsets move as the chain takes it in
            return "SELECT name, value FROM meta WHERE name NOT LIKE 'audit%'"
        return f'SELECT * FROM "{table}"'


@pytest.fixture(scope="module")
def sender(server: CofreServer) -> Iterator[Sender]:
    out = Sender(server)
    yield out
    out.close()


@pytest.fixture(scope="module")
def overrides(server: CofreServer) -> dict[str, Any]:
    """Real resources, so that cases reach past "not found" into the handlers."""
    kms = server.client("kms")
    key = kms.create_key(Description="fuzz")["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName="alias/fuzz", TargetKeyId=key)
    ssm = server.client("ssm")
    ssm.put_parameter(Name="/fuzz/param", Value="v", Type="String")
    return {"KeyIdType": key, "PSParameterName": "/fuzz/param"}


@pytest.mark.parametrize("service", [*JSON_SERVICES, *QUERY_SERVICES])
def test_no_input_gets_a_5xx(
    server: CofreServer, sender: Sender, overrides: dict[str, Any], service: str
) -> None:
    generator = Generator(load_model(service))
    generator.overrides = overrides
    served = _served(service)
    store = Store(server)
    query = service in QUERY_SERVICES
    problems: list[str] = []
    sent = 0
    for operation in sorted(generator.operations):
        cases = list(generator.mutations(operation))
        if operation not in served:
            cases = cases[:UNSERVED_SAMPLE]
        mutating = operation in served and not is_read_only(service, operation)
        for case in cases:
            before = store.digest() if mutating else ""
            response = _send(sender, service, case)
            sent += 1
            problem = _shaped(response, query)
            if problem is None and mutating and response.status_code >= 400:
                if store.digest() != before:
                    problem = f"refused (HTTP {response.status_code}) but the store changed"
            if problem is not None:
                problems.append(f"{operation} [{case.what}]: {problem}")
    assert sender.json("kms", "ListKeys", {}).status_code == 200  # still answering
    assert not problems, f"{len(problems)} of {sent} cases:\n" + "\n".join(problems[:60])


def _send(sender: Sender, service: str, case: Case) -> httpx.Response:
    if service in QUERY_SERVICES:
        return sender.query(service, query_form(case, QUERY_SERVICES[service]))
    return sender.json(service, case.operation, case.body)
