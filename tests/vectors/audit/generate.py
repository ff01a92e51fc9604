"""Generate tests/vectors/audit/audit-chain-v1.json with Cofre's own implementation.

Run: .venv/bin/python tests/vectors/audit/generate.py
The vectors are checked in tests/unit/core/audit/test_chain.py by a second construction
written from docs/formats/audit-chain.md (stdlib json, hashlib, hmac, struct; pyca only to
verify the Ed25519 signatures). Golden: a format change adds a version and new vectors.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cofre.core.audit.chain import (
    GENESIS_HASH,
    DigestKind,
    canonical_json,
    chain_hash,
    chain_mac,
    digest_message,
    public_key_pem,
    sign_digest,
    signing_key,
    to_micros,
)

MAC_KEY = bytes(range(32))
SEED = bytes(range(100, 132))
EVENTS: list[dict[str, Any]] = [
    {"eventVersion": "1.11", "eventName": "CreateKey", "eventID": "e1", "readOnly": False},
    {
        "eventName": "Encrypt",
        "requestParameters": {"encryptionContext": {"b": "2", "a": "1", "\u00e9t\u00e9": "x"}},
        "responseElements": None,
        "eventID": "e2",
        "readOnly": True,
    },
    {"eventName": "PutParameter", "userAgent": 'caf\u00e9 \U0001f510 "quoted" \\ \t\n\x01'},
    {"nested": {"z": [3, 2, 1], "a": {"y": True, "b": None}}, "A": "upper sorts first"},
    {},
]
DIGEST_TIME = datetime(2025, 3, 14, 9, 26, 53, 589793, tzinfo=UTC)


def main() -> None:
    private = signing_key(SEED)
    prev = GENESIS_HASH
    events = []
    for seq, event in enumerate(EVENTS, start=1):
        body = canonical_json(event)
        hash_ = chain_hash(prev, seq, body)
        events.append(
            {
                "seq": seq,
                "event": event,
                "canonical": body.decode("utf-8"),
                "prevHash": prev.hex(),
                "hash": hash_.hex(),
                "mac": chain_mac(MAC_KEY, seq, hash_).hex(),
            }
        )
        prev = hash_
    digests = []
    for kind, first, last in (
        (DigestKind.HEAD, 1, 3),
        (DigestKind.HEAD, 4, 5),
        (DigestKind.ANCHOR, 2, 2),
    ):
        head = bytes.fromhex(events[last - 1]["hash"])
        digests.append(
            {
                "kind": int(kind),
                "firstSeq": first,
                "lastSeq": last,
                "headHash": head.hex(),
                "time": DIGEST_TIME.isoformat(),
                "timeMicros": to_micros(DIGEST_TIME),
                "message": digest_message(kind, first, last, head, DIGEST_TIME).hex(),
                "signature": sign_digest(private, first, last, head, DIGEST_TIME, kind).hex(),
            }
        )
    out = {
        "description": "Cofre audit chain v1: canonical JSON, chain hashes, MACs, digests",
        "macKey": MAC_KEY.hex(),
        "signingSeed": SEED.hex(),
        "publicKeyPem": public_key_pem(private.public_key()),
        "events": events,
        "digests": digests,
    }
    path = Path(__file__).with_name("audit-chain-v1.json")
    path.write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
