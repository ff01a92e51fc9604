"""Key specs as a table: what each spec is for and which algorithms each usage offers.

The rows follow the KMS Developer Guide ("Key spec reference") and DescribeKey's output:
an RSA key made for ENCRYPT_DECRYPT lists only its encryption algorithms, the same spec
made for SIGN_VERIFY only its signing algorithms.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Family(StrEnum):
    SYMMETRIC = "symmetric"
    RSA = "rsa"
    EC = "ec"
    ED25519 = "ed25519"
    ML_DSA = "ml-dsa"
    HMAC = "hmac"


ENCRYPT_DECRYPT = "ENCRYPT_DECRYPT"
SIGN_VERIFY = "SIGN_VERIFY"
GENERATE_VERIFY_MAC = "GENERATE_VERIFY_MAC"
KEY_AGREEMENT = "KEY_AGREEMENT"

_RSA_SIGNING = (
    "RSASSA_PSS_SHA_256",
    "RSASSA_PSS_SHA_384",
    "RSASSA_PSS_SHA_512",
    "RSASSA_PKCS1_V1_5_SHA_256",
    "RSASSA_PKCS1_V1_5_SHA_384",
    "RSASSA_PKCS1_V1_5_SHA_512",
)
_RSA_ENCRYPTION = ("RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256")


@dataclass(frozen=True, slots=True)
class KeySpecInfo:
    """One row of KEY_SPECS. ``algorithms`` maps each usage to what it offers."""

    spec: str
    family: Family
    algorithms: dict[str, tuple[str, ...]]
    size: int  # bits: RSA modulus, curve size, HMAC key length, AES key length

    @property
    def usages(self) -> tuple[str, ...]:
        return tuple(self.algorithms)

    @property
    def material_bytes(self) -> int:
        return self.size // 8

    def offers(self, usage: str, algorithm: str) -> bool:
        return algorithm in self.algorithms.get(usage, ())


def _rsa(bits: int) -> KeySpecInfo:
    return KeySpecInfo(
        f"RSA_{bits}",
        Family.RSA,
        {ENCRYPT_DECRYPT: _RSA_ENCRYPTION, SIGN_VERIFY: _RSA_SIGNING},
        bits,
    )


def _ec(spec: str, bits: int, signing: str, agreement: bool = True) -> KeySpecInfo:
    usages: dict[str, tuple[str, ...]] = {SIGN_VERIFY: (signing,)}
    if agreement:
        usages[KEY_AGREEMENT] = ("ECDH",)
    return KeySpecInfo(spec, Family.EC, usages, bits)


def _hmac(bits: int) -> KeySpecInfo:
    return KeySpecInfo(
        f"HMAC_{bits}", Family.HMAC, {GENERATE_VERIFY_MAC: (f"HMAC_SHA_{bits}",)}, bits
    )


def _ml_dsa(level: int, bits: int) -> KeySpecInfo:
    return KeySpecInfo(f"ML_DSA_{level}", Family.ML_DSA, {SIGN_VERIFY: ("ML_DSA_SHAKE_256",)}, bits)


KEY_SPECS: dict[str, KeySpecInfo] = {
    info.spec: info
    for info in (
        KeySpecInfo(
            "SYMMETRIC_DEFAULT", Family.SYMMETRIC, {ENCRYPT_DECRYPT: ("SYMMETRIC_DEFAULT",)}, 256
        ),
        _rsa(2048),
        _rsa(3072),
        _rsa(4096),
        _ec("ECC_NIST_P256", 256, "ECDSA_SHA_256"),
        _ec("ECC_NIST_P384", 384, "ECDSA_SHA_384"),
        _ec("ECC_NIST_P521", 521, "ECDSA_SHA_512"),
        _ec("ECC_SECG_P256K1", 256, "ECDSA_SHA_256", agreement=False),
        KeySpecInfo(
            "ECC_NIST_EDWARDS25519",
            Family.ED25519,
            {SIGN_VERIFY: ("ED25519_SHA_512", "ED25519_PH_SHA_512")},
            256,
        ),
        _ml_dsa(44, 128),
        _ml_dsa(65, 192),
        _ml_dsa(87, 256),
        _hmac(224),
        _hmac(256),
        _hmac(384),
        _hmac(512),
    )
}

# Key material of these families can be imported (Origin EXTERNAL): "symmetric encryption
# KMS key, HMAC KMS key, asymmetric encryption KMS key, asymmetric key agreement key, or
# asymmetric signing KMS key" -- RSA, and ECC on the NIST and SECG curves (ImportKeyMaterial
# API reference; "Requirements for imported key material").
IMPORTABLE_FAMILIES = frozenset({Family.SYMMETRIC, Family.HMAC, Family.RSA, Family.EC})

# Specs of the service model Cofre does not serve, and why (the answer CreateKey gives).
REFUSED_SPECS = {
    "SM2": "SM2 keys are available only in the AWS China Regions.",
}

# GenerateDataKeyPair: the pairs it makes (KeyPairSpec values).
DATA_KEY_PAIR_SPECS = (
    "RSA_2048",
    "RSA_3072",
    "RSA_4096",
    "ECC_NIST_P256",
    "ECC_NIST_P384",
    "ECC_NIST_P521",
    "ECC_SECG_P256K1",
    "ECC_NIST_EDWARDS25519",
)
