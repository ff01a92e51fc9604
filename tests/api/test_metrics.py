"""``GET /metrics`` scraped by prometheus-client's own text parser, during and after a
load: the request counters match the calls sent, with one worker and with two (the
multi-process files summed), and no label carries a key id, an input or a secret."""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import require_postgres
from tests.support.server import CofreServer, free_port, postgres_database
from tests.support.signing import signed_json

POLL_FOR = 30.0


def scrape(url: str) -> dict[str, Any]:
    """The exposition, parsed: family name -> family."""
    response = httpx.get(f"{url}/metrics", timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {family.name: family for family in text_string_to_metric_families(response.text)}


def sample_value(families: dict[str, Any], family: str, sample: str, **labels: str) -> float | None:
    found = families.get(family)
    if found is None:
        return None
    for item in found.samples:
        if item.name == sample and all(item.labels.get(k) == v for k, v in labels.items()):
            return float(item.value)
    return None


def requests_of(families: dict[str, Any], operation: str, outcome: str = "ok") -> float:
    value = sample_value(
        families, "cofre_requests", "cofre_requests_total",
        service="kms", operation=operation, outcome=outcome,
    )  # fmt: skip
    return value or 0.0


def eventually(probe: Callable[[], bool]) -> None:
    """Workers flush their counts about once a second: wait for them (bound: a hang)."""
    deadline = time.monotonic() + POLL_FOR
    while not probe():
        assert time.monotonic() < deadline, "the metrics never caught up"
        time.sleep(0.2)


def label_values(families: dict[str, Any]) -> set[str]:
    return {v for f in families.values() for s in f.samples for v in s.labels.values()}


@pytest.fixture(scope="module", params=[1, 2], ids=["workers1", "workers2"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[CofreServer]:
    tmp = tmp_path_factory.mktemp(f"metrics-{request.param}")
    srv = CofreServer(tmp / "data", workers=request.param).start()
    try:
        yield srv
    finally:
        srv.stop()


def test_counters_match_the_calls_sent(server: CofreServer) -> None:
    kms = server.client("kms")
    before = scrape(server.url)
    key_id = kms.create_key(Description="metrics")["KeyMetadata"]["KeyId"]
    plaintext = b"metrics plaintext that must not show"
    sent = 0
    ciphertext = b""
    for _ in range(40):
        ciphertext = kms.encrypt(KeyId=key_id, Plaintext=plaintext)["CiphertextBlob"]
        sent += 1
    missing = 0
    for _ in range(3):
        with pytest.raises(ClientError):
            kms.describe_key(KeyId="alias/no-such-alias")
        missing += 1
    expected = requests_of(before, "Encrypt") + sent
    expected_missing = requests_of(before, "DescribeKey", "NotFoundException") + missing

    def caught_up() -> bool:
        now = scrape(server.url)
        return (
            requests_of(now, "Encrypt") == expected
            and requests_of(now, "DescribeKey", "NotFoundException") == expected_missing
        )

    eventually(caught_up)
    families = scrape(server.url)
    assert requests_of(families, "Encrypt") == expected  # nothing counted twice
    count = sample_value(
        families, "cofre_request_duration_seconds", "cofre_request_duration_seconds_count",
        service="kms", operation="Encrypt",
    )  # fmt: skip
    assert count == expected
    keys = sample_value(
        families, "cofre_keys", "cofre_keys", state="Enabled", spec="SYMMETRIC_DEFAULT"
    )
    assert keys is not None and keys >= 1
    assert sample_value(families, "cofre_sealed", "cofre_sealed") == 0
    assert sample_value(families, "cofre_node_state_readable", "cofre_node_state_readable") == 1
    assert families["cofre_audit_journal_backlog_bytes"].samples
    assert families["cofre_webhook_outbox_depth"].samples[0].value == 0
    labels = label_values(families)
    secrets = {key_id, plaintext.decode(), base64.b64encode(plaintext).decode()}
    secrets.add(base64.b64encode(ciphertext).decode())
    assert not labels & secrets
    assert not any(key_id in value for value in labels)


def test_labels_come_from_the_model_not_from_the_request(server: CofreServer) -> None:
    """An operation the model does not have, or a service Cofre does not serve, is
    counted as ``other``: a client cannot make label values up."""
    for target in ("TrentService.Evil_made_up_op", "NoSuchService_20990101.Whatever"):
        body, headers = signed_json(server, target, {}, service="kms")
        response = httpx.post(f"{server.url}/", content=body, headers=headers)
        assert response.status_code == 400
    families = scrape(server.url)
    eventually(lambda: "Evil_made_up_op" not in str(label_values(scrape(server.url))))
    assert all("Evil" not in v and "Whatever" not in v for v in label_values(families))
    eventually(lambda: requests_of(scrape(server.url), "other", "UnknownOperationException") >= 1)


def test_scrapes_during_a_load_parse_and_never_go_back(server: CofreServer) -> None:
    kms = server.client("kms")
    key_id = kms.create_key(Description="load")["KeyMetadata"]["KeyId"]
    stop = threading.Event()
    sent = [0]

    def load() -> None:
        client = server.client("kms")
        while not stop.is_set():
            client.encrypt(KeyId=key_id, Plaintext=b"x")
            sent[0] += 1

    start = requests_of(scrape(server.url), "Encrypt")
    threads = [threading.Thread(target=load) for _ in range(3)]
    for thread in threads:
        thread.start()
    seen: list[float] = []
    try:
        for _ in range(10):
            seen.append(requests_of(scrape(server.url), "Encrypt"))
            time.sleep(0.2)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert seen == sorted(seen)  # counters never go back
    eventually(lambda: requests_of(scrape(server.url), "Encrypt") == start + sent[0])


def test_metrics_on_their_own_listener(tmp_path: Path) -> None:
    port = free_port()
    srv = CofreServer(
        tmp_path / "data", extra_args=("--metrics-listen", f"127.0.0.1:{port}")
    ).start()
    try:
        srv.client("kms").list_keys()
        metrics_url = f"http://127.0.0.1:{port}"
        eventually(lambda: requests_of(scrape(metrics_url), "ListKeys") == 1)
        assert httpx.get(f"{metrics_url}/").status_code == 404
        assert httpx.get(f"{srv.url}/metrics").status_code != 200  # not on the API port
    finally:
        srv.stop()


@pytest.mark.postgres
def test_postgres_pool_use_is_reported(tmp_path: Path) -> None:
    require_postgres()
    with postgres_database() as url:
        srv = CofreServer(tmp_path / "data", database=url, workers=2).start()
        try:
            srv.client("kms").list_keys()

            def pool_reported() -> bool:
                families = scrape(srv.url)
                size = sample_value(
                    families, "cofre_db_pool_connections", "cofre_db_pool_connections",
                    state="size",
                )  # fmt: skip
                return size is not None and size >= 2  # one pool per worker, summed

            eventually(pool_reported)
        finally:
            srv.stop()


def test_metrics_off(tmp_path: Path) -> None:
    srv = CofreServer(tmp_path / "data", extra_args=("--metrics", "off")).start()
    try:
        srv.client("kms").list_keys()
        assert httpx.get(f"{srv.url}/metrics").status_code != 200
    finally:
        srv.stop()
