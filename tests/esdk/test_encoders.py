"""Pure encoders and decoders, asserted on bytes; key derivation against a second HKDF."""

from __future__ import annotations

import ast
import hashlib
import hmac
import pathlib

import pytest

from cofre import esdk
from cofre.esdk.body import (
    BodyAadContent,
    body_aad,
    encode_final_frame,
    encode_footer,
    encode_non_framed_prefix,
    encode_regular_frame,
    frame_iv,
    read_frame,
)
from cofre.esdk.context import deserialize_encryption_context, serialize_encryption_context
from cofre.esdk.crypto import derive_keys
from cofre.esdk.header import (
    ContentType,
    MessageHeader,
    parse_header_body,
    serialize_header_auth,
    serialize_header_body,
)
from cofre.esdk.materials import EncryptedDataKey

S = esdk.AlgorithmSuite


def reader(data: bytes):  # type: ignore[no-untyped-def]
    pos = 0

    def read(n: int) -> bytes:
        nonlocal pos
        chunk = data[pos : pos + n]
        pos += len(chunk)
        return chunk

    return read


def test_suite_table_ids_are_unique_and_complete() -> None:
    ids = {s.suite_id for s in S}
    assert ids == {0x0578, 0x0478, 0x0378, 0x0346, 0x0214, 0x0178, 0x0146, 0x0114, 0x78, 0x46, 0x14}
    assert S.from_id(0x0578) is S.AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384
    assert [s.message_format_version for s in S if s.committing] == [2, 2]
    with pytest.raises(esdk.ConfigurationError):
        S.from_id(0x9999)


def test_encryption_context_serialisation_is_sorted_and_length_prefixed() -> None:
    assert serialize_encryption_context({}) == b""
    data = serialize_encryption_context({"b": "2", "a": "1é"})
    assert data == bytes.fromhex("0002000161000331c3a9000162000132")
    assert deserialize_encryption_context(data) == {"a": "1é", "b": "2"}


@pytest.mark.parametrize(
    "bad",
    [
        "0000",  # count 0 with a non-empty AAD
        "0001000161",  # truncated
        "000100016100016200",  # trailing byte
        "0002000161000162000161000162",  # duplicate key
        "00010001ff000162",  # invalid UTF-8
    ],
)
def test_encryption_context_rejects_malformed(bad: str) -> None:
    with pytest.raises(esdk.DecryptError):
        deserialize_encryption_context(bytes.fromhex(bad))


def _header(version: int = 2) -> MessageHeader:
    suite = (
        S.AES_256_GCM_HKDF_SHA512_COMMIT_KEY
        if version == 2
        else S.AES_256_GCM_IV12_TAG16_HKDF_SHA256
    )
    return MessageHeader(
        version=version,
        suite=suite,
        message_id=b"\x11" * suite.message_id_length,
        encryption_context={"a": "b"},
        encrypted_data_keys=(EncryptedDataKey("p", b"i", b"\x01\x02"),),
        content_type=ContentType.FRAMED,
        frame_length=4096,
        suite_data=b"\x22" * suite.suite_data_length,
    )


V2_HEADER = bytes.fromhex(
    "020478" + "11" * 32 + "000800010001610001620001000170000169000201020200001000" + "22" * 32
)
V1_HEADER = bytes.fromhex(
    "01800178" + "11" * 16 + "0008000100016100016200010001700001690002010202000000000c00001000"
)


@pytest.mark.parametrize(("version", "expected"), [(2, V2_HEADER), (1, V1_HEADER)])
def test_header_body_bytes(version: int, expected: bytes) -> None:
    header = _header(version)
    assert serialize_header_body(header) == expected
    parsed, raw = parse_header_body(reader(expected + b"rest"))
    assert parsed == header
    assert raw == expected


def test_header_auth_layout() -> None:
    tag = b"\x33" * 16
    assert serialize_header_auth(_header(2), tag) == tag
    assert serialize_header_auth(_header(1), tag) == b"\x00" * 12 + tag


@pytest.mark.parametrize(
    "mutate",
    [
        lambda b: b"\x03" + b[1:],  # unknown version
        lambda b: b[:1] + b"\x01\x78" + b[3:],  # v1 suite in a v2 header
        lambda b: b[:1] + b"\x99\x99" + b[3:],  # unknown suite
        lambda b: b[:-37] + b"\x01" + b[-36:],  # non-framed with a frame length
        lambda b: b[:-37] + b"\x07" + b[-36:],  # unknown content type
        lambda b: b[:-10],  # truncated
    ],
)
def test_header_parse_rejects_malformed(mutate) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(esdk.DecryptError):
        parse_header_body(reader(mutate(V2_HEADER)))


def test_body_encoders() -> None:
    mid = b"\xaa" * 32
    assert frame_iv(1) == bytes(11) + b"\x01"
    assert body_aad(mid, BodyAadContent.REGULAR_FRAME, 2, 5) == (
        mid + b"AWSKMSEncryptionClient Frame" + bytes.fromhex("000000020000000000000005")
    )
    sealed = b"C" * 3 + b"T" * 16
    assert (
        encode_regular_frame(2, frame_iv(2), sealed)
        == bytes.fromhex("00000002") + frame_iv(2) + sealed
    )
    final = encode_final_frame(3, frame_iv(3), sealed)
    assert (
        final
        == bytes.fromhex("ffffffff00000003") + frame_iv(3) + bytes.fromhex("00000003") + sealed
    )
    frame = read_frame(reader(final), frame_length=4)
    assert (frame.seq, frame.final, frame.sealed, frame.content_length()) == (3, True, sealed, 3)
    with pytest.raises(esdk.DecryptError):
        read_frame(reader(final), frame_length=2)  # final frame longer than the frame length
    assert encode_non_framed_prefix(frame_iv(1), 5) == frame_iv(1) + bytes.fromhex(
        "0000000000000005"
    )
    assert encode_footer(b"sig") == b"\x00\x03sig"


def _hkdf(hash_name: str, ikm: bytes, salt: bytes, info: bytes, length: int) -> bytes:
    """RFC 5869 with the standard library: a second implementation to check against."""
    size = hashlib.new(hash_name).digest_size
    prk = hmac.new(salt or bytes(size), ikm, hash_name).digest()
    out, block, i = b"", b"", 1
    while len(out) < length:
        block = hmac.new(prk, block + info + bytes([i]), hash_name).digest()
        out += block
        i += 1
    return out[:length]


def test_key_derivation_matches_rfc5869() -> None:
    data_key, mid = bytes(range(32)), b"\x5a" * 32
    suite = S.AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384
    key, commit = derive_keys(suite, data_key, mid)
    assert key == _hkdf("sha512", data_key, mid, b"\x05\x78DERIVEKEY", 32)
    assert commit == _hkdf("sha512", data_key, mid, b"COMMITKEY", 32)
    v1 = S.AES_128_GCM_IV12_TAG16_HKDF_SHA256
    key, commit = derive_keys(v1, data_key[:16], mid[:16])
    assert key == _hkdf("sha256", data_key[:16], b"", b"\x01\x14" + mid[:16], 16)
    assert commit is None
    assert derive_keys(S.AES_256_GCM_IV12_TAG16_NO_KDF, data_key, mid[:16]) == (data_key, None)


def test_esdk_imports_nothing_else_from_cofre() -> None:
    root = pathlib.Path(esdk.__file__).parent
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                assert top in {"cofre", "cryptography", "__future__"} or top in _stdlib(), name
                if top == "cofre":
                    assert name.startswith("cofre.esdk"), f"{path.name} imports {name}"


def _stdlib() -> frozenset[str]:
    import sys

    return frozenset(sys.stdlib_module_names)


def test_into_fallbacks_match_cryptography() -> None:
    """Batched frames use encrypt_into/decrypt_into; older cryptography gets a fallback."""
    import os

    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    from cofre.esdk.frames import open_into, seal_into

    aead = AESGCM(os.urandom(32))

    class Old:  # a cryptography release without the *_into methods
        encrypt = aead.encrypt
        decrypt = aead.decrypt

    nonce, data, aad = frame_iv(7), os.urandom(100), b"aad"
    new, old = bytearray(116), bytearray(116)
    seal_into(aead)(nonce, data, aad, memoryview(new))
    seal_into(Old())(memoryview(nonce), memoryview(data), aad, memoryview(old))  # type: ignore[arg-type]
    assert new == old == aead.encrypt(nonce, data, aad)
    plain = bytearray(100)
    open_into(Old())(nonce, memoryview(new), aad, memoryview(plain))  # type: ignore[arg-type]
    assert plain == data
