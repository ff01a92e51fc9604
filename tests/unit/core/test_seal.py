"""The root of trust's byte formats (docs/formats/seal.md): the seal record, the unseal key
text and its checksum, the share digest and the associated data of the sealed root. The
texts are also built a second time here, from the format page with the standard library,
so a change of format fails these tests instead of passing through both sides."""

from __future__ import annotations

import base64
import hashlib
import json
import os

import pytest

from cofre.core.crypto import Cipher, unwrap, wrap
from cofre.core.seal import (
    KEYRING_AAD,
    SEAL_TYPES,
    SealRecord,
    ShamirSet,
    Share,
    decode_record,
    decode_share,
    encode_record,
    encode_share,
    sealed_root_aad,
    share_digest,
)
from cofre.errors import InvalidCiphertextError, SealError

SET_ID = bytes.fromhex("0102030405060708")
Y = bytes(range(100, 132))
SHAMIR = ShamirSet(SET_ID, 3, 5, {i: hashlib.sha256(bytes((i,))).digest() for i in range(1, 6)})


# the second construction, from the format page ----------------------------------------------
def _share_text(version: int, threshold: int, index: int, set_id: bytes, y: bytes) -> str:
    body = bytes((version, threshold, index)) + set_id + y
    check = hashlib.sha256(b"cofre/shamir-share/v1" + body).digest()[:5]
    return base64.b64encode(body + check).decode()


def _record(seal_type: str, shamir: ShamirSet | None) -> SealRecord:
    params = {"key_id": "alias/cofre-seal", "region": "eu-west-1"} if seal_type == "kms" else {}
    sealed_root = b"" if seal_type == "file" else b"\x01" + b"r" * 60
    return SealRecord(seal_type, b"\x01" + b"k" * 60, sealed_root, shamir, params)


# the seal record ------------------------------------------------------------------------------
@pytest.mark.parametrize("with_set", [True, False], ids=["with-set", "no-set"])
@pytest.mark.parametrize("seal_type", SEAL_TYPES)
def test_record_round_trip(seal_type: str, with_set: bool) -> None:
    record = _record(seal_type, SHAMIR if with_set else None)
    assert decode_record(encode_record(record)) == record


def test_record_text_is_the_documented_json() -> None:
    record = _record("shamir", SHAMIR)
    document = json.loads(encode_record(record))
    assert document == {
        "v": 1,
        "type": "shamir",
        "keyring": base64.b64encode(record.keyring).decode(),
        "sealed_root": base64.b64encode(record.sealed_root).decode(),
        "params": {},
        "shamir": {
            "set_id": base64.b64encode(SET_ID).decode(),
            "threshold": 3,
            "shares": 5,
            "digests": {str(i): base64.b64encode(d).decode() for i, d in SHAMIR.digests.items()},
        },
    }
    assert "shamir" not in json.loads(encode_record(_record("file", None)))


def test_with_root_keeps_the_seal() -> None:
    record = _record("kms", SHAMIR)
    rotated = record.with_root(b"new keyring", b"new sealed root")
    assert rotated == SealRecord("kms", b"new keyring", b"new sealed root", SHAMIR, record.params)


def _edited(**changes: object) -> str:
    document = json.loads(encode_record(_record("shamir", SHAMIR)))
    for name, value in changes.items():
        if "." in name:
            outer, inner = name.split(".")
            document[outer][inner] = value
        else:
            document[name] = value
    return json.dumps(document)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("", id="empty"),
        pytest.param("{not json", id="not-json"),
        pytest.param(_edited(v=2), id="version-2"),
        pytest.param(_edited(v="1"), id="version-as-text"),
        pytest.param(_edited(type="vault"), id="unknown-type"),
        pytest.param(_edited(keyring="not base64!"), id="keyring-not-base64"),
        pytest.param(_edited(keyring=None), id="keyring-null"),
        pytest.param(_edited(**{"shamir.set_id": "%%%"}), id="set-id-not-base64"),
        pytest.param(_edited(**{"shamir.threshold": "three"}), id="threshold-not-a-number"),
        pytest.param(_edited(**{"shamir.digests": {"one": "AAAA"}}), id="digest-index-text"),
        pytest.param(_edited(**{"shamir.digests": {"1": "A"}}), id="digest-not-base64"),
        pytest.param(_edited(shamir={}), id="set-empty"),
    ],
)
def test_damaged_record_is_a_seal_error(text: str) -> None:
    with pytest.raises(SealError):
        decode_record(text)


def test_record_without_keyring_is_a_seal_error() -> None:
    document = json.loads(encode_record(_record("file", None)))
    del document["keyring"]
    with pytest.raises(SealError, match="damaged"):
        decode_record(json.dumps(document))


def test_unknown_version_is_named() -> None:
    with pytest.raises(SealError, match="unknown version or type"):
        decode_record(_edited(v=2))


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("[]", id="list"),
        pytest.param("null", id="null"),
        pytest.param('"seal"', id="string"),
        pytest.param(_edited(params=["library"]), id="params-list"),
    ],
)
def test_record_that_is_not_an_object_is_a_seal_error(text: str) -> None:
    with pytest.raises(SealError):
        decode_record(text)


# unseal keys (share text) ---------------------------------------------------------------------
@pytest.mark.parametrize(
    "share",
    [
        Share(1, 3, SET_ID, Y),
        Share(255, 255, SET_ID, Y),
        Share(7, 1, bytes(8), bytes(32)),
        Share(2, 2, b"\xff" * 8, b"\xee" * 32),
    ],
    ids=["1-of-3", "255-of-255", "zeros", "high-bytes"],
)
def test_share_text_round_trip(share: Share) -> None:
    text = encode_share(share)
    assert text == _share_text(1, share.threshold, share.index, share.set_id, share.y)
    assert decode_share(text) == share


def test_share_text_ignores_whitespace() -> None:
    text = encode_share(Share(4, 3, SET_ID, Y))
    spread = "  " + "\n".join(text[i : i + 16] for i in range(0, len(text), 16)) + "\t\n"
    assert decode_share(spread) == Share(4, 3, SET_ID, Y)


@pytest.mark.parametrize("text", ["not base64 at all!", "QUJD=x", "Zm9v\u00e9"])
def test_share_that_is_not_base64_is_named(text: str) -> None:
    with pytest.raises(SealError, match="base64"):
        decode_share(text)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(_share_text(1, 3, 1, SET_ID, Y[:31]), id="short"),
        pytest.param(_share_text(1, 3, 1, SET_ID, Y + b"\x00"), id="long"),
        pytest.param(_share_text(2, 3, 1, SET_ID, Y), id="version-2"),
        pytest.param(_share_text(0, 3, 1, SET_ID, Y), id="version-0"),
        pytest.param("", id="empty"),
    ],
)
def test_share_of_wrong_length_or_version_is_named(text: str) -> None:
    with pytest.raises(SealError, match="wrong length or version"):
        decode_share(text)


def test_every_mistyped_character_is_caught_by_the_checksum() -> None:
    text = encode_share(Share(2, 3, SET_ID, Y))
    # characters 0-1 carry the version byte (named as such); every later one is covered
    for position in range(2, len(text)):
        typo = "B" if text[position] == "A" else "A"
        mistyped = text[:position] + typo + text[position + 1 :]
        with pytest.raises(SealError, match="checksum does not match"):
            decode_share(mistyped)


@pytest.mark.parametrize(("threshold", "index"), [(3, 0), (0, 1)], ids=["index-0", "threshold-0"])
def test_share_with_impossible_point_is_malformed(threshold: int, index: int) -> None:
    with pytest.raises(SealError, match="malformed"):
        decode_share(_share_text(1, threshold, index, SET_ID, Y))


def test_share_digest_is_the_documented_hash() -> None:
    expected = hashlib.sha256(b"cofre/shamir-digest/v1" + SET_ID + b"\x05" + Y).digest()
    assert share_digest(SET_ID, 5, Y) == expected


def test_share_digest_differs_per_set_index_and_value() -> None:
    digests = {
        share_digest(SET_ID, 1, Y),
        share_digest(b"\x09" + SET_ID[1:], 1, Y),
        share_digest(SET_ID, 2, Y),
        share_digest(SET_ID, 1, Y[:-1] + b"\x00"),
    }
    assert len(digests) == 4


# what binds the wrapped keys to their place ---------------------------------------------------
def test_sealed_root_aad_is_the_documented_bytes() -> None:
    assert sealed_root_aad("shamir", SET_ID) == b"cofre/sealed-root/v1\x00shamir\x00" + SET_ID
    assert sealed_root_aad("pkcs11") == b"cofre/sealed-root/v1\x00pkcs11\x00"


def test_root_wrapped_for_one_set_does_not_open_for_another() -> None:
    unseal_key, root = os.urandom(32), os.urandom(32)
    sealed = wrap(Cipher(unseal_key), root, sealed_root_aad("shamir", SET_ID), os.urandom)
    assert unwrap(Cipher(unseal_key), sealed, sealed_root_aad("shamir", SET_ID)) == root
    with pytest.raises(InvalidCiphertextError):
        unwrap(Cipher(unseal_key), sealed, sealed_root_aad("shamir", bytes(8)))
    with pytest.raises(InvalidCiphertextError):
        unwrap(Cipher(unseal_key), sealed, sealed_root_aad("pkcs11"))


def test_wrapped_keyring_is_version_iv_ciphertext_tag() -> None:
    root, key = os.urandom(32), os.urandom(32)
    wrapped = wrap(Cipher(root), key, KEYRING_AAD, lambda n: b"\x07" * n)
    assert wrapped[:13] == b"\x01" + b"\x07" * 12
    assert len(wrapped) == 1 + 12 + 32 + 16
    assert unwrap(Cipher(root), wrapped, KEYRING_AAD) == key
    with pytest.raises(InvalidCiphertextError):
        unwrap(Cipher(root), b"\x02" + wrapped[1:], KEYRING_AAD)
    with pytest.raises(InvalidCiphertextError):
        unwrap(Cipher(os.urandom(32)), wrapped, KEYRING_AAD)
