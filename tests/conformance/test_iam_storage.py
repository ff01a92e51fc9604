"""The IAM and grant half of the storage conformance suite (``IamReadTx`` / ``IamWriteTx``
of ``cofre.service.ports``), run against SQLite and PostgreSQL alike with the ``db`` fixture
and builders of ``test_storage``.
"""

from __future__ import annotations

import dataclasses
import sqlite3
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from cofre.core.iam.entities import (
    InlinePolicy,
    ManagedPolicy,
    OwnerKind,
    PolicyVersion,
    Role,
    User,
    assumed_role_arn,
    policy_arn,
    role_arn,
    user_arn,
)
from cofre.core.iam.principals import Account
from cofre.core.kms.grants import Grant, GrantConstraints
from cofre.core.kms.keys import Key
from cofre.errors import AlreadyExistsError
from cofre.service.clock import ManualClock
from cofre.service.ports import ReadTx, Storage, WriteTx
from cofre.storage.migrate import migrations
from cofre.storage.postgres import PostgresStorage
from cofre.storage.sql.common import to_micros
from cofre.storage.sqlite import SqliteStorage
from tests.conformance.test_storage import (
    ACCOUNT,
    OTHER_ACCOUNT,
    T0,
    Db,
    insert_key,
    make_credential,
    max_seq,
    new_id,
)
from tests.conftest import BACKENDS, require_postgres
from tests.support.server import postgres_database

USER, ROLE = OwnerKind.USER, OwnerKind.ROLE
US = timedelta(microseconds=1)
TRUST = '{"Version": "2012-10-17", "Statement": []}'
AWS_MANAGED = "arn:aws:iam::aws:policy/ReadOnlyAccess"


# builders --------------------------------------------------------------------------------
def unique_id(prefix: str) -> str:
    return prefix + uuid.uuid4().hex[:17].upper()


def make_user(name: str, path: str = "/", *, account: str = ACCOUNT) -> User:
    return User(account, name, unique_id("AIDA"), path, T0 + 3 * US)


def make_role(name: str, path: str = "/", *, account: str = ACCOUNT) -> Role:
    return Role(account, name, unique_id("AROA"), path, TRUST, "a role ✓", 3600, T0 + 5 * US)


def make_policy(
    name: str, path: str = "/", *, account: str = ACCOUNT, document: str = "{}"
) -> tuple[ManagedPolicy, PolicyVersion]:
    policy = ManagedPolicy(account, name, unique_id("ANPA"), path, "", "v1", 2, T0, T0 + 7 * US)
    return policy, PolicyVersion(account, name, "v1", document, T0 + 11 * US)


def make_grant(key: Key, grant_id: str, **changes: Any) -> Grant:
    grant = Grant(
        grant_id=grant_id,
        key_row_id=key.row_id,
        key_arn=key.arn,
        account_id=key.account_id,
        name=None,
        grantee_principal=role_arn(ACCOUNT, "/", "app"),
        retiring_principal=None,
        issuing_account=f"arn:aws:iam::{ACCOUNT}:root",
        operations=("Encrypt", "Decrypt"),
        created_at=T0 + 13 * US,
    )
    return dataclasses.replace(grant, **changes)


def feed(db: Db, write: Callable[[WriteTx], object]) -> list[tuple[str, str]]:
    """The changes one write transaction records."""
    start = max_seq(db.storage)
    with db.storage.write() as tx:
        write(tx)
    with db.storage.read() as tx:
        return [(c.kind, c.ref) for c in tx.changes_after(start, 1000)]


def with_accounts(storage: Storage) -> None:
    with storage.write() as tx:
        tx.insert_account(Account(ACCOUNT, "default", T0))
        tx.insert_account(Account(OTHER_ACCOUNT, "other", T0))


Insert = Callable[[WriteTx, str, str, str], None]  # tx, account, name, path
INSERTS: dict[str, Insert] = {
    "user": lambda tx, account, name, path: tx.insert_user(make_user(name, path, account=account)),
    "role": lambda tx, account, name, path: tx.insert_role(make_role(name, path, account=account)),
    "policy": lambda tx, account, name, path: tx.insert_managed_policy(
        *make_policy(name, path, account=account)
    ),
}
DUPLICATE = {
    "user": "User with name {} already exists.",
    "role": "Role with name {} already exists.",
    "policy": "A policy called {} already exists. Duplicate names are not allowed.",
}


def listed(tx: ReadTx, kind: str, prefix: str, after: str | None, limit: int) -> list[str]:
    if kind == "user":
        return [u.name for u in tx.list_users(ACCOUNT, prefix, after, limit)]
    if kind == "role":
        return [r.name for r in tx.list_roles(ACCOUNT, prefix, after, limit)]
    return [p.name for p in tx.list_managed_policies(ACCOUNT, prefix, after, limit)]


# users, roles, managed policies ----------------------------------------------------------
def test_users_insert_get_delete(db: Db) -> None:
    alice = make_user("alice", "/eng/")
    with db.storage.write() as tx:
        tx.insert_user(alice)
    with db.storage.read() as tx:
        assert tx.get_user(ACCOUNT, "alice") == alice
        assert tx.get_user(ACCOUNT, "Alice") is None  # looked up by the exact name
        assert tx.get_user(OTHER_ACCOUNT, "alice") is None
        assert tx.list_users(ACCOUNT, "/", None, 10) == [alice]
    with db.storage.write() as tx:
        tx.delete_user(ACCOUNT, "alice")
        tx.delete_user(ACCOUNT, "nobody")  # no error
    with db.storage.read() as tx:
        assert tx.get_user(ACCOUNT, "alice") is None


@pytest.mark.parametrize("kind", sorted(INSERTS))
def test_names_are_unique_per_account_whatever_their_case(db: Db, kind: str) -> None:
    insert = INSERTS[kind]
    with db.storage.write() as tx:
        insert(tx, ACCOUNT, "Admin", "/")
    for name, path in [("Admin", "/"), ("admin", "/"), ("ADMIN", "/other/")]:
        start = max_seq(db.storage)
        with pytest.raises(AlreadyExistsError) as raised, db.storage.write() as tx:
            tx.set_meta("lost", "yes")
            insert(tx, ACCOUNT, name, path)
        assert raised.value.message == DUPLICATE[kind].format(name)
        with db.storage.read() as tx:  # the whole transaction rolled back
            assert tx.get_meta("lost") is None
            assert tx.changes_after(start, 10) == []
    with db.storage.write() as tx:
        insert(tx, OTHER_ACCOUNT, "admin", "/")
        insert(tx, ACCOUNT, "Admin2", "/")
    with db.storage.read() as tx:
        assert listed(tx, kind, "/", None, 10) == ["Admin", "Admin2"]


@pytest.mark.parametrize("kind", sorted(INSERTS))
def test_lists_filter_by_path_prefix_and_paginate_by_name(db: Db, kind: str) -> None:
    entries = [
        ("dave", "/eng/"),
        ("Zed", "/"),
        ("erin", "/engineering/"),
        ("bob", "/eng/backend/"),
        ("alice", "/eng/"),
        ("carol", "/ops/"),
    ]
    with db.storage.write() as tx:
        for name, path in entries:
            INSERTS[kind](tx, ACCOUNT, name, path)
        INSERTS[kind](tx, OTHER_ACCOUNT, "aaron", "/eng/")

    def names(prefix: str, after: str | None = None, limit: int = 100) -> list[str]:
        with db.storage.read() as tx:
            return listed(tx, kind, prefix, after, limit)

    everyone = ["Zed", "alice", "bob", "carol", "dave", "erin"]  # byte order on both backends
    assert names("/") == everyone
    assert names("") == everyone
    assert names("/eng/") == ["alice", "bob", "dave"]
    assert names("/eng") == ["alice", "bob", "dave", "erin"]
    assert names("/eng/backend/") == ["bob"]
    assert names("/ENG/") == []  # paths are case-sensitive
    assert names("/nowhere/") == []
    assert names("/", None, 2) == ["Zed", "alice"]
    assert names("/", "alice", 2) == ["bob", "carol"]
    assert names("/", "b", 100) == ["bob", "carol", "dave", "erin"]
    assert names("/", "erin", 2) == []
    assert names("/eng/", "alice", 1) == ["bob"]


def test_roles_update_only_what_aws_lets_change(db: Db) -> None:
    role = make_role("deployer", "/ci/")
    with db.storage.write() as tx:
        tx.insert_role(role)
    with db.storage.read() as tx:
        assert tx.get_role(ACCOUNT, "deployer") == role
        assert tx.get_role(ACCOUNT, "Deployer") is None
        assert tx.list_roles(ACCOUNT, "/ci/", None, 10) == [role]
    updated = dataclasses.replace(
        role,
        trust_policy='{"Statement": [{"Sid": "x"}]}',
        description="",
        max_session_duration=43200,
    )
    with db.storage.write() as tx:
        tx.update_role(updated)
        tx.update_role(
            dataclasses.replace(updated, role_id="AROAOTHER", path="/x/", created_at=T0 + US)
        )
    with db.storage.read() as tx:
        assert tx.get_role(ACCOUNT, "deployer") == updated
    with db.storage.write() as tx:
        tx.delete_role(ACCOUNT, "deployer")
    with db.storage.read() as tx:
        assert tx.get_role(ACCOUNT, "deployer") is None


def test_managed_policies_and_their_versions(db: Db) -> None:
    policy, v1 = make_policy("deploy", "/ci/", document='{"v": 1}')
    other, other_v1 = make_policy("other")
    later = [
        PolicyVersion(ACCOUNT, "deploy", f"v{n}", f'{{"v": {n}}}', T0 + n * US)
        for n in range(2, 12)
    ]
    with db.storage.write() as tx:
        tx.insert_managed_policy(policy, v1)
        tx.insert_managed_policy(other, other_v1)
        for version in reversed(later):
            tx.insert_policy_version(version)
    with db.storage.read() as tx:
        assert tx.get_managed_policy(ACCOUNT, "deploy") == policy
        assert tx.get_managed_policy(OTHER_ACCOUNT, "deploy") is None
        assert tx.list_managed_policies(ACCOUNT, "/ci/", None, 10) == [policy]
        assert tx.get_policy_version(ACCOUNT, "deploy", "v1") == v1
        assert tx.get_policy_version(ACCOUNT, "deploy", "v12") is None
        assert tx.list_policy_versions(ACCOUNT, "deploy") == [v1, *later]  # v10 after v9
    updated = dataclasses.replace(
        policy, description="new", default_version_id="v11", next_version=12, updated_at=T0 + US
    )
    with db.storage.write() as tx:
        tx.update_managed_policy(updated)
        tx.delete_policy_version(ACCOUNT, "deploy", "v2")
    with db.storage.read() as tx:
        assert tx.get_managed_policy(ACCOUNT, "deploy") == updated
        assert tx.get_policy_version(ACCOUNT, "deploy", "v2") is None
        assert tx.list_policy_versions(ACCOUNT, "deploy") == [v1, *later[1:]]
    with db.storage.write() as tx:
        tx.delete_managed_policy(ACCOUNT, "deploy")
    with db.storage.read() as tx:
        assert tx.get_managed_policy(ACCOUNT, "deploy") is None
        assert tx.list_policy_versions(ACCOUNT, "deploy") == []
        assert tx.get_managed_policy(ACCOUNT, "other") == other
        assert tx.list_policy_versions(ACCOUNT, "other") == [other_v1]
    with db.storage.write() as tx:  # the name and its version ids are free again
        tx.insert_managed_policy(policy, v1)
    with db.storage.read() as tx:
        assert tx.list_policy_versions(ACCOUNT, "deploy") == [v1]


# inline policies, attachments, identity documents ------------------------------------------
def test_inline_policies_put_replace_list_delete(db: Db) -> None:
    lower = InlinePolicy(ACCOUNT, USER, "alice", "b-policy", '{"x": 1}')
    upper = InlinePolicy(ACCOUNT, USER, "alice", "B-policy", '{"x": 2}')
    of_role = InlinePolicy(ACCOUNT, ROLE, "alice", "b-policy", '{"role": 1}')  # same owner name
    with db.storage.write() as tx:
        for policy in (lower, upper, of_role):
            tx.put_inline_policy(policy)
    with db.storage.read() as tx:
        assert tx.get_inline_policy(ACCOUNT, USER, "alice", "b-policy") == lower
        got = tx.get_inline_policy(ACCOUNT, ROLE, "alice", "b-policy")
        assert got == of_role and isinstance(got.owner_kind, OwnerKind)
        assert tx.get_inline_policy(ACCOUNT, USER, "bob", "b-policy") is None
        assert tx.list_inline_policies(ACCOUNT, USER, "alice") == [upper, lower]
        assert tx.list_inline_policies(ACCOUNT, ROLE, "alice") == [of_role]
        assert tx.list_inline_policies(OTHER_ACCOUNT, USER, "alice") == []
    replaced = dataclasses.replace(lower, document='{"x": 3}')
    with db.storage.write() as tx:
        tx.put_inline_policy(replaced)
    with db.storage.read() as tx:
        assert tx.list_inline_policies(ACCOUNT, USER, "alice") == [upper, replaced]
    with db.storage.write() as tx:
        tx.delete_inline_policy(ACCOUNT, USER, "alice", "b-policy")
        tx.delete_inline_policy(ACCOUNT, USER, "alice", "never-was")
    with db.storage.read() as tx:
        assert tx.list_inline_policies(ACCOUNT, USER, "alice") == [upper]
        assert tx.list_inline_policies(ACCOUNT, ROLE, "alice") == [of_role]


def test_attach_is_idempotent_and_counts_per_policy(db: Db) -> None:
    one, two = policy_arn(ACCOUNT, "/", "one"), policy_arn(ACCOUNT, "/ci/", "two")
    with db.storage.write() as tx:
        for kind, owner, arn in [
            (USER, "alice", two),
            (USER, "alice", one),
            (USER, "alice", AWS_MANAGED),
            (USER, "alice", one),
            (ROLE, "alice", one),
            (USER, "bob", one),
        ]:
            tx.attach_policy(ACCOUNT, kind, owner, arn)
    with db.storage.read() as tx:
        assert tx.list_attached(ACCOUNT, USER, "alice") == sorted([one, two, AWS_MANAGED])
        assert tx.list_attached(ACCOUNT, ROLE, "alice") == [one]
        assert tx.list_attached(OTHER_ACCOUNT, USER, "alice") == []
        assert tx.count_attachments(ACCOUNT, one) == 3
        assert tx.count_attachments(ACCOUNT, two) == 1
        assert tx.count_attachments(OTHER_ACCOUNT, one) == 0
        assert tx.count_attachments(ACCOUNT, policy_arn(ACCOUNT, "/", "none")) == 0
    with db.storage.write() as tx:
        tx.detach_policy(ACCOUNT, USER, "alice", one)
        tx.detach_policy(ACCOUNT, USER, "alice", one)  # no error
    with db.storage.read() as tx:
        assert tx.list_attached(ACCOUNT, USER, "alice") == sorted([two, AWS_MANAGED])
        assert tx.count_attachments(ACCOUNT, one) == 2


def test_identity_documents_inline_by_name_then_default_versions_by_arn(db: Db) -> None:
    zeta, zeta_v1 = make_policy("zeta", document="zeta-v1")
    zeta_v2 = PolicyVersion(ACCOUNT, "zeta", "v2", "zeta-v2", T0)
    alpha, alpha_v1 = make_policy("Alpha", "/x/", document="alpha-v1")
    unused, unused_v1 = make_policy("unused", document="unused-v1")
    with db.storage.write() as tx:
        tx.insert_managed_policy(zeta, zeta_v1)
        tx.insert_policy_version(zeta_v2)
        tx.update_managed_policy(dataclasses.replace(zeta, default_version_id="v2"))
        tx.insert_managed_policy(alpha, alpha_v1)
        tx.insert_managed_policy(unused, unused_v1)
        for name in ("b", "A", "a"):
            tx.put_inline_policy(InlinePolicy(ACCOUNT, USER, "alice", name, f"inline-{name}"))
        tx.put_inline_policy(InlinePolicy(ACCOUNT, ROLE, "alice", "r", "role-inline"))
        tx.put_inline_policy(InlinePolicy(ACCOUNT, USER, "bob", "b", "bob-inline"))
        for arn in (
            zeta.arn,
            AWS_MANAGED,  # not stored: skipped
            alpha.arn,  # arn:...:policy/x/Alpha sorts before arn:...:policy/zeta
            policy_arn(ACCOUNT, "/", "Alpha"),  # the wrong path: no such policy
            policy_arn(ACCOUNT, "/", "deleted"),
        ):
            tx.attach_policy(ACCOUNT, USER, "alice", arn)
        tx.attach_policy(ACCOUNT, ROLE, "alice", alpha.arn)
    with db.storage.read() as tx:
        assert tx.identity_documents(ACCOUNT, USER, "alice") == [
            "inline-A",
            "inline-a",
            "inline-b",
            "alpha-v1",
            "zeta-v2",
        ]
        assert tx.identity_documents(ACCOUNT, ROLE, "alice") == ["role-inline", "alpha-v1"]
        assert tx.identity_documents(ACCOUNT, USER, "bob") == ["bob-inline"]
        assert tx.identity_documents(ACCOUNT, USER, "nobody") == []
        assert tx.identity_documents(OTHER_ACCOUNT, USER, "alice") == []


# access keys and temporary credentials -----------------------------------------------------
def test_credential_fields_round_trip_exactly(db: Db) -> None:
    with_accounts(db.storage)
    session = make_credential(
        "ASIAAAAAAAAAAAAAAAAA",
        principal_arn=assumed_role_arn(ACCOUNT, "deployer", "build-7"),
        principal_id="AROAEXAMPLEEXAMPLE01:build-7",
        expires_at=T0 + timedelta(hours=1, microseconds=1),
        session_token_hash=bytes(range(32)),
        role_arn=role_arn(ACCOUNT, "/", "deployer"),
    )
    with db.storage.write() as tx:
        tx.put_credential(session)
    with db.storage.read() as tx:
        stored = tx.get_credential(session.access_key_id)
    assert stored == session
    assert stored is not None and stored.is_temporary
    assert type(stored.session_token_hash) is bytes
    cleared = dataclasses.replace(
        session, principal_id="", expires_at=None, session_token_hash=None, role_arn=None
    )
    with db.storage.write() as tx:
        tx.put_credential(dataclasses.replace(cleared, created_at=T0 + timedelta(days=1)))
    with db.storage.read() as tx:
        assert tx.get_credential(session.access_key_id) == cleared


def test_list_access_keys_of_a_user_without_sessions(db: Db) -> None:
    with_accounts(db.storage)
    alice: dict[str, object] = {
        "principal_arn": user_arn(ACCOUNT, "/", "alice"),
        "user_name": "alice",
        "principal_id": "AIDAALICE",
    }
    first = make_credential("AKIAZZZZZZZZZZZZZZZZ", created_at=T0, **alice)
    second = make_credential("AKIABBBBBBBBBBBBBBBB", created_at=T0 + US, **alice)
    third = make_credential("AKIAAAAAAAAAAAAAAAAB", created_at=T0 + US, **alice)
    with db.storage.write() as tx:
        for credential in (
            third,
            first,
            second,
            make_credential("ASIAAAAAAAAAAAAAAAAA", session_token_hash=b"h" * 32, **alice),
            make_credential("AKIACCCCCCCCCCCCCCCC", user_name="bob"),
            make_credential("AKIADDDDDDDDDDDDDDDD", account_id=OTHER_ACCOUNT, user_name="alice"),
            make_credential("AKIAEEEEEEEEEEEEEEEE"),  # the root's
        ):
            tx.put_credential(credential)
    with db.storage.read() as tx:
        assert tx.list_access_keys(ACCOUNT, "alice") == [first, third, second]
        assert tx.list_access_keys(ACCOUNT, "carol") == []


def test_delete_credential_and_expired_credentials(db: Db) -> None:
    with_accounts(db.storage)
    now = T0 + timedelta(hours=1)
    token = b"\x01" * 32
    expired = make_credential("ASIA1111111111111111", expires_at=now - US, session_token_hash=token)
    exact = make_credential("ASIA2222222222222222", expires_at=now, session_token_hash=token)
    live = make_credential("ASIA3333333333333333", expires_at=now + US, session_token_hash=token)
    permanent = make_credential("AKIA4444444444444444")
    with db.storage.write() as tx:
        for credential in (live, exact, permanent, expired):
            tx.put_credential(credential)
    counts: list[int] = []
    changes = feed(db, lambda tx: counts.append(tx.delete_expired_credentials(now)))
    assert counts == [2]
    assert changes == [("credential", expired.access_key_id), ("credential", exact.access_key_id)]
    assert feed(db, lambda tx: counts.append(tx.delete_expired_credentials(now))) == []
    assert counts == [2, 0]
    changes = feed(db, lambda tx: tx.delete_credential(live.access_key_id))
    assert changes == [("credential", live.access_key_id)]
    with db.storage.read() as reader:
        for gone in (expired, exact, live):
            assert reader.get_credential(gone.access_key_id) is None
        assert reader.get_credential(permanent.access_key_id) == permanent


# grants ----------------------------------------------------------------------------------
def test_grants_round_trip_with_and_without_constraints(db: Db) -> None:
    key = insert_key(db.storage)
    grants = [
        make_grant(key, "g1"),
        make_grant(
            key,
            "g2",
            name="app",
            retiring_principal=role_arn(ACCOUNT, "/", "retirer"),
            operations=("GenerateDataKey", "Decrypt", "Encrypt"),  # the caller's order
            constraints=GrantConstraints(encryption_context_subset={"dept": "ünï", "b": ""}),
            created_at=None,
        ),
        make_grant(key, "g3", constraints=GrantConstraints(encryption_context_equals={"a": "1"})),
        make_grant(key, "g4", constraints=GrantConstraints({}, {"x": "y"})),
    ]
    with db.storage.write() as tx:
        for grant in grants:
            tx.insert_grant(grant)
    with db.storage.read() as tx:
        stored = [tx.get_grant(g.grant_id) for g in grants]
        assert tx.get_grant("g5") is None
    assert stored == grants
    assert all(g is not None and type(g.operations) is tuple for g in stored)


def test_grant_lists_paginate_by_grant_id(db: Db) -> None:
    first, second = insert_key(db.storage), insert_key(db.storage)
    retirer = role_arn(ACCOUNT, "/", "retirer")
    with db.storage.write() as tx:
        for grant_id in ("g-d", "g-c", "g-b", "g-a"):
            retiring = retirer if grant_id in ("g-b", "g-d") else None
            name = {"g-a": "dup", "g-c": "dup", "g-d": "solo"}.get(grant_id)
            tx.insert_grant(make_grant(first, grant_id, retiring_principal=retiring, name=name))
        tx.insert_grant(make_grant(second, "g-e", name="dup"))
        tx.insert_grant(make_grant(second, "g-aa", retiring_principal=retirer))

    def ids(grants: list[Grant]) -> list[str]:
        return [g.grant_id for g in grants]

    with db.storage.read() as reader:
        assert ids(reader.list_grants(first.key_id, None, 10)) == ["g-a", "g-b", "g-c", "g-d"]
        assert ids(reader.list_grants(first.key_id, None, 2)) == ["g-a", "g-b"]
        assert ids(reader.list_grants(first.key_id, "g-b", 2)) == ["g-c", "g-d"]
        assert ids(reader.list_grants(first.key_id, "g-d", 2)) == []
        assert ids(reader.list_grants(second.key_id, None, 10)) == ["g-aa", "g-e"]
        assert reader.list_grants(new_id(), None, 10) == []
        assert ids(reader.list_retirable_grants(retirer, None, 10)) == ["g-aa", "g-b", "g-d"]
        assert ids(reader.list_retirable_grants(retirer, "g-aa", 1)) == ["g-b"]
        assert reader.list_retirable_grants(role_arn(ACCOUNT, "/", "x"), None, 10) == []
        assert reader.count_grants(first.key_id) == 4
        assert reader.count_grants(second.key_id) == 2
        assert reader.count_grants(new_id()) == 0
        found = reader.find_grant_by_name(first.key_id, "dup")
        assert found is not None and found.grant_id == "g-a"  # the smallest id of several
        solo = reader.find_grant_by_name(first.key_id, "solo")
        assert solo == reader.get_grant("g-d")
        assert reader.find_grant_by_name(first.key_id, "missing") is None
        by_second = reader.find_grant_by_name(second.key_id, "dup")
        assert by_second is not None and by_second.grant_id == "g-e"


def test_grant_insert_and_delete_record_grant_changes(db: Db) -> None:
    key = insert_key(db.storage)
    grant = make_grant(key, "g1")
    assert feed(db, lambda tx: tx.insert_grant(grant)) == [("grant", key.key_id)]
    assert feed(db, lambda tx: tx.delete_grant("g1")) == [("grant", key.key_id)]
    assert feed(db, lambda tx: tx.delete_grant("g1")) == []  # nothing to delete
    with db.storage.read() as tx:
        assert tx.get_grant("g1") is None
        assert tx.count_grants(key.key_id) == 0


def test_deleting_a_key_deletes_its_grants(db: Db) -> None:
    key, other = insert_key(db.storage), insert_key(db.storage)
    retirer = role_arn(ACCOUNT, "/", "retirer")
    with db.storage.write() as tx:
        tx.insert_grant(make_grant(key, "g1", retiring_principal=retirer))
        tx.insert_grant(make_grant(key, "g2"))
        tx.insert_grant(make_grant(other, "g3", retiring_principal=retirer))
    changes = feed(db, lambda tx: tx.delete_key(key.key_id))
    assert changes == [("grant", key.key_id), ("key", key.key_id)]
    with db.storage.read() as reader:
        assert reader.get_grant("g1") is None and reader.get_grant("g2") is None
        assert reader.list_grants(key.key_id, None, 10) == []
        assert [g.grant_id for g in reader.list_retirable_grants(retirer, None, 10)] == ["g3"]
        assert reader.count_grants(other.key_id) == 1
    plain = insert_key(db.storage)  # no grants, so no grant change
    assert feed(db, lambda tx: tx.delete_key(plain.key_id)) == [("key", plain.key_id)]


# change feed and transactions ------------------------------------------------------------
def test_every_iam_write_records_an_iam_change_of_its_account(db: Db) -> None:
    user, role = make_user("alice"), make_role("deployer")
    policy, v1 = make_policy("deploy")
    v2 = PolicyVersion(ACCOUNT, "deploy", "v2", "{}", T0)
    inline = InlinePolicy(ACCOUNT, USER, "alice", "p", "{}")
    steps: list[Callable[[WriteTx], object]] = [
        lambda tx: tx.insert_user(user),
        lambda tx: tx.insert_role(role),
        lambda tx: tx.update_role(dataclasses.replace(role, description="x")),
        lambda tx: tx.insert_managed_policy(policy, v1),
        lambda tx: tx.insert_policy_version(v2),
        lambda tx: tx.update_managed_policy(dataclasses.replace(policy, default_version_id="v2")),
        lambda tx: tx.delete_policy_version(ACCOUNT, "deploy", "v1"),
        lambda tx: tx.put_inline_policy(inline),
        lambda tx: tx.delete_inline_policy(ACCOUNT, USER, "alice", "p"),
        lambda tx: tx.attach_policy(ACCOUNT, USER, "alice", policy.arn),
        lambda tx: tx.detach_policy(ACCOUNT, USER, "alice", policy.arn),
        lambda tx: tx.delete_managed_policy(ACCOUNT, "deploy"),
        lambda tx: tx.delete_role(ACCOUNT, "deployer"),
        lambda tx: tx.delete_user(ACCOUNT, "alice"),
    ]
    for number, step in enumerate(steps):
        assert feed(db, step) == [("iam", ACCOUNT)], f"step {number}"
    elsewhere = make_user("alice", account=OTHER_ACCOUNT)
    assert feed(db, lambda tx: tx.insert_user(elsewhere)) == [("iam", OTHER_ACCOUNT)]


class BoomError(Exception):
    pass


def test_a_failing_transaction_rolls_back_iam_writes_and_grants(db: Db) -> None:
    key = insert_key(db.storage)
    start = max_seq(db.storage)
    policy, v1 = make_policy("deploy")
    with pytest.raises(BoomError), db.storage.write() as tx:
        tx.insert_user(make_user("alice"))
        tx.insert_role(make_role("deployer"))
        tx.insert_managed_policy(policy, v1)
        tx.put_inline_policy(InlinePolicy(ACCOUNT, USER, "alice", "p", "{}"))
        tx.attach_policy(ACCOUNT, USER, "alice", policy.arn)
        tx.insert_grant(make_grant(key, "g1"))
        raise BoomError
    with db.another().read() as tx:
        assert tx.get_user(ACCOUNT, "alice") is None
        assert tx.get_role(ACCOUNT, "deployer") is None
        assert tx.get_managed_policy(ACCOUNT, "deploy") is None
        assert tx.list_policy_versions(ACCOUNT, "deploy") == []
        assert tx.list_inline_policies(ACCOUNT, USER, "alice") == []
        assert tx.list_attached(ACCOUNT, USER, "alice") == []
        assert tx.get_grant("g1") is None
        assert tx.changes_after(start, 100) == []


# the upgrade from schema 1 ---------------------------------------------------------------
OLD_ROOT = make_credential("AKIAROOTROOTROOTROOT")
OLD_ALICE = make_credential(
    "AKIAALICEALICEALICEA",
    principal_arn=user_arn(ACCOUNT, "/", "alice"),
    user_name="alice",
    created_at=T0 + US,
)
Execute = Callable[[str, tuple[object, ...]], object]


def populate_schema_1(execute: Execute, dialect: str) -> None:
    """What ``migrate`` made of an empty database before schema 2, plus two access keys."""
    first = migrations(dialect)[0]
    version_type = "INTEGER" if dialect == "sqlite" else "BIGINT"
    execute(
        f"CREATE TABLE schema_migrations (version {version_type} PRIMARY KEY, name TEXT NOT NULL)",
        (),
    )
    for statement in first.statements():
        execute(statement, ())
    execute("INSERT INTO schema_migrations (version, name) VALUES (?, ?)", (1, first.name))
    execute(
        "INSERT INTO accounts (account_id, name, created_at) VALUES (?, ?, ?)", (ACCOUNT, "a", 0)
    )
    for old in (OLD_ROOT, OLD_ALICE):
        execute(
            "INSERT INTO credentials (access_key_id, account_id, principal_arn, user_name,"
            " secret_wrapped, status, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                old.access_key_id,
                old.account_id,
                old.principal_arn,
                old.user_name,
                old.secret_wrapped,
                old.status.value,
                to_micros(old.created_at),
            ),
        )


@pytest.mark.parametrize("backend", BACKENDS)
def test_schema_2_upgrades_the_credentials_of_schema_1(backend: str, tmp_path: Path) -> None:
    clock = ManualClock(T0)
    if backend == "postgres":
        require_postgres()
        with postgres_database() as url:
            with psycopg.connect(url, autocommit=True) as pg:
                populate_schema_1(
                    lambda sql, params: pg.execute(sql.replace("?", "%s").encode(), params),
                    "postgresql",
                )
            check_upgraded(PostgresStorage(url, clock.now), "postgresql")
    else:
        path = tmp_path / "old.db"
        conn = sqlite3.connect(path, isolation_level=None)
        try:
            populate_schema_1(conn.execute, "sqlite")
        finally:
            conn.close()
        check_upgraded(SqliteStorage(path, clock.now), "sqlite")


def check_upgraded(storage: Storage, dialect: str) -> None:
    try:
        assert storage.migrate() == migrations(dialect)[-1].version
        with storage.read() as tx:
            # The root's aws:userid is its account id; a user's is unknown until set.
            assert tx.get_credential(OLD_ROOT.access_key_id) == dataclasses.replace(
                OLD_ROOT, principal_id=ACCOUNT
            )
            assert tx.get_credential(OLD_ALICE.access_key_id) == OLD_ALICE
            assert tx.list_access_keys(ACCOUNT, "alice") == [OLD_ALICE]
    finally:
        storage.close()
