"""Decrypt: bytes and bounded-memory streams (client-apis/decrypt.md).

Release policy of :func:`decrypt_stream` (what reaches ``sink`` and when):

* Signed suites (0x0578, 0x0378, 0x0346, 0x0214): no plaintext reaches ``sink`` before the
  footer signature has been verified. Plaintext is held in a temporary file (in memory up
  to ``spool_memory`` bytes, then on disk) and copied to ``sink`` after verification.
* Non-framed bodies: likewise buffered until the single GCM tag (and any signature) verifies.
* Unsigned framed suites (0x0478, 0x0178, ...): each frame is written to ``sink`` as soon as
  its own GCM tag verifies. A later failure (a tampered or truncated frame) raises
  :class:`DecryptError` after earlier, authentic frames were written; the caller MUST then
  discard what it received (a command-line tool should write to a temporary file and
  rename it only on success).
  Pass ``buffer_unsigned=True`` to get the signed-suite behaviour instead.

:func:`decrypt` (bytes in, bytes out) returns plaintext only when the whole message,
including any trailing bytes check, has been verified.
"""

from __future__ import annotations

import io
import tempfile
from collections.abc import Mapping
from contextlib import ExitStack
from typing import IO, BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from cofre.esdk._io import COPY_CHUNK, HashingReader, copy_stream
from cofre.esdk.body import (
    MAX_FRAMES,
    BodyAadContent,
    body_aad,
    read_footer,
    read_frame,
    read_non_framed_prefix,
)
from cofre.esdk.context import serialize_encryption_context
from cofre.esdk.crypto import (
    check_commitment,
    derive_keys,
    new_signature_hash,
    verify_digest,
    verify_header_auth,
)
from cofre.esdk.encrypt import resolve_cmm
from cofre.esdk.errors import AUTH_FAILED, MALFORMED, NO_DATA_KEY, DecryptError, EsdkError
from cofre.esdk.header import ContentType, MessageHeader, parse_header_auth, parse_header_body
from cofre.esdk.materials import (
    CryptoMaterialsManager,
    DecryptionMaterials,
    DecryptMaterialsRequest,
    Keyring,
)
from cofre.esdk.suites import DEFAULT_COMMITMENT_POLICY, CommitmentPolicy

SPOOL_MEMORY = 8 << 20


def decrypt(
    ciphertext: bytes,
    keyring: Keyring | None = None,
    *,
    materials_manager: CryptoMaterialsManager | None = None,
    encryption_context: Mapping[str, str] | None = None,
    commitment_policy: CommitmentPolicy = DEFAULT_COMMITMENT_POLICY,
    max_encrypted_data_keys: int | None = None,
) -> tuple[bytes, MessageHeader]:
    """Decrypt one complete message; DecryptError on any failure, including trailing bytes."""
    source, sink = io.BytesIO(ciphertext), io.BytesIO()
    header = _decrypt(
        source,
        sink,
        resolve_cmm(keyring, materials_manager),
        encryption_context,
        commitment_policy,
        max_encrypted_data_keys,
        buffer=False,
    )
    if source.tell() != len(ciphertext):
        raise DecryptError("malformed message: trailing bytes after the message")
    return sink.getvalue(), header


def decrypt_stream(
    source: BinaryIO,
    sink: BinaryIO,
    keyring: Keyring | None = None,
    *,
    materials_manager: CryptoMaterialsManager | None = None,
    encryption_context: Mapping[str, str] | None = None,
    commitment_policy: CommitmentPolicy = DEFAULT_COMMITMENT_POLICY,
    max_encrypted_data_keys: int | None = None,
    buffer_unsigned: bool = False,
    spool_memory: int = SPOOL_MEMORY,
) -> MessageHeader:
    """Decrypt one message from ``source`` into ``sink``; see the module docstring for
    when plaintext is released. Bytes after the message are left unread."""
    cmm = resolve_cmm(keyring, materials_manager)
    return _decrypt(
        source,
        sink,
        cmm,
        encryption_context,
        commitment_policy,
        max_encrypted_data_keys,
        buffer=None if not buffer_unsigned else True,
        spool_memory=spool_memory,
    )


def _decrypt(
    source: BinaryIO,
    sink: BinaryIO,
    cmm: CryptoMaterialsManager,
    reproduced: Mapping[str, str] | None,
    policy: CommitmentPolicy,
    max_edks: int | None,
    *,
    buffer: bool | None,
    spool_memory: int = SPOOL_MEMORY,
) -> MessageHeader:
    """``buffer``: False writes straight to ``sink``; True always spools; None decides by
    suite (spool signed suites and non-framed bodies)."""
    reader = HashingReader(source)
    header, raw_body = parse_header_body(reader.read)
    suite = header.suite
    # decrypt.md: more encrypted data keys than the configured maximum MUST fail
    if max_edks is not None and len(header.encrypted_data_keys) > max_edks:
        raise DecryptError("malformed message: too many encrypted data keys")
    # decrypt.md: a suite the commitment policy forbids MUST fail before any key is used
    if not policy.allows_decrypt(suite):
        raise DecryptError("algorithm suite is not allowed by the commitment policy")
    materials = _materials(cmm, header, policy, reproduced)
    assert materials.plaintext_data_key is not None
    key, commit_key = derive_keys(suite, materials.plaintext_data_key, header.message_id)
    # decrypt.md#verify-the-header: the derived commit key MUST equal the header's
    check_commitment(commit_key, header.suite_data)
    iv, tag = parse_header_auth(reader.read, header)
    auth_only = {
        k: v
        for k, v in materials.encryption_context.items()
        if k in materials.required_encryption_context_keys
    }
    # decrypt.md#verify-the-header: AAD = header body || authenticate-only context
    verify_header_auth(suite, key, raw_body + serialize_encryption_context(auth_only), iv, tag)
    if suite.signed:
        reader.hasher = new_signature_hash(suite)
        reader.hasher.update(raw_body + (iv if header.version == 1 else b"") + tag)
    if buffer is None:
        buffer = suite.signed or header.content_type is ContentType.NON_FRAMED
    with ExitStack() as stack:
        target: IO[bytes] = sink
        if buffer:
            target = stack.enter_context(tempfile.SpooledTemporaryFile(max_size=spool_memory))
        if header.content_type is ContentType.FRAMED:
            _read_frames(reader, target, header, key)
        else:
            _read_non_framed(reader, target, header, key)
        if reader.hasher is not None:
            assert materials.verification_key is not None
            digest = reader.hasher.finalize()
            # decrypt.md#verify-the-signature: verify before releasing any plaintext
            verify_digest(
                suite, materials.verification_key, digest, read_footer(reader.read_unhashed)
            )
        if target is not sink:
            target.seek(0)
            copy_stream(target, sink)
    return header


def _materials(
    cmm: CryptoMaterialsManager,
    header: MessageHeader,
    policy: CommitmentPolicy,
    reproduced: Mapping[str, str] | None,
) -> DecryptionMaterials:
    context = dict(header.encryption_context)
    if reproduced:
        for k, v in reproduced.items():
            # decrypt.md: a reproduced context MUST agree with the message's context
            if k in context and context[k] != v:
                raise DecryptError("encryption context does not match the message")
            context.setdefault(k, v)
    request = DecryptMaterialsRequest(
        header.suite, policy, header.encrypted_data_keys, context, reproduced
    )
    try:
        materials = cmm.decrypt_materials(request)
    except DecryptError:
        raise
    except EsdkError as exc:
        raise DecryptError(NO_DATA_KEY) from exc
    if materials.plaintext_data_key is None:
        raise DecryptError(NO_DATA_KEY)
    if materials.suite is not header.suite:
        raise DecryptError(MALFORMED)
    return materials


def _read_frames(
    reader: HashingReader, target: IO[bytes], header: MessageHeader, key: bytes
) -> None:
    aead = AESGCM(key)
    spec = header.suite.spec
    expected = 1
    while True:
        frame = read_frame(reader.read, header.frame_length, spec.iv_length, spec.tag_length)
        # decrypt.md: sequence numbers MUST start at 1 and increase by 1
        if frame.seq != expected:
            raise DecryptError("malformed message: frame out of sequence")
        kind = BodyAadContent.FINAL_FRAME if frame.final else BodyAadContent.REGULAR_FRAME
        aad = body_aad(header.message_id, kind, frame.seq, frame.content_length(spec.tag_length))
        try:
            plaintext = aead.decrypt(frame.iv, frame.sealed, aad)
        except InvalidTag as exc:
            raise DecryptError(AUTH_FAILED) from exc
        target.write(plaintext)
        if frame.final:
            return
        expected += 1
        if expected >= MAX_FRAMES:
            raise DecryptError("malformed message: too many frames")


def _read_non_framed(
    reader: HashingReader, target: IO[bytes], header: MessageHeader, key: bytes
) -> None:
    spec = header.suite.spec
    iv, length = read_non_framed_prefix(reader.read, spec.iv_length)
    decryptor = Cipher(algorithms.AES(key), modes.GCM(iv)).decryptor()
    decryptor.authenticate_additional_data(
        body_aad(header.message_id, BodyAadContent.NON_FRAMED, 1, length)
    )
    remaining = length
    while remaining:
        chunk = reader.read(min(remaining, COPY_CHUNK))
        if not chunk:
            raise DecryptError("malformed message: truncated body")
        remaining -= len(chunk)
        target.write(decryptor.update(chunk))
    tag = reader.read(spec.tag_length)
    if len(tag) != spec.tag_length:
        raise DecryptError("malformed message: truncated body")
    try:
        decryptor.finalize_with_tag(tag)
    except InvalidTag as exc:
        raise DecryptError(AUTH_FAILED) from exc
