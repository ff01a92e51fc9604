"""Signing the audit chain's head and pruning its oldest events."""

from __future__ import annotations

from datetime import datetime

from cofre.core.audit.chain import Anchor, DigestKind, SignedDigest, sign_digest
from cofre.service.audit.signing_key import PUBLIC_KEY_META, SigningKey
from cofre.service.ports import Clock, Storage

_PRUNE_BATCH = 10_000  # events deleted per transaction


class DigestSigner:
    def __init__(self, storage: Storage, clock: Clock, key: SigningKey) -> None:
        self._storage = storage
        self._clock = clock
        self._key = key

    def public_key_pem(self) -> str | None:
        """The PEM of the digest signing key; None until the first digest was signed."""
        with self._storage.read() as tx:
            return tx.get_meta(PUBLIC_KEY_META)

    def sign_head(self) -> SignedDigest | None:
        """Sign the chain head if it moved since the last digest."""
        with self._storage.write() as tx:
            state = tx.lock_audit_chain()
            if state.head_seq <= state.digest_seq:
                return None
            private = self._key.key(tx)
            now = self._clock.now()
            first = state.digest_seq + 1
            signature = sign_digest(private, first, state.head_seq, state.head_hash, now)
            digest = SignedDigest(first, state.head_seq, state.head_hash, now, signature)
            tx.insert_audit_digest(digest)
            return digest

    def prune(self, older_than: datetime) -> int:
        """Delete the events older than ``older_than`` (the longest such run from the start
        of the trail) and leave a signed anchor; returns how many were deleted."""
        total = 0
        while True:
            with self._storage.write() as tx:
                state = tx.lock_audit_chain()
                point = tx.audit_prune_point(older_than, state.anchor.seq, _PRUNE_BATCH)
                if point is None:
                    return total
                private = self._key.key(tx)
                now = self._clock.now()
                signature = sign_digest(
                    private, point.seq, point.seq, point.hash, now, DigestKind.ANCHOR
                )
                total += tx.prune_audit(Anchor(point.seq, point.hash, now, signature))
