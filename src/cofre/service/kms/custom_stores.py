"""Custom key stores of Cofre's KMS, type EXTERNAL_KEY_STORE (ADR 22): CreateCustomKeyStore,
Connect, Disconnect, Describe, Update and DeleteCustomKeyStore, and the keys that live in
them (CreateKey with Origin EXTERNAL_KEY_STORE).

Authorization is identity-policy only, as at AWS (``kms:CreateCustomKeyStore`` ... on
``*``; the account's root may). The proxy's secret is stored wrapped by the keyring key.
Connect checks the proxy's health at once (AWS does it in the background): the store is
CONNECTED, or FAILED with the ConnectionErrorCode of what went wrong.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from cofre.core.crypto import Aead, Random, unwrap, wrap
from cofre.core.iam.principals import Caller
from cofre.core.kms.custom_stores import (
    ConnectionState,
    CustomKeyStore,
    XksBinding,
    check_endpoint,
    check_name,
    check_uri_path,
)
from cofre.core.kms.keys import Key, Origin
from cofre.core.xks.stores import is_access_key_id, is_external_key_id
from cofre.errors import (
    AlreadyExistsError,
    CofreError,
    CustomKeyStoreHasKeysError,
    CustomKeyStoreInvalidStateError,
    CustomKeyStoreNameInUseError,
    CustomKeyStoreNotFoundError,
    LimitExceededError,
    UnsupportedOperationError,
    ValidationError,
    XksKeyAlreadyInUseError,
    XksKeyInvalidConfigurationError,
    XksKeyNotFoundError,
    XksProxyIncorrectAuthenticationCredentialError,
    XksProxyInvalidConfigurationError,
    XksProxyInvalidResponseError,
    XksProxyUriInUseError,
    XksProxyUriUnreachableError,
)
from cofre.service.authz.authorizer import Authorizer
from cofre.service.iam.common import check
from cofre.service.kms.xks_client import ProxyCallError, XksClient
from cofre.service.ports import Clock, ReadTx, Storage

MAX_STORES = 10  # AWS's quota of custom key stores per account and Region
_SECRET_AAD = b"cofre/custom-key-store-secret/v1\x00"

# ConnectionErrorCode of a failed connection, by what failed
_ERROR_CODES = {
    "unreachable": "XKS_PROXY_NOT_REACHABLE",
    "timeout": "XKS_PROXY_TIMED_OUT",
    "DependencyTimeoutException": "XKS_PROXY_TIMED_OUT",
    "ThrottlingException": "XKS_PROXY_TIMED_OUT",
    "tls": "XKS_PROXY_INVALID_TLS_CONFIGURATION",
    "AuthenticationFailedException": "INVALID_CREDENTIALS",
    "AccessDeniedException": "XKS_PROXY_ACCESS_DENIED",
    "InvalidUriPathException": "XKS_PROXY_INVALID_CONFIGURATION",
}


def secret_aad(store_id: str) -> bytes:
    return _SECRET_AAD + store_id.encode()


def setup_error(failure: ProxyCallError) -> CofreError:
    """What Create/UpdateCustomKeyStore answer when the proxy's health check fails."""
    reason = failure.reason
    if reason in ("unreachable", "timeout", "tls", "DependencyTimeoutException",
                  "ThrottlingException"):  # fmt: skip
        return XksProxyUriUnreachableError(f"Cofre cannot reach the XKS proxy ({reason}).")
    if reason == "AuthenticationFailedException":
        return XksProxyIncorrectAuthenticationCredentialError(
            "The XKS proxy rejected the authentication credential."
        )
    if reason == "InvalidUriPathException":
        return XksProxyInvalidConfigurationError("The XKS proxy rejected the URI path.")
    return XksProxyInvalidResponseError(
        f"Cofre cannot interpret the XKS proxy's answer ({reason})."
    )


class CustomKeyStores:
    def __init__(
        self,
        storage: Storage,
        authorizer: Authorizer,
        clock: Clock,
        root: Aead,
        random: Random,
        client: XksClient,
        invalidate: Callable[[str, str], None],
    ) -> None:
        self._storage = storage
        self._authorizer = authorizer
        self._clock = clock
        self._root = root
        self._random = random
        self.client = client
        self._invalidate = invalidate  # this process forgets a store now (others: the feed)
        self._secrets: dict[str, tuple[bytes, str]] = {}  # store id -> (wrapped, secret)
        self._lock = threading.Lock()

    # the proxy ------------------------------------------------------------------------------
    def secret_of(self, store: CustomKeyStore) -> str:
        """The store's secret in the clear (unwrapped once per wrapped value)."""
        known = self._secrets.get(store.store_id)
        if known is not None and known[0] == store.secret_wrapped:
            return known[1]
        secret = unwrap(self._root, store.secret_wrapped, secret_aad(store.store_id)).decode()
        with self._lock:
            self._secrets[store.store_id] = (store.secret_wrapped, secret)
        return secret

    def health(self, store: CustomKeyStore, operation: str, secret: str | None = None) -> None:
        body = {"requestMetadata": {"kmsRequestId": str(uuid.uuid4()), "kmsOperation": operation}}
        answer = self.client.call(store, secret or self.secret_of(store), "health", body)
        if not isinstance(answer.get("ekmFleetDetails"), list):
            raise ProxyCallError("malformed")

    # the operations -------------------------------------------------------------------------
    def create(self, caller: Caller, params: dict[str, Any]) -> CustomKeyStore:
        check(self._authorizer, caller, "kms:CreateCustomKeyStore")
        name = check_name(params["CustomKeyStoreName"])
        kind = params.get("CustomKeyStoreType") or "AWS_CLOUDHSM"
        if kind != "EXTERNAL_KEY_STORE":
            raise UnsupportedOperationError(
                "Cofre has no CloudHSM: only EXTERNAL_KEY_STORE custom key stores."
            )
        connectivity = params.get("XksProxyConnectivity") or "PUBLIC_ENDPOINT"
        if connectivity != "PUBLIC_ENDPOINT":
            raise UnsupportedOperationError("Cofre reaches XKS proxies on public endpoints only.")
        for member in (
            "XksProxyUriEndpoint",
            "XksProxyUriPath",
            "XksProxyAuthenticationCredential",
        ):
            if params.get(member) is None:
                raise ValidationError(f"{member} is required for an EXTERNAL_KEY_STORE.")
        access_key_id, secret = _credential(params["XksProxyAuthenticationCredential"])
        store_id = "cks-" + self._random(9).hex()[:17]
        store = CustomKeyStore(
            store_id,
            caller.account_id,
            caller.region,
            name,
            check_endpoint(params["XksProxyUriEndpoint"]),
            check_uri_path(params["XksProxyUriPath"]),
            connectivity,
            access_key_id,
            wrap(self._root, secret.encode(), secret_aad(store_id), self._random),
            ConnectionState.DISCONNECTED,
            None,
            self._clock.now(),
        )
        with self._storage.read() as tx:
            self._check_unique(tx, store)
            if len(tx.list_custom_key_stores(caller.account_id, caller.region)) >= MAX_STORES:
                raise LimitExceededError("The account has as many custom key stores as it may.")
        try:  # AWS KMS tests the proxy before it creates the store
            self.health(store, "CreateCustomKeyStore", secret)
        except ProxyCallError as failure:
            raise setup_error(failure) from failure
        with self._storage.write() as tx:
            self._check_unique(tx, store)
            try:
                tx.put_custom_key_store(store, new=True)
            except AlreadyExistsError as exc:
                raise _name_in_use(name) from exc
        return store

    @staticmethod
    def _check_unique(tx: ReadTx, store: CustomKeyStore) -> None:
        for other in tx.list_custom_key_stores(store.account_id, store.region):
            if other.store_id == store.store_id:
                continue
            if other.name == store.name:
                raise _name_in_use(store.name)
            if other.url == store.url:
                raise XksProxyUriInUseError(
                    "Another custom key store of the account uses this endpoint and path."
                )

    def get(self, caller: Caller, store_id: str, tx: ReadTx | None = None) -> CustomKeyStore:
        if tx is None:
            with self._storage.read() as read:
                return self.get(caller, store_id, read)
        store = tx.get_custom_key_store(store_id)
        if store is None or (store.account_id, store.region) != (caller.account_id, caller.region):
            raise CustomKeyStoreNotFoundError(f"Custom key store {store_id[:64]} does not exist.")
        return store

    def describe(
        self, caller: Caller, store_id: str | None, name: str | None
    ) -> list[CustomKeyStore]:
        check(self._authorizer, caller, "kms:DescribeCustomKeyStores")
        with self._storage.read() as tx:
            found = tx.list_custom_key_stores(caller.account_id, caller.region)
        if store_id is not None:
            found = [s for s in found if s.store_id == store_id]
        if name is not None:
            found = [s for s in found if s.name == name]
        if (store_id is not None or name is not None) and not found:
            raise CustomKeyStoreNotFoundError("The custom key store does not exist.")
        return found

    def connect(self, caller: Caller, store_id: str) -> CustomKeyStore:
        check(self._authorizer, caller, "kms:ConnectCustomKeyStore")
        store = self.get(caller, store_id)
        if store.state is ConnectionState.CONNECTED:
            return store
        state, code = ConnectionState.CONNECTED, None
        try:
            self.health(store, "ConnectCustomKeyStore")
        except ProxyCallError as failure:
            state, code = (
                ConnectionState.FAILED,
                _ERROR_CODES.get(failure.reason, "XKS_PROXY_INVALID_RESPONSE"),
            )
        return self._set_state(caller, store_id, state, code)

    def disconnect(self, caller: Caller, store_id: str) -> CustomKeyStore:
        check(self._authorizer, caller, "kms:DisconnectCustomKeyStore")
        return self._set_state(caller, store_id, ConnectionState.DISCONNECTED, None)

    def _set_state(
        self, caller: Caller, store_id: str, state: ConnectionState, code: str | None
    ) -> CustomKeyStore:
        with self._storage.write() as tx:
            store = replace(self.get(caller, store_id, tx), state=state, error_code=code)
            tx.put_custom_key_store(store, new=False)
        self._invalidate("cks", store_id)
        return store

    def update(self, caller: Caller, params: dict[str, Any]) -> CustomKeyStore:
        check(self._authorizer, caller, "kms:UpdateCustomKeyStore")
        store = self.get(caller, params["CustomKeyStoreId"])
        changes: dict[str, Any] = {}
        secret = None
        if params.get("NewCustomKeyStoreName") is not None:
            changes["name"] = check_name(params["NewCustomKeyStoreName"])
        if params.get("XksProxyUriEndpoint") is not None:
            changes["uri_endpoint"] = check_endpoint(params["XksProxyUriEndpoint"])
        if params.get("XksProxyUriPath") is not None:
            changes["uri_path"] = check_uri_path(params["XksProxyUriPath"])
        if params.get("XksProxyConnectivity") not in (None, "PUBLIC_ENDPOINT"):
            raise UnsupportedOperationError("Cofre reaches XKS proxies on public endpoints only.")
        if params.get("XksProxyAuthenticationCredential") is not None:
            access_key_id, secret = _credential(params["XksProxyAuthenticationCredential"])
            changes["access_key_id"] = access_key_id
            changes["secret_wrapped"] = wrap(
                self._root, secret.encode(), secret_aad(store.store_id), self._random
            )
        proxy_change = set(changes) - {"name"}
        if proxy_change and store.state is ConnectionState.CONNECTED and "uri_endpoint" in changes:
            raise CustomKeyStoreInvalidStateError(
                "Disconnect the custom key store before you change its endpoint."
            )
        updated = replace(store, **changes)
        if proxy_change:
            try:
                self.health(updated, "UpdateCustomKeyStore", secret)
            except ProxyCallError as failure:
                raise setup_error(failure) from failure
        with self._storage.write() as tx:
            self._check_unique(tx, updated)
            tx.put_custom_key_store(updated, new=False)
        self._invalidate("cks", updated.store_id)
        return updated

    def delete(self, caller: Caller, store_id: str) -> None:
        check(self._authorizer, caller, "kms:DeleteCustomKeyStore")
        with self._storage.write() as tx:
            store = self.get(caller, store_id, tx)
            if store.state is not ConnectionState.DISCONNECTED:
                raise CustomKeyStoreInvalidStateError(
                    "Disconnect the custom key store before you delete it."
                )
            if tx.custom_key_store_keys(store_id):
                raise CustomKeyStoreHasKeysError(
                    "The custom key store has KMS keys: delete them before the store."
                )
            tx.delete_custom_key_store(store_id)
        self._invalidate("cks", store_id)

    # keys -----------------------------------------------------------------------------------
    def place_new_key(
        self,
        caller: Caller,
        origin: str,
        key_spec: str,
        usage: str,
        multi_region: bool,
        store_id: str | None,
        xks_key_id: str | None,
    ) -> str:
        """The custom key store a new key goes in, checked (CreateKey's members)."""
        if origin != Origin.EXTERNAL_KEY_STORE.value:
            raise ValidationError(
                "CustomKeyStoreId and XksKeyId need Origin EXTERNAL_KEY_STORE in Cofre."
            )
        if store_id is None or xks_key_id is None:
            raise ValidationError(
                "Origin EXTERNAL_KEY_STORE needs a CustomKeyStoreId and an XksKeyId."
            )
        if key_spec != "SYMMETRIC_DEFAULT" or usage != "ENCRYPT_DECRYPT" or multi_region:
            raise UnsupportedOperationError(
                "Keys in an external key store are single-Region SYMMETRIC_DEFAULT keys for"
                " ENCRYPT_DECRYPT."
            )
        self.check_new_key(caller, store_id, xks_key_id)
        return store_id

    def check_new_key(self, caller: Caller, store_id: str, xks_key_id: str) -> CustomKeyStore:
        """Before CreateKey: the store is connected, the external key exists, is enabled,
        is AES-256 for encrypt and decrypt, and backs no other KMS key of the store."""
        if not is_external_key_id(xks_key_id):
            raise ValidationError("XksKeyId must be 1-128 of a-z A-Z 0-9 - _ .")
        store = self.get(caller, store_id)
        if store.state is not ConnectionState.CONNECTED:
            raise CustomKeyStoreInvalidStateError(
                "The custom key store is not connected to its XKS proxy."
            )
        with self._storage.read() as tx:
            if tx.xks_key_in_use(store_id, xks_key_id):
                raise XksKeyAlreadyInUseError(
                    f"External key {xks_key_id} already backs a KMS key of this store."
                )
        body = {
            "requestMetadata": {
                "awsPrincipalArn": caller.principal_arn,
                "kmsOperation": "CreateKey",
                "kmsRequestId": str(uuid.uuid4()),
            }
        }
        try:
            answer = self.client.call(
                store, self.secret_of(store), f"keys/{xks_key_id}/metadata", body
            )
        except ProxyCallError as failure:
            raise _create_key_error(failure) from failure
        usage = answer.get("keyUsage")
        if (
            answer.get("keySpec") != "AES_256"
            or not isinstance(usage, list)
            or not {"ENCRYPT", "DECRYPT"} <= set(usage)
            or answer.get("keyStatus") != "ENABLED"
        ):
            raise XksKeyInvalidConfigurationError(
                f"External key {xks_key_id} is not an enabled AES_256 key for ENCRYPT and DECRYPT."
            )
        return store

    @staticmethod
    def bind(tx: Any, key: Key, store_id: str, xks_key_id: str) -> None:
        tx.put_xks_binding(XksBinding(key.row_id, store_id, xks_key_id))

    def binding(self, key: Key) -> tuple[CustomKeyStore, str] | None:
        if key.origin is not Origin.EXTERNAL_KEY_STORE:
            return None
        with self._storage.read() as tx:
            found = tx.get_xks_binding(key.row_id)
            store = None if found is None else tx.get_custom_key_store(found.store_id)
        if found is None or store is None:
            return None
        return store, found.xks_key_id


def _credential(value: Any) -> tuple[str, str]:
    access_key_id = value.get("AccessKeyId", "")
    secret = value.get("RawSecretAccessKey", "")
    if not is_access_key_id(access_key_id):
        raise ValidationError("AccessKeyId must be 20-30 characters of A-Z and 2-7.")
    if not (43 <= len(secret) <= 64) or not all(c.isalnum() or c in "/+=" for c in secret):
        raise ValidationError("RawSecretAccessKey must be 43-64 characters of A-Za-z0-9/+=.")
    return access_key_id, secret


def _name_in_use(name: str) -> CustomKeyStoreNameInUseError:
    return CustomKeyStoreNameInUseError(f"A custom key store named {name[:256]} already exists.")


def _create_key_error(failure: ProxyCallError) -> CofreError:
    reason = failure.reason
    if reason == "KeyNotFoundException":
        return XksKeyNotFoundError("The XKS proxy does not know this external key.")
    if reason in ("InvalidStateException", "InvalidKeyUsageException"):
        return XksKeyInvalidConfigurationError("The external key cannot back a KMS key.")
    return CustomKeyStoreInvalidStateError(f"The XKS proxy cannot be used now ({reason}).")
