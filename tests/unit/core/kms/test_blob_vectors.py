"""Golden vectors of the ciphertext blob format, checked by a second construction."""

from __future__ import annotations

import json
import struct
import uuid
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from cofre.core.crypto import Cipher
from cofre.core.kms.blob import parse_blob
from cofre.core.kms.context import canonical_context
from tests.support.vectors import VECTORS as VECTOR_DIR

VECTORS = [
    *json.loads((VECTOR_DIR / "ciphertext-blob-v1.json").read_text()),
    *json.loads((VECTOR_DIR / "ciphertext-blob-v2.json").read_text()),
]


def _independent_aad(key_id: str, version_id: bytes, context: dict[str, str]) -> bytes:
    # Written from docs/formats/ciphertext-blob.md, not from cofre.core.
    if key_id.startswith("mrk-"):  # format 2: a multi-Region key id, its 32 hex digits
        header = b"\x02" + bytes.fromhex(key_id[4:]) + version_id
    else:
        header = b"\x01" + uuid.UUID(key_id).bytes + version_id
    pairs = sorted((k.encode("utf-8"), v.encode("utf-8")) for k, v in context.items())
    body = struct.pack(">I", len(pairs))
    for k, v in pairs:
        body += struct.pack(">I", len(k)) + k + struct.pack(">I", len(v)) + v
    return header + body


IDS = [f"{v['name']} ({v['key_id'][:4]})" for v in VECTORS]


@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_vector_independent_construction(vector: dict[str, Any]) -> None:
    version_id = bytes.fromhex(vector["version_id"])
    aad = _independent_aad(vector["key_id"], version_id, vector["context"])
    iv = bytes.fromhex(vector["iv"])
    sealed = AESGCM(bytes.fromhex(vector["material"])).encrypt(
        iv, bytes.fromhex(vector["plaintext"]), aad
    )
    assert aad[:49] + iv + sealed == bytes.fromhex(vector["blob"])


@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_vector_opens_with_cofre(vector: dict[str, Any]) -> None:
    parsed = parse_blob(bytes.fromhex(vector["blob"]))
    assert parsed.header.key_id == vector["key_id"]
    assert parsed.header.version_id.hex() == vector["version_id"]
    cipher = Cipher(bytes.fromhex(vector["material"]))
    aad = parsed.header_bytes + canonical_context(vector["context"])
    assert cipher.open(parsed.iv, parsed.sealed, aad).hex() == vector["plaintext"]
