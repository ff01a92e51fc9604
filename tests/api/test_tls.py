"""HTTPS: ``cofre serve --tls-cert --tls-key`` with a self-signed certificate for 127.0.0.1.

boto3 trusting only that certificate does CreateKey, Encrypt and Decrypt; clients that do
not trust it, or speak plain HTTP to the TLS port, get nothing.
"""

from __future__ import annotations

import datetime
import ipaddress
import ssl
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from botocore.exceptions import BotoCoreError, SSLError
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.support.server import CofreServer


@dataclass(frozen=True)
class CertFiles:
    cert: Path
    key: Path


def make_self_signed(directory: Path) -> CertFiles:
    """A P-256 certificate for IP 127.0.0.1, valid for a day, signed by its own key."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    files = CertFiles(directory / "cert.pem", directory / "key.pem")
    files.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    files.key.chmod(0o600)
    return files


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> CertFiles:
    return make_self_signed(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module", params=[1, 2], ids=["1-worker", "2-workers"])
def tls_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, certs: CertFiles
) -> Iterator[CofreServer]:
    server = CofreServer(
        tmp_path_factory.mktemp("cofre-tls") / "data",
        workers=request.param,
        extra_args=("--tls-cert", str(certs.cert), "--tls-key", str(certs.key)),
        tls_cafile=certs.cert,
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_health_over_https(tls_server: CofreServer, certs: CertFiles) -> None:
    trust = ssl.create_default_context(cafile=str(certs.cert))
    response = httpx.get(f"https://127.0.0.1:{tls_server.port}/health", verify=trust, timeout=5)
    assert response.status_code == 200
    health = response.json()
    assert health["status"] == "ok" and health["sealed"] is False
    assert {health[part] for part in ("seal", "storage", "audit")} == {"ok"}


def test_boto3_over_https(tls_server: CofreServer, certs: CertFiles) -> None:
    kms = tls_server.client(verify=str(certs.cert))
    meta = kms.create_key(Description="over tls")["KeyMetadata"]
    assert meta["KeyState"] == "Enabled"
    blob = kms.encrypt(
        KeyId=meta["KeyId"], Plaintext=b"tls secret", EncryptionContext={"via": "https"}
    )["CiphertextBlob"]
    out = kms.decrypt(CiphertextBlob=blob, EncryptionContext={"via": "https"})
    assert out["Plaintext"] == b"tls secret"
    assert out["KeyId"] == meta["Arn"]


def test_untrusted_client_is_refused(tls_server: CofreServer) -> None:
    kms = tls_server.client(verify=None)  # default trust store only
    with pytest.raises(SSLError):
        kms.list_keys()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"https://127.0.0.1:{tls_server.port}/health", timeout=5)


def test_plain_http_to_tls_port_is_not_served(tls_server: CofreServer) -> None:
    kms = tls_server.client(endpoint_url=f"http://127.0.0.1:{tls_server.port}")
    with pytest.raises(BotoCoreError):
        kms.list_keys()
    # The server survives the garbage and still serves HTTPS.
    deadline = time.monotonic() + 5
    trust = ssl.create_default_context(cafile=str(tls_server.tls_cafile))
    while True:
        try:
            ok = httpx.get(f"{tls_server.url}/health", verify=trust, timeout=2).status_code
            break
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    assert ok == 200


def test_cert_without_key_is_refused(tmp_path: Path, certs: CertFiles) -> None:
    server = CofreServer(tmp_path / "data", extra_args=("--tls-cert", str(certs.cert)))
    with pytest.raises(RuntimeError, match="exited"):
        server.start()
    assert server.process is not None
    assert server.process.wait(timeout=15) != 0
    server.stop()
    assert "--tls-key" in server.log.read_text()
