"""Tampering: every flipped byte and every truncation fails with DecryptError, no plaintext."""

from __future__ import annotations

import io
import os

import pytest

from cofre import esdk
from cofre.esdk.frames import frames_per_batch

S = esdk.AlgorithmSuite
CASES = [
    (S.AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384, 64),
    (S.AES_256_GCM_HKDF_SHA512_COMMIT_KEY, 64),
    (S.AES_256_GCM_HKDF_SHA512_COMMIT_KEY, 0),
]


def _message(keyring: esdk.Keyring, suite: esdk.AlgorithmSuite, frame_length: int) -> bytes:
    message, _ = esdk.encrypt(
        b"tamper me" * 15,
        keyring,
        encryption_context={"k": "v"},
        algorithm=suite,
        frame_length=frame_length,
    )
    return message


@pytest.mark.parametrize(("suite", "frame_length"), CASES, ids=["0578-f64", "0478-f64", "0478-nf"])
def test_every_flipped_byte_fails(
    suite: esdk.AlgorithmSuite, frame_length: int, aes_keyring: esdk.RawAesKeyring
) -> None:
    message = _message(aes_keyring, suite, frame_length)
    for pos in range(len(message)):
        tampered = bytearray(message)
        tampered[pos] ^= 0x01
        with pytest.raises(esdk.DecryptError):
            esdk.decrypt(bytes(tampered), aes_keyring)
        if suite.signed:
            sink = io.BytesIO()
            with pytest.raises(esdk.DecryptError):
                esdk.decrypt_stream(io.BytesIO(bytes(tampered)), sink, aes_keyring)
            assert sink.getvalue() == b"", f"plaintext released with byte {pos} flipped"


@pytest.mark.parametrize(("suite", "frame_length"), CASES, ids=["0578-f64", "0478-f64", "0478-nf"])
def test_every_truncation_and_extension_fails(
    suite: esdk.AlgorithmSuite, frame_length: int, aes_keyring: esdk.RawAesKeyring
) -> None:
    message = _message(aes_keyring, suite, frame_length)
    for end in range(len(message)):
        with pytest.raises(esdk.DecryptError):
            esdk.decrypt(message[:end], aes_keyring)
    with pytest.raises(esdk.DecryptError):
        esdk.decrypt(message + b"\x00", aes_keyring)


def test_signed_stream_releases_nothing_before_the_signature(
    aes_keyring: esdk.RawAesKeyring,
) -> None:
    plaintext = bytes(range(256)) * 40
    message, _ = esdk.encrypt(plaintext, aes_keyring, frame_length=512)
    tampered = message[:-1] + bytes([message[-1] ^ 1])  # only the signature is wrong
    sink = io.BytesIO()
    with pytest.raises(esdk.DecryptError, match="authentication failed"):
        esdk.decrypt_stream(io.BytesIO(tampered), sink, aes_keyring, spool_memory=1024)
    assert sink.getvalue() == b""


def test_unsigned_stream_release_policy(aes_keyring: esdk.RawAesKeyring) -> None:
    """Unsigned suites release each batch of authenticated frames; a failure later releases
    nothing more; buffer_unsigned=True releases none."""
    suite = S.AES_256_GCM_HKDF_SHA512_COMMIT_KEY
    per_batch = frames_per_batch(suite.spec, 512)
    plaintext = os.urandom(3 * per_batch * 512 + 100)  # three full batches and a tail
    message, _ = esdk.encrypt(plaintext, aes_keyring, algorithm=suite, frame_length=512)
    tampered = message[:-1] + bytes([message[-1] ^ 1])  # the final frame's tag
    sink = io.BytesIO()
    with pytest.raises(esdk.DecryptError):
        esdk.decrypt_stream(io.BytesIO(tampered), sink, aes_keyring)
    # authentic batches only, never the bad frame
    assert sink.getvalue() == plaintext[: 3 * per_batch * 512]
    sink = io.BytesIO()
    with pytest.raises(esdk.DecryptError):
        esdk.decrypt_stream(io.BytesIO(tampered), sink, aes_keyring, buffer_unsigned=True)
    assert sink.getvalue() == b""


def test_reordered_frames_fail(aes_keyring: esdk.RawAesKeyring) -> None:
    suite = S.AES_256_GCM_HKDF_SHA512_COMMIT_KEY
    message, _ = esdk.encrypt(
        b"a" * 64 + b"b" * 64 + b"c", aes_keyring, algorithm=suite, frame_length=64
    )
    frame = 4 + 12 + 64 + 16
    body_start = len(message) - (2 * frame + 4 + 4 + 12 + 4 + 1 + 16)
    first, second = (
        message[body_start : body_start + frame],
        message[body_start + frame : body_start + 2 * frame],
    )
    swapped = message[:body_start] + second + first + message[body_start + 2 * frame :]
    with pytest.raises(esdk.DecryptError, match="sequence"):
        esdk.decrypt(swapped, aes_keyring)
