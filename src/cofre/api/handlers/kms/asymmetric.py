"""KMS operations of asymmetric and HMAC keys, and of imported key material, on the wire."""

from __future__ import annotations

from cofre.api.handlers.operation import (
    Operation,
    Params,
    Result,
    grant_tokens,
    inline,
    refuse_recipient,
    threaded,
)
from cofre.container import Services
from cofre.core.iam.principals import Caller
from cofre.core.kms.imported import ImportedMaterial
from cofre.core.kms.keys import Key


def get_public_key(s: Services, c: Caller, p: Params) -> Result:
    info = s.asymmetric.get_public_key(c, p["KeyId"], grant_tokens(p))
    out: Result = {
        "KeyId": info.key_arn,
        "PublicKey": info.public_key,
        "CustomerMasterKeySpec": info.spec.spec,
        "KeySpec": info.spec.spec,
        "KeyUsage": info.key_usage,
    }
    algorithms = info.spec.algorithms[info.key_usage]
    member = {
        "ENCRYPT_DECRYPT": "EncryptionAlgorithms",
        "SIGN_VERIFY": "SigningAlgorithms",
        "KEY_AGREEMENT": "KeyAgreementAlgorithms",
    }[info.key_usage]
    out[member] = list(algorithms)
    return out


def sign(s: Services, c: Caller, p: Params) -> Result:
    arn, signature = s.asymmetric.sign(
        c,
        p["KeyId"],
        p["Message"],
        p.get("MessageType", "RAW"),
        p["SigningAlgorithm"],
        grant_tokens(p),
        bool(p.get("DryRun")),
    )
    return {"KeyId": arn, "Signature": signature, "SigningAlgorithm": p["SigningAlgorithm"]}


def verify(s: Services, c: Caller, p: Params) -> Result:
    arn = s.asymmetric.verify(
        c,
        p["KeyId"],
        p["Message"],
        p.get("MessageType", "RAW"),
        p["SigningAlgorithm"],
        p["Signature"],
        grant_tokens(p),
        bool(p.get("DryRun")),
    )
    return {"KeyId": arn, "SignatureValid": True, "SigningAlgorithm": p["SigningAlgorithm"]}


def generate_mac(s: Services, c: Caller, p: Params) -> Result:
    arn, tag = s.asymmetric.generate_mac(
        c, p["KeyId"], p["Message"], p["MacAlgorithm"], grant_tokens(p), bool(p.get("DryRun"))
    )
    return {"KeyId": arn, "Mac": tag, "MacAlgorithm": p["MacAlgorithm"]}


def verify_mac(s: Services, c: Caller, p: Params) -> Result:
    arn = s.asymmetric.verify_mac(
        c,
        p["KeyId"],
        p["Message"],
        p["MacAlgorithm"],
        p["Mac"],
        grant_tokens(p),
        bool(p.get("DryRun")),
    )
    return {"KeyId": arn, "MacValid": True, "MacAlgorithm": p["MacAlgorithm"]}


def derive_shared_secret(s: Services, c: Caller, p: Params) -> Result:
    refuse_recipient(p)
    arn, secret = s.asymmetric.derive_shared_secret(
        c,
        p["KeyId"],
        p["KeyAgreementAlgorithm"],
        p["PublicKey"],
        grant_tokens(p),
        bool(p.get("DryRun")),
    )
    return {
        "KeyId": arn,
        "SharedSecret": secret,
        "KeyAgreementAlgorithm": p["KeyAgreementAlgorithm"],
        "KeyOrigin": "AWS_KMS",
    }


def _pair(s: Services, c: Caller, p: Params, action: str) -> Result:
    pair = s.crypto.generate_data_key_pair(
        c,
        p["KeyId"],
        p["KeyPairSpec"],
        p.get("EncryptionContext"),
        bool(p.get("DryRun")),
        action,
        grant_tokens(p),
    )
    out: Result = {
        "PrivateKeyCiphertextBlob": pair.private_blob,
        "PublicKey": pair.public_key,
        "KeyId": pair.key_arn,
        "KeyPairSpec": p["KeyPairSpec"],
        "KeyMaterialId": pair.material_id,
    }
    if action == "kms:GenerateDataKeyPair":
        out["PrivateKeyPlaintext"] = pair.private_plaintext
    return out


def generate_data_key_pair(s: Services, c: Caller, p: Params) -> Result:
    refuse_recipient(p)
    return _pair(s, c, p, "kms:GenerateDataKeyPair")


def generate_data_key_pair_without_plaintext(s: Services, c: Caller, p: Params) -> Result:
    return _pair(s, c, p, "kms:GenerateDataKeyPairWithoutPlaintext")


def get_parameters_for_import(s: Services, c: Caller, p: Params) -> Result:
    found = s.imports.get_parameters_for_import(
        c, p["KeyId"], p["WrappingAlgorithm"], p["WrappingKeySpec"]
    )
    return {
        "KeyId": found.key_arn,
        "ImportToken": found.import_token,
        "PublicKey": found.public_key,
        "ParametersValidTo": found.valid_to,
    }


def import_key_material(s: Services, c: Caller, p: Params) -> Result:
    key, found = s.imports.import_key_material(
        c,
        p["KeyId"],
        p["ImportToken"],
        p["EncryptedKeyMaterial"],
        p.get("ExpirationModel"),
        p.get("ValidTo"),
        p.get("ImportType"),
        p.get("KeyMaterialId"),
        p.get("KeyMaterialDescription"),
    )
    return {"KeyId": key.arn, "KeyMaterialId": found.hex()}


def delete_imported_key_material(s: Services, c: Caller, p: Params) -> Result:
    key, deleted = s.imports.delete_imported_key_material(c, p["KeyId"], p.get("KeyMaterialId"))
    out: Result = {"KeyId": key.arn}
    if deleted is not None:
        out["KeyMaterialId"] = deleted.hex()
    return out


def imported_rotation_entry(key: Key, material: ImportedMaterial) -> Result:
    """A RotationsListEntry of an imported key (the members only EXTERNAL keys have)."""
    entry: Result = {
        "KeyId": key.key_id,
        "KeyMaterialId": material.material_id.hex(),
        "ImportState": "IMPORTED" if material.imported else "PENDING_IMPORT",
        "KeyMaterialState": material.state_in(key),
        "ExpirationModel": material.expiration_model,
    }
    if material.description is not None:
        entry["KeyMaterialDescription"] = material.description
    if material.valid_to is not None:
        entry["ValidTo"] = material.valid_to
    if material.rotation_type is not None and material.rotated_at is not None:
        entry["RotationDate"] = material.rotated_at
        entry["RotationType"] = material.rotation_type.value
    return entry


ASYMMETRIC_OPERATIONS: dict[str, Operation] = {
    "GetParametersForImport": threaded(get_parameters_for_import),
    "ImportKeyMaterial": threaded(import_key_material),
    "DeleteImportedKeyMaterial": threaded(delete_imported_key_material),
    "GetPublicKey": inline(get_public_key),
    # Private-key work that can take milliseconds (RSA, ML-DSA signing; key-pair generation)
    # runs in the thread pool, not on the event loop.
    "Sign": threaded(sign),
    "Verify": inline(verify),
    "GenerateMac": inline(generate_mac),
    "VerifyMac": inline(verify_mac),
    "DeriveSharedSecret": threaded(derive_shared_secret),
    "GenerateDataKeyPair": threaded(generate_data_key_pair),
    "GenerateDataKeyPairWithoutPlaintext": threaded(generate_data_key_pair_without_plaintext),
}
