"""KMS custom key store operations on the wire (EXTERNAL_KEY_STORE only; ADR 22)."""

from __future__ import annotations

from cofre.api.handlers.operation import Operation, Params, Result, threaded
from cofre.container import Services
from cofre.core.iam.principals import Caller
from cofre.core.kms.custom_stores import CustomKeyStore
from cofre.core.kms.keys import Key
from cofre.errors import InvalidMarkerError


def store_entry(store: CustomKeyStore) -> Result:
    """A CustomKeyStoresListEntry."""
    out: Result = {
        "CustomKeyStoreId": store.store_id,
        "CustomKeyStoreName": store.name,
        "ConnectionState": store.state.value,
        "CreationDate": store.created_at,
        "CustomKeyStoreType": "EXTERNAL_KEY_STORE",
        "XksProxyConfiguration": {
            "Connectivity": store.connectivity,
            "AccessKeyId": store.access_key_id,
            "UriEndpoint": store.uri_endpoint,
            "UriPath": store.uri_path,
        },
    }
    if store.error_code is not None:
        out["ConnectionErrorCode"] = store.error_code
    return out


def with_store(s: Services, key: Key, meta: Result) -> Result:
    """KeyMetadata of a key in a custom key store: its store and external key."""
    bound = s.custom_stores.binding(key)
    if bound is not None:
        meta["CustomKeyStoreId"] = bound[0].store_id
        meta["XksKeyConfiguration"] = {"Id": bound[1]}
    return meta


def create_custom_key_store(s: Services, c: Caller, p: Params) -> Result:
    return {"CustomKeyStoreId": s.custom_stores.create(c, p).store_id}


def connect_custom_key_store(s: Services, c: Caller, p: Params) -> Result:
    s.custom_stores.connect(c, p["CustomKeyStoreId"])
    return {}


def disconnect_custom_key_store(s: Services, c: Caller, p: Params) -> Result:
    s.custom_stores.disconnect(c, p["CustomKeyStoreId"])
    return {}


def update_custom_key_store(s: Services, c: Caller, p: Params) -> Result:
    s.custom_stores.update(c, p)
    return {}


def delete_custom_key_store(s: Services, c: Caller, p: Params) -> Result:
    s.custom_stores.delete(c, p["CustomKeyStoreId"])
    return {}


def describe_custom_key_stores(s: Services, c: Caller, p: Params) -> Result:
    stores = s.custom_stores.describe(c, p.get("CustomKeyStoreId"), p.get("CustomKeyStoreName"))
    marker = p.get("Marker")
    start = 0
    if marker is not None:
        ids = [store.store_id for store in stores]
        if marker not in ids:
            raise InvalidMarkerError("The marker is not one this operation returned.")
        start = ids.index(marker)
    limit = p.get("Limit") or 1000
    page = stores[start : start + limit]
    out: Result = {"CustomKeyStores": [store_entry(store) for store in page]}
    following = stores[start + limit : start + limit + 1]
    out["Truncated"] = bool(following)
    if following:
        out["NextMarker"] = following[0].store_id
    return out


CUSTOM_STORE_OPERATIONS: dict[str, Operation] = {
    "CreateCustomKeyStore": threaded(create_custom_key_store),
    "ConnectCustomKeyStore": threaded(connect_custom_key_store),
    "DisconnectCustomKeyStore": threaded(disconnect_custom_key_store),
    "UpdateCustomKeyStore": threaded(update_custom_key_store),
    "DeleteCustomKeyStore": threaded(delete_custom_key_store),
    "DescribeCustomKeyStores": threaded(describe_custom_key_stores),
}
