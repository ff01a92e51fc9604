"""Message header: pure encoders and decoders (data-format/message-header.md).

``serialize_header_body`` turns a :class:`MessageHeader` into bytes; the authentication
tag and any signature are computed by the caller. ``parse_header_body`` reads from a
``read(n) -> bytes`` callable so that it serves both in-memory and streaming decrypt.
"""

from __future__ import annotations

import enum
import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from cofre.esdk.context import deserialize_encryption_context, serialize_encryption_context
from cofre.esdk.errors import ConfigurationError, DecryptError, EsdkError
from cofre.esdk.materials import EncryptedDataKey
from cofre.esdk.suites import AlgorithmSuite

Read = Callable[[int], bytes]

V1_TYPE_CUSTOMER_AED = 0x80
MAX_FRAME_LENGTH = 2**31 - 1


class ContentType(enum.IntEnum):
    """message-header.md#content-type."""

    NON_FRAMED = 0x01
    FRAMED = 0x02


@dataclass(frozen=True)
class MessageHeader:
    """The header body fields; ``suite_data`` is the commit key (v2) or empty (v1).

    ``authenticated_only_context`` is not part of the header bytes: the pairs of the
    encryption context that the header tag authenticates but the message does not store
    (client-apis/decrypt.md: decrypt returns them with the stored context).
    """

    version: int
    suite: AlgorithmSuite
    message_id: bytes
    encryption_context: Mapping[str, str]
    encrypted_data_keys: tuple[EncryptedDataKey, ...]
    content_type: ContentType
    frame_length: int
    suite_data: bytes = b""
    authenticated_only_context: Mapping[str, str] = field(default_factory=dict)


def _u16_field(data: bytes) -> bytes:
    if len(data) > 0xFFFF:
        raise ConfigurationError("header field exceeds 65535 bytes")
    return struct.pack(">H", len(data)) + data


def serialize_edks(edks: tuple[EncryptedDataKey, ...]) -> bytes:
    """message-header.md#encrypted-data-keys: count, then u16-prefixed id, info, ciphertext."""
    out = bytearray(struct.pack(">H", len(edks)))
    for edk in edks:
        out += _u16_field(edk.provider_id.encode("utf-8"))
        out += _u16_field(edk.provider_info)
        out += _u16_field(edk.ciphertext)
    return bytes(out)


def serialize_header_body(header: MessageHeader) -> bytes:
    """The header body, byte for byte (message-header.md#header-body-version-1-0 / 2-0)."""
    suite = header.suite
    if header.version != suite.message_format_version:
        raise ConfigurationError("message format version does not match the algorithm suite")
    if len(header.message_id) != suite.message_id_length:
        raise ConfigurationError("message id has the wrong length")
    if len(header.suite_data) != suite.suite_data_length:
        raise ConfigurationError("algorithm suite data has the wrong length")
    aad = serialize_encryption_context(header.encryption_context)
    parts = [bytes([header.version])]
    if header.version == 1:
        parts.append(bytes([V1_TYPE_CUSTOMER_AED]))
    parts += [suite.id_bytes, header.message_id, _u16_field(aad)]
    parts.append(serialize_edks(header.encrypted_data_keys))
    parts.append(bytes([header.content_type]))
    if header.version == 1:
        # message-header.md#reserved: 4 bytes of 0; then the IV length
        parts.append(b"\x00\x00\x00\x00" + bytes([suite.spec.iv_length]))
    parts.append(struct.pack(">I", header.frame_length))
    parts.append(header.suite_data)
    return b"".join(parts)


def serialize_header_auth(header: MessageHeader, tag: bytes) -> bytes:
    """message-header.md#header-authentication: v2 is the tag; v1 is IV (zeros) then tag."""
    if header.version == 1:
        return bytes(header.suite.spec.iv_length) + tag
    return tag


class _Recorder:
    """Reads through ``read`` and keeps every byte, so the raw header can be authenticated."""

    def __init__(self, read: Read) -> None:
        self._read = read
        self.data = bytearray()

    def take(self, n: int) -> bytes:
        chunk = self._read(n)
        if len(chunk) != n:
            raise DecryptError("malformed message: truncated header")
        self.data += chunk
        return chunk

    def u8(self) -> int:
        return self.take(1)[0]

    def u16(self) -> int:
        return int.from_bytes(self.take(2), "big")

    def u32(self) -> int:
        return int.from_bytes(self.take(4), "big")

    def field16(self) -> bytes:
        return self.take(self.u16())


def parse_header_body(read: Read) -> tuple[MessageHeader, bytes]:
    """Parse a header body; return it and its raw bytes. DecryptError on any malformation."""
    rec = _Recorder(read)
    version = rec.u8()
    # message-header.md#supported-versions: 1.0 and 2.0 only
    if version not in (1, 2):
        raise DecryptError("malformed message: unsupported message format version")
    if version == 1 and rec.u8() != V1_TYPE_CUSTOMER_AED:
        raise DecryptError("malformed message: unsupported message type")
    try:
        suite = AlgorithmSuite.from_id(rec.u16())
    except EsdkError as exc:
        raise DecryptError("malformed message: unknown algorithm suite") from exc
    # message-header.md#algorithm-suite-id: the suite MUST belong to this format version
    if suite.message_format_version != version:
        raise DecryptError("malformed message: algorithm suite does not match the version")
    message_id = rec.take(suite.message_id_length)
    context = deserialize_encryption_context(rec.field16())
    edk_count = rec.u16()
    # message-header.md#encrypted-data-key-count: MUST be greater than 0
    if edk_count == 0:
        raise DecryptError("malformed message: no encrypted data keys")
    edks = []
    for _ in range(edk_count):
        try:
            provider_id = rec.field16().decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DecryptError("malformed message: invalid provider id") from exc
        edks.append(EncryptedDataKey(provider_id, rec.field16(), rec.field16()))
    try:
        content_type = ContentType(rec.u8())
    except ValueError as exc:
        raise DecryptError("malformed message: unknown content type") from exc
    if version == 1:
        if rec.take(4) != b"\x00\x00\x00\x00":
            raise DecryptError("malformed message: reserved bytes are not zero")
        if rec.u8() != suite.spec.iv_length:
            raise DecryptError("malformed message: IV length does not match the suite")
    frame_length = rec.u32()
    # message-header.md#frame-length: 0 for non-framed content, positive for framed
    if (content_type is ContentType.NON_FRAMED) != (frame_length == 0):
        raise DecryptError("malformed message: frame length does not match content type")
    suite_data = rec.take(suite.suite_data_length)
    header = MessageHeader(
        version=version,
        suite=suite,
        message_id=message_id,
        encryption_context=context,
        encrypted_data_keys=tuple(edks),
        content_type=content_type,
        frame_length=frame_length,
        suite_data=suite_data,
    )
    return header, bytes(rec.data)


def parse_header_auth(read: Read, header: MessageHeader) -> tuple[bytes, bytes]:
    """Return (iv, tag) of the header authentication; the v2 IV is implicitly zero."""
    spec = header.suite.spec
    iv = read(spec.iv_length) if header.version == 1 else bytes(spec.iv_length)
    tag = read(spec.tag_length)
    if len(iv) != spec.iv_length or len(tag) != spec.tag_length:
        raise DecryptError("malformed message: truncated header authentication")
    return iv, tag
