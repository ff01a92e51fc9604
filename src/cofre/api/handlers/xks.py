"""Cofre's admin API of XKS key stores (ADR 22): AWS JSON 1.1 with
``X-Amz-Target: CofreXks.<Op>``, signed with SigV4 for the service ``cofre`` (as the
other admin APIs), so ``cofre xks stores ...`` works with any credential of the account.

CreateXksStore {Name} -> {StoreId, Name, UriPathPrefix, UriPath, AccessKeyId,
SecretAccessKey}; ListXksStores {} -> {Stores: [...]}; RotateXksStoreCredentials
{StoreId} -> the new credential; DeleteXksStore {StoreId} -> {}; AddXksStoreKey and
RemoveXksStoreKey {StoreId, KeyId} -> {StoreId, KeyId}. No botocore model describes
them, so the input is checked here, member by member.
"""

from __future__ import annotations

from cofre.api.handlers.operation import Operation, Params, Result, threaded
from cofre.api.handlers.string_members import parse_string_members
from cofre.container import Services
from cofre.core.iam.principals import Caller
from cofre.core.xks.stores import XksStore
from cofre.service.xks.stores import IssuedStore

TARGET_PREFIX = "CofreXks."
_STORE = {"StoreId": (True, 32)}
_KEY = {"StoreId": (True, 32), "KeyId": (True, 2048)}
_MEMBERS: dict[str, dict[str, tuple[bool, int]]] = {
    "CreateXksStore": {"Name": (True, 64)},
    "ListXksStores": {},
    "RotateXksStoreCredentials": _STORE,
    "DeleteXksStore": _STORE,
    "AddXksStoreKey": _KEY,
    "RemoveXksStoreKey": _KEY,
}


def parse_input(operation: str, body: bytes) -> Params:
    return parse_string_members(_MEMBERS.get(operation, {}), body)


def _shown(store: XksStore) -> Result:
    return {
        "StoreId": store.store_id,
        "Name": store.name,
        "UriPathPrefix": store.uri_path_prefix,
        "UriPath": store.uri_path,
        "AccessKeyId": store.credential.access_key_id,
        "CreationDate": store.created_at,
    }


def _issued(issued: IssuedStore) -> Result:
    out = _shown(issued.store)
    out["SecretAccessKey"] = issued.secret_access_key
    if issued.store.previous is not None:
        out["PreviousAccessKeyId"] = issued.store.previous.access_key_id
    return out


def create_store(s: Services, c: Caller, p: Params) -> Result:
    return _issued(s.xks_stores.create(c, p["Name"]))


def list_stores(s: Services, c: Caller, p: Params) -> Result:
    stores = []
    for store, keys in s.xks_stores.list(c):
        shown = _shown(store)
        if store.previous is not None:
            shown["PreviousAccessKeyId"] = store.previous.access_key_id
        shown["KeyIds"] = keys
        stores.append(shown)
    return {"Stores": stores}


def rotate_credentials(s: Services, c: Caller, p: Params) -> Result:
    return _issued(s.xks_stores.rotate_credentials(c, p["StoreId"]))


def delete_store(s: Services, c: Caller, p: Params) -> Result:
    s.xks_stores.delete(c, p["StoreId"])
    return {}


def add_key(s: Services, c: Caller, p: Params) -> Result:
    return {"StoreId": p["StoreId"], "KeyId": s.xks_stores.add_key(c, p["StoreId"], p["KeyId"])}


def remove_key(s: Services, c: Caller, p: Params) -> Result:
    key_id = s.xks_stores.remove_key(c, p["StoreId"], p["KeyId"])
    return {"StoreId": p["StoreId"], "KeyId": key_id}


OPERATIONS: dict[str, Operation] = {
    "CreateXksStore": threaded(create_store),
    "ListXksStores": threaded(list_stores),
    "RotateXksStoreCredentials": threaded(rotate_credentials),
    "DeleteXksStore": threaded(delete_store),
    "AddXksStoreKey": threaded(add_key),
    "RemoveXksStoreKey": threaded(remove_key),
}
