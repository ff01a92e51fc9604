"""The Parameter Store half of the storage conformance suite (``ParamsReadTx`` /
``ParamsWriteTx`` of ``cofre.service.ports``), run against SQLite and PostgreSQL alike with
the ``db`` fixture of ``test_storage``.
"""

from __future__ import annotations

import dataclasses
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from cofre.core.params.filters import Field, Option, ParamQuery, Term
from cofre.core.params.parameters import (
    ParameterType,
    ParamHead,
    ParamId,
    ParamVersion,
    Tier,
    ValueFormat,
)
from cofre.errors import AlreadyExistsError
from cofre.service.ports import Storage
from tests.conformance.test_storage import ACCOUNT, OTHER_ACCOUNT, OTHER_REGION, REGION, T0, Db

US = timedelta(microseconds=1)


def pid(name: str, account: str = ACCOUNT, region: str = REGION) -> ParamId:
    return ParamId(account, region, name)


def make_version(
    p: ParamId, number: int = 1, value: bytes = b"v", **changes: object
) -> ParamVersion:
    version = ParamVersion(
        id=p,
        version=number,
        type=ParameterType.STRING,
        value=value,
        value_format=ValueFormat.TEXT,
        key_id=None,
        description=None,
        allowed_pattern=None,
        tier=Tier.STANDARD,
        data_type="text",
        policies=None,
        modified_at=T0 + number * US,
        modified_by=f"arn:aws:iam::{p.account_id}:root",
    )
    return dataclasses.replace(version, **changes)  # type: ignore[arg-type]


def create(storage: Storage, name: str, **changes: object) -> ParamVersion:
    p = changes.pop("id", None) or pid(name)
    assert isinstance(p, ParamId)
    first = make_version(p, **changes)
    with storage.write() as tx:
        tx.insert_param(ParamHead(p, first.version, first.tier, T0), first)
    return first


def add(storage: Storage, p: ParamId, **changes: object) -> ParamVersion:
    with storage.write() as tx:
        head = tx.lock_param(p)
        assert head is not None
        version = make_version(p, head.version + 1, **changes)
        tx.add_param_version(version)
    return version


def names(rows: list[ParamVersion]) -> list[str]:
    return [r.id.name for r in rows]


def page(storage: Storage, **fields: object) -> tuple[list[ParamVersion], str | None]:
    limit = int(fields.pop("limit", 1000))  # type: ignore[call-overload]
    q = ParamQuery(ACCOUNT, REGION, limit=limit, **fields)  # type: ignore[arg-type]
    with storage.read() as tx:
        return tx.query_params(q)


def query(storage: Storage, **fields: object) -> list[ParamVersion]:
    return page(storage, **fields)[0]


# rows ---------------------------------------------------------------------------------------
def test_insert_get_versions_round_trip(db: Db) -> None:
    first = create(
        db.storage,
        "/app/db",
        type=ParameterType.SECURE_STRING,
        value=b"\x00\xffciphertext",
        value_format=ValueFormat.KMS_BLOB,
        key_id="alias/aws/ssm",
        description="a ✓ description",
        allowed_pattern=r"\d+",
        data_type="text",
    )
    p = first.id
    second = add(
        db.storage,
        p,
        value=b"two",
        tier=Tier.ADVANCED,
        policies='[{"Type":"x"}]',
        value_format=ValueFormat.ENVELOPE,
    )
    other = db.another()
    with other.read() as tx:
        assert tx.get_param_version(p, 1) == first
        assert tx.get_param_version(p, None) == second
        assert tx.get_param_version(p, 3) is None
        assert tx.get_param_version(pid("/nope"), None) is None
        head = tx.get_param_head(p)
        assert head == ParamHead(p, 2, Tier.ADVANCED, T0)
        assert tx.param_version_span(p) == (2, 1)
        assert tx.param_version_span(pid("/nope")) == (0, 0)
        got = tx.get_param_version(p, 1)
    assert got is not None and type(got.value) is bytes
    assert isinstance(got.type, ParameterType) and isinstance(got.value_format, ValueFormat)
    assert got.modified_at == T0 + US
    with db.storage.read() as tx:
        assert tx.count_params(ACCOUNT, REGION, Tier.ADVANCED) == 1
        assert tx.count_params(ACCOUNT, REGION, Tier.STANDARD) == 0


def test_names_are_unique_per_account_and_region(db: Db) -> None:
    create(db.storage, "/x")
    with pytest.raises(AlreadyExistsError), db.storage.write() as tx:
        first = make_version(pid("/x"))
        tx.insert_param(ParamHead(first.id, 1, Tier.STANDARD, T0), first)
    create(db.storage, "/X")  # case-sensitive
    create(db.storage, "/x", id=pid("/x", account=OTHER_ACCOUNT))
    create(db.storage, "/x", id=pid("/x", region=OTHER_REGION))
    with db.storage.read() as tx:
        assert tx.count_params(ACCOUNT, REGION, Tier.STANDARD) == 2
        assert tx.get_param_version(pid("/x", account=OTHER_ACCOUNT), None) is not None


def test_history_labels_move_and_cascade(db: Db) -> None:
    p = create(db.storage, "/h").id
    for _ in range(4):
        add(db.storage, p)
    with db.storage.write() as tx:
        tx.put_param_labels(p, 2, ["b", "a"])
        tx.put_param_labels(p, 3, ["c"])
        tx.put_param_labels(p, 4, ["a"])  # moves "a" from version 2
    with db.storage.read() as tx:
        assert tx.param_version_labels(p, 2) == ["b"]
        assert tx.param_version_labels(p, 4) == ["a"]
        by_label = tx.get_param_by_label(p, "c")
        assert by_label is not None and by_label.version == 3
        assert tx.get_param_by_label(p, "zzz") is None
        history = tx.list_param_versions(p, None, 100)
        assert [(v.version, v.labels) for v in history] == [
            (1, ()),
            (2, ("b",)),
            (3, ("c",)),
            (4, ("a",)),
            (5, ()),
        ]
        assert [v.version for v in tx.list_param_versions(p, 2, 2)] == [3, 4]
    with db.storage.write() as tx:
        tx.remove_param_labels(p, 2, ["b", "c"])  # "c" is on version 3: kept
        tx.delete_param_version(p, 3)
    with db.storage.read() as tx:
        assert tx.param_version_labels(p, 2) == []
        assert tx.get_param_by_label(p, "c") is None  # went with its version
        assert tx.param_version_span(p) == (4, 1)
    with db.storage.write() as tx:
        tx.set_param_tags(p, {"env": "prod", "team": "x"})
        assert tx.delete_param(p) is True
        assert tx.delete_param(p) is False
    with db.storage.read() as tx:
        assert tx.get_param_head(p) is None
        assert tx.list_param_versions(p, None, 100) == []
        assert tx.get_param_tags(p) == {}
    create(db.storage, "/h")  # the name is free again, with no leftovers
    with db.storage.read() as tx:
        assert tx.param_version_span(p) == (1, 1)
        assert tx.get_param_by_label(p, "a") is None


def test_tags(db: Db) -> None:
    p = create(db.storage, "t").id
    with db.storage.write() as tx:
        tx.set_param_tags(p, {"b": "1", "a": "✓"})
        tx.set_param_tags(p, {"b": "2"})
        tx.remove_param_tags(p, ["a", "missing"])
        tx.remove_param_tags(p, [])
    with db.storage.read() as tx:
        assert tx.get_param_tags(p) == {"b": "2"}


# queries ------------------------------------------------------------------------------------
TREE = ["/a/b/c", "/a/b/d", "/a/bc", "/a/b/c/e", "/ab/x", "/z", "flat", "Flat2", "/a/b-x/y"]


@pytest.fixture
def tree(db: Db) -> Db:
    for name in TREE:
        create(db.storage, name.lstrip("/") if name.count("/") == 1 else name)
    create(db.storage, "/a/b/other", id=pid("/a/b/other", account=OTHER_ACCOUNT))
    return db


def test_paths_in_byte_order(tree: Db) -> None:
    everything = sorted(n.lstrip("/") if n.count("/") == 1 else n for n in TREE)
    assert names(query(tree.storage)) == everything
    assert names(query(tree.storage, path="/")) == everything
    assert names(query(tree.storage, path="/a/b/")) == ["/a/b/c", "/a/b/c/e", "/a/b/d"]
    assert names(query(tree.storage, path="/a/b/", recursive=False)) == ["/a/b/c", "/a/b/d"]
    assert names(query(tree.storage, path="/", recursive=False)) == ["Flat2", "flat", "z"]
    assert names(query(tree.storage, path="/a/", recursive=False)) == ["/a/bc"]
    assert names(query(tree.storage, path="/a/b/", after="/a/b/c", limit=1)) == ["/a/b/c/e"]
    # Pages: the name to continue after, None at the end.
    assert page(tree.storage, path="/a/b/", limit=2)[1] == "/a/b/c/e"
    assert page(tree.storage, path="/a/b/", limit=3)[1] is None
    seen, after = [], None
    while True:
        items, after = page(tree.storage, limit=2, after=after)
        seen += names(items)
        if after is None:
            break
    assert seen == names(query(tree.storage))
    assert names(query(tree.storage, path="/nope/")) == []


def test_terms(tree: Db) -> None:
    p = pid("/a/b/d")
    add(
        tree.storage,
        p,
        type=ParameterType.SECURE_STRING,
        key_id="alias/k1",
        tier=Tier.ADVANCED,
        data_type="aws:ec2:image",
    )
    with tree.storage.write() as tx:
        tx.set_param_tags(p, {"env": "prod-eu"})
        tx.set_param_tags(pid("z"), {"env": "dev", "team": "x"})
        tx.put_param_labels(p, 1, ["old"])
        tx.put_param_labels(pid("/a/b/c"), 1, ["old"])

    def with_terms(*terms: Term, **fields: object) -> list[str]:
        return names(query(tree.storage, terms=terms, **fields))

    assert with_terms(Term(Field.TYPE, Option.EQUALS, ("SecureString",))) == ["/a/b/d"]
    assert with_terms(Term(Field.KEY_ID, Option.BEGINS_WITH, ("alias/",))) == ["/a/b/d"]
    assert with_terms(Term(Field.TIER, Option.EQUALS, ("Standard",)), path="/a/b/") == [
        "/a/b/c",
        "/a/b/c/e",
    ]
    assert with_terms(Term(Field.DATA_TYPE, Option.EQUALS, ("aws:ec2:image",))) == ["/a/b/d"]
    assert with_terms(Term(Field.NAME, Option.EQUALS, ("/a/bc", "z"))) == ["/a/bc", "z"]
    assert with_terms(Term(Field.NAME, Option.BEGINS_WITH, ("/a/b", "F"))) == [
        "/a/b-x/y",
        "/a/b/c",
        "/a/b/c/e",
        "/a/b/d",
        "/a/bc",
        "Flat2",
    ]
    assert with_terms(Term(Field.NAME, Option.CONTAINS, ("b/c", "lat2"))) == [
        "/a/b/c",
        "/a/b/c/e",
        "Flat2",
    ]
    assert with_terms(Term(Field.NAME, Option.CONTAINS, ("LAT",))) == []  # case-sensitive
    assert with_terms(Term(Field.PATH, Option.ONE_LEVEL, ("/a/b/", "/ab/"))) == [
        "/a/b/c",
        "/a/b/d",
        "/ab/x",
    ]
    assert with_terms(Term(Field.PATH, Option.RECURSIVE, ("/a/b/",))) == [
        "/a/b/c",
        "/a/b/c/e",
        "/a/b/d",
    ]
    assert with_terms(Term(Field.TAG, Option.EQUALS, ("dev",), "env")) == ["z"]
    assert with_terms(Term(Field.TAG, Option.BEGINS_WITH, ("prod",), "env")) == ["/a/b/d"]
    assert with_terms(Term(Field.TAG, Option.EXISTS, (), "team")) == ["z"]
    assert with_terms(
        Term(Field.TAG, Option.EXISTS, (), "env"), Term(Field.TYPE, Option.EQUALS, ("String",))
    ) == ["z"]
    # A Label term returns the labelled version, not the current one, and the other
    # terms test that version; pages count the labelled parameters.
    label = Term(Field.LABEL, Option.EQUALS, ("old", "x"))
    labelled = query(tree.storage, terms=(label,))
    assert [(v.id.name, v.version, v.type) for v in labelled] == [
        ("/a/b/c", 1, ParameterType.STRING),
        ("/a/b/d", 1, ParameterType.STRING),
    ]
    assert page(tree.storage, terms=(label,), limit=1) == (labelled[:1], "/a/b/c")
    secure = Term(Field.TYPE, Option.EQUALS, ("SecureString",))
    assert query(tree.storage, terms=(label, secure)) == []  # version 1 was a String
    string = Term(Field.TYPE, Option.EQUALS, ("String",))
    assert names(query(tree.storage, terms=(label, string), path="/a/b/")) == [
        "/a/b/c",
        "/a/b/d",
    ]


# concurrency --------------------------------------------------------------------------------
@pytest.mark.parametrize("layout", ["one-storage", "two-storages"])
def test_locked_writers_make_gapless_versions(db: Db, layout: str) -> None:
    p = create(db.storage, "/race").id
    storages = [db.storage, db.storage] if layout == "one-storage" else [db.storage, db.another()]
    rounds = 40
    barrier = threading.Barrier(len(storages) * 2)

    def work(storage: Storage, worker: int) -> list[int]:
        barrier.wait()
        made = []
        for i in range(rounds):
            made.append(add(storage, p, value=f"{worker}-{i}".encode()).version)
        return made

    jobs = [(s, i) for i, s in enumerate(storages * 2)]
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        futures = [pool.submit(work, s, i) for s, i in jobs]
        made = [v for f in futures for v in f.result(timeout=120)]
    assert sorted(made) == list(range(2, 2 + rounds * len(jobs)))
    with db.storage.read() as tx:
        history = tx.list_param_versions(p, None, 1000)
        head = tx.get_param_head(p)
    assert [v.version for v in history] == list(range(1, 2 + rounds * len(jobs)))
    assert len({v.value for v in history}) == len(history)  # no value written twice
    assert head is not None and head.version == 1 + rounds * len(jobs)
