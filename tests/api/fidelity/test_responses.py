"""Successful answers, member for member as AWS gives them (boto3, SQLite and PostgreSQL).

Each test names its evidence (the sources of ``cases.py``).
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.support.server import ACCOUNT_ID, REGION, CofreServer


def test_current_key_material_id_only_for_symmetric_encryption_keys(kms: Any) -> None:
    """MODEL KeyMetadata.CurrentKeyMaterialId: "present for symmetric encryption keys";
    SNAP test_import_key_hmac_keys and test_import_key_ecc_keys show none for the others."""
    symmetric = kms.create_key()["KeyMetadata"]
    assert len(symmetric["CurrentKeyMaterialId"]) == 64
    for spec, usage in (("RSA_2048", "SIGN_VERIFY"), ("HMAC_256", "GENERATE_VERIFY_MAC"),
                        ("ECC_NIST_P256", "KEY_AGREEMENT")):  # fmt: skip
        created = kms.create_key(KeySpec=spec, KeyUsage=usage)["KeyMetadata"]
        assert "CurrentKeyMaterialId" not in created
        described = kms.describe_key(KeyId=created["KeyId"])["KeyMetadata"]
        assert "CurrentKeyMaterialId" not in described and described["MultiRegion"] is False
        assert "MultiRegionConfiguration" not in described


def test_rotate_key_on_demand_answers_the_key_arn(kms: Any, key_id: str) -> None:
    """LS-T test_rotate_on_demand_returns_arn_for_key_id (validated 2025-11-06)."""
    arn = f"arn:aws:kms:{REGION}:{ACCOUNT_ID}:key/{key_id}"
    out = kms.rotate_key_on_demand(KeyId=key_id)
    del out["ResponseMetadata"]
    assert out == {"KeyId": arn}


def test_re_encrypt_between_symmetric_and_rsa_keys(kms: Any, key_id: str) -> None:
    """SNAP test_re_encrypt[RSA_2048-RSAES_OAEP_SHA_256] and [SYMMETRIC_DEFAULT-...]: the
    algorithms both ways, the source key's ARN; MODEL: SourceKeyMaterialId and
    DestinationKeyMaterialId only for symmetric keys."""
    rsa_a = kms.create_key(KeySpec="RSA_2048", KeyUsage="ENCRYPT_DECRYPT")["KeyMetadata"]
    rsa_b = kms.create_key(KeySpec="RSA_3072", KeyUsage="ENCRYPT_DECRYPT")["KeyMetadata"]
    oaep = "RSAES_OAEP_SHA_256"
    blob = kms.encrypt(KeyId=rsa_a["KeyId"], Plaintext=b"asym", EncryptionAlgorithm=oaep)
    # RSA -> RSA
    out = kms.re_encrypt(CiphertextBlob=blob["CiphertextBlob"], SourceKeyId=rsa_a["KeyId"],
                         SourceEncryptionAlgorithm=oaep, DestinationKeyId=rsa_b["KeyId"],
                         DestinationEncryptionAlgorithm="RSAES_OAEP_SHA_1")  # fmt: skip
    assert (out["SourceKeyId"], out["KeyId"]) == (rsa_a["Arn"], rsa_b["Arn"])
    assert (out["SourceEncryptionAlgorithm"], out["DestinationEncryptionAlgorithm"]) == (
        oaep, "RSAES_OAEP_SHA_1")  # fmt: skip
    assert "SourceKeyMaterialId" not in out and "DestinationKeyMaterialId" not in out
    opened = kms.decrypt(CiphertextBlob=out["CiphertextBlob"], KeyId=rsa_b["KeyId"],
                         EncryptionAlgorithm="RSAES_OAEP_SHA_1")  # fmt: skip
    assert opened["Plaintext"] == b"asym" and "KeyMaterialId" not in opened
    # RSA -> symmetric
    out = kms.re_encrypt(CiphertextBlob=blob["CiphertextBlob"], SourceKeyId=rsa_a["KeyId"],
                         SourceEncryptionAlgorithm=oaep, DestinationKeyId=key_id,
                         DestinationEncryptionContext={"to": "sym"})  # fmt: skip
    assert out["DestinationEncryptionAlgorithm"] == "SYMMETRIC_DEFAULT"
    assert len(out["DestinationKeyMaterialId"]) == 64 and "SourceKeyMaterialId" not in out
    back = kms.decrypt(CiphertextBlob=out["CiphertextBlob"], EncryptionContext={"to": "sym"})
    assert back["Plaintext"] == b"asym"
    # symmetric -> RSA
    out = kms.re_encrypt(CiphertextBlob=out["CiphertextBlob"],
                         SourceEncryptionContext={"to": "sym"}, DestinationKeyId=rsa_a["KeyId"],
                         DestinationEncryptionAlgorithm=oaep)  # fmt: skip
    assert (out["SourceEncryptionAlgorithm"], out["SourceKeyId"]) == (
        "SYMMETRIC_DEFAULT", f"arn:aws:kms:{REGION}:{ACCOUNT_ID}:key/{key_id}")  # fmt: skip
    assert len(out["SourceKeyMaterialId"]) == 64 and "DestinationKeyMaterialId" not in out
    opened = kms.decrypt(CiphertextBlob=out["CiphertextBlob"], KeyId=rsa_a["KeyId"],
                         EncryptionAlgorithm=oaep)  # fmt: skip
    assert opened["Plaintext"] == b"asym"
    # an RSA destination wants its algorithm, and takes no encryption context
    with pytest.raises(ClientError) as exc:
        kms.re_encrypt(CiphertextBlob=blob["CiphertextBlob"], SourceKeyId=rsa_a["KeyId"],
                       SourceEncryptionAlgorithm=oaep, DestinationKeyId=rsa_b["KeyId"])  # fmt: skip
    assert exc.value.response["Error"] == {
        "Code": "InvalidKeyUsageException",
        "Message": "Algorithm SYMMETRIC_DEFAULT is incompatible with key spec RSA_3072.",
    }


def test_parameter_name_is_echoed_as_asked(server: CofreServer) -> None:
    """LS-T test_put_parameters (validated): a parameter created as ``name`` read as
    ``/name`` answers ``/name``; read by ARN it answers the stored name."""
    ssm = server.client("ssm")
    name = f"echo{uuid.uuid4().hex[:12]}"
    ssm.put_parameter(Name=name, Value="v", Type="String")
    arn = f"arn:aws:ssm:{REGION}:{ACCOUNT_ID}:parameter/{name}"
    for asked, shown in ((name, name), (f"/{name}", f"/{name}"), (arn, name),
                         (f"/{name}:1", f"/{name}")):  # fmt: skip
        got = ssm.get_parameter(Name=asked)["Parameter"]
        assert (got["Name"], got["ARN"]) == (shown, arn), asked
    both = ssm.get_parameters(Names=[f"/{name}", name])
    assert sorted(p["Name"] for p in both["Parameters"]) == sorted([f"/{name}", name])
