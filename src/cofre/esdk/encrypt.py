"""Encrypt: bytes and bounded-memory streams (client-apis/encrypt.md)."""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Mapping
from typing import BinaryIO

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from cofre.esdk._io import COPY_CHUNK, HashingWriter, copy_stream, read_full
from cofre.esdk.body import (
    MAX_FRAMES,
    MAX_NON_FRAMED_LENGTH,
    BodyAadContent,
    body_aad,
    encode_final_frame,
    encode_footer,
    encode_non_framed_prefix,
    encode_regular_frame,
    frame_iv,
)
from cofre.esdk.cmm import DefaultCmm
from cofre.esdk.context import check_no_reserved_keys, serialize_encryption_context
from cofre.esdk.crypto import derive_keys, header_auth_tag, new_signature_hash, sign_digest
from cofre.esdk.errors import ConfigurationError, EncryptError
from cofre.esdk.header import (
    MAX_FRAME_LENGTH,
    ContentType,
    MessageHeader,
    serialize_header_auth,
    serialize_header_body,
)
from cofre.esdk.materials import (
    CryptoMaterialsManager,
    EncryptionMaterials,
    EncryptionMaterialsRequest,
    Keyring,
)
from cofre.esdk.suites import DEFAULT_COMMITMENT_POLICY, AlgorithmSuite, CommitmentPolicy

DEFAULT_FRAME_LENGTH = 4096
SPOOL_MEMORY = 8 << 20


def resolve_cmm(
    keyring: Keyring | None, materials_manager: CryptoMaterialsManager | None
) -> CryptoMaterialsManager:
    # encrypt.md / decrypt.md: exactly one of a keyring or a CMM MUST be given
    if (keyring is None) == (materials_manager is None):
        raise ConfigurationError("give exactly one of keyring or materials_manager")
    if materials_manager is not None:
        return materials_manager
    assert keyring is not None
    return DefaultCmm(keyring)


def encrypt(
    plaintext: bytes,
    keyring: Keyring | None = None,
    *,
    materials_manager: CryptoMaterialsManager | None = None,
    encryption_context: Mapping[str, str] | None = None,
    algorithm: AlgorithmSuite | None = None,
    frame_length: int = DEFAULT_FRAME_LENGTH,
    commitment_policy: CommitmentPolicy = DEFAULT_COMMITMENT_POLICY,
    max_encrypted_data_keys: int | None = None,
) -> tuple[bytes, MessageHeader]:
    """Encrypt ``plaintext``; return the message and its header. ``frame_length=0``: non-framed."""
    sink = io.BytesIO()
    header = encrypt_stream(
        io.BytesIO(plaintext),
        sink,
        keyring,
        materials_manager=materials_manager,
        encryption_context=encryption_context,
        algorithm=algorithm,
        frame_length=frame_length,
        commitment_policy=commitment_policy,
        max_encrypted_data_keys=max_encrypted_data_keys,
        plaintext_length=len(plaintext),
    )
    return sink.getvalue(), header


def encrypt_stream(
    source: BinaryIO,
    sink: BinaryIO,
    keyring: Keyring | None = None,
    *,
    materials_manager: CryptoMaterialsManager | None = None,
    encryption_context: Mapping[str, str] | None = None,
    algorithm: AlgorithmSuite | None = None,
    frame_length: int = DEFAULT_FRAME_LENGTH,
    commitment_policy: CommitmentPolicy = DEFAULT_COMMITMENT_POLICY,
    max_encrypted_data_keys: int | None = None,
    plaintext_length: int | None = None,
) -> MessageHeader:
    """Encrypt ``source`` into ``sink`` frame by frame; memory stays around one frame.

    Non-framed messages (``frame_length=0``) need the length up front, so the source is
    first spooled to a temporary file (in memory up to 8 MiB).
    """
    if not 0 <= frame_length <= MAX_FRAME_LENGTH:
        raise ConfigurationError(f"frame length must be between 0 and {MAX_FRAME_LENGTH}")
    if max_encrypted_data_keys is not None and max_encrypted_data_keys < 1:
        raise ConfigurationError("max_encrypted_data_keys must be at least 1")
    context = dict(encryption_context or {})
    check_no_reserved_keys(context)
    cmm = resolve_cmm(keyring, materials_manager)
    request = EncryptionMaterialsRequest(context, commitment_policy, algorithm, plaintext_length)
    materials = cmm.get_encryption_materials(request)
    suite = materials.suite
    # encrypt.md: the suite from the materials MUST be allowed by the commitment policy
    if not commitment_policy.allows_encrypt(suite):
        raise ConfigurationError("materials use a suite the commitment policy forbids")
    if algorithm is not None and suite is not algorithm:
        raise EncryptError("materials manager changed the requested algorithm suite")
    # encrypt.md: more encrypted data keys than the configured maximum MUST fail
    count = len(materials.encrypted_data_keys)
    if max_encrypted_data_keys is not None and count > max_encrypted_data_keys:
        raise EncryptError(f"{count} encrypted data keys exceed the maximum")
    if materials.plaintext_data_key is None or not materials.encrypted_data_keys:
        raise EncryptError("materials hold no data key")
    if suite.signed and materials.signing_key is None:
        raise EncryptError("materials hold no signing key for a signed suite")
    header, key = _build_header(materials, frame_length)
    out = HashingWriter(sink, new_signature_hash(suite) if suite.signed else None)
    body = serialize_header_body(header)
    auth_only = {
        k: materials.encryption_context[k] for k in materials.required_encryption_context_keys
    }
    tag = header_auth_tag(suite, key, body + serialize_encryption_context(auth_only))
    out.write(body + serialize_header_auth(header, tag))
    if frame_length:
        _write_frames(out, source, header, key, plaintext_length)
    else:
        _write_non_framed(out, source, header, key)
    if out.hasher is not None:
        assert materials.signing_key is not None
        signature = sign_digest(suite, materials.signing_key, out.hasher.finalize())
        sink.write(encode_footer(signature))
    return header


def _build_header(materials: EncryptionMaterials, frame_length: int) -> tuple[MessageHeader, bytes]:
    suite = materials.suite
    assert materials.plaintext_data_key is not None
    # encrypt.md#construct-the-header: the message id MUST come from a good source of randomness
    message_id = os.urandom(suite.message_id_length)
    key, commit_key = derive_keys(suite, materials.plaintext_data_key, message_id)
    required = set(materials.required_encryption_context_keys)
    # encrypt.md: the stored AAD MUST NOT contain the required (authenticate-only) keys
    stored = {k: v for k, v in materials.encryption_context.items() if k not in required}
    header = MessageHeader(
        version=suite.message_format_version,
        suite=suite,
        message_id=message_id,
        encryption_context=stored,
        encrypted_data_keys=materials.encrypted_data_keys,
        content_type=ContentType.FRAMED if frame_length else ContentType.NON_FRAMED,
        frame_length=frame_length,
        suite_data=commit_key or b"",
    )
    return header, key


def _write_frames(
    out: HashingWriter, source: BinaryIO, header: MessageHeader, key: bytes, bound: int | None
) -> None:
    aead = AESGCM(key)
    fl, mid = header.frame_length, header.message_id
    seq, total = 1, 0
    current = read_full(source, fl)
    while True:
        total += len(current)
        if bound is not None and total > bound:
            raise EncryptError("plaintext is longer than the declared length")
        # encrypt.md#construct-the-body: a frame that ends the input is the final frame
        nxt = read_full(source, fl) if len(current) == fl else b""
        iv = frame_iv(seq)
        if not nxt:
            aad = body_aad(mid, BodyAadContent.FINAL_FRAME, seq, len(current))
            out.write(encode_final_frame(seq, iv, aead.encrypt(iv, current, aad)))
            return
        aad = body_aad(mid, BodyAadContent.REGULAR_FRAME, seq, fl)
        out.write(encode_regular_frame(seq, iv, aead.encrypt(iv, current, aad)))
        seq += 1
        # message-body.md#sequence-number: at most 2^32 - 1 frames
        if seq >= MAX_FRAMES:
            raise EncryptError("plaintext needs more frames than the format allows")
        current = nxt


def _write_non_framed(
    out: HashingWriter, source: BinaryIO, header: MessageHeader, key: bytes
) -> None:
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY) as spool:
        copy_stream(source, spool)
        length = spool.tell()
        # message-body.md#non-framed-data: at most 2^36 - 32 bytes
        if length > MAX_NON_FRAMED_LENGTH:
            raise EncryptError("plaintext too long for a non-framed message")
        spool.seek(0)
        iv = frame_iv(1)
        encryptor = Cipher(algorithms.AES(key), modes.GCM(iv)).encryptor()
        encryptor.authenticate_additional_data(
            body_aad(header.message_id, BodyAadContent.NON_FRAMED, 1, length)
        )
        out.write(encode_non_framed_prefix(iv, length))
        while chunk := spool.read(COPY_CHUNK):
            out.write(encryptor.update(chunk))
        out.write(encryptor.finalize() + encryptor.tag)
