"""Background work on a real service graph, with the clock in the test's hand.

Due deletions and rotations (``KeyService.run_due_jobs``), several nodes on one database
running them at once, and the change feed that keeps every node's key cache honest.
"""

from __future__ import annotations

import base64
import dataclasses
import os
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cofre.config import Settings
from cofre.container import Services
from cofre.core.iam.principals import Caller
from cofre.core.kms.keys import Key, KeyManager, KeyState, RotationType
from cofre.errors import DisabledError, InvalidCiphertextError, KeyStateError, NotFoundError
from cofre.service.clock import ManualClock
from tests.conftest import BACKENDS, require_postgres
from tests.support.server import postgres_database

ACCOUNT = "111122223333"
REGION = "us-east-1"
T0 = datetime(2025, 3, 14, 9, 26, 53, 589793, tzinfo=UTC)
DAY = timedelta(days=1)
SECOND = timedelta(seconds=1)
CALLER = Caller(
    account_id=ACCOUNT,
    principal_arn=f"arn:aws:iam::{ACCOUNT}:root",
    access_key_id="AKIACOFRETESTADMIN01",
    region=REGION,
)


class BoomError(Exception):
    pass


@dataclass
class Cluster:
    """Nodes (``Services`` instances) sharing one database, one root key and one clock."""

    backend: str
    settings: Settings
    clock: ManualClock
    nodes: list[Services] = field(default_factory=list)

    def node(self) -> Services:
        services = Services.build(self.settings, clock=self.clock)
        self.nodes.append(services)
        services.accounts.ensure_account(ACCOUNT, "default")
        return services

    def run_jobs(self) -> int:
        return self.nodes[0].key_jobs.run_due_jobs(self.clock.now())


def _cluster(backend: str, settings: Settings) -> Iterator[Cluster]:
    cluster = Cluster(backend, settings, ManualClock(T0))
    try:
        yield cluster
    finally:
        for node in cluster.nodes:
            node.close()


@pytest.fixture(params=BACKENDS)
def cluster(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Cluster]:
    settings = Settings(
        data_dir=tmp_path / "data",
        root_key_b64=base64.b64encode(os.urandom(32)).decode(),
        job_interval=3600,
        change_poll_interval=3600,  # the follower thread never polls by itself here
    )
    if request.param == "postgres":
        require_postgres()
        with postgres_database() as url:
            yield from _cluster("postgres", dataclasses.replace(settings, database=url))
    else:
        yield from _cluster("sqlite", settings)


@pytest.fixture
def services(cluster: Cluster) -> Services:
    return cluster.node()


def describe(services: Services, key_id: str) -> Key:
    return services.keys.describe_key(CALLER, key_id)


def rotations(services: Services, key_id: str) -> list[tuple[RotationType | None, str]]:
    _, page = services.keys.list_key_rotations(CALLER, key_id, False, 1000, None)
    return [(v.rotation_type, v.material_id) for v in page.items]


def material_of(services: Services, blob: bytes) -> str:
    return services.crypto.decrypt(CALLER, blob).material_id


# scheduled deletion ----------------------------------------------------------------------
def test_scheduled_deletion_happens_after_the_pending_window(
    cluster: Cluster, services: Services
) -> None:
    key = services.keys.create_key(CALLER, description="doomed", tags=[("t", "v")])
    services.aliases.create_alias(CALLER, "alias/doomed", key.key_id)
    blob = services.crypto.encrypt(CALLER, key.key_id, b"precious").blob
    bystander = services.keys.create_key(CALLER)

    scheduled = services.keys.schedule_key_deletion(CALLER, key.key_id, 7)
    assert scheduled.deletion_date == T0 + 7 * DAY
    assert scheduled.state is KeyState.PENDING_DELETION

    cluster.clock.advance(6 * DAY)
    assert services.key_jobs.run_due_jobs(cluster.clock.now()) == 0
    assert describe(services, "alias/doomed").state is KeyState.PENDING_DELETION
    with pytest.raises(KeyStateError):  # pending deletion: not usable, but not gone
        services.crypto.decrypt(CALLER, blob)

    cluster.clock.advance(DAY + SECOND)
    assert services.key_jobs.run_due_jobs(cluster.clock.now()) == 1
    with pytest.raises(NotFoundError):
        describe(services, key.key_id)
    with pytest.raises(NotFoundError):
        describe(services, "alias/doomed")
    page = services.aliases.list_aliases(CALLER, None, None, None)
    assert "alias/doomed" not in [a.name for a in page.items]
    with pytest.raises(InvalidCiphertextError):
        services.crypto.decrypt(CALLER, blob)
    with services.storage.read() as tx:
        assert tx.versions(key.key_id) == []
        assert tx.get_tags(key.key_id) == {}
    assert describe(services, bystander.key_id).state is KeyState.ENABLED
    assert services.key_jobs.run_due_jobs(cluster.clock.now()) == 0


def test_cancelled_deletion_never_happens(cluster: Cluster, services: Services) -> None:
    key = services.keys.create_key(CALLER)
    services.keys.schedule_key_deletion(CALLER, key.key_id, 7)
    services.keys.cancel_key_deletion(CALLER, key.key_id)
    cluster.clock.advance(31 * DAY)
    assert cluster.run_jobs() == 0
    assert describe(services, key.key_id).state is KeyState.DISABLED


# automatic rotation ----------------------------------------------------------------------
def test_automatic_rotation_after_its_period(cluster: Cluster, services: Services) -> None:
    key = services.keys.create_key(CALLER)
    old_material = key.current_version_id.hex()
    old_blob = services.crypto.encrypt(CALLER, key.key_id, b"old").blob
    services.keys.enable_key_rotation(CALLER, key.key_id, 90)
    status = services.keys.get_key_rotation_status(CALLER, key.key_id)
    assert status.rotation_enabled and status.rotation_period_days == 90
    assert status.next_rotation_at == T0 + 90 * DAY

    cluster.clock.advance(89 * DAY)
    assert services.key_jobs.run_due_jobs(cluster.clock.now()) == 0
    assert rotations(services, key.key_id) == []
    assert describe(services, key.key_id).current_version_id.hex() == old_material

    cluster.clock.advance(DAY + SECOND)
    rotated_at = cluster.clock.now()
    assert services.key_jobs.run_due_jobs(rotated_at) == 1
    after = describe(services, key.key_id)
    new_material = after.current_version_id.hex()
    assert new_material != old_material
    assert after.next_rotation_at == rotated_at + 90 * DAY
    assert after.rotation_enabled and after.rotation_period_days == 90
    assert rotations(services, key.key_id) == [(RotationType.AUTOMATIC, new_material)]
    with services.storage.read() as tx:
        assert tx.versions(key.key_id)[-1].created_at == rotated_at

    # Old ciphertexts still decrypt with the old material; new ones use the new material.
    opened = services.crypto.decrypt(CALLER, old_blob)
    assert (opened.plaintext, opened.material_id) == (b"old", old_material)
    new_blob = services.crypto.encrypt(CALLER, key.key_id, b"new").blob
    assert material_of(services, new_blob) == new_material

    # Due once per period: nothing more now, one more a period later.
    assert services.key_jobs.run_due_jobs(cluster.clock.now()) == 0
    cluster.clock.advance(89 * DAY)
    assert services.key_jobs.run_due_jobs(cluster.clock.now()) == 0
    cluster.clock.advance(DAY)
    assert services.key_jobs.run_due_jobs(cluster.clock.now()) == 1
    assert [r for r, _ in rotations(services, key.key_id)] == [RotationType.AUTOMATIC] * 2
    assert services.crypto.decrypt(CALLER, old_blob).plaintext == b"old"
    assert services.crypto.decrypt(CALLER, new_blob).plaintext == b"new"


def test_disabled_key_is_not_rotated_until_re_enabled(cluster: Cluster, services: Services) -> None:
    key = services.keys.create_key(CALLER)
    services.keys.enable_key_rotation(CALLER, key.key_id, 90)
    services.keys.disable_key(CALLER, key.key_id)

    cluster.clock.advance(91 * DAY)
    assert services.key_jobs.run_due_jobs(cluster.clock.now()) == 0
    cluster.clock.advance(30 * DAY)
    assert services.key_jobs.run_due_jobs(cluster.clock.now()) == 0
    assert rotations(services, key.key_id) == []
    assert describe(services, key.key_id).current_version_id == key.current_version_id

    services.keys.enable_key(CALLER, key.key_id)
    now = cluster.clock.now()
    assert services.key_jobs.run_due_jobs(now) == 1
    after = describe(services, key.key_id)
    assert after.current_version_id != key.current_version_id
    assert after.next_rotation_at == now + 90 * DAY
    assert rotations(services, key.key_id) == [
        (RotationType.AUTOMATIC, after.current_version_id.hex())
    ]


def test_key_without_rotation_is_never_rotated(cluster: Cluster, services: Services) -> None:
    key = services.keys.create_key(CALLER)
    services.keys.enable_key_rotation(CALLER, key.key_id, 90)
    services.keys.disable_key_rotation(CALLER, key.key_id)
    cluster.clock.advance(3000 * DAY)
    assert services.key_jobs.run_due_jobs(cluster.clock.now()) == 0
    assert rotations(services, key.key_id) == []


def test_aws_managed_key_rotates_every_year(cluster: Cluster, services: Services) -> None:
    key_id = services.resolver.key_id_for(CALLER, "alias/aws/ssm", allow_alias=True)
    assert services.resolver.key_id_for(CALLER, "alias/aws/ssm", allow_alias=True) == key_id
    key = describe(services, "alias/aws/ssm")
    assert key.key_id == key_id
    assert key.key_manager is KeyManager.AWS
    assert key.rotation_enabled and key.rotation_period_days == 365
    assert key.next_rotation_at == T0 + 365 * DAY

    cluster.clock.advance(364 * DAY)
    assert services.key_jobs.run_due_jobs(cluster.clock.now()) == 0
    assert rotations(services, key_id) == []

    cluster.clock.advance(DAY + SECOND)
    now = cluster.clock.now()
    assert services.key_jobs.run_due_jobs(now) == 1
    after = describe(services, key_id)
    assert after.current_version_id != key.current_version_id
    assert after.next_rotation_at == now + 365 * DAY
    assert rotations(services, key_id) == [(RotationType.AUTOMATIC, after.current_version_id.hex())]
    assert describe(services, "alias/aws/ssm").key_id == key_id  # the alias stays put


# several nodes ---------------------------------------------------------------------------
def test_two_nodes_running_jobs_at_once_rotate_and_delete_exactly_once(
    cluster: Cluster,
) -> None:
    a, b = cluster.node(), cluster.node()
    rotating = [a.keys.create_key(CALLER) for _ in range(5)]
    for key in rotating:
        a.keys.enable_key_rotation(CALLER, key.key_id, 90)
    doomed = [b.keys.create_key(CALLER) for _ in range(3)]
    for key in doomed:
        b.keys.schedule_key_deletion(CALLER, key.key_id, 7)

    def run_both() -> int:
        now = cluster.clock.now()
        barrier = threading.Barrier(2)

        def run(node: Services) -> int:
            barrier.wait()
            return node.key_jobs.run_due_jobs(now)

        with ThreadPoolExecutor(max_workers=2) as pool:
            futures = [pool.submit(run, node) for node in (a, b)]
            return sum(f.result(timeout=60) for f in futures)

    cluster.clock.advance(90 * DAY + SECOND)
    assert run_both() == len(rotating) + len(doomed)
    for key in doomed:
        with pytest.raises(NotFoundError):
            describe(a, key.key_id)
    for period in (1, 2, 3):
        for key in rotating:
            kinds = [kind for kind, _ in rotations(b, key.key_id)]
            assert kinds == [RotationType.AUTOMATIC] * period, key.key_id
        assert run_both() == 0
        if period < 3:
            cluster.clock.advance(90 * DAY)
            assert run_both() == len(rotating)


def test_a_key_disabled_on_one_node_is_refused_by_the_other_after_a_poll(
    cluster: Cluster,
) -> None:
    a, b = cluster.node(), cluster.node()
    a.follower.start()
    key = b.keys.create_key(CALLER)
    a.crypto.encrypt(CALLER, key.key_id, b"warm the cache")

    b.keys.disable_key(CALLER, key.key_id)
    assert a.follower.poll_once() >= 1
    with pytest.raises(DisabledError):
        a.crypto.encrypt(CALLER, key.key_id, b"x")

    b.keys.enable_key(CALLER, key.key_id)
    assert a.follower.poll_once() >= 1
    a.crypto.encrypt(CALLER, key.key_id, b"x")
    assert a.follower.poll_once() == 0


def test_rotation_alias_moves_and_deletion_on_one_node_reach_the_other(
    cluster: Cluster,
) -> None:
    a, b = cluster.node(), cluster.node()
    a.follower.start()
    first = b.keys.create_key(CALLER)
    second = b.keys.create_key(CALLER)
    b.aliases.create_alias(CALLER, "alias/app", first.key_id)
    b.keys.enable_key_rotation(CALLER, first.key_id, 90)
    assert a.crypto.encrypt(CALLER, "alias/app", b"x").key_arn == first.arn
    old_blob = a.crypto.encrypt(CALLER, first.key_id, b"old").blob

    # B rotates: A then encrypts under the new material and opens B's new ciphertexts.
    cluster.clock.advance(90 * DAY + SECOND)
    assert b.key_jobs.run_due_jobs(cluster.clock.now()) == 1
    rotated = describe(b, first.key_id).current_version_id.hex()
    from_b = b.crypto.encrypt(CALLER, first.key_id, b"from b").blob
    a.follower.poll_once()
    assert material_of(a, a.crypto.encrypt(CALLER, first.key_id, b"y").blob) == rotated
    assert a.crypto.decrypt(CALLER, from_b).plaintext == b"from b"
    assert a.crypto.decrypt(CALLER, old_blob).plaintext == b"old"

    # B points the alias elsewhere.
    b.aliases.update_alias(CALLER, "alias/app", second.key_id)
    a.follower.poll_once()
    assert a.crypto.encrypt(CALLER, "alias/app", b"x").key_arn == second.arn

    # B's jobs delete the key: A can no longer decrypt what it made.
    b.keys.schedule_key_deletion(CALLER, first.key_id, 7)
    cluster.clock.advance(7 * DAY + SECOND)
    assert b.key_jobs.run_due_jobs(cluster.clock.now()) == 1
    a.follower.poll_once()
    with pytest.raises(InvalidCiphertextError):
        a.crypto.decrypt(CALLER, old_blob)


def test_change_follower_keeps_going_after_a_rolled_back_write(cluster: Cluster) -> None:
    a, b = cluster.node(), cluster.node()
    a.follower.start()
    key = b.keys.create_key(CALLER)
    a.crypto.encrypt(CALLER, key.key_id, b"warm the cache")
    assert a.follower.poll_once() == 0

    # A write that records a change and then fails: on PostgreSQL it burns a sequence
    # number for good, leaving a permanent gap in the feed.
    with b.storage.read() as reader:
        before = reader.max_change_seq()
    with pytest.raises(BoomError), b.storage.write() as tx:
        locked = tx.lock_key(key.key_id)
        assert locked is not None
        tx.update_key(locked.evolve(state=KeyState.DISABLED))
        tx.record_change("key", key.key_id)
        raise BoomError
    assert a.follower.poll_once() == 0
    a.crypto.encrypt(CALLER, key.key_id, b"still enabled")

    b.keys.disable_key(CALLER, key.key_id)
    if cluster.backend == "postgres":
        with b.storage.read() as reader:
            assert reader.changes_after(before, 10)[0].seq > before + 1  # the gap is there
    assert a.follower.poll_once() == 1
    with pytest.raises(DisabledError):
        a.crypto.encrypt(CALLER, key.key_id, b"x")

    # Later changes keep coming through, each applied once, gap or no gap.
    b.keys.enable_key(CALLER, key.key_id)
    assert a.follower.poll_once() == 1
    a.crypto.encrypt(CALLER, key.key_id, b"x")
    assert a.follower.poll_once() == 0
    b.keys.disable_key(CALLER, key.key_id)
    assert a.follower.poll_once() == 1
    with pytest.raises(DisabledError):
        a.crypto.encrypt(CALLER, key.key_id, b"x")


@pytest.mark.parametrize("cluster", ["postgres"], indirect=True)
def test_change_follower_applies_a_change_that_commits_out_of_order(cluster: Cluster) -> None:
    """PostgreSQL may commit seq n after seq n+1; the follower must not skip n."""
    a, b = cluster.node(), cluster.node()
    a.follower.start()
    slow_key = b.keys.create_key(CALLER)
    fast_key = b.keys.create_key(CALLER)
    for key in (slow_key, fast_key):
        a.crypto.encrypt(CALLER, key.key_id, b"warm the cache")
    assert a.follower.poll_once() == 0

    with b.storage.write() as slow:  # takes seq n, commits last
        locked = slow.lock_key(slow_key.key_id)
        assert locked is not None
        slow.update_key(locked.evolve(state=KeyState.DISABLED))
        # seq n + 1, committed at once (in another thread: a transaction opened on this
        # thread would join the open one)
        worker = threading.Thread(target=b.keys.disable_key, args=(CALLER, fast_key.key_id))
        worker.start()
        worker.join(timeout=30)
        assert a.follower.poll_once() == 1
        with pytest.raises(DisabledError):
            a.crypto.encrypt(CALLER, fast_key.key_id, b"x")
        a.crypto.encrypt(CALLER, slow_key.key_id, b"not yet disabled")

    assert a.follower.poll_once() == 1
    with pytest.raises(DisabledError):
        a.crypto.encrypt(CALLER, slow_key.key_id, b"x")
    assert a.follower.poll_once() == 0
