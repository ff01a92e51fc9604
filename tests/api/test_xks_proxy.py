"""Cofre as an AWS KMS XKS proxy (ADR 22), tested from the XKS Proxy API Specification's
examples with requests signed by botocore's SigV4 signer for ``kms-xks-proxy``."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import uuid
from typing import Any

import pytest

from tests.support.server import CofreServer
from tests.support.xks import (
    Store,
    admin,
    call,
    create_store,
    decrypt_body,
    encrypt_body,
    request_metadata,
)

# The specification's Encrypt example: "Hello World!" with "project=nile,department=marketing"
HELLO = "SGVsbG8gV29ybGQh"
AAD = "cHJvamVjdD1uaWxlLGRlcGFydG1lbnQ9bWFya2V0aW5n"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@pytest.fixture(scope="module")
def store(server: CofreServer) -> Store:
    return create_store(server, "primary-" + uuid.uuid4().hex[:6])


@pytest.fixture
def xks_key(server: CofreServer, store: Store) -> str:
    key_id = str(server.client("kms").create_key()["KeyMetadata"]["KeyId"])
    status, out = admin(server, "AddXksStoreKey", {"StoreId": store.store_id, "KeyId": key_id})
    assert status == 200, out
    return key_id


def _error(result: tuple[int, Any], status: int, name: str) -> None:
    assert result[0] == status, result
    assert result[1]["errorName"] == name, result


def test_store_credential_formats(server: CofreServer, store: Store) -> None:
    # as AWS KMS takes them: XksProxyAuthenticationCredentialType, XksProxyUriPathType
    assert re.fullmatch(r"[A-Z2-7]{20,30}", store.access_key_id)
    assert re.fullmatch(r"[A-Za-z0-9/+=]{43,64}", store.secret)
    assert re.fullmatch(r"/[a-zA-Z0-9/_-]{1,116}/kms/xks/v1", store.uri_path)
    status, listed = admin(server, "ListXksStores", {})
    assert status == 200
    [mine] = [s for s in listed["Stores"] if s["StoreId"] == store.store_id]
    assert "SecretAccessKey" not in mine and mine["AccessKeyId"] == store.access_key_id
    # the secret is stored wrapped, never in the clear (the data directory, SQLite's files)
    for path in server.data_dir.rglob("*"):
        if path.is_file():
            assert store.secret.encode() not in path.read_bytes(), path


def test_health(server: CofreServer, store: Store) -> None:
    body = {"requestMetadata": {"kmsRequestId": "1", "kmsOperation": "KmsHealthCheck"}}
    status, out = call(server, store, "health", body)
    assert status == 200, out
    assert out["xksProxyFleetSize"] >= 1 and out["xksProxyVendor"] and out["ekmVendor"]
    assert out["ekmFleetDetails"][0]["healthStatus"] == "ACTIVE"


def test_metadata_only_of_keys_added(server: CofreServer, store: Store) -> None:
    kms = server.client("kms")
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    body = {"requestMetadata": request_metadata("CreateKey")}
    _error(call(server, store, f"keys/{key_id}/metadata", body), 404, "KeyNotFoundException")
    admin(server, "AddXksStoreKey", {"StoreId": store.store_id, "KeyId": key_id})
    status, out = call(server, store, f"keys/{key_id}/metadata", body)
    assert status == 200, out
    assert out == {"keySpec": "AES_256", "keyUsage": ["ENCRYPT", "DECRYPT"], "keyStatus": "ENABLED"}
    # an alias names the key too (without "alias/", which externalKeyId cannot hold)
    alias = "xks-" + uuid.uuid4().hex[:8]
    kms.create_alias(AliasName="alias/" + alias, TargetKeyId=key_id)
    assert call(server, store, f"keys/{alias}/metadata", body)[0] == 200
    _error(call(server, store, "keys/nope/metadata", body), 404, "KeyNotFoundException")
    unknown = str(uuid.uuid4())
    _error(call(server, store, f"keys/{unknown}/metadata", body), 404, "KeyNotFoundException")
    admin(server, "RemoveXksStoreKey", {"StoreId": store.store_id, "KeyId": key_id})
    _error(call(server, store, f"keys/{key_id}/metadata", body), 404, "KeyNotFoundException")


def test_encrypt_decrypt_as_the_specification(
    server: CofreServer, store: Store, xks_key: str
) -> None:
    status, out = call(
        server,
        store,
        f"keys/{xks_key}/encrypt",
        encrypt_body(HELLO, AAD, ciphertextDataIntegrityValueAlgorithm="SHA_256"),
    )
    assert status == 200, out
    raw = {k: base64.b64decode(v) for k, v in out.items()}
    assert len(raw["ciphertext"]) == 12 and len(raw["authenticationTag"]) == 16
    assert len(raw["initializationVector"]) in (12, 16)
    assert len(raw["ciphertextMetadata"]) <= 20
    # Appendix C: SHA-256 over aad || metadata || iv || ciphertext || tag
    expected = hashlib.sha256(
        base64.b64decode(AAD)
        + raw["ciphertextMetadata"]
        + raw["initializationVector"]
        + raw["ciphertext"]
        + raw["authenticationTag"]
    ).digest()
    assert raw["ciphertextDataIntegrityValue"] == expected
    status, plain = call(server, store, f"keys/{xks_key}/decrypt", decrypt_body(out, AAD))
    assert (status, plain) == (200, {"plaintext": HELLO})


def test_tampering_is_invalid_ciphertext(server: CofreServer, store: Store, xks_key: str) -> None:
    status, out = call(server, store, f"keys/{xks_key}/encrypt", encrypt_body(HELLO, AAD))
    assert status == 200
    path = f"keys/{xks_key}/decrypt"
    flipped = base64.b64decode(out["ciphertext"])
    flipped = bytes([flipped[0] ^ 1]) + flipped[1:]
    cases = [
        decrypt_body({**out, "ciphertext": _b64(flipped)}, AAD),
        decrypt_body(out, _b64(b"project=nile,department=sales")),
        decrypt_body(out),  # the AAD left out
        decrypt_body({**out, "authenticationTag": _b64(bytes(16))}, AAD),
        decrypt_body({**out, "initializationVector": _b64(bytes(12))}, AAD),
        decrypt_body({**out, "ciphertextMetadata": _b64(bytes(20))}, AAD),
        {k: v for k, v in decrypt_body(out, AAD).items() if k != "ciphertextMetadata"},
        # the metadata moved into the AAD (the specification's own example of a confusion)
        decrypt_body({k: v for k, v in out.items() if k != "ciphertextMetadata"},
                     out["ciphertextMetadata"]),
    ]  # fmt: skip
    for body in cases:
        _error(call(server, store, path, body), 400, "InvalidCiphertextException")


def test_disabled_key_is_invalid_state(server: CofreServer, store: Store, xks_key: str) -> None:
    kms = server.client("kms")
    status, out = call(server, store, f"keys/{xks_key}/encrypt", encrypt_body(HELLO))
    assert status == 200
    kms.disable_key(KeyId=xks_key)
    try:
        meta = {"requestMetadata": request_metadata("DescribeKey")}
        assert call(server, store, f"keys/{xks_key}/metadata", meta)[1]["keyStatus"] == "DISABLED"
        enc = call(server, store, f"keys/{xks_key}/encrypt", encrypt_body(HELLO))
        _error(enc, 400, "InvalidStateException")
        dec = call(server, store, f"keys/{xks_key}/decrypt", decrypt_body(out))
        _error(dec, 400, "InvalidStateException")
    finally:
        kms.enable_key(KeyId=xks_key)
    assert call(server, store, f"keys/{xks_key}/decrypt", decrypt_body(out))[0] == 200


def test_rotation_keeps_old_ciphertexts(server: CofreServer, store: Store, xks_key: str) -> None:
    kms = server.client("kms")
    _, before = call(server, store, f"keys/{xks_key}/encrypt", encrypt_body(HELLO, AAD))
    kms.rotate_key_on_demand(KeyId=xks_key)
    for _ in range(100):  # the rotation settles in the background
        _, after = call(server, store, f"keys/{xks_key}/encrypt", encrypt_body(HELLO, AAD))
        if after["ciphertextMetadata"] != before["ciphertextMetadata"]:
            break
    assert after["ciphertextMetadata"] != before["ciphertextMetadata"]
    for encrypted in (before, after):
        result = call(server, store, f"keys/{xks_key}/decrypt", decrypt_body(encrypted, AAD))
        assert result == (200, {"plaintext": HELLO})


def test_authentication(server: CofreServer, store: Store, xks_key: str) -> None:
    path = f"keys/{xks_key}/encrypt"
    body = encrypt_body(HELLO)
    wrong_secret = call(server, store, path, body, secret=store.secret[::-1])
    _error(wrong_secret, 401, "AuthenticationFailedException")
    unknown = call(server, store, path, body, access_key_id="A" * 24)
    _error(unknown, 401, "AuthenticationFailedException")
    other_service = call(server, store, path, body, service="kms")
    _error(other_service, 401, "AuthenticationFailedException")
    # the admin credential is no key store's
    from tests.support.server import ACCESS_KEY_ID, SECRET_ACCESS_KEY

    admin_key = call(server, store, path, body, access_key_id=ACCESS_KEY_ID,
                     secret=SECRET_ACCESS_KEY)  # fmt: skip
    _error(admin_key, 401, "AuthenticationFailedException")


def test_paths_and_methods(server: CofreServer, store: Store, xks_key: str) -> None:
    body = encrypt_body(HELLO)
    other = create_store(server, "other-" + uuid.uuid4().hex[:6])
    # signed by this store, sent to another store's prefix, or to none
    wrong = call(server, store, f"keys/{xks_key}/encrypt", body, path=other.uri_path)
    _error(wrong, 404, "InvalidUriPathException")
    for path in ("/xks/xks-0000000000000000/kms/xks/v1", "/xks/nope/kms/xks/v2"):
        _error(call(server, store, "health", body, path=path), 404, "InvalidUriPathException")
    _error(call(server, store, f"keys/{xks_key}/rotate", body), 404, "InvalidUriPathException")
    # the other store was not given the key
    _error(call(server, other, f"keys/{xks_key}/encrypt", body), 404, "KeyNotFoundException")
    assert call(server, store, "health", body, method="GET")[0] == 405


def test_bad_inputs(server: CofreServer, store: Store, xks_key: str) -> None:
    path = f"keys/{xks_key}/encrypt"
    big = _b64(bytes(4301))
    _error(call(server, store, path, encrypt_body(big)), 501, "UnsupportedOperationException")
    assert call(server, store, path, encrypt_body(_b64(bytes(4300))))[0] == 200
    huge_aad = _b64(bytes(8193))
    result = call(server, store, path, encrypt_body(HELLO, huge_aad))
    _error(result, 501, "UnsupportedOperationException")
    assert call(server, store, path, encrypt_body(HELLO, _b64(bytes(8192))))[0] == 200
    for body in (
        encrypt_body("not base64!"),
        encrypt_body(HELLO, encryptionAlgorithm="AES_CBC"),
        {"plaintext": HELLO, "encryptionAlgorithm": "AES_GCM"},  # no requestMetadata
        {**encrypt_body(HELLO), "requestMetadata": {"kmsOperation": "Encrypt"}},
        encrypt_body(HELLO, ciphertextDataIntegrityValueAlgorithm="MD5"),
        b"{not json",
        b"[]",
    ):
        _error(call(server, store, path, body), 400, "ValidationException")
    bad_iv = {**decrypt_body({"ciphertext": HELLO, "initializationVector": _b64(bytes(8)),
                              "authenticationTag": _b64(bytes(16))})}  # fmt: skip
    _error(call(server, store, f"keys/{xks_key}/decrypt", bad_iv), 400, "ValidationException")


def test_rotate_credentials(server: CofreServer) -> None:
    store = create_store(server, "rotating-" + uuid.uuid4().hex[:6])
    body = {"requestMetadata": {"kmsRequestId": "1", "kmsOperation": "KmsHealthCheck"}}
    status, out = admin(server, "RotateXksStoreCredentials", {"StoreId": store.store_id})
    assert status == 200 and out["PreviousAccessKeyId"] == store.access_key_id
    second = Store(store.store_id, store.uri_path, out["AccessKeyId"], out["SecretAccessKey"])
    assert call(server, store, "health", body)[0] == 200  # both work while AWS switches
    assert call(server, second, "health", body)[0] == 200
    admin(server, "RotateXksStoreCredentials", {"StoreId": store.store_id})
    _error(call(server, store, "health", body), 401, "AuthenticationFailedException")
    assert call(server, second, "health", body)[0] == 200
    status, _ = admin(server, "DeleteXksStore", {"StoreId": store.store_id})
    assert status == 200
    _error(call(server, second, "health", body), 401, "AuthenticationFailedException")


def test_every_call_is_recorded(server: CofreServer, store: Store, xks_key: str) -> None:
    metadata = request_metadata("GenerateDataKey")
    metadata["kmsRequestId"] = request_id = str(uuid.uuid4())
    body = {**encrypt_body(HELLO), "requestMetadata": {**metadata, "kmsKeyArn": "arn:x"}}
    assert call(server, store, f"keys/{xks_key}/encrypt", body)[0] == 200
    trail = server.client("cloudtrail")
    found: list[dict[str, Any]] = []
    for _ in range(50):
        events = trail.lookup_events(
            LookupAttributes=[
                {"AttributeKey": "EventSource", "AttributeValue": "kms-xks-proxy.amazonaws.com"}
            ]
        )["Events"]
        found = [json.loads(e["CloudTrailEvent"]) for e in events]
        found = [e for e in found if request_id in json.dumps(e)]
        if found:
            break
    [event] = found
    assert event["eventName"] == "Encrypt"
    logged = event["requestParameters"]
    assert logged["requestMetadata"]["awsPrincipalArn"] == metadata["awsPrincipalArn"]
    assert logged["requestMetadata"]["kmsOperation"] == "GenerateDataKey"
    assert logged["externalKeyId"] == xks_key
    assert "plaintext" not in json.dumps(event) and HELLO not in json.dumps(event)
    assert event["resources"][0]["ARN"].endswith(xks_key)


def test_curl_aws_sigv4(server: CofreServer, store: Store, xks_key: str, tmp_path: Any) -> None:
    """The specification's Appendix D: curl signs XKS calls itself."""
    import shutil
    import subprocess

    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    request = tmp_path / "encrypt.json"
    request.write_text(json.dumps(encrypt_body(HELLO, AAD)))
    url = f"{server.url}{store.uri_path}/keys/{xks_key}/encrypt"
    done = subprocess.run(
        ["curl", "-s", "--aws-sigv4", "aws:amz:us-east-1:kms-xks-proxy",
         "--user", f"{store.access_key_id}:{store.secret}", "-X", "POST",
         "-H", "Content-Type:application/json", "--data", f"@{request}", url],
        capture_output=True, text=True, timeout=30, check=True,
    )  # fmt: skip
    encrypted = json.loads(done.stdout)
    assert set(encrypted) >= {"ciphertext", "initializationVector", "authenticationTag"}
    plain = call(server, store, f"keys/{xks_key}/decrypt", decrypt_body(encrypted, AAD))
    assert plain == (200, {"plaintext": HELLO})
    bad = subprocess.run(
        ["curl", "-s", "--aws-sigv4", "aws:amz:us-east-1:kms-xks-proxy",
         "--user", f"{store.access_key_id}:wrong", "-X", "POST",
         "-H", "Content-Type:application/json", "--data", f"@{request}", url],
        capture_output=True, text=True, timeout=30, check=True,
    )  # fmt: skip
    assert json.loads(bad.stdout)["errorName"] == "AuthenticationFailedException"


def test_cli(server: CofreServer) -> None:
    """``cofre xks stores ...`` with the admin's credential, as ``cofre accounts``."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from tests.support.server import ACCESS_KEY_ID, SECRET_ACCESS_KEY

    env = dict(os.environ)
    env.update(
        AWS_ACCESS_KEY_ID=ACCESS_KEY_ID,
        AWS_SECRET_ACCESS_KEY=SECRET_ACCESS_KEY,
        AWS_CONFIG_FILE="/dev/null",
        AWS_SHARED_CREDENTIALS_FILE="/dev/null",
        AWS_ENDPOINT_URL=server.url,
        AWS_DEFAULT_REGION="us-east-1",
    )
    env.pop("AWS_PROFILE", None)
    cofre = str(Path(sys.executable).with_name("cofre"))

    def run(*args: str) -> Any:
        done = subprocess.run(
            [cofre, "xks", "stores", *args], env=env, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    name = "cli-" + uuid.uuid4().hex[:6]
    created = run("create", "--name", name)
    assert set(created) >= {"store_id", "uri_path_prefix", "access_key_id", "secret_access_key"}
    assert created["uri_path_prefix"] + "/kms/xks/v1" == created["uri_path"]
    store = Store(
        created["store_id"],
        created["uri_path"],
        created["access_key_id"],
        created["secret_access_key"],
    )
    key_id = server.client("kms").create_key()["KeyMetadata"]["KeyId"]
    assert run("add-key", store.store_id, key_id) == {"store_id": store.store_id, "key_id": key_id}
    [listed] = [s for s in run("list") if s["name"] == name]
    assert listed["key_ids"] == [key_id] and "secret_access_key" not in listed
    body = {"requestMetadata": request_metadata("DescribeKey")}
    assert call(server, store, f"keys/{key_id}/metadata", body)[0] == 200
    rotated = run("rotate-credentials", store.store_id)
    assert rotated["previous_access_key_id"] == store.access_key_id
    run("remove-key", store.store_id, key_id)
    _error(call(server, store, f"keys/{key_id}/metadata", body), 404, "KeyNotFoundException")
    run("delete", store.store_id)
    assert not [s for s in run("list") if s["name"] == name]
    duplicate = subprocess.run(
        [cofre, "xks", "stores", "create", "--name", "x" * 65],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert duplicate.returncode != 0 and "ValidationException" in duplicate.stderr


def test_xks_listener_of_its_own(tmp_path: Any) -> None:
    """``cofre serve --xks-listen``: the XKS API, and only it, on a second address."""
    from tests.support.server import free_port

    xks_port = free_port()
    srv = CofreServer(tmp_path / "data", extra_args=("--xks-listen", f"127.0.0.1:{xks_port}"))
    srv.start()
    try:
        store = create_store(srv, "own-listener")
        key_id = str(srv.client("kms").create_key()["KeyMetadata"]["KeyId"])
        admin(srv, "AddXksStoreKey", {"StoreId": store.store_id, "KeyId": key_id})
        main_port = srv.port
        srv.port = xks_port  # the helpers send to srv.url
        try:
            body = encrypt_body(HELLO, AAD)
            status, out = call(srv, store, f"keys/{key_id}/encrypt", body)
            assert status == 200, out
            status, other = admin(srv, "ListXksStores", {})
            assert (status, other["errorName"]) == (404, "InvalidUriPathException")
        finally:
            srv.port = main_port
        assert call(srv, store, f"keys/{key_id}/decrypt", decrypt_body(out, AAD))[0] == 200
    finally:
        srv.stop()


def test_multi_region_key(server: CofreServer, store: Store) -> None:
    key_id = server.client("kms").create_key(MultiRegion=True)["KeyMetadata"]["KeyId"]
    admin(server, "AddXksStoreKey", {"StoreId": store.store_id, "KeyId": key_id})
    status, out = call(server, store, f"keys/{key_id}/encrypt", encrypt_body(HELLO))
    assert status == 200, out
    assert call(server, store, f"keys/{key_id}/decrypt", decrypt_body(out)) == (
        200,
        {"plaintext": HELLO},
    )


def test_changes_reach_every_worker(tmp_path: Any) -> None:
    """A key removed from a store, a credential rotated away: every worker of
    ``--workers 2`` comes to honour it (the change feed; ADR 22)."""
    import time

    def settles(expected: set[int], probe: Any) -> bool:
        """Whether 20 calls in a row answer only ``expected``, polling for a while."""
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if {probe() for _ in range(20)} == expected:
                return True
            time.sleep(0.2)
        return False

    srv = CofreServer(tmp_path / "data", workers=2).start()
    try:
        store = create_store(srv, "two-workers")
        key_id = str(srv.client("kms").create_key()["KeyMetadata"]["KeyId"])
        admin(srv, "AddXksStoreKey", {"StoreId": store.store_id, "KeyId": key_id})
        body = {"requestMetadata": request_metadata("DescribeKey")}
        path = f"keys/{key_id}/metadata"
        assert settles({200}, lambda: call(srv, store, path, body)[0])  # both warm
        admin(srv, "RemoveXksStoreKey", {"StoreId": store.store_id, "KeyId": key_id})
        assert settles({404}, lambda: call(srv, store, path, body)[0])
        admin(srv, "RotateXksStoreCredentials", {"StoreId": store.store_id})
        admin(srv, "RotateXksStoreCredentials", {"StoreId": store.store_id})
        health = {"requestMetadata": {"kmsRequestId": "1", "kmsOperation": "KmsHealthCheck"}}
        assert settles({401}, lambda: call(srv, store, "health", health)[0])
    finally:
        srv.stop()
