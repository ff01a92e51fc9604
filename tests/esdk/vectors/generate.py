"""Generate tests/esdk/vectors/raw-aes-v2.json with the OFFICIAL aws-encryption-sdk.

Run: .venv/bin/python tests/esdk/vectors/generate.py
Imports nothing from Cofre: the messages are made by the official implementation and
checked by Cofre's in tests/esdk/test_vectors.py. The message id, data key and IVs are
random, so a rerun produces different (equally valid) ciphertexts: do not rerun to
"refresh" the file; add a new file for new cases.
"""

from __future__ import annotations

import json
from pathlib import Path

import aws_encryption_sdk
from aws_encryption_sdk.identifiers import (
    Algorithm,
    CommitmentPolicy,
    EncryptionKeyType,
    WrappingAlgorithm,
)
from aws_encryption_sdk.internal.crypto.wrapping_keys import WrappingKey
from aws_encryption_sdk.key_providers.raw import RawMasterKey

KEY = bytes(range(32))
NAMESPACE = "cofre-vectors"
NAME = "raw-aes-256-1"
CONTEXT = {"purpose": "golden vectors", "tenant": "ünïcode"}
PLAINTEXTS = {"empty": b"", "1000B": bytes(i % 251 for i in range(1000))}
SUITES = {
    "0578": Algorithm.AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384,
    "0478": Algorithm.AES_256_GCM_HKDF_SHA512_COMMIT_KEY,
}
FRAMES = {"framed512": 512, "nonframed": 0}


def master_key() -> RawMasterKey:
    return RawMasterKey(
        provider_id=NAMESPACE,
        key_id=NAME.encode(),
        wrapping_key=WrappingKey(
            wrapping_algorithm=WrappingAlgorithm.AES_256_GCM_IV12_TAG16_NO_PADDING,
            wrapping_key=KEY,
            wrapping_key_type=EncryptionKeyType.SYMMETRIC,
        ),
    )


def main() -> None:
    client = aws_encryption_sdk.EncryptionSDKClient(
        commitment_policy=CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT
    )
    key = master_key()
    out = []
    for suite_name, suite in SUITES.items():
        for frame_name, frame_length in FRAMES.items():
            for size_name, plaintext in PLAINTEXTS.items():
                message, header = client.encrypt(
                    source=plaintext,
                    key_provider=key,
                    encryption_context=CONTEXT,
                    algorithm=suite,
                    frame_length=frame_length,
                )
                check, _ = client.decrypt(source=message, key_provider=key)
                assert check == plaintext
                out.append(
                    {
                        "name": f"{suite_name}-{frame_name}-{size_name}",
                        "suite_id": suite.algorithm_id,
                        "frame_length": frame_length,
                        "key": KEY.hex(),
                        "key_namespace": NAMESPACE,
                        "key_name": NAME,
                        "encryption_context": CONTEXT,
                        "header_context": dict(sorted(header.encryption_context.items())),
                        "plaintext": plaintext.hex(),
                        "ciphertext": message.hex(),
                    }
                )
    path = Path(__file__).with_name("raw-aes-v2.json")
    doc = {
        "generator": f"aws-encryption-sdk {aws_encryption_sdk.__version__} (Python)",
        "vectors": out,
    }
    path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
