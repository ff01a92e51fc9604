"""The ``shamir`` seal's arithmetic and bookkeeping: any quorum of the issued shares
rebuilds the unseal key that opens the sealed root, fewer do not; ``Progress`` takes
only this set's issued shares, once each, and starts again when the set changes."""

from __future__ import annotations

import dataclasses
import itertools
import os
import random
from collections.abc import Callable

import pytest

from cofre.core.seal import SealRecord, Share
from cofre.errors import SealError
from cofre.service.seal.shamir import Progress, combine, open_root, split

ROOT = bytes(range(32))


def _store(shares: int, threshold: int, seed: int = 1) -> tuple[SealRecord, list[Share]]:
    """The record a store keeps after ``split``, and the shares its operators hold."""
    share_set, sealed, issued = split(ROOT, shares, threshold, random.Random(seed).randbytes)
    return SealRecord("shamir", b"", sealed, share_set), issued


COUNTS = [(1, 1), (3, 1), (2, 2), (3, 2), (5, 3), (6, 6)]


@pytest.mark.parametrize(("shares", "threshold"), COUNTS)
def test_any_quorum_opens_the_sealed_root(shares: int, threshold: int) -> None:
    record, issued = _store(shares, threshold)
    assert [s.index for s in issued] == list(range(1, shares + 1))
    unseal_keys = set()
    for chosen in itertools.combinations(issued, threshold):
        unseal_key = combine(list(chosen))
        assert open_root(record, unseal_key) == ROOT
        unseal_keys.add(unseal_key)
    assert len(unseal_keys) == 1


@pytest.mark.parametrize(("shares", "threshold"), [(2, 2), (3, 2), (5, 3), (6, 6)])
def test_one_share_short_of_a_quorum_opens_nothing(shares: int, threshold: int) -> None:
    record, issued = _store(shares, threshold)
    for chosen in itertools.combinations(issued, threshold - 1):
        with pytest.raises(SealError, match="do not open"):
            open_root(record, combine(list(chosen)))


def test_threshold_one_gives_every_operator_the_unseal_key() -> None:
    record, issued = _store(3, 1)
    assert len({s.y for s in issued}) == 1
    assert open_root(record, issued[0].y) == ROOT


def test_each_split_is_a_new_set() -> None:
    first, _ = _store(5, 3, seed=1)
    second, _ = _store(5, 3, seed=2)
    assert first.shamir is not None and second.shamir is not None
    assert first.shamir.set_id != second.shamir.set_id
    assert first.sealed_root != second.sealed_root


def test_the_record_keeps_counts_and_a_digest_per_share_not_the_shares() -> None:
    record, issued = _store(5, 3)
    assert record.shamir is not None
    assert (record.shamir.threshold, record.shamir.shares) == (3, 5)
    assert sorted(record.shamir.digests) == [1, 2, 3, 4, 5]
    kept = record.sealed_root + b"".join(record.shamir.digests.values())
    for share in issued:
        assert share.y[:16] not in kept and share.y[16:] not in kept


@pytest.mark.parametrize(("shares", "threshold"), [(0, 0), (3, 0), (3, 4), (256, 2)])
def test_impossible_counts_are_refused(shares: int, threshold: int) -> None:
    with pytest.raises(SealError, match="key shares must be"):
        split(ROOT, shares, threshold, os.urandom)


def test_a_share_of_another_store_does_not_open_this_one() -> None:
    record, _ = _store(3, 2, seed=1)
    _, foreign = _store(3, 2, seed=2)
    with pytest.raises(SealError):
        open_root(record, combine(foreign[:2]))


# Progress -------------------------------------------------------------------------------------
def test_progress_combines_once_the_threshold_is_reached() -> None:
    record, issued = _store(5, 3)
    progress = Progress()
    assert progress.add(record, issued[4]) is None
    assert progress.add(record, issued[1]) is None
    assert len(progress.shares) == 2
    chosen = progress.add(record, issued[2])
    assert chosen is not None
    assert [s.index for s in chosen] == [2, 3, 5]
    assert open_root(record, combine(chosen)) == ROOT
    assert progress.shares == {}


def test_progress_refuses_a_share_of_another_set() -> None:
    record, issued = _store(5, 3, seed=1)
    _, foreign = _store(5, 3, seed=2)
    progress = Progress()
    progress.add(record, issued[0])
    with pytest.raises(SealError, match="another set"):
        progress.add(record, foreign[1])
    assert list(progress.shares) == [1]


def test_progress_refuses_a_share_claiming_another_threshold() -> None:
    record, issued = _store(5, 3)
    with pytest.raises(SealError, match="another set"):
        Progress().add(record, dataclasses.replace(issued[0], threshold=2))


@pytest.mark.parametrize(
    "forged",
    [
        pytest.param(lambda s: dataclasses.replace(s, y=bytes(32)), id="other-value"),
        pytest.param(lambda s: dataclasses.replace(s, index=s.index + 1), id="other-index"),
        pytest.param(lambda s: dataclasses.replace(s, index=6), id="index-never-issued"),
    ],
)
def test_progress_refuses_a_share_that_was_not_issued(forged: Callable[[Share], Share]) -> None:
    record, issued = _store(5, 3)
    share = forged(issued[0])
    progress = Progress()
    with pytest.raises(SealError, match=f"#{share.index} is not the one issued"):
        progress.add(record, share)
    assert progress.shares == {}


def test_progress_refuses_a_share_given_twice() -> None:
    record, issued = _store(5, 3)
    progress = Progress()
    progress.add(record, issued[3])
    with pytest.raises(SealError, match="#4 was given already"):
        progress.add(record, issued[3])
    assert list(progress.shares) == [4]


def test_progress_counts_only_accepted_shares() -> None:
    record, issued = _store(5, 3, seed=1)
    _, foreign = _store(5, 3, seed=2)
    progress = Progress()
    progress.add(record, issued[0])
    for refused in (foreign[1], issued[0], dataclasses.replace(issued[1], y=bytes(32))):
        with pytest.raises(SealError):
            progress.add(record, refused)
    assert progress.add(record, issued[1]) is None  # two accepted: one short
    assert progress.add(record, issued[2]) is not None


def test_progress_starts_again_after_the_set_changes() -> None:
    record, issued = _store(5, 3, seed=1)
    rekeyed, reissued = _store(5, 3, seed=2)
    progress = Progress()
    progress.add(record, issued[0])
    progress.add(record, issued[1])
    assert progress.add(rekeyed, reissued[2]) is None  # 1 of 3 of the new set, not 3 of 3
    assert list(progress.shares) == [3]
    assert progress.add(rekeyed, reissued[3]) is None
    chosen = progress.add(rekeyed, reissued[4])
    assert chosen is not None
    assert open_root(rekeyed, combine(chosen)) == ROOT


def test_an_old_share_after_the_set_changed_is_refused_and_clears_the_old_ones() -> None:
    record, issued = _store(5, 3, seed=1)
    rekeyed, _ = _store(5, 3, seed=2)
    progress = Progress()
    progress.add(record, issued[0])
    with pytest.raises(SealError, match="another set"):
        progress.add(rekeyed, issued[1])
    assert progress.shares == {}


def test_reset_forgets_the_shares() -> None:
    record, issued = _store(5, 3)
    progress = Progress()
    progress.add(record, issued[0])
    progress.reset()
    assert progress.shares == {}
    assert progress.add(record, issued[0]) is None
