"""Double encryption for the KMS keys of custom key stores (ADR 22): Cofre's own backing
version encrypts first, then the external key, through the store's XKS proxy; decryption
goes the other way. Neither side alone can decrypt.

The blob format is ``core.kms.custom_stores`` (format 3). A call that reaches a proxy
never runs on the event loop (``require_waiting``): it moves to a thread of the pool,
and waits at most the client's timeout. Whatever the proxy does wrong, the caller gets
``KMSInvalidStateException`` with a message that says what (as AWS KMS answers its
cryptographic operations), and the call is recorded as usual.

Which store and external key a KMS key uses is cached here per key, and dropped when
the key or its store changes (the key cache's listener: ``key`` and ``cks`` changes).
"""

from __future__ import annotations

import base64
import threading
import uuid
from collections.abc import Callable
from contextvars import ContextVar

from cofre.core.crypto import Random
from cofre.core.iam.principals import Caller
from cofre.core.kms.custom_stores import (
    ConnectionState,
    CustomKeyStore,
    XksBlob,
    encode_blob,
    proxy_aad,
    xks_header,
)
from cofre.core.kms.keys import Key
from cofre.core.xks.cipher import TAG_LEN
from cofre.errors import InvalidCiphertextError, KeyStateError
from cofre.service.blocking import require_waiting
from cofre.service.kms.custom_stores import CustomKeyStores
from cofre.service.kms.xks_client import ProxyCallError

# The request id of the KMS call being served (set by the API layer), for the proxy's
# requestMetadata.kmsRequestId: CloudTrail and the proxy's log then name the same call.
REQUEST_ID: ContextVar[str] = ContextVar("cofre_request_id", default="")

_NOT_CONNECTED = (
    "This KMS key is in a custom key store that is not connected to its external key store"
    " proxy. Connect the custom key store and retry."
)
_MESSAGES = {
    "InvalidStateException": "The external key of this KMS key is not enabled in the"
    " external key manager. Enable it there and retry.",
    "KeyNotFoundException": "The external key of this KMS key was not found by the external"
    " key store proxy.",
    "InvalidCiphertextException": "The external key store proxy rejected the ciphertext or"
    " the encryption context as corrupted, missing or otherwise invalid.",
    "InvalidKeyUsageException": "The external key of this KMS key does not support the"
    " requested operation.",
    "AuthenticationFailedException": "The external key store proxy could not authenticate"
    " Cofre. Check the custom key store's proxy credential.",
    "AccessDeniedException": "The external key store proxy denied access to the operation.",
    "InvalidUriPathException": "The external key store proxy rejected the URI path of the"
    " custom key store.",
    "ThrottlingException": "The external key store proxy rejected the request for its rate.",
    "unreachable": "Cofre cannot communicate with the external key store proxy.",
    "tls": "Cofre cannot establish a TLS connection to the external key store proxy. Check"
    " its certificate and the CAs Cofre trusts (COFRE_XKS_CA_BUNDLE).",
    "timeout": "The external key store proxy did not answer in time. Retry the request.",
    "DependencyTimeoutException": "The external key store proxy did not answer in time.",
}
_DEFAULT = "Cofre cannot interpret the answer of the external key store proxy."


def state_error(reason: str) -> KeyStateError:
    return KeyStateError(_MESSAGES.get(reason, _DEFAULT))


class ExternalKeys:
    def __init__(self, stores: CustomKeyStores, random: Random) -> None:
        self._stores = stores
        self._random = random
        self._bindings: dict[str, tuple[CustomKeyStore, str]] = {}  # key row id ->
        self._lock = threading.Lock()
        self._generation = 0

    # cache ----------------------------------------------------------------------------------
    def invalidate(self, kind: str, ref: str) -> None:
        if kind == "key":
            with self._lock:
                self._generation += 1
                self._bindings.pop(ref, None)
        elif kind == "cks":
            with self._lock:
                self._generation += 1
                for row_id in [r for r, (s, _) in self._bindings.items() if s.store_id == ref]:
                    del self._bindings[row_id]

    def clear(self) -> None:
        with self._lock:
            self._generation += 1
            self._bindings.clear()

    def _binding(self, key: Key) -> tuple[CustomKeyStore, str]:
        known = self._bindings.get(key.row_id)
        if known is not None:
            return known
        generation = self._generation
        found = self._stores.binding(key)
        if found is None:
            raise KeyStateError("This KMS key has lost its custom key store.")
        with self._lock:
            if generation == self._generation:
                self._bindings[key.row_id] = found
        return found

    # crypto ---------------------------------------------------------------------------------
    def _call(
        self, key: Key, caller: Caller, operation: str, suffix: str, members: dict[str, str]
    ) -> dict[str, object]:
        require_waiting()
        store, xks_key_id = self._binding(key)
        if store.state is not ConnectionState.CONNECTED:
            raise KeyStateError(_NOT_CONNECTED)
        body = {
            "requestMetadata": {
                "awsPrincipalArn": caller.principal_arn,
                "kmsKeyArn": key.arn,
                "kmsOperation": operation,
                "kmsRequestId": REQUEST_ID.get() or str(uuid.uuid4()),
            },
            "encryptionAlgorithm": "AES_GCM",
            **members,
        }
        try:
            return self._stores.client.call(
                store, self._stores.secret_of(store), f"keys/{xks_key_id}/{suffix}", body
            )
        except ProxyCallError as failure:
            raise state_error(failure.reason) from failure

    def seal(
        self,
        key: Key,
        v1_header: bytes,
        inner: Callable[[bytes], bytes],
        context: bytes,
        caller: Caller,
        operation: str,
    ) -> bytes:
        """A format 3 blob: ``inner(header)`` (iv | Cofre's sealed plaintext) encrypted by
        the external key."""
        header = xks_header(v1_header)
        answer = self._call(
            key, caller, operation, "encrypt",
            {"plaintext": _b64(inner(header)), "additionalAuthenticatedData":
             _b64(proxy_aad(header, context))},
        )  # fmt: skip
        try:
            ciphertext = _unb64(answer["ciphertext"])
            metadata = _unb64(answer.get("ciphertextMetadata", ""))
            iv = _unb64(answer["initializationVector"])
            tag = _unb64(answer["authenticationTag"])
        except (KeyError, ValueError, TypeError) as exc:
            raise state_error("malformed") from exc
        if len(metadata) > 20 or len(iv) not in (12, 16) or len(tag) != TAG_LEN:
            raise state_error("malformed")
        return encode_blob(header, metadata, iv, tag, ciphertext)

    def open(
        self, key: Key, blob: XksBlob, context: bytes, caller: Caller, operation: str
    ) -> bytes:
        """The inner part of a format 3 blob (iv | Cofre's sealed plaintext)."""
        members = {
            "ciphertext": _b64(blob.ciphertext),
            "initializationVector": _b64(blob.iv),
            "authenticationTag": _b64(blob.tag),
            "additionalAuthenticatedData": _b64(proxy_aad(blob.header, context)),
        }
        if blob.metadata:
            members["ciphertextMetadata"] = _b64(blob.metadata)
        answer = self._call(key, caller, operation, "decrypt", members)
        try:
            inner = _unb64(answer["plaintext"])
        except (KeyError, ValueError, TypeError) as exc:
            raise state_error("malformed") from exc
        if len(inner) != len(blob.ciphertext):
            raise InvalidCiphertextError()
        return inner


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(value: object) -> bytes:
    if not isinstance(value, str):
        raise TypeError("not a string")
    return base64.b64decode(value, validate=True)
