"""Framed bodies, many frames at a time (data-format/message-body.md#framed-data).

:class:`FrameSealer` and :class:`FrameOpener` work on batches of whole frames held in one
buffer: ``AESGCM.encrypt_into`` / ``decrypt_into`` write straight into a preallocated
output buffer, so a frame costs no allocation or concatenation beyond its 28-byte AAD.
The byte layout is the one ``body.py`` encodes frame by frame (and its tests pin down).
"""

from __future__ import annotations

import struct
from collections.abc import Callable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from cofre.esdk.body import (
    FINAL_FRAME_MARKER,
    MAX_FRAMES,
    BodyAadContent,
    body_aad,
    encode_final_frame,
    frame_iv,
)
from cofre.esdk.errors import AUTH_FAILED, DecryptError, EncryptError
from cofre.esdk.suites import SuiteSpec

Buffer = bytes | bytearray | memoryview
Into = Callable[[Buffer, Buffer, Buffer, memoryview], int]
BATCH_BYTES = 1 << 20
_SEQ_IV_LENGTH = struct.Struct(">IQ")


def seal_into(aead: AESGCM) -> Into:
    """``aead.encrypt_into``, or the same through ``encrypt`` on a ``cryptography``
    release without it."""
    if hasattr(aead, "encrypt_into"):
        into: Into = aead.encrypt_into
        return into

    def fallback(nonce: Buffer, data: Buffer, aad: Buffer, out: memoryview) -> int:
        out[:] = aead.encrypt(bytes(nonce), bytes(data), bytes(aad))
        return len(out)

    return fallback


def open_into(aead: AESGCM) -> Into:
    """``aead.decrypt_into``, or the same through ``decrypt``."""
    if hasattr(aead, "decrypt_into"):
        into: Into = aead.decrypt_into
        return into

    def fallback(nonce: Buffer, data: Buffer, aad: Buffer, out: memoryview) -> int:
        out[:] = aead.decrypt(bytes(nonce), bytes(data), bytes(aad))
        return len(out)

    return fallback


def regular_frame_size(spec: SuiteSpec, frame_length: int) -> int:
    """message-body.md#regular-frame: sequence number, IV, content, tag."""
    return 4 + spec.iv_length + frame_length + spec.tag_length


def frames_per_batch(spec: SuiteSpec, frame_length: int) -> int:
    return max(1, BATCH_BYTES // regular_frame_size(spec, frame_length))


class FrameSealer:
    """Encrypts frames 1, 2, ... of one message; ``next_seq`` is the next frame's number."""

    def __init__(self, key: bytes, message_id: bytes, frame_length: int, spec: SuiteSpec) -> None:
        self._aead = AESGCM(key)
        self._message_id = message_id
        self._regular_aad = message_id + BodyAadContent.REGULAR_FRAME.value
        self.frame_length = frame_length
        self.spec = spec
        self.next_seq = 1

    def seal_regular(self, plaintext: Buffer, out: bytearray) -> memoryview:
        """Seal every whole frame of ``plaintext`` as a regular frame into ``out`` (large
        enough); return the part of ``out`` written."""
        fl, iv_len = self.frame_length, self.spec.iv_length
        size = regular_frame_size(self.spec, fl)
        count = len(plaintext) // fl
        first = self.next_seq
        # message-body.md#sequence-number: at most 2^32 - 1 frames, the final one included
        if first + count >= MAX_FRAMES:
            raise EncryptError("plaintext needs more frames than the format allows")
        src, dst = memoryview(plaintext), memoryview(out)
        encrypt_into, pack = seal_into(self._aead), _SEQ_IV_LENGTH.pack
        aad_prefix = self._regular_aad
        for i in range(count):
            seq, o = first + i, i * size
            iv = seq.to_bytes(iv_len, "big")  # message-body.md#iv: the sequence number
            dst[o : o + 4] = seq.to_bytes(4, "big")
            dst[o + 4 : o + 4 + iv_len] = iv
            body = src[i * fl : (i + 1) * fl]
            encrypt_into(iv, body, aad_prefix + pack(seq, fl), dst[o + 4 + iv_len : o + size])
        self.next_seq = first + count
        return dst[: count * size]

    def seal_final(self, plaintext: Buffer) -> bytes:
        """The final frame (message-body.md#final-frame), 0 .. frame length bytes."""
        seq, iv = self.next_seq, frame_iv(self.next_seq, self.spec.iv_length)
        aad = body_aad(self._message_id, BodyAadContent.FINAL_FRAME, seq, len(plaintext))
        sealed = self._aead.encrypt(iv, plaintext, aad)
        return encode_final_frame(seq, iv, sealed, self.spec.tag_length)


class FrameOpener:
    """Checks and decrypts the frames of one message in order, into caller buffers."""

    def __init__(self, key: bytes, message_id: bytes, frame_length: int, spec: SuiteSpec) -> None:
        self._aead = AESGCM(key)
        self._decrypt_into = open_into(self._aead)
        self._message_id = message_id
        self._regular_aad = message_id + BodyAadContent.REGULAR_FRAME.value
        self.frame_length = frame_length
        self.spec = spec
        self.regular_size = regular_frame_size(spec, frame_length)
        # message-body.md#final-frame: end marker, sequence number, IV, content length
        self.final_prefix = 4 + 4 + spec.iv_length + 4
        self.expected = 1

    def _next_seq(self, seq: int) -> None:
        # decrypt.md: sequence numbers MUST start at 1 and increase by 1
        if seq != self.expected:
            raise DecryptError("malformed message: frame out of sequence")
        if seq >= MAX_FRAMES:
            raise DecryptError("malformed message: too many frames")
        self.expected += 1

    def open_regular(self, data: memoryview, out: memoryview) -> None:
        """Decrypt one regular frame (``data`` is exactly ``regular_size`` bytes) into ``out``
        (exactly frame length bytes)."""
        iv_len, fl = self.spec.iv_length, self.frame_length
        seq = int.from_bytes(data[:4], "big")
        self._next_seq(seq)
        aad = self._regular_aad + _SEQ_IV_LENGTH.pack(seq, fl)
        try:
            self._decrypt_into(data[4 : 4 + iv_len], data[4 + iv_len :], aad, out)
        except InvalidTag as exc:
            raise DecryptError(AUTH_FAILED) from exc

    def final_length(self, prefix: memoryview) -> int:
        """The content length of a final frame, from its first ``final_prefix`` bytes."""
        length = int.from_bytes(prefix[self.final_prefix - 4 : self.final_prefix], "big")
        # message-body.md#encrypted-content-length: the final frame is at most frame length
        if length > self.frame_length:
            raise DecryptError("malformed message: final frame longer than the frame length")
        return length

    def open_final(self, data: memoryview) -> bytes:
        """Decrypt the final frame: ``final_prefix`` bytes, content and tag."""
        iv_len = self.spec.iv_length
        if int.from_bytes(data[:4], "big") != FINAL_FRAME_MARKER:
            raise DecryptError("malformed message: expected the final frame")
        seq = int.from_bytes(data[4:8], "big")
        self._next_seq(seq)
        length = len(data) - self.final_prefix - self.spec.tag_length
        aad = body_aad(self._message_id, BodyAadContent.FINAL_FRAME, seq, length)
        try:
            return self._aead.decrypt(data[8 : 8 + iv_len], data[self.final_prefix :], aad)
        except InvalidTag as exc:
            raise DecryptError(AUTH_FAILED) from exc


def is_final(first_word: memoryview) -> bool:
    return int.from_bytes(first_word, "big") == FINAL_FRAME_MARKER
