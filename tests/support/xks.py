"""Helpers for the XKS tests: Cofre's admin API of key stores, and XKS Proxy API calls
signed with botocore's SigV4 signer for the service ``kms-xks-proxy``."""

from __future__ import annotations

import json
import ssl
from dataclasses import dataclass
from typing import Any

import httpx
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.support.server import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY, CofreServer

XKS_SERVICE = "kms-xks-proxy"
PRINCIPAL = "arn:aws:iam::123456789012:user/Alice"


def signed_post(
    url: str,
    body: bytes,
    access_key_id: str,
    secret: str,
    service: str,
    region: str = REGION,
    headers: dict[str, str] | None = None,
) -> AWSRequest:
    request = AWSRequest(method="POST", url=url, data=body, headers=headers or {})
    SigV4Auth(Credentials(access_key_id, secret), service, region).add_auth(request)
    return request


def admin(
    server: CofreServer,
    operation: str,
    payload: dict[str, str],
    *,
    key: tuple[str, str] = (ACCESS_KEY_ID, SECRET_ACCESS_KEY),
) -> tuple[int, Any]:
    """A CofreXks.<operation> call; (status, decoded body)."""
    body = json.dumps(payload).encode()
    request = signed_post(
        server.url + "/",
        body,
        key[0],
        key[1],
        "cofre",
        headers={
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": "CofreXks." + operation,
        },
    )
    response = httpx.post(
        request.url, content=body, headers=dict(request.headers.items()), verify=_verify(server)
    )
    return response.status_code, response.json()


def _verify(server: CofreServer) -> Any:
    if server.tls_cafile is None:
        return True
    return ssl.create_default_context(cafile=str(server.tls_cafile))


@dataclass(frozen=True)
class Store:
    store_id: str
    uri_path: str
    access_key_id: str
    secret: str


def create_store(server: CofreServer, name: str) -> Store:
    status, out = admin(server, "CreateXksStore", {"Name": name})
    assert status == 200, out
    return Store(out["StoreId"], out["UriPath"], out["AccessKeyId"], out["SecretAccessKey"])


def request_metadata(operation: str = "Encrypt", key_arn: str | None = None) -> dict[str, str]:
    out = {
        "awsPrincipalArn": PRINCIPAL,
        "kmsOperation": operation,
        "kmsRequestId": "4112f4d6-db54-4af4-ae30-c55a22a8dfae",
        "kmsViaService": "ebs",
    }
    if key_arn is not None:
        out["kmsKeyArn"] = key_arn
    return out


KMS_KEY_ARN = "arn:aws:kms:us-east-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def call(
    server: CofreServer,
    store: Store,
    suffix: str,
    document: dict[str, Any] | bytes,
    *,
    secret: str | None = None,
    access_key_id: str | None = None,
    service: str = XKS_SERVICE,
    path: str | None = None,
    method: str = "POST",
) -> tuple[int, Any]:
    """POST ``<uri_path>/<suffix>`` signed with the store's credential; (status, JSON)."""
    body = document if isinstance(document, bytes) else json.dumps(document).encode()
    url = server.url + (path if path is not None else store.uri_path) + "/" + suffix
    request = signed_post(
        url,
        body,
        access_key_id or store.access_key_id,
        secret or store.secret,
        service,
        headers={"Content-Type": "application/json"},
    )
    response = httpx.request(
        method,
        request.url,
        content=body,
        headers=dict(request.headers.items()),
        verify=_verify(server),
    )
    try:
        decoded = response.json()
    except ValueError:
        decoded = response.text
    return response.status_code, decoded


def encrypt_body(plaintext_b64: str, aad_b64: str | None = None, **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "requestMetadata": request_metadata("Encrypt", KMS_KEY_ARN),
        "plaintext": plaintext_b64,
        "encryptionAlgorithm": "AES_GCM",
        **extra,
    }
    if aad_b64 is not None:
        out["additionalAuthenticatedData"] = aad_b64
    return out


def decrypt_body(encrypted: dict[str, Any], aad_b64: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "requestMetadata": request_metadata("Decrypt", KMS_KEY_ARN),
        "encryptionAlgorithm": "AES_GCM",
        "ciphertext": encrypted["ciphertext"],
        "initializationVector": encrypted["initializationVector"],
        "authenticationTag": encrypted["authenticationTag"],
    }
    if "ciphertextMetadata" in encrypted:
        out["ciphertextMetadata"] = encrypted["ciphertextMetadata"]
    if aad_b64 is not None:
        out["additionalAuthenticatedData"] = aad_b64
    return out
