"""verify_trail on trails tampered with in every way the issue lists: each break is named
at the row where it happened, with the right kind."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cofre.core.audit.chain import (
    GENESIS_HASH,
    Anchor,
    ChainedEvent,
    DigestKind,
    SignedDigest,
    canonical_json,
    chain_hash,
    chain_mac,
    index_event,
    sign_digest,
    signing_key,
)
from cofre.core.audit.events import AuditCall, build_event
from cofre.core.audit.verify import ProblemKind, VerifyReport, verify_trail
from cofre.core.iam.principals import Caller

T = datetime(2025, 3, 14, 9, 26, 53, tzinfo=UTC)
MAC_KEY = b"\x07" * 32
PRIVATE = signing_key(b"\x09" * 32)
PUBLIC = PRIVATE.public_key()
CALLER = Caller("111122223333", "arn:aws:iam::111122223333:root", "AKIAROOT", "us-east-1")
N = 12


def _row(seq: int, prev: bytes, name: str) -> ChainedEvent:
    call = AuditCall(T + timedelta(seconds=seq), "kms", name, "us-east-1", CALLER, f"r{seq}")
    event = build_event(call, f"ev-{name}")
    body = canonical_json(event)
    hash_ = chain_hash(prev, seq, body)
    return ChainedEvent(seq, body, hash_, chain_mac(MAC_KEY, seq, hash_), index_event(event))


def _chain(n: int = N, start: int = 1, prev: bytes = GENESIS_HASH) -> list[ChainedEvent]:
    rows = []
    for seq in range(start, start + n):
        rows.append(_row(seq, prev, f"Op{seq}"))
        prev = rows[-1].hash
    return rows


def _digest(rows: list[ChainedEvent], first: int, last: int) -> SignedDigest:
    head = next(r.hash for r in rows if r.seq == last)
    return SignedDigest(first, last, head, T, sign_digest(PRIVATE, first, last, head, T))


def _verify(
    rows: list[ChainedEvent],
    digests: list[SignedDigest] | None = None,
    *,
    mac: bool = True,
    head: tuple[int, bytes] | None = None,
    anchor: Anchor | None = None,
) -> VerifyReport:
    return verify_trail(
        sorted(rows, key=lambda r: r.seq),
        digests or [],
        anchor or Anchor(),
        public_key=PUBLIC,
        mac_key=MAC_KEY if mac else None,
        head=head,
    )


def _first(report: VerifyReport) -> tuple[ProblemKind, int]:
    problem = report.first_problem
    assert problem is not None, "no problem found"
    return problem.kind, problem.seq


def _renumber(rows: list[ChainedEvent], delta: int, from_seq: int) -> list[ChainedEvent]:
    return [dataclasses.replace(r, seq=r.seq + delta) if r.seq >= from_seq else r for r in rows]


def test_intact_trail() -> None:
    rows = _chain()
    report = _verify(rows, [_digest(rows, 1, 5), _digest(rows, 6, N)], head=(N, rows[-1].hash))
    assert report.ok, report.problems
    assert (report.events, report.digests, report.signed_through) == (N, 2, N)
    assert (report.first_seq, report.last_seq) == (1, N)


@pytest.mark.parametrize("mac", [True, False])
def test_edited_body_is_altered(mac: bool) -> None:
    rows = _chain()
    rows[4] = dataclasses.replace(rows[4], body=rows[4].body.replace(b"Op5", b"OpX"))
    report = _verify(rows, mac=mac)
    assert _first(report) == (ProblemKind.ALTERED, 5)
    assert report.problem_count == 1  # the next rows still link to the genuine hash


def test_deleted_row_is_a_gap() -> None:
    rows = _chain()
    del rows[6]
    report = _verify(rows)
    assert _first(report) == (ProblemKind.DELETED, 7)
    assert report.problem_count == 1
    assert "ev-Op6" in report.problems[0].detail


def test_deleted_row_with_renumbering() -> None:
    rows = _chain()
    del rows[6]
    report = _verify(_renumber(rows, -1, 8))
    assert _first(report) == (ProblemKind.DELETED, 7)
    assert report.problem_count == 1


@pytest.mark.parametrize("mac", [True, False])
def test_swapped_rows_are_reordered(mac: bool) -> None:
    rows = _chain()
    a, b = rows[3], rows[4]
    rows[3], rows[4] = dataclasses.replace(b, seq=4), dataclasses.replace(a, seq=5)
    report = _verify(rows, mac=mac)
    kind, seq = _first(report)
    assert (kind, seq) == (ProblemKind.REORDERED, 4)
    assert report.problems[0].event_id == "ev-Op5"
    assert report.problem_count == 1


@pytest.mark.parametrize("mac", [True, False])
def test_inserted_row_with_renumbering(mac: bool) -> None:
    rows = _chain()
    intruder = _row(6, rows[4].hash, "Intruder")  # even with a hash made for its place
    intruder = dataclasses.replace(intruder, mac=b"\x00" * 32)  # but no MAC key
    rows = [*_renumber(rows, 1, 6)[:5], intruder, *_renumber(rows, 1, 6)[5:]]
    report = _verify(rows, mac=mac)
    assert _first(report) == (ProblemKind.INSERTED, 6)
    assert report.problems[0].event_id == "ev-Intruder"
    assert report.problem_count == 1


def test_appended_forged_row() -> None:
    rows = _chain()
    forged = _row(N + 1, rows[-1].hash, "Forged")
    rows.append(dataclasses.replace(forged, mac=b"\x00" * 32))
    report = _verify(rows, head=(N, rows[-2].hash))
    assert _first(report) == (ProblemKind.FORGED, N + 1)
    assert any(p.kind is ProblemKind.INSERTED for p in report.problems)  # past the head


def test_recomputed_chain_is_forged_with_mac_and_mismatches_the_digest_without() -> None:
    rows = _chain()
    digest = _digest(rows, 1, N)
    body = rows[2].body.replace(b"Op3", b"OpX")
    edited = dataclasses.replace(rows[2], body=body, index=index_event(json.loads(body)))
    prev = rows[1].hash
    rewritten = rows[:2]
    for row in [edited, *rows[3:]]:  # the attacker recomputes every later hash
        hash_ = chain_hash(prev, row.seq, row.body)
        rewritten.append(dataclasses.replace(row, hash=hash_))
        prev = hash_
    assert _first(_verify(rewritten, [digest])) == (ProblemKind.FORGED, 3)
    without_mac = _verify(rewritten, [digest], mac=False)
    assert _first(without_mac) == (ProblemKind.DIGEST_MISMATCH, N)


def test_truncated_after_a_digest() -> None:
    rows = _chain()
    digest = _digest(rows, 1, N)
    report = _verify(rows[:-2], [digest])
    assert _first(report) == (ProblemKind.TRUNCATED, N - 1)  # the first missing seq
    report = _verify(rows[:-2], head=(N, rows[-1].hash))
    assert _first(report) == (ProblemKind.TRUNCATED, N - 1)


def test_bad_and_missing_digests() -> None:
    rows = _chain()
    good = _digest(rows, 1, 4)
    forged = dataclasses.replace(_digest(rows, 5, 8), signature=b"\x01" * 64)
    report = _verify(rows, [good, forged])
    assert _first(report) == (ProblemKind.BAD_SIGNATURE, 8)
    report = _verify(rows, [good, _digest(rows, 9, N)])
    assert _first(report) == (ProblemKind.DIGEST_MISSING, 9)
    assert report.signed_through == N


def test_index_columns_must_match_the_body() -> None:
    rows = _chain()
    rows[2] = dataclasses.replace(
        rows[2], index=dataclasses.replace(rows[2].index, account_id="999999999999")
    )
    assert _first(_verify(rows)) == (ProblemKind.INDEX_MISMATCH, 3)


def test_pruned_trail_verifies_from_its_anchor() -> None:
    rows = _chain()
    anchor_row = rows[4]
    signature = sign_digest(PRIVATE, 5, 5, anchor_row.hash, T, DigestKind.ANCHOR)
    anchor = Anchor(5, anchor_row.hash, T, signature)
    kept = rows[5:]
    report = _verify(kept, [_digest(rows, 1, N)], anchor=anchor, head=(N, rows[-1].hash))
    assert report.ok, report.problems
    assert report.first_seq == 6
    forged_anchor = dataclasses.replace(anchor, seq=7)
    assert _first(_verify(rows[7:], anchor=forged_anchor)) == (ProblemKind.BAD_ANCHOR, 7)
    unsigned = Anchor(5, anchor_row.hash)
    assert _first(_verify(kept, anchor=unsigned)) == (ProblemKind.BAD_ANCHOR, 5)
    stale = [rows[4], *kept]  # a row the anchor says was pruned
    assert _first(_verify(stale, anchor=anchor)) == (ProblemKind.INSERTED, 5)


def test_problem_list_is_capped_but_counted() -> None:
    rows = _chain()
    rows = [dataclasses.replace(r, body=r.body + b" ") for r in rows]
    report = verify_trail(rows, [], Anchor(), mac_key=None, max_problems=3)
    assert len(report.problems) == 3 and report.problem_count == N
    assert str(report.problems[0]).startswith("seq 1 (eventID ev-Op1): altered")


_KINDS = {
    "edit": {ProblemKind.ALTERED},
    "delete": {ProblemKind.DELETED, ProblemKind.TRUNCATED},
    "delete-renumber": {ProblemKind.DELETED, ProblemKind.TRUNCATED},
    "swap": {ProblemKind.REORDERED},
    "insert": {ProblemKind.INSERTED},
}


@settings(max_examples=200, deadline=None)
@given(
    st.integers(2, 30),
    st.sampled_from(sorted(_KINDS)),
    st.integers(0, 10_000),
    st.booleans(),
)
def test_any_single_tampering_is_named_where_it_happened(
    n: int, how: str, where: int, mac: bool
) -> None:
    rows = _chain(n)
    head = (n, rows[-1].hash)
    k = 1 + where % (n - 1 if how == "swap" else n)  # the seq tampered with
    if how == "edit":
        rows[k - 1] = dataclasses.replace(rows[k - 1], body=rows[k - 1].body + b" ")
    elif how == "delete":
        del rows[k - 1]
    elif how == "delete-renumber":
        del rows[k - 1]
        rows = _renumber(rows, -1, k + 1)
    elif how == "swap":
        a, b = rows[k - 1], rows[k]
        rows[k - 1], rows[k] = dataclasses.replace(b, seq=k), dataclasses.replace(a, seq=k + 1)
    else:
        prev = rows[k - 2].hash if k > 1 else GENESIS_HASH
        intruder = dataclasses.replace(_row(k, prev, "Intruder"), mac=b"\x00" * 32)
        shifted = _renumber(rows, 1, k)
        rows = [*shifted[: k - 1], intruder, *shifted[k - 1 :]]
    report = _verify(rows, mac=mac, head=head)
    kind, seq = _first(report)
    assert seq == k, report.problems
    expected = set(_KINDS[how])
    if how == "delete-renumber" and not mac and k >= n - 1:
        expected.add(ProblemKind.ALTERED)  # the last row: nothing after it, no MAC to tell
    assert kind in expected, report.problems
