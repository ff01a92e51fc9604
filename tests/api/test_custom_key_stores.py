"""Custom key stores of Cofre's KMS (EXTERNAL_KEY_STORE, ADR 22), with a second real Cofre
as the XKS proxy: double encryption, and AWS's errors when the proxy refuses."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from cofre.core.kms.custom_stores import FORMAT_XKS
from tests.support.server import CofreServer, free_port
from tests.support.xks import Store, admin, create_store


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CofreServer]:
    srv = CofreServer(tmp_path_factory.mktemp("xks-proxy") / "data").start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def proxy_store(server: CofreServer, proxy: CofreServer) -> Store:
    """A store of the proxy's for each KMS server (one per backend)."""
    return create_store(proxy, "for-kms-" + uuid.uuid4().hex[:6])


def _external_key(proxy: CofreServer, store: Store) -> str:
    key_id = str(proxy.client("kms").create_key()["KeyMetadata"]["KeyId"])
    status, out = admin(proxy, "AddXksStoreKey", {"StoreId": store.store_id, "KeyId": key_id})
    assert status == 200, out
    return key_id


def _create_store(kms: Any, proxy: CofreServer, store: Store, **overrides: Any) -> str:
    params: dict[str, Any] = {
        "CustomKeyStoreName": "xks-" + uuid.uuid4().hex[:8],
        "CustomKeyStoreType": "EXTERNAL_KEY_STORE",
        "XksProxyUriEndpoint": proxy.url,
        "XksProxyUriPath": store.uri_path,
        "XksProxyConnectivity": "PUBLIC_ENDPOINT",
        "XksProxyAuthenticationCredential": {
            "AccessKeyId": store.access_key_id,
            "RawSecretAccessKey": store.secret,
        },
        **overrides,
    }
    return str(kms.create_custom_key_store(**params)["CustomKeyStoreId"])


def _code(info: pytest.ExceptionInfo[ClientError]) -> str:
    return str(info.value.response["Error"]["Code"])


@pytest.fixture(scope="module")
def connected(server: CofreServer, proxy: CofreServer, proxy_store: Store) -> str:
    kms = server.client("kms", validate=False)
    store_id = _create_store(kms, proxy, proxy_store)
    [entry] = kms.describe_custom_key_stores(CustomKeyStoreId=store_id)["CustomKeyStores"]
    assert entry["ConnectionState"] == "DISCONNECTED"
    assert entry["XksProxyConfiguration"]["UriEndpoint"] == proxy.url
    kms.connect_custom_key_store(CustomKeyStoreId=store_id)
    [entry] = kms.describe_custom_key_stores(CustomKeyStoreId=store_id)["CustomKeyStores"]
    assert entry["ConnectionState"] == "CONNECTED", entry
    return store_id


def test_double_encryption(
    server: CofreServer, proxy: CofreServer, proxy_store: Store, connected: str
) -> None:
    kms = server.client("kms", validate=False)
    external = _external_key(proxy, proxy_store)
    meta = kms.create_key(
        Origin="EXTERNAL_KEY_STORE", CustomKeyStoreId=connected, XksKeyId=external
    )["KeyMetadata"]
    assert meta["Origin"] == "EXTERNAL_KEY_STORE" and meta["CustomKeyStoreId"] == connected
    assert meta["XksKeyConfiguration"] == {"Id": external}
    key_id = meta["KeyId"]
    described = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    assert described["XksKeyConfiguration"] == {"Id": external}
    context = {"purpose": "test"}
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"secret", EncryptionContext=context)[
        "CiphertextBlob"
    ]
    assert blob[0] == FORMAT_XKS
    out = kms.decrypt(CiphertextBlob=blob, EncryptionContext=context)
    assert out["Plaintext"] == b"secret" and out["KeyId"] == meta["Arn"]
    with pytest.raises(ClientError) as info:
        kms.decrypt(CiphertextBlob=blob, EncryptionContext={"purpose": "other"})
    assert _code(info) in ("InvalidCiphertextException", "KMSInvalidStateException")
    data_key = kms.generate_data_key(KeyId=key_id, KeySpec="AES_256")
    assert (
        kms.decrypt(CiphertextBlob=data_key["CiphertextBlob"])["Plaintext"] == data_key["Plaintext"]
    )
    without = kms.generate_data_key_without_plaintext(KeyId=key_id, NumberOfBytes=16)
    assert len(kms.decrypt(CiphertextBlob=without["CiphertextBlob"])["Plaintext"]) == 16
    plain_key = kms.create_key()["KeyMetadata"]["KeyId"]
    moved = kms.re_encrypt(CiphertextBlob=blob, SourceEncryptionContext=context,
                           DestinationKeyId=plain_key)  # fmt: skip
    back = kms.re_encrypt(CiphertextBlob=moved["CiphertextBlob"], DestinationKeyId=key_id)
    assert kms.decrypt(CiphertextBlob=back["CiphertextBlob"])["Plaintext"] == b"secret"
    for rotate in (kms.enable_key_rotation, kms.rotate_key_on_demand):
        with pytest.raises(ClientError) as info:  # as at AWS: keys in custom key stores
            rotate(KeyId=key_id)
        assert _code(info) == "UnsupportedOperationException"

    # the external key disabled on the proxy's side: AWS's KMSInvalidStateException
    proxy_kms = proxy.client("kms")
    proxy_kms.disable_key(KeyId=external)
    try:
        with pytest.raises(ClientError) as info:
            kms.decrypt(CiphertextBlob=blob, EncryptionContext=context)
        assert _code(info) == "KMSInvalidStateException"
        assert "not enabled" in info.value.response["Error"]["Message"]
        with pytest.raises(ClientError) as info:
            kms.encrypt(KeyId=key_id, Plaintext=b"x")
        assert _code(info) == "KMSInvalidStateException"
    finally:
        proxy_kms.enable_key(KeyId=external)
    assert kms.decrypt(CiphertextBlob=blob, EncryptionContext=context)["Plaintext"] == b"secret"

    # the store disconnected: the key cannot be used, the store cannot be deleted with it
    kms.disconnect_custom_key_store(CustomKeyStoreId=connected)
    try:
        with pytest.raises(ClientError) as info:
            kms.decrypt(CiphertextBlob=blob, EncryptionContext=context)
        assert _code(info) == "KMSInvalidStateException"
        with pytest.raises(ClientError) as info:
            kms.delete_custom_key_store(CustomKeyStoreId=connected)
        assert _code(info) == "CustomKeyStoreHasCMKsException"
    finally:
        kms.connect_custom_key_store(CustomKeyStoreId=connected)
    assert kms.decrypt(CiphertextBlob=blob, EncryptionContext=context)["Plaintext"] == b"secret"


def test_create_key_checks_the_external_key(
    server: CofreServer, proxy: CofreServer, proxy_store: Store, connected: str
) -> None:
    kms = server.client("kms", validate=False)
    with pytest.raises(ClientError) as info:
        kms.create_key(Origin="EXTERNAL_KEY_STORE", CustomKeyStoreId=connected,
                       XksKeyId=str(uuid.uuid4()))  # fmt: skip
    assert _code(info) == "XksKeyNotFoundException"
    external = _external_key(proxy, proxy_store)
    kms.create_key(Origin="EXTERNAL_KEY_STORE", CustomKeyStoreId=connected, XksKeyId=external)
    with pytest.raises(ClientError) as info:
        kms.create_key(Origin="EXTERNAL_KEY_STORE", CustomKeyStoreId=connected,
                       XksKeyId=external)  # fmt: skip
    assert _code(info) == "XksKeyAlreadyInUseException"
    with pytest.raises(ClientError) as info:
        kms.create_key(Origin="EXTERNAL_KEY_STORE", CustomKeyStoreId="cks-1234567890abcdef0",
                       XksKeyId=external)  # fmt: skip
    assert _code(info) == "CustomKeyStoreNotFoundException"
    with pytest.raises(ClientError) as info:
        kms.create_key(CustomKeyStoreId=connected, XksKeyId=external)
    assert _code(info) == "ValidationException"


def test_store_set_up_errors(server: CofreServer, proxy: CofreServer, tmp_path: Path) -> None:
    kms = server.client("kms", validate=False)
    proxy_store = create_store(proxy, "set-up-" + uuid.uuid4().hex[:6])
    bad_secret = {"AccessKeyId": proxy_store.access_key_id, "RawSecretAccessKey": "A" * 44}
    with pytest.raises(ClientError) as info:
        _create_store(kms, proxy, proxy_store, XksProxyAuthenticationCredential=bad_secret)
    assert _code(info) == "XksProxyIncorrectAuthenticationCredentialException"
    with pytest.raises(ClientError) as info:
        _create_store(
            kms, proxy, proxy_store, XksProxyUriEndpoint=f"http://127.0.0.1:{free_port()}"
        )
    assert _code(info) == "XksProxyUriUnreachableException"
    with pytest.raises(ClientError) as info:
        _create_store(kms, proxy, proxy_store, XksProxyUriEndpoint="http://example.com")
    assert _code(info) == "ValidationException"
    with pytest.raises(ClientError) as info:
        _create_store(
            kms, proxy, proxy_store, XksProxyUriPath="/xks/xks-0000000000000000/kms/xks/v1"
        )
    assert _code(info) in (
        "XksProxyInvalidConfigurationException",
        "XksProxyIncorrectAuthenticationCredentialException",
    )
    with pytest.raises(ClientError) as info:
        kms.describe_custom_key_stores(CustomKeyStoreName="no-such-store")
    assert _code(info) == "CustomKeyStoreNotFoundException"
    store_id = _create_store(kms, proxy, proxy_store)
    with pytest.raises(ClientError) as info:
        _create_store(kms, proxy, proxy_store)
    assert _code(info) == "XksProxyUriInUseException"
    kms.update_custom_key_store(
        CustomKeyStoreId=store_id, NewCustomKeyStoreName="renamed-" + store_id
    )
    listed = kms.describe_custom_key_stores(CustomKeyStoreName="renamed-" + store_id)
    assert listed["CustomKeyStores"][0]["CustomKeyStoreId"] == store_id
    kms.delete_custom_key_store(CustomKeyStoreId=store_id)
    with pytest.raises(ClientError) as info:
        kms.describe_custom_key_stores(CustomKeyStoreId=store_id)
    assert _code(info) == "CustomKeyStoreNotFoundException"


def test_unreachable_proxy_fails_fast(
    server: CofreServer, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A proxy that goes away: KMSInvalidStateException, and no call hangs."""
    doomed = CofreServer(tmp_path_factory.mktemp("xks-doomed") / "data").start()
    try:
        store = create_store(doomed, "doomed")
        external = _external_key(doomed, store)
        kms = server.client("kms", validate=False)
        store_id = _create_store(kms, doomed, store)
        kms.connect_custom_key_store(CustomKeyStoreId=store_id)
        key_id = kms.create_key(
            Origin="EXTERNAL_KEY_STORE", CustomKeyStoreId=store_id, XksKeyId=external
        )["KeyMetadata"]["KeyId"]
        blob = kms.encrypt(KeyId=key_id, Plaintext=b"x")["CiphertextBlob"]
    finally:
        doomed.stop()
    with pytest.raises(ClientError) as info:
        kms.decrypt(CiphertextBlob=blob)
    assert _code(info) == "KMSInvalidStateException"
    assert "communicate" in info.value.response["Error"]["Message"]
    kms.disconnect_custom_key_store(CustomKeyStoreId=store_id)
    kms.connect_custom_key_store(CustomKeyStoreId=store_id)  # answers, as AWS, and fails
    [entry] = kms.describe_custom_key_stores(CustomKeyStoreId=store_id)["CustomKeyStores"]
    assert entry["ConnectionState"] == "FAILED"
    assert entry["ConnectionErrorCode"] == "XKS_PROXY_NOT_REACHABLE"


def test_https_proxy_with_a_private_ca(tmp_path_factory: pytest.TempPathFactory) -> None:
    """An https:// proxy whose certificate chains to a private CA: trusted only through
    COFRE_XKS_CA_BUNDLE (docs/xks.md)."""
    from tests.api.test_tls import make_self_signed

    certs = make_self_signed(tmp_path_factory.mktemp("xks-tls"))
    proxy = CofreServer(
        tmp_path_factory.mktemp("xks-tls-proxy") / "data",
        extra_args=("--tls-cert", str(certs.cert), "--tls-key", str(certs.key)),
        tls_cafile=certs.cert,
    ).start()
    trusting = CofreServer(
        tmp_path_factory.mktemp("xks-trusting") / "data",
        env={"COFRE_XKS_CA_BUNDLE": str(certs.cert)},
    ).start()
    plain = CofreServer(tmp_path_factory.mktemp("xks-plain") / "data").start()
    try:
        store = create_store(proxy, "tls")
        external = _external_key(proxy, store)
        assert proxy.url.startswith("https://127.0.0.1:")
        with pytest.raises(ClientError) as info:  # the system's CAs do not know it
            _create_store(plain.client("kms", validate=False), proxy, store)
        assert _code(info) == "XksProxyUriUnreachableException"
        kms = trusting.client("kms", validate=False)
        store_id = _create_store(kms, proxy, store)
        kms.connect_custom_key_store(CustomKeyStoreId=store_id)
        key_id = kms.create_key(
            Origin="EXTERNAL_KEY_STORE", CustomKeyStoreId=store_id, XksKeyId=external
        )["KeyMetadata"]["KeyId"]
        blob = kms.encrypt(KeyId=key_id, Plaintext=b"over tls")["CiphertextBlob"]
        assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"over tls"
    finally:
        for srv in (plain, trusting, proxy):
            srv.stop()


def test_kms_request_id_reaches_the_proxy(
    server: CofreServer, proxy: CofreServer, proxy_store: Store, connected: str
) -> None:
    """requestMetadata.kmsRequestId is the KMS call's request id: both trails name it."""
    import json

    kms = server.client("kms", validate=False)
    external = _external_key(proxy, proxy_store)
    key_id = kms.create_key(
        Origin="EXTERNAL_KEY_STORE", CustomKeyStoreId=connected, XksKeyId=external
    )["KeyMetadata"]["KeyId"]
    answer = kms.encrypt(KeyId=key_id, Plaintext=b"x")
    request_id = answer["ResponseMetadata"]["RequestId"]
    trail = proxy.client("cloudtrail")
    found: list[Any] = []
    for _ in range(50):
        events = trail.lookup_events(
            LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "Encrypt"}]
        )["Events"]
        found = [e for e in events if request_id in e["CloudTrailEvent"]]
        if found:
            break
    [event] = found
    metadata = json.loads(event["CloudTrailEvent"])["requestParameters"]["requestMetadata"]
    assert metadata["kmsRequestId"] == request_id
    assert metadata["kmsOperation"] == "Encrypt"
    assert metadata["kmsKeyArn"].endswith(key_id)
