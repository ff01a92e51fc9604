"""Algorithm suites and commitment policies: one table (framework/algorithm-suites.md)."""

from __future__ import annotations

import enum
import functools
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from cofre.esdk.errors import ConfigurationError


@dataclass(frozen=True)
class SuiteSpec:
    """One row of the algorithm suite table."""

    suite_id: int
    message_format_version: int
    key_length: int  # AES key length in bytes
    kdf_hash: type[hashes.HashAlgorithm] | None  # None: identity KDF
    committing: bool
    curve: type[ec.EllipticCurve] | None  # None: no signature
    signature_hash: type[hashes.HashAlgorithm] | None
    iv_length: int = 12
    tag_length: int = 16


_S256 = hashes.SHA256
_S384 = hashes.SHA384
_S512 = hashes.SHA512
_P256 = ec.SECP256R1
_P384 = ec.SECP384R1


class AlgorithmSuite(enum.Enum):
    """The ESDK algorithm suites; the value is the table row (derived properties are
    cached on the members: they are read for every message)."""

    # fmt: off
    #                                          id    ver key  kdf    commit curve  sighash
    AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384 = SuiteSpec(0x0578, 2, 32, _S512, True, _P384, _S384)  # noqa: E501
    AES_256_GCM_HKDF_SHA512_COMMIT_KEY = SuiteSpec(0x0478, 2, 32, _S512, True, None, None)
    AES_256_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384 = SuiteSpec(0x0378, 1, 32, _S384, False, _P384, _S384)  # noqa: E501
    AES_192_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384 = SuiteSpec(0x0346, 1, 24, _S384, False, _P384, _S384)  # noqa: E501
    AES_128_GCM_IV12_TAG16_HKDF_SHA256_ECDSA_P256 = SuiteSpec(0x0214, 1, 16, _S256, False, _P256, _S256)  # noqa: E501
    AES_256_GCM_IV12_TAG16_HKDF_SHA256 = SuiteSpec(0x0178, 1, 32, _S256, False, None, None)
    AES_192_GCM_IV12_TAG16_HKDF_SHA256 = SuiteSpec(0x0146, 1, 24, _S256, False, None, None)
    AES_128_GCM_IV12_TAG16_HKDF_SHA256 = SuiteSpec(0x0114, 1, 16, _S256, False, None, None)
    AES_256_GCM_IV12_TAG16_NO_KDF = SuiteSpec(0x0078, 1, 32, None, False, None, None)
    AES_192_GCM_IV12_TAG16_NO_KDF = SuiteSpec(0x0046, 1, 24, None, False, None, None)
    AES_128_GCM_IV12_TAG16_NO_KDF = SuiteSpec(0x0014, 1, 16, None, False, None, None)
    # fmt: on

    @functools.cached_property
    def spec(self) -> SuiteSpec:
        value: SuiteSpec = self.value
        return value

    @functools.cached_property
    def suite_id(self) -> int:
        return self.spec.suite_id

    @functools.cached_property
    def id_bytes(self) -> bytes:
        return self.spec.suite_id.to_bytes(2, "big")

    @functools.cached_property
    def message_format_version(self) -> int:
        return self.spec.message_format_version

    @functools.cached_property
    def data_key_length(self) -> int:
        """Key derivation input length: the length of the plaintext data key."""
        return self.spec.key_length

    @functools.cached_property
    def committing(self) -> bool:
        return self.spec.committing

    @functools.cached_property
    def signed(self) -> bool:
        return self.spec.curve is not None

    @functools.cached_property
    def message_id_length(self) -> int:
        # data-format/message-header.md#message-id: 16 bytes in v1, 32 bytes in v2
        return 32 if self.message_format_version == 2 else 16

    @functools.cached_property
    def suite_data_length(self) -> int:
        # data-format/message-header.md#algorithm-suite-data: the commit key, 32 bytes
        return 32 if self.committing else 0

    @classmethod
    def from_id(cls, suite_id: int) -> AlgorithmSuite:
        suite = _BY_ID.get(suite_id)
        if suite is None:
            raise ConfigurationError(f"unknown algorithm suite 0x{suite_id:04X}")
        return suite


_BY_ID: dict[int, AlgorithmSuite] = {s.suite_id: s for s in AlgorithmSuite}

DEFAULT_COMMITTING_SUITE = AlgorithmSuite.AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384
DEFAULT_NON_COMMITTING_SUITE = AlgorithmSuite.AES_256_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384


class CommitmentPolicy(enum.Enum):
    """client-apis/client.md#commitment-policy."""

    FORBID_ENCRYPT_ALLOW_DECRYPT = "FORBID_ENCRYPT_ALLOW_DECRYPT"
    REQUIRE_ENCRYPT_ALLOW_DECRYPT = "REQUIRE_ENCRYPT_ALLOW_DECRYPT"
    REQUIRE_ENCRYPT_REQUIRE_DECRYPT = "REQUIRE_ENCRYPT_REQUIRE_DECRYPT"

    @property
    def default_suite(self) -> AlgorithmSuite:
        if self is CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT:
            return DEFAULT_NON_COMMITTING_SUITE
        return DEFAULT_COMMITTING_SUITE

    def allows_encrypt(self, suite: AlgorithmSuite) -> bool:
        # client.md#commitment-policy: FORBID encrypts non-committing, REQUIRE_* committing
        if self is CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT:
            return not suite.committing
        return suite.committing

    def allows_decrypt(self, suite: AlgorithmSuite) -> bool:
        # client.md#commitment-policy: REQUIRE_ENCRYPT_REQUIRE_DECRYPT decrypts only committing
        if self is CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT:
            return suite.committing
        return True


DEFAULT_COMMITMENT_POLICY = CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT
