"""The ``shamir`` seal: the root key R is wrapped under an unseal key U that exists only
as shares held by operators (Shamir's secret sharing over GF(2^128), pycryptodome's
implementation, as two 16-byte halves with the same points: full 256-bit secrecy). Any
``threshold`` of the shares rebuild U; fewer reveal nothing about it. The store keeps
R wrapped under U and a digest per share (to name a wrong share as it is entered):
nothing from which U or R could be rebuilt.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field

from Crypto.Protocol.SecretSharing import Shamir

from cofre.core.crypto import KEY_LEN, Cipher, Random, unwrap, wrap
from cofre.core.seal import SealRecord, ShamirSet, Share, sealed_root_aad, share_digest
from cofre.errors import InvalidCiphertextError, SealError

MAX_SHARES = 255


def check_counts(shares: int, threshold: int) -> None:
    if not 1 <= threshold <= shares <= MAX_SHARES:
        raise SealError(
            f"key shares must be 1..{MAX_SHARES} and the threshold 1..shares"
            f" (got {shares} shares, threshold {threshold})"
        )


def split(
    root: bytes, shares: int, threshold: int, random: Random
) -> tuple[ShamirSet, bytes, list[Share]]:
    """A new share set for ``root``: what the store keeps, R wrapped under U, the shares."""
    check_counts(shares, threshold)
    unseal_key = random(KEY_LEN)
    set_id = random(8)
    if threshold == 1:  # every share is U itself (pycryptodome's k=1 does the same)
        points = [(i, unseal_key) for i in range(1, shares + 1)]
    else:
        low = Shamir.split(threshold, shares, unseal_key[:16])
        high = Shamir.split(threshold, shares, unseal_key[16:])
        points = [(i, a + b) for (i, a), (_, b) in zip(low, high, strict=True)]
    issued = [Share(i, threshold, set_id, y) for i, y in points]
    digests = {s.index: share_digest(set_id, s.index, s.y) for s in issued}
    sealed = wrap(Cipher(unseal_key), root, sealed_root_aad("shamir", set_id), random)
    return ShamirSet(set_id, threshold, shares, digests), sealed, issued


def combine(shares: list[Share]) -> bytes:
    """U from ``threshold`` distinct shares (checked by the caller)."""
    if shares[0].threshold == 1:
        return shares[0].y
    low = Shamir.combine([(s.index, s.y[:16]) for s in shares])
    high = Shamir.combine([(s.index, s.y[16:]) for s in shares])
    return bytes(low + high)


def open_root(record: SealRecord, unseal_key: bytes) -> bytes:
    """R, from the record and U; ``SealError`` if U does not open it."""
    assert record.shamir is not None
    try:
        return unwrap(
            Cipher(unseal_key), record.sealed_root, sealed_root_aad("shamir", record.shamir.set_id)
        )
    except InvalidCiphertextError as exc:
        raise SealError("the unseal keys do not open this store's root key") from exc


@dataclass
class Progress:
    """Shares entered so far towards unsealing (one node's, in memory only)."""

    shares: dict[int, Share] = field(default_factory=dict)

    def add(self, record: SealRecord, share: Share) -> list[Share] | None:
        """Take ``share``; the shares to combine once there are enough, else None.
        ``SealError`` for a share of another set, one not issued, or one given twice."""
        expected = record.shamir
        assert expected is not None
        if any(given.set_id != expected.set_id for given in self.shares.values()):
            self.shares.clear()  # the keys were reissued (rekey) since: start again
        if share.set_id != expected.set_id or share.threshold != expected.threshold:
            raise SealError("that unseal key belongs to another set of keys (not this store's)")
        digest = expected.digests.get(share.index)
        if digest is None or not hmac.compare_digest(
            digest, share_digest(share.set_id, share.index, share.y)
        ):
            raise SealError(f"unseal key #{share.index} is not the one issued for this store")
        if share.index in self.shares:
            raise SealError(f"unseal key #{share.index} was given already")
        self.shares[share.index] = share
        if len(self.shares) < expected.threshold:
            return None
        chosen = [self.shares[i] for i in sorted(self.shares)][: expected.threshold]
        self.shares.clear()
        return chosen

    def given(self, record: SealRecord) -> int:
        """How many keys of ``record``'s set were given (those of a set reissued since
        are dropped)."""
        expected = record.shamir
        if expected is None or any(s.set_id != expected.set_id for s in self.shares.values()):
            self.shares.clear()
        return len(self.shares)

    def reset(self) -> None:
        self.shares.clear()
