"""ED25519_PH_SHA_512 (Ed25519ph, RFC 8032 HashEdDSA) end to end: what Cofre signs is
checked by pycryptodome's HashEdDSA, and by OpenSSL where it offers Ed25519ph (3.2+)."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives import serialization

MESSAGE = b"the quick brown fox jumps over the lazy dog"
OPENSSL = shutil.which("openssl")


def code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def new_key(kms: Any, spec: str, usage: str) -> dict[str, Any]:
    return dict(kms.create_key(KeySpec=spec, KeyUsage=usage)["KeyMetadata"])


def openssl_has_ed25519ph() -> bool:
    """``-pkeyopt instance:Ed25519ph`` came with OpenSSL 3.2."""
    if OPENSSL is None:
        return False
    version = subprocess.run([OPENSSL, "version"], capture_output=True, text=True).stdout
    major, minor = (int(part) for part in version.split()[1].split(".")[:2])
    return (major, minor) >= (3, 2)


def test_ed25519ph_sign_and_verify(kms: Any, tmp_path: Path) -> None:
    from Crypto.Hash import SHA512
    from Crypto.Signature import eddsa

    meta = new_key(kms, "ECC_NIST_EDWARDS25519", "SIGN_VERIFY")
    assert meta["SigningAlgorithms"] == ["ED25519_SHA_512", "ED25519_PH_SHA_512"]
    digest = hashlib.sha512(MESSAGE).digest()
    signed = kms.sign(KeyId=meta["KeyId"], Message=digest, MessageType="DIGEST",
                      SigningAlgorithm="ED25519_PH_SHA_512")  # fmt: skip
    assert signed["SigningAlgorithm"] == "ED25519_PH_SHA_512"
    assert len(signed["Signature"]) == 64
    public: Any = serialization.load_der_public_key(
        kms.get_public_key(KeyId=meta["KeyId"])["PublicKey"]
    )
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    # A second implementation: pycryptodome's HashEdDSA over the message KMS signed (the
    # caller's digest, prehashed once more by KMS as the API reference says).
    eddsa.new(eddsa.import_public_key(raw), "rfc8032").verify(
        SHA512.new(digest), signed["Signature"]
    )
    if openssl_has_ed25519ph():
        assert OPENSSL is not None
        (tmp_path / "pub.der").write_bytes(kms.get_public_key(KeyId=meta["KeyId"])["PublicKey"])
        (tmp_path / "digest").write_bytes(digest)
        (tmp_path / "sig").write_bytes(signed["Signature"])
        done = subprocess.run(
            [OPENSSL, "pkeyutl", "-verify", "-pubin", "-keyform", "DER", "-inkey",
             str(tmp_path / "pub.der"), "-rawin", "-in", str(tmp_path / "digest"),
             "-sigfile", str(tmp_path / "sig"), "-pkeyopt", "instance:Ed25519ph"],
            capture_output=True, text=True,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
    ok = kms.verify(KeyId=meta["KeyId"], Message=digest, MessageType="DIGEST",
                    Signature=signed["Signature"],
                    SigningAlgorithm="ED25519_PH_SHA_512")  # fmt: skip
    assert ok["SignatureValid"] is True
    # Not pure Ed25519: the same bytes do not verify as ED25519_SHA_512.
    with pytest.raises(ClientError) as exc:
        kms.verify(KeyId=meta["KeyId"], Message=digest, MessageType="RAW",
                   Signature=signed["Signature"], SigningAlgorithm="ED25519_SHA_512")  # fmt: skip
    assert code(exc) == "KMSInvalidSignatureException"
    with pytest.raises(ClientError) as exc:
        kms.verify(KeyId=meta["KeyId"], Message=hashlib.sha512(b"other").digest(),
                   MessageType="DIGEST", Signature=signed["Signature"],
                   SigningAlgorithm="ED25519_PH_SHA_512")  # fmt: skip
    assert code(exc) == "KMSInvalidSignatureException"
    for message, message_type in ((MESSAGE, "RAW"), (digest[:32], "DIGEST"),
                                  (digest, "EXTERNAL_MU")):  # fmt: skip
        with pytest.raises(ClientError) as exc:
            kms.sign(KeyId=meta["KeyId"], Message=message, MessageType=message_type,
                     SigningAlgorithm="ED25519_PH_SHA_512")  # fmt: skip
        assert code(exc) == "ValidationException", message_type


@pytest.mark.skipif(not openssl_has_ed25519ph(), reason="needs OpenSSL 3.2+ (instance:Ed25519ph)")
def test_openssl_knows_ed25519ph() -> None:
    """Marks, in the test report, whether OpenSSL took part in checking Ed25519ph above."""
