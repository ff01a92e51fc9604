"""Message body: pure encoders and decoders (data-format/message-body.md,
data-format/message-body-aad.md).

A "sealed" value is AES-GCM ciphertext followed by its tag, as ``AESGCM.encrypt`` returns.
"""

from __future__ import annotations

import enum
import struct
from collections.abc import Callable
from dataclasses import dataclass

from cofre.esdk.errors import DecryptError

Read = Callable[[int], bytes]

FINAL_FRAME_MARKER = 0xFFFFFFFF
MAX_FRAMES = 0xFFFFFFFF
MAX_NON_FRAMED_LENGTH = 2**36 - 32


class BodyAadContent(bytes, enum.Enum):
    """message-body-aad.md#body-aad-content."""

    NON_FRAMED = b"AWSKMSEncryptionClient Single Block"
    REGULAR_FRAME = b"AWSKMSEncryptionClient Frame"
    FINAL_FRAME = b"AWSKMSEncryptionClient Final Frame"


def body_aad(message_id: bytes, content: BodyAadContent, seq: int, length: int) -> bytes:
    """message-body-aad.md: message id, content string, sequence number (u32), length (u64)."""
    return message_id + content.value + struct.pack(">IQ", seq, length)


def frame_iv(seq: int, iv_length: int = 12) -> bytes:
    """message-body.md#iv: the sequence number, big-endian, left-padded with zeros."""
    return seq.to_bytes(iv_length, "big")


def encode_regular_frame(seq: int, iv: bytes, sealed: bytes) -> bytes:
    """message-body.md#regular-frame: sequence number, IV, content, tag."""
    return struct.pack(">I", seq) + iv + sealed


def encode_final_frame(seq: int, iv: bytes, sealed: bytes, tag_length: int = 16) -> bytes:
    """message-body.md#final-frame: end marker, sequence number, IV, length, content, tag."""
    content_length = len(sealed) - tag_length
    return (
        struct.pack(">II", FINAL_FRAME_MARKER, seq)
        + iv
        + struct.pack(">I", content_length)
        + sealed
    )


def encode_non_framed_prefix(iv: bytes, content_length: int) -> bytes:
    """message-body.md#non-framed-data: IV and u64 content length (content and tag follow)."""
    return iv + struct.pack(">Q", content_length)


@dataclass(frozen=True)
class Frame:
    seq: int
    iv: bytes
    sealed: bytes
    final: bool

    def content_length(self, tag_length: int = 16) -> int:
        return len(self.sealed) - tag_length


def _exact(read: Read, n: int) -> bytes:
    data = read(n)
    if len(data) != n:
        raise DecryptError("malformed message: truncated body")
    return data


def read_frame(read: Read, frame_length: int, iv_length: int = 12, tag_length: int = 16) -> Frame:
    """Read one regular or final frame."""
    (first,) = struct.unpack(">I", _exact(read, 4))
    if first != FINAL_FRAME_MARKER:
        iv = _exact(read, iv_length)
        return Frame(first, iv, _exact(read, frame_length + tag_length), final=False)
    (seq,) = struct.unpack(">I", _exact(read, 4))
    iv = _exact(read, iv_length)
    (length,) = struct.unpack(">I", _exact(read, 4))
    # message-body.md#encrypted-content-length: the final frame is at most frame length
    if length > frame_length:
        raise DecryptError("malformed message: final frame longer than the frame length")
    return Frame(seq, iv, _exact(read, length + tag_length), final=True)


def read_non_framed_prefix(read: Read, iv_length: int = 12) -> tuple[bytes, int]:
    """Read the IV and content length of a non-framed body."""
    iv = _exact(read, iv_length)
    (length,) = struct.unpack(">Q", _exact(read, 8))
    # message-body.md#encrypted-content-length: at most 2^36 - 32 bytes
    if length > MAX_NON_FRAMED_LENGTH:
        raise DecryptError("malformed message: non-framed content too long")
    return iv, length


def encode_footer(signature: bytes) -> bytes:
    """message-footer.md: u16 signature length, then the signature."""
    return struct.pack(">H", len(signature)) + signature


def read_footer(read: Read) -> bytes:
    (length,) = struct.unpack(">H", _exact(read, 2))
    return _exact(read, length)
