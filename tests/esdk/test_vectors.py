"""Golden ESDK messages made by the official aws-encryption-sdk, decrypted by Cofre.

The vectors (tests/esdk/vectors/raw-aes-v2.json) come from vectors/generate.py, which
imports nothing from Cofre; see vectors/PROVENANCE.md.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from cofre import esdk

VECTORS_FILE = Path(__file__).parent / "vectors" / "raw-aes-v2.json"
VECTORS: list[dict[str, Any]] = json.loads(VECTORS_FILE.read_text(encoding="utf-8"))["vectors"]


def keyring(vector: dict[str, Any]) -> esdk.RawAesKeyring:
    return esdk.RawAesKeyring(
        vector["key_namespace"], vector["key_name"], bytes.fromhex(vector["key"])
    )


def test_vector_set_covers_the_brief() -> None:
    cases = {(v["suite_id"], v["frame_length"], len(v["plaintext"]) // 2) for v in VECTORS}
    assert cases == {(s, f, n) for s in (0x0578, 0x0478) for f in (512, 0) for n in (0, 1000)}


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: v["name"])
def test_decrypt(vector: dict[str, Any]) -> None:
    plaintext, header = esdk.decrypt(
        bytes.fromhex(vector["ciphertext"]),
        keyring(vector),
        encryption_context=vector["encryption_context"],
    )
    assert plaintext == bytes.fromhex(vector["plaintext"])
    assert header.suite is esdk.AlgorithmSuite.from_id(vector["suite_id"])
    assert dict(header.encryption_context) == vector["header_context"]
    signed = "aws-crypto-public-key" in vector["header_context"]
    assert signed == header.suite.signed
    framed = vector["frame_length"] != 0
    assert header.content_type is (
        esdk.ContentType.FRAMED if framed else esdk.ContentType.NON_FRAMED
    )
    assert header.frame_length == vector["frame_length"]


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: v["name"])
def test_decrypt_stream(vector: dict[str, Any]) -> None:
    sink = io.BytesIO()
    header = esdk.decrypt_stream(
        io.BytesIO(bytes.fromhex(vector["ciphertext"])), sink, keyring(vector)
    )
    assert sink.getvalue() == bytes.fromhex(vector["plaintext"])
    assert dict(header.encryption_context) == vector["header_context"]


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: v["name"])
def test_wrong_key_or_context_fails(vector: dict[str, Any]) -> None:
    message = bytes.fromhex(vector["ciphertext"])
    wrong_key = esdk.RawAesKeyring(vector["key_namespace"], vector["key_name"], bytes(32))
    with pytest.raises(esdk.DecryptError):
        esdk.decrypt(message, wrong_key)
    with pytest.raises(esdk.DecryptError):
        esdk.decrypt(message, keyring(vector), encryption_context={"purpose": "other"})
