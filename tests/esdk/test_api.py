"""The public API: policies, limits, keyrings, streams, errors."""

from __future__ import annotations

import io
import os

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from cofre import esdk

S = esdk.AlgorithmSuite
P = esdk.CommitmentPolicy


def test_default_suite_and_public_key_in_context(aes_keyring: esdk.RawAesKeyring) -> None:
    message, header = esdk.encrypt(b"hi", aes_keyring, encryption_context={"a": "1"})
    assert header.suite is S.AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384
    assert header.version == 2 and header.frame_length == 4096
    assert set(header.encryption_context) == {"a", "aws-crypto-public-key"}
    plaintext, decrypted = esdk.decrypt(message, aes_keyring, encryption_context={"a": "1"})
    assert plaintext == b"hi" and decrypted == header


def test_reproduced_context_must_match(aes_keyring: esdk.RawAesKeyring) -> None:
    message, _ = esdk.encrypt(b"hi", aes_keyring, encryption_context={"a": "1"})
    with pytest.raises(esdk.DecryptError):
        esdk.decrypt(message, aes_keyring, encryption_context={"a": "2"})


def test_wrong_key_is_a_decrypt_error(aes_keyring: esdk.RawAesKeyring) -> None:
    message, _ = esdk.encrypt(b"hi", aes_keyring)
    for other in (
        esdk.RawAesKeyring("cofre-test", "aes-key-1", os.urandom(32)),
        esdk.RawAesKeyring("cofre-test", "other-name", os.urandom(32)),
        esdk.RawAesKeyring("other-ns", "aes-key-1", os.urandom(32)),
    ):
        with pytest.raises(esdk.DecryptError, match="no keyring could decrypt"):
            esdk.decrypt(message, other)


def test_commitment_policies(aes_keyring: esdk.RawAesKeyring) -> None:
    with pytest.raises(esdk.ConfigurationError):
        esdk.encrypt(b"x", aes_keyring, algorithm=S.AES_256_GCM_IV12_TAG16_HKDF_SHA256)
    with pytest.raises(esdk.ConfigurationError):
        esdk.encrypt(
            b"x",
            aes_keyring,
            algorithm=S.AES_256_GCM_HKDF_SHA512_COMMIT_KEY,
            commitment_policy=P.FORBID_ENCRYPT_ALLOW_DECRYPT,
        )
    v1, header = esdk.encrypt(b"x", aes_keyring, commitment_policy=P.FORBID_ENCRYPT_ALLOW_DECRYPT)
    assert header.suite is S.AES_256_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384
    with pytest.raises(esdk.DecryptError, match="commitment policy"):
        esdk.decrypt(v1, aes_keyring)
    for policy in (P.REQUIRE_ENCRYPT_ALLOW_DECRYPT, P.FORBID_ENCRYPT_ALLOW_DECRYPT):
        assert esdk.decrypt(v1, aes_keyring, commitment_policy=policy)[0] == b"x"


def test_max_encrypted_data_keys(aes_key: bytes) -> None:
    keyrings = [esdk.RawAesKeyring("ns", f"k{i}", aes_key) for i in range(3)]
    multi = esdk.MultiKeyring(generator=keyrings[0], children=keyrings[1:])
    with pytest.raises(esdk.EncryptError):
        esdk.encrypt(b"x", multi, max_encrypted_data_keys=2)
    message, header = esdk.encrypt(b"x", multi, max_encrypted_data_keys=3)
    assert len(header.encrypted_data_keys) == 3
    with pytest.raises(esdk.DecryptError):
        esdk.decrypt(message, keyrings[2], max_encrypted_data_keys=2)
    assert esdk.decrypt(message, keyrings[2], max_encrypted_data_keys=3)[0] == b"x"


def test_reserved_context_and_bad_arguments(aes_keyring: esdk.RawAesKeyring) -> None:
    with pytest.raises(esdk.ConfigurationError):
        esdk.encrypt(b"x", aes_keyring, encryption_context={"aws-crypto-public-key": "x"})
    with pytest.raises(esdk.ConfigurationError):
        esdk.encrypt(b"x", aes_keyring, frame_length=-1)
    with pytest.raises(esdk.ConfigurationError):
        esdk.encrypt(b"x")
    with pytest.raises(esdk.ConfigurationError):
        esdk.RawAesKeyring("aws-kms", "k", bytes(32))
    with pytest.raises(esdk.ConfigurationError):
        esdk.RawAesKeyring("ns", "k", bytes(20))
    with pytest.raises(esdk.ConfigurationError):
        esdk.MultiKeyring()
    assert all(issubclass(e, esdk.EsdkError) for e in (esdk.DecryptError, esdk.EncryptError))


@pytest.mark.parametrize("scheme", list(esdk.RsaPadding))
def test_rsa_padding_schemes_round_trip(
    scheme: esdk.RsaPadding, rsa_key: rsa.RSAPrivateKey
) -> None:
    encryptor = esdk.RawRsaKeyring("ns", "rsa", scheme, public_key=rsa_key.public_key())
    decryptor = esdk.RawRsaKeyring("ns", "rsa", scheme, private_key=rsa_key)
    message, _ = esdk.encrypt(b"rsa", encryptor, algorithm=S.AES_256_GCM_HKDF_SHA512_COMMIT_KEY)
    assert esdk.decrypt(message, decryptor)[0] == b"rsa"
    with pytest.raises(esdk.DecryptError):
        esdk.decrypt(message, encryptor)  # a public key cannot decrypt


@pytest.mark.parametrize("suite", list(S), ids=lambda s: f"{s.suite_id:04x}")
@pytest.mark.parametrize("frame_length", [100, 0])
def test_every_suite_round_trips_through_streams(
    suite: esdk.AlgorithmSuite, frame_length: int, aes_keyring: esdk.RawAesKeyring
) -> None:
    policy = P.REQUIRE_ENCRYPT_ALLOW_DECRYPT if suite.committing else P.FORBID_ENCRYPT_ALLOW_DECRYPT
    plaintext = os.urandom(1000)
    sink = io.BytesIO()
    esdk.encrypt_stream(
        io.BytesIO(plaintext),
        sink,
        aes_keyring,
        algorithm=suite,
        frame_length=frame_length,
        commitment_policy=policy,
    )
    out = io.BytesIO()
    header = esdk.decrypt_stream(
        io.BytesIO(sink.getvalue() + b"next"), out, aes_keyring, commitment_policy=policy
    )
    assert out.getvalue() == plaintext and header.suite is suite


class _Trickle(io.RawIOBase):
    """A pipe-like source that returns at most 7 bytes per read."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        return self._data.read(min(n, 7) if n >= 0 else 7)


def test_short_reads_are_handled(aes_keyring: esdk.RawAesKeyring) -> None:
    plaintext = os.urandom(3000)
    sink = io.BytesIO()
    esdk.encrypt_stream(_Trickle(plaintext), sink, aes_keyring, frame_length=256)  # type: ignore[arg-type]
    out = io.BytesIO()
    esdk.decrypt_stream(_Trickle(sink.getvalue()), out, aes_keyring)  # type: ignore[arg-type]
    assert out.getvalue() == plaintext


def test_public_surface() -> None:
    assert sorted(esdk.__all__) == sorted(
        n for n in dir(esdk) if not n.startswith("_") and n in esdk.__all__
    )
    for name in esdk.__all__:
        assert hasattr(esdk, name)
    assert isinstance(esdk.RawAesKeyring("n", "k", bytes(16)), esdk.Keyring)


@pytest.mark.parametrize(
    ("size", "frame_length"),
    [(0, 4096), (4096 * 3, 4096), (3 << 20, 4096), (5 << 20, 2 << 20), (100, 0)],
    ids=["empty", "exact-frames", "batches", "frames-larger-than-a-batch", "non-framed"],
)
def test_stream_gives_back_bytes_after_the_message(
    size: int, frame_length: int, aes_keyring: esdk.RawAesKeyring
) -> None:
    """Bodies are read in batches; a seekable source is left right after the message."""
    plaintext = os.urandom(size)
    message, _ = esdk.encrypt(
        plaintext,
        aes_keyring,
        frame_length=frame_length,
        algorithm=S.AES_256_GCM_HKDF_SHA512_COMMIT_KEY,
    )
    source, sink = io.BytesIO(message + b"next message"), io.BytesIO()
    esdk.decrypt_stream(source, sink, aes_keyring)
    assert sink.getvalue() == plaintext
    assert source.read() == b"next message"
    with pytest.raises(esdk.DecryptError, match="trailing bytes"):
        esdk.decrypt_stream(io.BytesIO(message + b"x"), io.BytesIO(), aes_keyring, require_end=True)
    with pytest.raises(esdk.DecryptError, match="trailing bytes"):
        esdk.decrypt(message + b"x", aes_keyring)
    # a pipe-like source: the message still decrypts, however reads are split
    out = io.BytesIO()
    esdk.decrypt_stream(_Trickle(message), out, aes_keyring, require_end=True)  # type: ignore[arg-type]
    assert out.getvalue() == plaintext


def test_large_signed_stream_round_trips(aes_keyring: esdk.RawAesKeyring) -> None:
    """Several batches through the helper threads and the spool file."""
    plaintext = os.urandom((3 << 20) + 12345)
    sink = io.BytesIO()
    esdk.encrypt_stream(io.BytesIO(plaintext), sink, aes_keyring, frame_length=65536)
    out = io.BytesIO()
    header = esdk.decrypt_stream(
        io.BytesIO(sink.getvalue()), out, aes_keyring, spool_memory=1 << 20
    )
    assert out.getvalue() == plaintext and header.suite.signed


def test_discard_on_error_writes_as_frames_authenticate(aes_keyring: esdk.RawAesKeyring) -> None:
    """Signed suite, bad signature: with discard_on_error the frames were already written
    (the caller throws them away); by default nothing reaches the sink."""
    plaintext = bytes(3 * 4096)
    message, _ = esdk.encrypt(plaintext, aes_keyring, frame_length=4096)  # 0x0578, signed
    bad = message[:-5] + bytes([message[-5] ^ 1]) + message[-4:]
    for discard, written in ((True, plaintext), (False, b"")):
        sink = io.BytesIO()
        with pytest.raises(esdk.DecryptError):
            esdk.decrypt_stream(io.BytesIO(bad), sink, aes_keyring, discard_on_error=discard)
        assert sink.getvalue() == written
    sink = io.BytesIO()
    esdk.decrypt_stream(io.BytesIO(message), sink, aes_keyring, discard_on_error=True)
    assert sink.getvalue() == plaintext
    with pytest.raises(esdk.ConfigurationError):
        esdk.decrypt_stream(
            io.BytesIO(message), sink, aes_keyring, discard_on_error=True, buffer_unsigned=True
        )
