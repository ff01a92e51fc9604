"""Default cryptographic materials manager (framework/default-cmm.md)."""

from __future__ import annotations

from collections.abc import Mapping

from cofre.esdk.context import PUBLIC_KEY_FIELD
from cofre.esdk.crypto import decode_public_key, encode_public_key, generate_signing_key
from cofre.esdk.errors import NO_DATA_KEY, ConfigurationError, DecryptError, EncryptError
from cofre.esdk.materials import (
    DecryptionMaterials,
    DecryptMaterialsRequest,
    EncryptionMaterials,
    EncryptionMaterialsRequest,
    Keyring,
)


class DefaultCmm:
    """Chooses the suite, adds the signing key, and delegates data keys to a keyring."""

    def __init__(self, keyring: Keyring) -> None:
        self.keyring = keyring

    def get_encryption_materials(self, request: EncryptionMaterialsRequest) -> EncryptionMaterials:
        policy = request.commitment_policy
        suite = request.algorithm_suite or policy.default_suite
        # default-cmm.md#get-encryption-materials: the suite MUST satisfy the commitment policy
        if not policy.allows_encrypt(suite):
            raise ConfigurationError(
                f"algorithm suite 0x{suite.suite_id:04X} is not allowed by {policy.value}"
            )
        context = dict(request.encryption_context)
        # default-cmm.md: the context MUST NOT already contain the public key field
        if PUBLIC_KEY_FIELD in context:
            raise ConfigurationError(f"encryption context may not contain {PUBLIC_KEY_FIELD}")
        signing_key = None
        if suite.signed:
            signing_key = generate_signing_key(suite)
            context[PUBLIC_KEY_FIELD] = encode_public_key(signing_key.public_key())
        required = request.required_encryption_context_keys
        # required-encryption-context-cmm.md: the request's required keys go into the materials
        if any(key not in context for key in required):
            raise EncryptError("a required encryption context key has no value")
        materials = EncryptionMaterials(
            suite, context, signing_key=signing_key, required_encryption_context_keys=required
        )
        materials = self.keyring.on_encrypt(materials)
        # default-cmm.md: the materials MUST hold a data key and at least one encrypted data key
        if materials.plaintext_data_key is None or not materials.encrypted_data_keys:
            raise EncryptError("keyring produced no data key or no encrypted data key")
        return materials

    def decrypt_materials(self, request: DecryptMaterialsRequest) -> DecryptionMaterials:
        suite = request.algorithm_suite
        # default-cmm.md#decrypt-materials: the suite MUST satisfy the commitment policy
        if not request.commitment_policy.allows_decrypt(suite):
            raise DecryptError("algorithm suite is not allowed by the commitment policy")
        context, required = _merge_reproduced(
            request.encryption_context, request.reproduced_encryption_context
        )
        verification_key = None
        if suite.signed:
            # default-cmm.md: a signed suite MUST carry the public key in the context
            if PUBLIC_KEY_FIELD not in context:
                raise DecryptError("malformed message: missing signature public key")
            verification_key = decode_public_key(suite, context[PUBLIC_KEY_FIELD])
        elif PUBLIC_KEY_FIELD in context:
            raise DecryptError("malformed message: unexpected signature public key")
        materials = DecryptionMaterials(
            suite,
            context,
            verification_key=verification_key,
            required_encryption_context_keys=required,
        )
        materials = self.keyring.on_decrypt(materials, request.encrypted_data_keys)
        if materials.plaintext_data_key is None:
            raise DecryptError(NO_DATA_KEY)
        return materials


def _merge_reproduced(
    stored: Mapping[str, str], reproduced: Mapping[str, str] | None
) -> tuple[dict[str, str], tuple[str, ...]]:
    """The materials' context (stored and reproduced pairs) and the keys only reproduced.

    changes/2022-11-14_encryption_context_on_decrypt (default CMM): a key in both MUST have
    equal values; keys only in the reproduced context become required keys, which the
    header tag authenticates although the message does not store them.
    """
    context = dict(stored)
    required: list[str] = []
    for key, value in (reproduced or {}).items():
        if key in context:
            if context[key] != value:
                raise DecryptError("encryption context does not match the message")
        else:
            context[key] = value
            required.append(key)
    return context, tuple(required)
