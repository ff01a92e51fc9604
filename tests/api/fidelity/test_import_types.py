"""Imported key material of every type AWS allows, through boto3, SQLite and PostgreSQL.

The material as AWS specifies it ("Requirements for imported key material"; LocalStack's
validated tests test_import_key_asymmetric, test_import_key_ecc_keys,
test_import_key_hmac_keys, test_import_key_rsa_aes_wrap_sha256 -- inputs recorded against
real AWS): PKCS#8 DER private keys for RSA and ECC, raw bytes for HMAC; RSA private keys
wrapped with RSA_AES_KEY_WRAP_* (too long for RSA-OAEP), the rest with RSAES_OAEP_*.
The material is made and wrapped here with pyca/cryptography, and what the key does
afterwards is checked against the same library.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from typing import Any

import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from tests.support.wrapping import NEVER, import_into, pkcs8


def code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def external_key(kms: Any, spec: str, usage: str) -> str:
    meta = kms.create_key(Origin="EXTERNAL", KeySpec=spec, KeyUsage=usage)["KeyMetadata"]
    assert (meta["KeyState"], meta["Origin"]) == ("PendingImport", "EXTERNAL")
    return str(meta["KeyId"])


# (key spec, key usage, private key, wrapping algorithm, wrapping key spec): the
# combinations LocalStack validated against AWS, and RSA_AES wrapping of an ECC key.
ASYMMETRIC = [
    ("ECC_NIST_P256", "SIGN_VERIFY", lambda: ec.generate_private_key(ec.SECP256R1()),
     "RSAES_OAEP_SHA_256", "RSA_2048"),
    ("ECC_SECG_P256K1", "SIGN_VERIFY", lambda: ec.generate_private_key(ec.SECP256K1()),
     "RSAES_OAEP_SHA_1", "RSA_2048"),
    ("ECC_NIST_P384", "KEY_AGREEMENT", lambda: ec.generate_private_key(ec.SECP384R1()),
     "RSA_AES_KEY_WRAP_SHA_256", "RSA_2048"),
    ("ECC_NIST_P521", "SIGN_VERIFY", lambda: ec.generate_private_key(ec.SECP521R1()),
     "RSAES_OAEP_SHA_256", "RSA_3072"),
    ("RSA_2048", "ENCRYPT_DECRYPT", lambda: rsa.generate_private_key(65537, 2048),
     "RSA_AES_KEY_WRAP_SHA_256", "RSA_2048"),
    ("RSA_2048", "SIGN_VERIFY", lambda: rsa.generate_private_key(65537, 2048),
     "RSA_AES_KEY_WRAP_SHA_1", "RSA_2048"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("spec", "usage", "make", "algorithm", "wrapping_spec"),
    ASYMMETRIC,
    ids=[f"{a[0]}-{a[1]}" for a in ASYMMETRIC],
)
def test_asymmetric_import(
    kms: Any, spec: str, usage: str, make: Any, algorithm: str, wrapping_spec: str
) -> None:
    private = make()
    key_id = external_key(kms, spec, usage)
    out = import_into(kms, key_id, pkcs8(private), algorithm, wrapping_spec,
                      ExpirationModel=NEVER)  # fmt: skip
    assert len(out["KeyMaterialId"]) == 64
    meta = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    assert (meta["KeyState"], meta["ExpirationModel"]) == ("Enabled", NEVER)
    assert "CurrentKeyMaterialId" not in meta  # SNAP test_import_key_ecc_keys: symmetric only
    public = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert kms.get_public_key(KeyId=key_id)["PublicKey"] == public  # KMS derives it
    if usage == "SIGN_VERIFY":
        algo = kms.describe_key(KeyId=key_id)["KeyMetadata"]["SigningAlgorithms"][0]
        signature = kms.sign(KeyId=key_id, Message=b"msg", SigningAlgorithm=algo)["Signature"]
        if spec.startswith("RSA"):
            pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
            private.public_key().verify(signature, b"msg", pss, hashes.SHA256())
        else:
            chosen = {"ECDSA_SHA_256": hashes.SHA256(), "ECDSA_SHA_512": hashes.SHA512()}[algo]
            private.public_key().verify(signature, b"msg", ec.ECDSA(chosen))
    elif usage == "ENCRYPT_DECRYPT":
        oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(),
                            label=None)  # fmt: skip
        blob = private.public_key().encrypt(b"secret", oaep)
        opened = kms.decrypt(KeyId=key_id, CiphertextBlob=blob,
                             EncryptionAlgorithm="RSAES_OAEP_SHA_256")  # fmt: skip
        assert opened["Plaintext"] == b"secret" and "KeyMaterialId" not in opened
    else:
        peer = ec.generate_private_key(private.curve)
        peer_public = peer.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        secret = kms.derive_shared_secret(KeyId=key_id, KeyAgreementAlgorithm="ECDH",
                                          PublicKey=peer_public)["SharedSecret"]  # fmt: skip
        assert secret == peer.exchange(ec.ECDH(), private.public_key())
    # the material is the key's for good: the same again is fine, any other is not
    import_into(kms, key_id, pkcs8(private), algorithm, wrapping_spec, ExpirationModel=NEVER)
    with pytest.raises(ClientError) as exc:
        import_into(kms, key_id, pkcs8(make()), algorithm, wrapping_spec, ExpirationModel=NEVER)
    assert code(exc) == "IncorrectKeyMaterialException"


@pytest.mark.parametrize("bits", [224, 256, 384, 512])
def test_hmac_import(kms: Any, bits: int) -> None:
    """SNAP test_import_key_hmac_keys: raw bytes of the digest's length, RSAES_OAEP_SHA_256."""
    material = os.urandom(bits // 8)
    key_id = external_key(kms, f"HMAC_{bits}", "GENERATE_VERIFY_MAC")
    import_into(kms, key_id, material, "RSAES_OAEP_SHA_256", "RSA_2048", ExpirationModel=NEVER)
    tag = kms.generate_mac(KeyId=key_id, Message=b"msg", MacAlgorithm=f"HMAC_SHA_{bits}")["Mac"]
    assert tag == hmac.new(material, b"msg", getattr(hashlib, f"sha{bits}")).digest()
    assert "CurrentKeyMaterialId" not in kms.describe_key(KeyId=key_id)["KeyMetadata"]


def test_what_each_key_type_refuses(kms: Any) -> None:
    rsa_key = external_key(kms, "RSA_2048", "SIGN_VERIFY")
    with pytest.raises(ClientError) as exc:  # an RSA private key is too long for RSA-OAEP
        kms.get_parameters_for_import(KeyId=rsa_key, WrappingAlgorithm="RSAES_OAEP_SHA_256",
                                      WrappingKeySpec="RSA_4096")  # fmt: skip
    assert code(exc) == "ValidationException"
    p521 = external_key(kms, "ECC_NIST_P521", "SIGN_VERIFY")
    with pytest.raises(ClientError) as exc:  # API reference, WrappingKeySpec
        kms.get_parameters_for_import(KeyId=p521, WrappingAlgorithm="RSAES_OAEP_SHA_1",
                                      WrappingKeySpec="RSA_2048")  # fmt: skip
    assert code(exc) == "ValidationException"
    with pytest.raises(ClientError) as exc:  # not a key of the spec
        import_into(kms, rsa_key, pkcs8(ec.generate_private_key(ec.SECP256R1())),
                    "RSA_AES_KEY_WRAP_SHA_256", "RSA_2048", ExpirationModel=NEVER)  # fmt: skip
    assert code(exc) == "IncorrectKeyMaterialException"
    hmac_key = external_key(kms, "HMAC_256", "GENERATE_VERIFY_MAC")
    with pytest.raises(ClientError) as exc:  # symmetric encryption keys only
        import_into(kms, hmac_key, os.urandom(32), "RSAES_OAEP_SHA_256", "RSA_2048",
                    ExpirationModel=NEVER, ImportType="NEW_KEY_MATERIAL")  # fmt: skip
    assert code(exc) == "ValidationException"
    with pytest.raises(ClientError) as exc:
        import_into(kms, hmac_key, os.urandom(16), "RSAES_OAEP_SHA_256", "RSA_2048",
                    ExpirationModel=NEVER)  # fmt: skip
    assert code(exc) == "IncorrectKeyMaterialException"
    with pytest.raises(ClientError) as exc:  # Ed25519 keys take no imported material here
        kms.create_key(Origin="EXTERNAL", KeySpec="ECC_NIST_EDWARDS25519", KeyUsage="SIGN_VERIFY")
    assert code(exc) == "UnsupportedOperationException"
