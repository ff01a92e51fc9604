"""Verification of a stored trail: walk the chain, name the first row that does not fit.

Rows arrive in ascending ``seq`` (their position in the table). Each is checked against
the chain (``chain_hash`` of the previous true hash, its seq and its bytes), its MAC (when
the MAC key is at hand), and its lookup columns against its body. When a row does not fit,
a small window of the rows that follow is searched for the ones that do, which tells the
kinds of tampering apart:

* ``altered`` -- the row's bytes changed but its hash is genuine (the next row links to it,
  or its MAC is valid);
* ``deleted`` -- a gap in the seqs, or (when later rows were renumbered to close the gap)
  a row that links two positions further on;
* ``inserted`` -- a row no chain link leads to, while the true next row sits after it;
* ``reordered`` -- the true next rows are all there but in another order;
* ``forged`` -- the row links, but its MAC is wrong: somebody recomputed the hashes;
* ``index-mismatch`` -- the columns LookupEvents searches do not match the body.

Signed digests are then matched against the true chain hash at their last seq, their
signatures checked, and gaps between them reported; the chain head row and the anchor left
by pruning are checked likewise.
"""

from __future__ import annotations

import hmac
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from cofre.core.audit.chain import (
    Anchor,
    ChainedEvent,
    DigestKind,
    MacKeys,
    SignedDigest,
    chain_hash,
    chain_mac,
    index_body,
    verify_digest,
)

WINDOW = 16


class ProblemKind(StrEnum):
    ALTERED = "altered"
    INSERTED = "inserted"
    DELETED = "deleted"
    REORDERED = "reordered"
    FORGED = "forged"
    INDEX_MISMATCH = "index-mismatch"
    BAD_SIGNATURE = "bad-signature"
    DIGEST_MISMATCH = "digest-mismatch"
    DIGEST_MISSING = "digest-missing"
    TRUNCATED = "truncated"
    BAD_ANCHOR = "bad-anchor"


@dataclass(frozen=True, slots=True)
class Problem:
    kind: ProblemKind
    seq: int
    event_id: str | None
    detail: str

    def __str__(self) -> str:
        where = f"seq {self.seq}" + (f" (eventID {self.event_id})" if self.event_id else "")
        return f"{where}: {self.kind.value}: {self.detail}"


@dataclass
class VerifyReport:
    events: int = 0
    digests: int = 0
    first_seq: int | None = None
    last_seq: int | None = None
    head_hash: bytes = b""
    anchor_seq: int = 0
    signed_through: int = 0  # the last seq a valid, matching digest covers
    problems: list[Problem] = field(default_factory=list)
    problem_count: int = 0

    @property
    def ok(self) -> bool:
        return self.problem_count == 0

    @property
    def first_problem(self) -> Problem | None:
        return self.problems[0] if self.problems else None


class _Walk:
    def __init__(
        self,
        rows: Iterator[ChainedEvent],
        digests: Iterator[SignedDigest],
        anchor: Anchor,
        public_key: Ed25519PublicKey | None,
        mac_key: MacKeys | bytes | None,
        max_problems: int,
    ) -> None:
        self.rows = rows
        self.buf: deque[ChainedEvent] = deque()
        self.digests = digests
        self.next_digest = next(digests, None)
        self.last_digest: SignedDigest | None = None
        self.public_key = public_key
        self.mac_key = MacKeys(mac_key) if isinstance(mac_key, bytes) else mac_key
        self.max_problems = max_problems
        self.prev = anchor.hash
        self.origin = anchor.seq  # the chain seq of the last accepted row
        self.shift = 0  # table position minus chain seq, once rows were renumbered
        self.link_unknown = False
        self.last_id: str | None = None
        # (hash before, chain seq, row) of the rows accepted last, to spot intruders that
        # carried a hash made for their place
        self.history: deque[tuple[bytes, int, ChainedEvent]] = deque(maxlen=WINDOW)
        self.report = VerifyReport(anchor_seq=anchor.seq, head_hash=anchor.hash)

    # bookkeeping ---------------------------------------------------------------------------
    def problem(self, kind: ProblemKind, seq: int, event_id: str | None, detail: str) -> None:
        self.report.problem_count += 1
        if len(self.report.problems) < self.max_problems:
            self.report.problems.append(Problem(kind, seq, event_id, detail))

    def fill(self, n: int) -> None:
        while len(self.buf) < n:
            row = next(self.rows, None)
            if row is None:
                return
            self.buf.append(row)

    def mac_ok(self, row: ChainedEvent, origin: int) -> bool:
        if self.mac_key is None:
            return True
        key = self.mac_key.for_seq(origin)
        return hmac.compare_digest(row.mac, chain_mac(key, origin, row.hash))

    def accept(self, row: ChainedEvent, origin: int, *, check_mac: bool = True) -> None:
        self.history.append((self.prev, origin, row))
        if check_mac and not self.mac_ok(row, origin):
            self.problem(
                ProblemKind.FORGED, row.seq, row.index.event_id,
                "the row links into the chain but its MAC is wrong: it was not written by"
                " Cofre (hashes recomputed after an edit or insertion)",
            )  # fmt: skip
        elif index_body(row.body) != row.index:
            self.problem(
                ProblemKind.INDEX_MISMATCH, row.seq, row.index.event_id,
                "the lookup columns do not match the event body",
            )  # fmt: skip
        self.prev = row.hash
        self.origin = origin
        self.last_id = row.index.event_id
        report = self.report
        report.events += 1
        report.first_seq = row.seq if report.first_seq is None else report.first_seq
        report.last_seq = row.seq
        report.head_hash = row.hash
        self.check_digests()

    # digests ---------------------------------------------------------------------------------
    def check_digests(self, final: bool = False) -> None:
        while self.next_digest is not None and (final or self.next_digest.last_seq <= self.origin):
            digest = self.next_digest
            self.next_digest = next(self.digests, None)
            self.check_digest(digest)

    def check_digest(self, digest: SignedDigest) -> None:
        self.report.digests += 1
        expected_first = (
            self.last_digest.last_seq + 1 if self.last_digest else self.report.anchor_seq + 1
        )
        if (self.last_digest and digest.first_seq != expected_first) or (
            not self.last_digest and digest.first_seq > expected_first
        ):
            self.problem(
                ProblemKind.DIGEST_MISSING, digest.first_seq, None,
                f"no digest covers seq {expected_first}..{digest.first_seq - 1}",
            )  # fmt: skip
        self.last_digest = digest
        if self.public_key is None or not verify_digest(
            self.public_key, digest.first_seq, digest.last_seq, digest.head_hash,
            digest.signed_at, digest.signature,
        ):  # fmt: skip
            self.problem(
                ProblemKind.BAD_SIGNATURE, digest.last_seq, None,
                f"the digest of seq {digest.first_seq}..{digest.last_seq} has no valid signature",
            )  # fmt: skip
            return
        if digest.last_seq > self.origin:
            self.problem(
                ProblemKind.TRUNCATED, self.origin + 1, None,
                f"a digest signed the chain up to seq {digest.last_seq}, but the trail ends"
                f" at seq {self.origin}: events were deleted from the end",
            )  # fmt: skip
        elif digest.last_seq == self.origin:
            if self.prev == digest.head_hash:
                self.report.signed_through = digest.last_seq
            else:
                self.problem(
                    ProblemKind.DIGEST_MISMATCH, digest.last_seq, self.last_id,
                    "the chain does not match the signed digest of seq"
                    f" {digest.first_seq}..{digest.last_seq}: events up to here were rewritten",
                )  # fmt: skip
        # else: the digest's last event is missing, a deletion already reported

    # the walk ----------------------------------------------------------------------------------
    def run(self) -> None:
        while True:
            self.fill(1)
            if not self.buf:
                break
            row = self.buf[0]
            position = self.origin + 1 + self.shift
            if row.seq < position:
                self.buf.popleft()
                self.problem(
                    ProblemKind.INSERTED, row.seq, row.index.event_id,
                    f"a row at or before seq {position - 1}, which the chain already passed",
                )  # fmt: skip
                continue
            if row.seq > position:
                missing = row.seq - position
                self.problem(
                    ProblemKind.DELETED, position, None,
                    f"{missing} event(s) missing: seq {position}..{row.seq - 1}"
                    + (f" (after eventID {self.last_id})" if self.last_id else ""),
                )  # fmt: skip
                self.origin += missing
                self.link_unknown = True
            origin = self.origin + 1
            if self.link_unknown:
                self.link_unknown = False
                self.buf.popleft()
                self.accept(row, origin)
            elif chain_hash(self.prev, origin, row.body) == row.hash:
                self.buf.popleft()
                self.accept(row, origin)
            else:
                self.mismatch(row, origin)
        self.check_digests(final=True)

    def relink(self, origin: int) -> list[ChainedEvent]:
        """The rows of the window in true chain order from ``origin``, as far as they go."""
        linked: list[ChainedEvent] = []
        free = list(self.buf)
        prev = self.prev
        while True:
            seq = origin + len(linked)
            found = next((r for r in free if chain_hash(prev, seq, r.body) == r.hash), None)
            if found is None:
                return linked
            linked.append(found)
            free.remove(found)
            prev = found.hash

    def intruders(self, row: ChainedEvent) -> bool:
        """Whether ``row`` links to the chain before the last few accepted rows: those were
        inserted (with hashes made for their place), and the rows after renumbered."""
        past = list(self.history)
        for back in range(1, len(past) + 1):
            prev, origin, accepted = past[-back]
            if accepted.hash == row.hash or chain_hash(prev, origin, row.body) != row.hash:
                continue  # (a copy of an accepted row is itself the intruder)
            inserted = [accepted for _, _, accepted in past[-back:]]
            seqs = {r.seq for r in inserted}
            kept = [p for p in self.report.problems if p.seq not in seqs]
            self.report.problem_count -= len(self.report.problems) - len(kept)
            self.report.problems = kept
            for intruder in inserted:
                self.problem(
                    ProblemKind.INSERTED, intruder.seq, intruder.index.event_id,
                    "the row is not part of the chain (inserted)",
                )  # fmt: skip
            self.report.events -= back
            self.history.clear()
            self.prev, self.origin = prev, origin - 1
            self.shift += back
            self.buf.popleft()
            self.accept(row, origin)
            return True
        return False

    def mismatch(self, row: ChainedEvent, origin: int) -> None:
        if self.intruders(row):
            return
        self.fill(WINDOW)
        linked = self.relink(origin)
        if not linked:
            self.unlinked(row, origin)
            return
        positions = [r.seq for r in linked]
        end = max(positions)
        block = [r for r in self.buf if r.seq <= end]
        ids = {id(r) for r in linked}
        if positions != sorted(positions):
            where = next((i for i, r in enumerate(linked) if r is row), None)
            detail = f"seq {row.seq} should hold eventID {linked[0].index.event_id}"
            if where is not None:
                detail = f"the event belongs at seq {origin + where + self.shift}; " + detail
            self.problem(ProblemKind.REORDERED, row.seq, row.index.event_id, detail)
        for alien in block:
            if id(alien) not in ids:
                self.problem(
                    ProblemKind.INSERTED, alien.seq, alien.index.event_id,
                    "the row is not part of the chain (inserted)",
                )  # fmt: skip
        for i, linked_row in enumerate(linked):
            self.accept(linked_row, origin + i)
        while self.buf and self.buf[0].seq <= end:
            self.buf.popleft()
        self.shift = end - self.origin

    def unlinked(self, row: ChainedEvent, origin: int) -> None:
        """No row of the window continues the chain: the row was altered, or the row before
        it deleted and the rest renumbered."""
        self.buf.popleft()
        after = self.buf[0] if self.buf else None
        if after is not None and chain_hash(row.hash, origin + 1, after.body) == after.hash:
            kind, detail = ProblemKind.ALTERED, "the event body does not match its hash"
        elif (after is not None and chain_hash(row.hash, origin + 2, after.body) == after.hash) or (
            self.mac_key is not None
            and not self.mac_ok(row, origin)
            and self.mac_ok(row, origin + 1)
        ):
            self.problem(
                ProblemKind.DELETED, row.seq, None,
                f"the event at seq {row.seq} is missing and the rows after it were renumbered",
            )  # fmt: skip
            self.shift -= 1
            self.accept(row, origin + 1)
            return
        elif self.mac_key is not None and self.mac_ok(row, origin):
            kind, detail = ProblemKind.ALTERED, "the event body does not match its hash"
        else:
            kind = ProblemKind.ALTERED if self.mac_key is None else ProblemKind.INSERTED
            detail = (
                "the row does not match the chain (altered or inserted)"
                if self.mac_key is None
                else "the row was not written by Cofre (inserted, or its hash rewritten)"
            )
        self.problem(kind, row.seq, row.index.event_id, detail)
        self.prev = row.hash
        self.origin = origin
        self.last_id = row.index.event_id
        self.report.events += 1
        self.report.last_seq = row.seq
        self.check_digests()


def verify_trail(
    events: Iterable[ChainedEvent],
    digests: Iterable[SignedDigest],
    anchor: Anchor,
    *,
    public_key: Ed25519PublicKey | None = None,
    mac_key: MacKeys | bytes | None = None,
    head: tuple[int, bytes] | None = None,
    max_problems: int = 100,
) -> VerifyReport:
    """Check a trail: ``events`` and ``digests`` in ascending seq (``last_seq`` for
    digests), from the ``anchor`` on. Without ``mac_key`` forgeries after the last digest
    go unnoticed; without ``public_key`` no digest verifies. ``head`` is the chain head row
    (seq, hash), checked against the last event."""
    walk = _Walk(iter(events), iter(digests), anchor, public_key, mac_key, max_problems)
    if anchor.seq > 0 and (
        public_key is None
        or anchor.signature is None
        or anchor.signed_at is None
        or not verify_digest(
            public_key, anchor.seq, anchor.seq, anchor.hash, anchor.signed_at,
            anchor.signature, DigestKind.ANCHOR,
        )
    ):  # fmt: skip
        walk.problem(
            ProblemKind.BAD_ANCHOR, anchor.seq, None,
            "the anchor left by pruning has no valid signature",
        )  # fmt: skip
    walk.run()
    if head is not None:
        head_seq, head_hash = head
        if head_seq > walk.origin:
            walk.problem(
                ProblemKind.TRUNCATED, walk.origin + 1, None,
                f"the chain head is at seq {head_seq} but the trail ends at seq {walk.origin}",
            )  # fmt: skip
        elif head_seq < walk.origin:
            walk.problem(
                ProblemKind.INSERTED, head_seq + 1, None,
                f"events after the chain head (seq {head_seq}) were added",
            )  # fmt: skip
        elif head_hash != walk.prev:
            walk.problem(
                ProblemKind.ALTERED, head_seq, walk.last_id,
                "the chain head hash does not match the last event",
            )  # fmt: skip
    walk.report.problems.sort(key=lambda p: p.seq)
    return walk.report
