"""Encrypt: bytes and bounded-memory streams (client-apis/encrypt.md)."""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Mapping
from dataclasses import replace
from functools import partial
from typing import BinaryIO

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from cofre.esdk._io import COPY_CHUNK, Overlap, copy_stream, read_full
from cofre.esdk.body import (
    MAX_NON_FRAMED_LENGTH,
    BodyAadContent,
    body_aad,
    encode_footer,
    encode_non_framed_prefix,
    frame_iv,
)
from cofre.esdk.cmm import DefaultCmm
from cofre.esdk.context import check_no_reserved_keys, serialize_encryption_context
from cofre.esdk.crypto import derive_keys, header_auth_tag, new_signature_hash, sign_digest
from cofre.esdk.errors import ConfigurationError, EncryptError
from cofre.esdk.frames import Buffer, FrameSealer, frames_per_batch, regular_frame_size
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
from cofre.esdk.suites import (
    DEFAULT_COMMITMENT_POLICY,
    AlgorithmSuite,
    CommitmentPolicy,
    SuiteSpec,
)

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
    """Encrypt ``source`` into ``sink`` a batch of frames (about 1 MiB, at least one frame)
    at a time; memory stays around four batches, whatever the input size. Writing the
    output (and hashing it, for signed suites) overlaps encrypting the next batch.

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
    # encrypt.md: every required (authenticate-only) key MUST have a value in the context
    required = materials.required_encryption_context_keys
    if any(k not in materials.encryption_context for k in required):
        raise EncryptError("a required encryption context key has no value")
    header, key = _build_header(materials, frame_length)
    auth_only = {k: materials.encryption_context[k] for k in required}
    body = serialize_header_body(header)
    # encrypt.md#authentication-tag: AAD = header body || authenticate-only context
    tag = header_auth_tag(suite, key, body + serialize_encryption_context(auth_only))
    hasher = new_signature_hash(suite) if suite.signed else None
    with Overlap() as writing, Overlap() as hashing:
        out = _Output(sink, hasher, writing, hashing)
        out.write(body + serialize_header_auth(header, tag))
        if frame_length:
            _write_frames(out, source, header, key, plaintext_length)
        else:
            _write_non_framed(out, source, header, key)
    if hasher is not None:
        assert materials.signing_key is not None
        signature = sign_digest(suite, materials.signing_key, hasher.finalize())
        sink.write(encode_footer(signature))
    return replace(header, authenticated_only_context=auth_only) if auth_only else header


class _Output:
    """Writes to ``sink`` and feeds the signature hash, when there is one; ``background``
    writes and hashing overlap the next batch's encryption, each on its own thread."""

    def __init__(
        self, sink: BinaryIO, hasher: hashes.Hash | None, writing: Overlap, hashing: Overlap
    ) -> None:
        self._sink = sink
        self._hasher = hasher
        self._writing = writing
        self._hashing = hashing

    def write(self, data: Buffer, *, background: bool = False) -> None:
        self._writing.run(partial(self._sink.write, data), background=background)
        if self._hasher is not None:
            self._hashing.run(partial(self._hasher.update, data), background=background)


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
    out: _Output, source: BinaryIO, header: MessageHeader, key: bytes, bound: int | None
) -> None:
    """Seal the input a batch of frames at a time; two output buffers take turns, one being
    written while the next batch is sealed."""
    fl, spec = header.frame_length, header.suite.spec
    sealer = FrameSealer(key, header.message_id, fl, spec)
    per_batch = frames_per_batch(spec, fl)
    batch = per_batch * fl
    buffers: list[bytearray] = []
    total = 0
    current = read_full(source, batch)
    while True:
        total += len(current)
        if bound is not None and total > bound:
            raise EncryptError("plaintext is longer than the declared length")
        following = read_full(source, batch) if len(current) == batch else b""
        if following:
            out.write(sealer.seal_regular(current, _buffer(buffers, spec, fl)), background=True)
            current = following
            continue
        # encrypt.md#construct-the-body: every whole frame is a regular frame and what is
        # left (0 .. frame length - 1 bytes) the final frame, so an input that is an exact
        # multiple of the frame length (empty input included) ends with an empty final
        # frame, as the official SDKs write it; their 3.x line rejects a full final frame.
        split = len(current) // fl * fl
        view = memoryview(current)
        if split:
            sealed = sealer.seal_regular(view[:split], _buffer(buffers, spec, fl))
            out.write(sealed, background=True)
        out.write(sealer.seal_final(view[split:]))
        return


def _buffer(buffers: list[bytearray], spec: SuiteSpec, frame_length: int) -> bytearray:
    """The next of two alternating batch buffers, allocated on first use."""
    if len(buffers) < 2:
        size = frames_per_batch(spec, frame_length) * regular_frame_size(spec, frame_length)
        buffers.append(bytearray(size))
    else:
        buffers.reverse()
    return buffers[-1]


def _write_non_framed(out: _Output, source: BinaryIO, header: MessageHeader, key: bytes) -> None:
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
