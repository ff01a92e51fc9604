"""The XKS Proxy API on the wire (AWS KMS External Keystore Proxy API Specification):
paths, JSON bodies with base64 members, ``requestMetadata``, and the error table.

Errors are ``{"errorName": ..., "errorMessage": ...}`` with the specification's statuses
("Error codes"); messages are printable ASCII, under 512 characters.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Any

import orjson

from cofre.core.xks.stores import API_SUFFIX, PREFIX_ROOT, is_external_key_id
from cofre.errors import (
    AccessDeniedError,
    AuthenticationError,
    CofreError,
    InvalidCiphertextError,
    InvalidKeyUsageError,
    KeyStateError,
    NotFoundError,
    RequestError,
    SealedError,
    SerializationError,
    StorageUnavailableError,
    UnknownOperationError,
    UnsupportedOperationError,
    ValidationError,
)

JSON = b"application/json"
MAX_ARN = 2048  # "The XKS Proxy MUST support ARN lengths of up to 2048 characters."
_MAX_TEXT = 4096
_PATH = re.compile(
    r"^" + re.escape(PREFIX_ROOT) + r"([A-Za-z0-9_-]{1,64})" + re.escape(API_SUFFIX)
    + r"/(?:(health)|keys/([^/]{1,128})/(metadata|encrypt|decrypt))$"
)  # fmt: skip
_OPERATIONS = {
    "health": "GetHealthStatus",
    "metadata": "GetKeyMetadata",
    "encrypt": "Encrypt",
    "decrypt": "Decrypt",
}


def is_xks_path(path: bytes) -> bool:
    """Whether a request is for the XKS API (anything under the stores' root)."""
    return path.startswith(PREFIX_ROOT.encode())


@dataclass(frozen=True, slots=True)
class XksPath:
    store_id: str
    operation: str  # the specification's name: GetHealthStatus, GetKeyMetadata, ...
    external_key_id: str  # "" for GetHealthStatus


def parse_path(raw: bytes) -> XksPath:
    """The store and operation a path names; UnknownOperationError (InvalidUriPath)."""
    found = _PATH.match(raw.decode("latin-1"))
    if found is None:
        raise UnknownOperationError("The URI path is not an XKS API path of this proxy.")
    store_id, health, key_id, verb = found.groups()
    if health:
        return XksPath(store_id, "GetHealthStatus", "")
    if not is_external_key_id(key_id):
        raise ValidationError("The externalKeyId is not valid.")
    return XksPath(store_id, _OPERATIONS[verb], key_id)


# --- request bodies -----------------------------------------------------------------------
_REQUIRED_METADATA = {
    "GetHealthStatus": ("kmsRequestId", "kmsOperation"),
    "GetKeyMetadata": ("awsPrincipalArn", "kmsOperation", "kmsRequestId"),
    "Encrypt": ("awsPrincipalArn", "kmsKeyArn", "kmsOperation", "kmsRequestId"),
    "Decrypt": ("awsPrincipalArn", "kmsKeyArn", "kmsOperation", "kmsRequestId"),
}
_OPTIONAL_METADATA = (
    "awsSourceVpc", "awsSourceVpce", "kmsKeyArn", "kmsViaService",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class XksRequest:
    metadata: dict[str, str]  # the requestMetadata members Cofre knows, as strings
    body: dict[str, Any]


def parse_body(operation: str, body: bytes) -> XksRequest:
    try:
        document: Any = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise SerializationError("The request body is not a JSON object.") from exc
    if not isinstance(document, dict):
        raise SerializationError("The request body is not a JSON object.")
    raw = document.get("requestMetadata")
    if not isinstance(raw, dict):
        raise ValidationError("requestMetadata is required.")
    metadata: dict[str, str] = {}
    required = _REQUIRED_METADATA[operation]
    for name in (*required, *_OPTIONAL_METADATA):
        value = raw.get(name)
        if value is None:
            if name in required:
                raise ValidationError(f"requestMetadata.{name} is required.")
            continue
        if not isinstance(value, str) or len(value) > MAX_ARN:
            raise ValidationError(f"requestMetadata.{name} must be a string of at most 2048.")
        metadata[name] = value
    return XksRequest(metadata, document)


def text(request: XksRequest, name: str, allowed: tuple[str, ...]) -> str:
    value = request.body.get(name)
    if value not in allowed:
        raise ValidationError(f"{name} must be one of {', '.join(allowed)}.")
    return str(value)


def optional_text(request: XksRequest, name: str, allowed: tuple[str, ...]) -> str | None:
    if request.body.get(name) is None:
        return None
    return text(request, name, allowed)


def blob(request: XksRequest, name: str, *, required: bool) -> bytes:
    """A base64 member, decoded; ValidationError if it is not standard base64."""
    value = request.body.get(name)
    if value is None:
        if required:
            raise ValidationError(f"{name} is required.")
        return b""
    if not isinstance(value, str):
        raise ValidationError(f"{name} must be a base64 string.")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValidationError(f"{name} is not valid base64.") from exc


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


# --- errors -------------------------------------------------------------------------------
_ERRORS: tuple[tuple[type[CofreError], str, int], ...] = (
    (AuthenticationError, "AuthenticationFailedException", 401),
    (AccessDeniedError, "AccessDeniedException", 403),
    (UnknownOperationError, "InvalidUriPathException", 404),
    (NotFoundError, "KeyNotFoundException", 404),
    (InvalidCiphertextError, "InvalidCiphertextException", 400),
    (InvalidKeyUsageError, "InvalidKeyUsageException", 400),
    (KeyStateError, "InvalidStateException", 400),
    (UnsupportedOperationError, "UnsupportedOperationException", 501),
    (RequestError, "ValidationException", 400),
    (SealedError, "DependencyTimeoutException", 503),
    (StorageUnavailableError, "DependencyTimeoutException", 503),
)

_MESSAGES = {
    "InvalidCiphertextException": "The request was rejected because the specified"
    " ciphertext, or additional authenticated data is corrupted, missing, or otherwise"
    " invalid.",
    "InternalException": "The XKS proxy failed to handle the request.",
}


def error_of(error: CofreError) -> tuple[str, int]:
    """The specification's error name and HTTP status of a domain error."""
    for kind, name, status in _ERRORS:
        if isinstance(error, kind):
            return name, status
    return "InternalException", 500


def error_body(name: str, message: str) -> bytes:
    """``errorMessage``: printable ASCII, under 512 characters (the specification)."""
    message = _MESSAGES.get(name, message)
    clean = "".join(c if " " <= c <= "~" else "?" for c in message)[:511]
    out = {"errorName": name}
    if clean:
        out["errorMessage"] = clean
    return orjson.dumps(out)
