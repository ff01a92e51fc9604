"""Notification delivery across crashes and nodes (ADR 0013): a server killed with SIGKILL
while deliveries are in flight delivers them after a restart (at least once, the same
event ids), and several processes sharing one database never send one delivery twice
while none of them crashes (leases)."""

from __future__ import annotations

import signal
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api.test_ssm_notifications import FAST, hook_path
from tests.conftest import BACKENDS, require_postgres
from tests.support.backends import backend_database
from tests.support.server import CLOCK_ENV, CofreServer, postgres_database, random_root_key
from tests.support.ssm import unique_path
from tests.support.webhooks import Receiver, create_hook

SECRET = "restart-webhook-secret-0123456789"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    r.released.set()
    r.stop()


@pytest.mark.parametrize("backend", BACKENDS)
def test_kill_mid_delivery_then_restart(backend: str, tmp_path: Path, receiver: Receiver) -> None:
    env = {CLOCK_ENV: str(tmp_path / "clock"), **FAST, "COFRE_WEBHOOK_LEASE": "3"}
    with backend_database(backend) as database:
        server = CofreServer(tmp_path / "data", database=database, env=env).start()
        try:
            path, base = hook_path(), unique_path("/crash")
            create_hook(server, receiver.url(path), PathPrefix=base + "/", Secret=SECRET)
            receiver.hold = True  # requests arrive and stay open: mid-delivery
            ssm = server.client("ssm")
            names = [f"{base}/p{i}" for i in range(5)]
            for name in names:
                ssm.put_parameter(Name=name, Value="v", Type="String")
            receiver.wait(lambda: len(receiver.received) >= 1)
            server.kill()  # SIGKILL, while the receiver holds the requests
            in_flight = {r.event["id"] for r in receiver.received}
            receiver.hold = False
            receiver.released.set()
            server.start()
            receiver.wait(
                lambda: {r.event["detail"]["name"] for r in receiver.delivered(path)} == set(names),
                timeout=30,
            )
            got = receiver.delivered(path)
            delivered = {r.event["detail"]["name"]: r.event["id"] for r in got}
            assert in_flight <= set(delivered.values())  # the same events, not new ones
            for r in got:  # duplicates are allowed, but always of the same event
                assert delivered[r.event["detail"]["name"]] == r.event["id"]
        finally:
            server.stop(signal.SIGTERM)


def _spread(servers: list[CofreServer], base: str, n: int) -> None:
    clients = [s.client("ssm") for s in servers]
    for i in range(n):
        clients[i % len(clients)].put_parameter(Name=f"{base}/p{i}", Value="v", Type="String")


def _exactly_once(receiver: Receiver, path: str, n: int) -> None:
    receiver.wait_count(path, n, timeout=30)
    time.sleep(1.0)  # a second sender would have sent by now
    counts = Counter(r.event["id"] for r in receiver.delivered(path))
    assert len(counts) == n and set(counts.values()) == {1}, counts


def test_two_nodes_on_postgres_deliver_each_event_once(tmp_path: Path, receiver: Receiver) -> None:
    require_postgres()
    root = random_root_key()
    env = {CLOCK_ENV: str(tmp_path / "clock"), **FAST}
    with postgres_database() as url:
        nodes = [
            CofreServer(tmp_path / f"node{i}", database=url, root_key=root, env=env).start()
            for i in range(2)
        ]
        try:
            path, base = hook_path(), f"/mn/{uuid.uuid4().hex[:8]}"
            create_hook(nodes[0], receiver.url(path), PathPrefix=base + "/")
            _spread(nodes, base, 24)
            _exactly_once(receiver, path, 24)
            policy = '[{"Type":"NoChangeNotification","Version":"1.0",' + (
                '"Attributes":{"After":"1","Unit":"Hours"}}]'
            )
            nodes[1].client("ssm").put_parameter(
                Name=f"{base}/pol", Value="v", Type="String", Tier="Advanced", Policies=policy
            )
            receiver.wait_count(path, 25)
            with nodes[0].clock_offset(2 * 3600):  # both nodes read the same offset file
                receiver.wait_count(path, 26)
                time.sleep(1.0)  # both nodes run the job several times
            _exactly_once(receiver, path, 26)
        finally:
            for node in nodes:
                node.stop()


def test_two_workers_on_sqlite_deliver_each_event_once(tmp_path: Path, receiver: Receiver) -> None:
    env = {CLOCK_ENV: str(tmp_path / "clock"), **FAST}
    server = CofreServer(tmp_path / "data", workers=2, env=env).start()
    try:
        path, base = hook_path(), f"/mw/{uuid.uuid4().hex[:8]}"
        create_hook(server, receiver.url(path), PathPrefix=base + "/")
        _spread([server, server], base, 24)
        _exactly_once(receiver, path, 24)
    finally:
        server.stop()
