"""Custom key stores of type EXTERNAL_KEY_STORE (ADR 22): a Cofre KMS key whose every
encryption is also done by an external key, through an XKS proxy, so that neither side
alone can decrypt ("double encryption", as AWS KMS does it).

The store's endpoint is AWS's ``https://host`` form, optionally with a port; ``http://``
only for loopback addresses (a second Cofre on the same machine, in tests).

The ciphertext of such a key (format 3)::

    0x03 | key id (16) | backing version id (32)          the header, as format 1
    | len(md) (1) | md | len(iv) (1) | iv | tag (16)       the proxy's encryption
    | proxy ciphertext                                     of: inner iv (12) | inner sealed

``inner``: AES-256-GCM under the key's own backing version, associated data the header
and the encryption context (as format 1). The proxy encrypts the inner ciphertext with
associated data the header and the SHA-256 of the canonical encryption context.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from urllib.parse import urlsplit

from cofre.errors import InvalidCiphertextError, ValidationError

FORMAT_XKS = 0x03
HEADER_LEN = 1 + 16 + 32
TAG_LEN = 16
_ENDPOINT = re.compile(r"^(https?)://([a-zA-Z0-9.-]+|\[::1\])(?::([0-9]{1,5}))?$")
_URI_PATH = re.compile(r"^(/[a-zA-Z0-9_-]+)*/kms/xks/v1$")
_LOOPBACK = re.compile(r"^(localhost|127(\.[0-9]{1,3}){3}|\[::1\])$")
_NAME = re.compile(r"^[a-zA-Z0-9:/_-]{1,256}$")


class ConnectionState(StrEnum):
    CONNECTED = "CONNECTED"
    CONNECTING = "CONNECTING"
    FAILED = "FAILED"
    DISCONNECTED = "DISCONNECTED"
    DISCONNECTING = "DISCONNECTING"


@dataclass(frozen=True, slots=True)
class CustomKeyStore:
    store_id: str  # cks-<17 hex>
    account_id: str
    region: str
    name: str
    uri_endpoint: str
    uri_path: str
    connectivity: str  # PUBLIC_ENDPOINT
    access_key_id: str
    secret_wrapped: bytes
    state: ConnectionState
    error_code: str | None
    created_at: datetime

    @property
    def url(self) -> str:
        return self.uri_endpoint + self.uri_path


@dataclass(frozen=True, slots=True)
class XksBinding:
    """Which external key a KMS key of a custom key store uses."""

    key_row_id: str
    store_id: str
    xks_key_id: str


def check_name(name: str) -> str:
    if not _NAME.match(name):
        raise ValidationError("CustomKeyStoreName must be 1 to 256 of a-z A-Z 0-9 : / _ -.")
    return name


def check_endpoint(endpoint: str) -> str:
    """AWS's ``https://host``, with an optional port; ``http://`` for loopback only."""
    found = _ENDPOINT.match(endpoint)
    if found is None or len(endpoint) > 128:
        raise ValidationError(
            "XksProxyUriEndpoint must be https://<host>[:<port>] (http:// for a loopback"
            " address only)."
        )
    scheme, host, port = found.groups()
    if scheme == "http" and not _LOOPBACK.match(host):
        raise ValidationError("XksProxyUriEndpoint may use http:// for a loopback address only.")
    if port is not None and not 1 <= int(port) <= 65535:
        raise ValidationError("XksProxyUriEndpoint has an invalid port.")
    return endpoint


def check_uri_path(path: str) -> str:
    # XKS specification: at most 128 characters of a-z A-Z 0-9 / - _, ending in /kms/xks/v1
    if len(path) > 128 or not _URI_PATH.match(path):
        raise ValidationError(
            "XksProxyUriPath must be [/<prefix>]/kms/xks/v1, at most 128 characters of"
            " a-z A-Z 0-9 / - _."
        )
    return path


def host_of(endpoint: str) -> tuple[str, int, bool]:
    """(host, port, tls) of a checked endpoint."""
    parts = urlsplit(endpoint)
    tls = parts.scheme == "https"
    return parts.hostname or "", parts.port or (443 if tls else 80), tls


# --- the double-encryption blob -----------------------------------------------------------
@dataclass(frozen=True, slots=True)
class XksBlob:
    header: bytes
    key_id_bytes: bytes
    version_id: bytes
    metadata: bytes
    iv: bytes
    tag: bytes
    ciphertext: bytes


def is_xks_blob(blob: bytes) -> bool:
    return bool(blob) and blob[0] == FORMAT_XKS


def xks_header(v1_header: bytes) -> bytes:
    """The header of a format 3 blob from a key's format 1 header."""
    return bytes((FORMAT_XKS,)) + v1_header[1:]


def proxy_aad(header: bytes, canonical_context: bytes) -> bytes:
    return header + hashlib.sha256(canonical_context).digest()


def encode_blob(header: bytes, metadata: bytes, iv: bytes, tag: bytes, ciphertext: bytes) -> bytes:
    return header + bytes((len(metadata),)) + metadata + bytes((len(iv),)) + iv + tag + ciphertext


def parse_blob(blob: bytes) -> XksBlob:
    """Any malformation is InvalidCiphertextError."""
    try:
        if blob[0] != FORMAT_XKS:
            raise InvalidCiphertextError()
        header = blob[:HEADER_LEN]
        at = HEADER_LEN
        md_len = blob[at]
        metadata = blob[at + 1 : at + 1 + md_len]
        at += 1 + md_len
        iv_len = blob[at]
        iv = blob[at + 1 : at + 1 + iv_len]
        at += 1 + iv_len
        tag = blob[at : at + TAG_LEN]
        ciphertext = blob[at + TAG_LEN :]
    except IndexError as exc:
        raise InvalidCiphertextError() from exc
    if (
        len(header) != HEADER_LEN
        or len(metadata) != md_len
        or iv_len not in (12, 16)
        or len(iv) != iv_len
        or len(tag) != TAG_LEN
        or len(ciphertext) < 12 + TAG_LEN
    ):
        raise InvalidCiphertextError()
    return XksBlob(header, header[1:17], header[17:], metadata, iv, tag, ciphertext)
