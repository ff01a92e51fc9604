"""The pipeline on a real SQLite store, without HTTP: what runs on the event loop never
touches storage (a cold cache moves the call to the pool), a mutating call commits with
its record, and every call is recorded before it is answered."""

from __future__ import annotations

import asyncio
import base64
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from cofre.api.http.exchange import Incoming, Outgoing
from cofre.api.pipeline.pipeline import Pipeline
from cofre.config import Settings
from cofre.container import Services
from cofre.service.blocking import GuardedStorage, WouldBlock, nonblocking
from cofre.service.iam.accounts import bootstrap_admin

ACCOUNT = "111122223333"
KEY_ID, SECRET = "AKIAPIPELINETEST0001", "pipeline-test-secret-0000000000000000000"
REGION = "us-east-1"


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    settings = Settings(
        data_dir=tmp_path / "data",
        root_key_b64=base64.b64encode(os.urandom(32)).decode(),
        job_interval=3600,
        change_poll_interval=3600,
        audit_digest_interval=3600,
    )
    services = Services.build(settings)
    bootstrap_admin(services.accounts, services.storage, settings.data_dir, ACCOUNT, KEY_ID, SECRET)
    try:
        yield services
    finally:
        services.close()


def _request(target: str, payload: dict[str, object]) -> Incoming:
    body = json.dumps(payload).encode()
    request = AWSRequest(
        method="POST",
        url="http://127.0.0.1:4566/",
        data=body,
        headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": target},
    )
    SigV4Auth(Credentials(KEY_ID, SECRET), "kms", REGION).add_auth(request)
    headers = [(k.lower().encode(), v.encode()) for k, v in request.headers.items()]
    headers.append((b"host", b"127.0.0.1:4566"))  # what an HTTP client adds
    return Incoming("POST", b"/", b"", headers, body, "127.0.0.1", False)


async def _answer(pipeline: Pipeline, request: Incoming) -> tuple[Outgoing, bool]:
    """The response, and whether it was given on the loop (not through the pool)."""
    out = pipeline.handle(request)
    if isinstance(out, Outgoing):
        return out, True
    return await out, False


def test_storage_refuses_inside_nonblocking(services: Services) -> None:
    assert isinstance(services.storage, GuardedStorage)
    with services.storage.read() as tx:  # outside: fine
        tx.get_meta("default_account")
    with nonblocking(), pytest.raises(WouldBlock):
        services.storage.read()
    with nonblocking(), pytest.raises(WouldBlock):
        services.storage.write()


def test_a_cold_call_moves_to_the_pool_and_a_warm_one_stays_on_the_loop(
    services: Services,
) -> None:
    pipeline = Pipeline(services.settings, services)

    async def scenario() -> list[tuple[int, bool]]:
        seen = []
        created, on_loop = await _answer(
            pipeline, _request("TrentService.CreateKey", {"Description": "p"})
        )
        seen.append((created.status, on_loop))
        key_id = json.loads(created.body)["KeyMetadata"]["KeyId"]
        services.cache.clear()  # a restart, or another node's change: nothing cached
        for _ in range(2):
            encrypt = _request("TrentService.Encrypt", {"KeyId": key_id, "Plaintext": "aGk="})
            response, on_loop = await _answer(pipeline, encrypt)
            seen.append((response.status, on_loop))
        return seen

    try:
        seen = asyncio.run(scenario())
    finally:
        pipeline.close()
    # CreateKey mutates: the pool. The first Encrypt needs the key from storage: the pool.
    # The second finds everything in memory: answered on the loop.
    assert seen == [(200, False), (200, False), (200, True)]
    services.audit.settle()
    names = [e["eventName"] for e in _events(services)]
    assert names == ["CreateKey", "Encrypt", "Encrypt"]  # each call recorded once


def test_a_refused_call_is_recorded_on_the_loop(services: Services) -> None:
    pipeline = Pipeline(services.settings, services)
    bad = _request("TrentService.Encrypt", {"KeyId": "alias/none", "Plaintext": "aGk="})
    try:
        response, _ = asyncio.run(_answer(pipeline, bad))
    finally:
        pipeline.close()
    assert response.status == 400
    assert json.loads(response.body)["__type"] == "NotFoundException"
    services.audit.settle()
    [event] = _events(services)
    assert (event["eventName"], event["errorCode"]) == ("Encrypt", "NotFoundException")


def _events(services: Services) -> list[dict[str, object]]:
    return [json.loads(e.body) for e in services.audit.reads.events()]
