"""Decrypt: bytes and bounded-memory streams (client-apis/decrypt.md).

Release policy of :func:`decrypt_stream` (what reaches ``sink`` and when):

* Signed suites (0x0578, 0x0378, 0x0346, 0x0214): no plaintext reaches ``sink`` before the
  footer signature has been verified. Plaintext is held in a temporary file (in memory up
  to ``spool_memory`` bytes, then on disk) and copied to ``sink`` after verification.
* Non-framed bodies: likewise buffered until the single GCM tag (and any signature) verifies.
* Unsigned framed suites (0x0478, 0x0178, ...): frames are decrypted a batch (about 1 MiB,
  at least one frame) at a time, and a batch is written to ``sink`` once every frame in it
  has verified. A later failure (a tampered or truncated frame) raises
  :class:`DecryptError` after earlier, authentic batches were written; the caller MUST
  then discard what it received (``cofre decrypt`` writes to a temporary file and renames
  it only on success). Pass ``buffer_unsigned=True`` to get the signed-suite behaviour.
* ``discard_on_error=True``: the caller promises that nothing written to ``sink`` is
  released unless the call returns (``cofre decrypt`` writes a private temporary file and
  renames it into place only then), so nothing is held back, whatever the suite: the
  plaintext is written as frames authenticate, and the signature, the GCM tag of a
  non-framed body and the trailing bytes are checked before the call returns. Holding a
  signed message's plaintext in a temporary file first would write it twice.

Framed bodies are read in batches too, so :func:`decrypt_stream` may read past the end of
the message: it seeks back over those bytes when ``source`` is seekable; on a pipe they are
consumed. ``require_end=True`` makes bytes after the message an error (checked before any
buffered plaintext is released).

:func:`decrypt` (bytes in, bytes out) returns plaintext only when the whole message,
including the trailing bytes check, has been verified.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from contextlib import ExitStack
from dataclasses import dataclass, replace
from functools import partial
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from cofre.esdk._io import COPY_CHUNK, ChunkReader, Overlap, Sink, Spool, read_full
from cofre.esdk.body import BodyAadContent, body_aad, read_non_framed_prefix
from cofre.esdk.context import serialize_encryption_context
from cofre.esdk.crypto import (
    check_commitment,
    derive_keys,
    new_signature_hash,
    verify_digest,
    verify_header_auth,
)
from cofre.esdk.encrypt import resolve_cmm
from cofre.esdk.errors import (
    AUTH_FAILED,
    MALFORMED,
    NO_DATA_KEY,
    ConfigurationError,
    DecryptError,
    EsdkError,
)
from cofre.esdk.frames import (
    BATCH_BYTES,
    FrameOpener,
    frames_per_batch,
    is_final,
    regular_frame_size,
)
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
    """Decrypt one complete message; DecryptError on any failure, including trailing bytes.

    ``encryption_context`` is the reproduced context: pairs stored in the message must
    match it, and pairs the message does not store are authenticated by the header tag.
    """
    sink = io.BytesIO()
    header = _decrypt(
        io.BytesIO(ciphertext),
        sink,
        resolve_cmm(keyring, materials_manager),
        _Options(encryption_context, commitment_policy, max_encrypted_data_keys, True),
        buffer=False,
    )
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
    require_end: bool = False,
    discard_on_error: bool = False,
) -> MessageHeader:
    """Decrypt one message from ``source`` into ``sink``; see the module docstring for
    when plaintext is released and what happens to bytes after the message."""
    if buffer_unsigned and discard_on_error:
        raise ConfigurationError("buffer_unsigned and discard_on_error exclude each other")
    cmm = resolve_cmm(keyring, materials_manager)
    options = _Options(encryption_context, commitment_policy, max_encrypted_data_keys, require_end)
    buffer = False if discard_on_error else (True if buffer_unsigned else None)
    return _decrypt(source, sink, cmm, options, buffer=buffer, spool_memory=spool_memory)


@dataclass(frozen=True)
class _Options:
    reproduced: Mapping[str, str] | None
    policy: CommitmentPolicy
    max_edks: int | None
    require_end: bool


def _decrypt(
    source: BinaryIO,
    sink: BinaryIO,
    cmm: CryptoMaterialsManager,
    options: _Options,
    *,
    buffer: bool | None,
    spool_memory: int = SPOOL_MEMORY,
) -> MessageHeader:
    """``buffer``: False writes straight to ``sink``; True always spools; None decides by
    suite (spool signed suites and non-framed bodies)."""

    # a BytesIO never returns a short read: skip the retry loop
    read = source.read if isinstance(source, io.BytesIO) else partial(read_full, source)
    header, raw_body = parse_header_body(read)
    suite = header.suite
    # decrypt.md: more encrypted data keys than the configured maximum MUST fail
    if options.max_edks is not None and len(header.encrypted_data_keys) > options.max_edks:
        raise DecryptError("malformed message: too many encrypted data keys")
    # decrypt.md: a suite the commitment policy forbids MUST fail before any key is used
    if not options.policy.allows_decrypt(suite):
        raise DecryptError("algorithm suite is not allowed by the commitment policy")
    materials = _materials(cmm, header, options.policy, options.reproduced)
    assert materials.plaintext_data_key is not None
    key, commit_key = derive_keys(suite, materials.plaintext_data_key, header.message_id)
    # decrypt.md#verify-the-header: the derived commit key MUST equal the header's
    check_commitment(commit_key, header.suite_data)
    iv, tag = parse_header_auth(read, header)
    auth_only = {
        k: v
        for k, v in materials.encryption_context.items()
        if k in materials.required_encryption_context_keys
    }
    # decrypt.md#verify-the-header: AAD = header body || authenticate-only context
    verify_header_auth(suite, key, raw_body + serialize_encryption_context(auth_only), iv, tag)
    hasher = None
    if suite.signed:
        hasher = new_signature_hash(suite)
        hasher.update(raw_body + (iv if header.version == 1 else b"") + tag)
    if buffer is None:
        buffer = suite.signed or header.content_type is ContentType.NON_FRAMED
    with ExitStack() as stack:
        spool = stack.enter_context(Spool(spool_memory)) if buffer else None
        target: Sink = sink if spool is None else spool
        leftover = _read_body(source, target, header, key, hasher, materials.verification_key)
        _end_of_message(source, leftover, options.require_end)
        if spool is not None:
            spool.copy_to(sink)
    return replace(header, authenticated_only_context=auth_only) if auth_only else header


def _materials(
    cmm: CryptoMaterialsManager,
    header: MessageHeader,
    policy: CommitmentPolicy,
    reproduced: Mapping[str, str] | None,
) -> DecryptionMaterials:
    stored = header.encryption_context
    for k, v in (reproduced or {}).items():
        # decrypt.md: a reproduced pair MUST agree with the message's stored pair
        if k in stored and stored[k] != v:
            raise DecryptError("encryption context does not match the message")
    # decrypt.md#get-the-decryption-materials: the stored context, and the reproduced one
    request = DecryptMaterialsRequest(
        header.suite, policy, header.encrypted_data_keys, dict(stored), reproduced
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
    context = materials.encryption_context
    for k in materials.required_encryption_context_keys:
        # changes/2023-09-26_encryption-context-decrypt: a required key stored in the header
        # MUST have the same value in the materials
        if k not in context or (k in stored and stored[k] != context[k]):
            raise DecryptError("encryption context does not match the message")
    return materials


def _read_body(
    source: BinaryIO,
    target: Sink,
    header: MessageHeader,
    key: bytes,
    hasher: hashes.Hash | None,
    verification_key: ec.EllipticCurvePublicKey | None,
) -> bytes:
    """Decrypt the body into ``target`` and verify any signature; return the bytes read
    past the end of the message."""
    spec = header.suite.spec
    framed = header.content_type is ContentType.FRAMED
    chunk = 0
    if framed:
        # read ahead a batch of frames, but never more than one batch past a huge frame
        size = regular_frame_size(spec, header.frame_length)
        chunk = frames_per_batch(spec, header.frame_length) * size if size <= BATCH_BYTES else 0
    with Overlap() as hashing, Overlap() as writing:
        reader = ChunkReader(source, hasher, hashing, chunk)
        if framed:
            _read_frames(reader, target, writing, header, key)
        else:
            _read_non_framed(reader, target, header, key)
        reader.finish_hash()
    if hasher is not None:
        assert verification_key is not None
        signature = reader.take(int.from_bytes(reader.take(2), "big"))
        # decrypt.md#verify-the-signature: verify before releasing any plaintext
        verify_digest(header.suite, verification_key, hasher.finalize(), bytes(signature))
    return reader.leftover()


def _end_of_message(source: BinaryIO, leftover: bytes, require_end: bool) -> None:
    """Fail on bytes after the message when asked to; give back what was read past it."""
    # decrypt.md: bytes that remain after the message MUST make the operation fail
    if require_end and (leftover or read_full(source, 1)):
        raise DecryptError("malformed message: trailing bytes after the message")
    seekable = getattr(source, "seekable", None)
    if leftover and seekable is not None and seekable():
        source.seek(-len(leftover), io.SEEK_CUR)


def _read_frames(
    reader: ChunkReader, target: Sink, writing: Overlap, header: MessageHeader, key: bytes
) -> None:
    """Authenticated frames fill a batch buffer; a full one is written on the ``writing``
    thread while the next fills the other buffer."""
    spec, fl = header.suite.spec, header.frame_length
    opener = FrameOpener(key, header.message_id, fl, spec)
    free: list[memoryview] = []
    pending: memoryview | None = None  # being written; free once the next write starts
    batch: memoryview | None = None
    filled = 0
    while True:
        if not is_final(reader.peek(4)):
            data = reader.take(opener.regular_size)
            if batch is None:
                size = frames_per_batch(spec, fl) * fl
                batch = free.pop() if free else memoryview(bytearray(size))
            opener.open_regular(data, batch[filled : filled + fl])
            filled += fl
            if filled == len(batch):
                writing.run(partial(target.write, batch), background=True)
                if pending is not None:
                    free.append(pending)
                pending, batch, filled = batch, None, 0
            continue
        length = opener.final_length(reader.peek(opener.final_prefix))
        last = opener.open_final(reader.take(opener.final_prefix + length + spec.tag_length))
        if batch is not None and filled:
            writing.run(partial(target.write, batch[:filled]))
        writing.run(partial(target.write, last))
        return


def _read_non_framed(reader: ChunkReader, target: Sink, header: MessageHeader, key: bytes) -> None:
    spec = header.suite.spec
    iv, length = read_non_framed_prefix(lambda n: bytes(reader.take(n)), spec.iv_length)
    decryptor = Cipher(algorithms.AES(key), modes.GCM(iv)).decryptor()
    decryptor.authenticate_additional_data(
        body_aad(header.message_id, BodyAadContent.NON_FRAMED, 1, length)
    )
    remaining = length
    while remaining:
        chunk = reader.take(min(remaining, COPY_CHUNK))
        remaining -= len(chunk)
        target.write(decryptor.update(chunk))
    tag = bytes(reader.take(spec.tag_length))
    try:
        decryptor.finalize_with_tag(tag)
    except InvalidTag as exc:
        raise DecryptError(AUTH_FAILED) from exc
