"""On-demand rotation of imported keys ("Rotate keys with imported key material"): new
material is staged with ImportType NEW_KEY_MATERIAL (PENDING_ROTATION), RotateKeyOnDemand
makes it current, every material the key was rotated to stays bound to it. Material is
made and wrapped with the openssl command line, as the KMS Developer Guide shows."""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.api.test_kms_import import OPENSSL, aws, code, run, wrap_with_openssl
from tests.support.server import CofreServer

pytestmark = pytest.mark.skipif(OPENSSL is None, reason="the openssl command line is needed")
ALGORITHM = "RSAES_OAEP_SHA_256"


def new_material(root: Path, name: str) -> Path:
    """A directory holding PlaintextKeyMaterial.bin: 32 random bytes from openssl."""
    assert OPENSSL is not None
    work = root / name
    work.mkdir()
    run(OPENSSL, "rand", "-out", "PlaintextKeyMaterial.bin", "32", cwd=work)
    return work


def wrapped(server: CofreServer, key_id: str, work: Path) -> dict[str, bytes]:
    """ImportToken and EncryptedKeyMaterial for the material in ``work``."""
    params = aws(server, "get-parameters-for-import", "--key-id", key_id,
                 "--wrapping-algorithm", ALGORITHM, "--wrapping-key-spec", "RSA_3072")  # fmt: skip
    (work / "WrappingPublicKey.bin").write_bytes(base64.b64decode(params["PublicKey"]))
    wrap_with_openssl(work, ALGORITHM)
    return {
        "ImportToken": base64.b64decode(params["ImportToken"]),
        "EncryptedKeyMaterial": (work / "EncryptedKeyMaterial.bin").read_bytes(),
    }


def put(kms: Any, server: CofreServer, key_id: str, work: Path, **extra: Any) -> str:
    extra.setdefault("ExpirationModel", "KEY_MATERIAL_DOES_NOT_EXPIRE")
    done = kms.import_key_material(KeyId=key_id, **wrapped(server, key_id, work), **extra)
    return str(done["KeyMaterialId"])


def materials(kms: Any, key_id: str, include: str = "ALL_KEY_MATERIAL") -> dict[str, Any]:
    rotations = kms.list_key_rotations(KeyId=key_id, IncludeKeyMaterial=include)["Rotations"]
    return {r["KeyMaterialId"]: r for r in rotations}


def fails(call: Any, expected: str) -> None:
    with pytest.raises(ClientError) as exc:
        call()
    assert code(exc) == expected


def test_rotate_imported_key_on_demand(server: CofreServer, kms: Any, tmp_path: Path) -> None:
    key_id = kms.create_key(Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
    first, second, third = (new_material(tmp_path, n) for n in ("a", "b", "c"))
    # The first import, with the AWS CLI: NEW_KEY_MATERIAL is the default for it.
    (first / "ImportToken.bin").write_bytes(wrapped(server, key_id, first)["ImportToken"])
    id_a = aws(server, "import-key-material", "--key-id", key_id,
               "--encrypted-key-material", f"fileb://{first / 'EncryptedKeyMaterial.bin'}",
               "--import-token", f"fileb://{first / 'ImportToken.bin'}",
               "--import-type", "NEW_KEY_MATERIAL", "--key-material-description", "first one",
               "--expiration-model", "KEY_MATERIAL_DOES_NOT_EXPIRE")["KeyMaterialId"]  # fmt: skip
    assert materials(kms, key_id) == {id_a: {
        "KeyId": key_id, "KeyMaterialId": id_a, "KeyMaterialDescription": "first one",
        "ImportState": "IMPORTED", "KeyMaterialState": "CURRENT",
        "ExpirationModel": "KEY_MATERIAL_DOES_NOT_EXPIRE"}}  # fmt: skip
    assert materials(kms, key_id, "ROTATIONS_ONLY") == {}
    old = kms.encrypt(KeyId=key_id, Plaintext=b"under a")
    assert old["KeyId"].endswith(key_id)

    # Misuse: nothing staged, material already bound, automatic rotation.
    fails(lambda: kms.rotate_key_on_demand(KeyId=key_id), "KMSInvalidStateException")
    fails(lambda: put(kms, server, key_id, first, ImportType="NEW_KEY_MATERIAL"),
          "IncorrectKeyMaterialException")  # fmt: skip
    fails(lambda: put(kms, server, key_id, second, ImportType="NEW_KEY_MATERIAL",
                      KeyMaterialId=id_a), "ValidationException")  # fmt: skip
    fails(lambda: put(kms, server, key_id, second), "IncorrectKeyMaterialException")
    fails(lambda: kms.enable_key_rotation(KeyId=key_id), "UnsupportedOperationException")

    # Staged: listed as PENDING_ROTATION, used for nothing yet.
    id_b = put(kms, server, key_id, second, ImportType="NEW_KEY_MATERIAL",
               KeyMaterialDescription="second one")  # fmt: skip
    assert id_b != id_a
    staged = materials(kms, key_id)
    assert staged[id_b]["KeyMaterialState"] == "PENDING_ROTATION"
    assert staged[id_b]["ImportState"] == "IMPORTED"
    assert "RotationDate" not in staged[id_b]
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["CurrentKeyMaterialId"] == id_a
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"x")["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=blob)["KeyMaterialId"] == id_a
    fails(lambda: put(kms, server, key_id, third, ImportType="NEW_KEY_MATERIAL"),
          "KMSInvalidStateException")  # one staged material at a time  # fmt: skip

    # The rotation: new ciphertexts use the new material, old ones still decrypt.
    assert kms.rotate_key_on_demand(KeyId=key_id)["KeyId"] == old["KeyId"]
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["CurrentKeyMaterialId"] == id_b
    new = kms.encrypt(KeyId=key_id, Plaintext=b"under b")["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=new)["KeyMaterialId"] == id_b
    opened = kms.decrypt(CiphertextBlob=old["CiphertextBlob"])
    assert (opened["Plaintext"], opened["KeyMaterialId"]) == (b"under a", id_a)
    rotated = materials(kms, key_id, "ROTATIONS_ONLY")
    assert list(rotated) == [id_b]
    assert rotated[id_b]["RotationType"] == "ON_DEMAND"
    assert rotated[id_b]["KeyMaterialState"] == "CURRENT"
    assert rotated[id_b]["RotationDate"] > datetime.now(UTC) - timedelta(minutes=5)
    assert materials(kms, key_id)[id_a]["KeyMaterialState"] == "NON_CURRENT"
    fails(lambda: kms.rotate_key_on_demand(KeyId=key_id), "KMSInvalidStateException")

    # Deleting any bound material (here the old one) makes the key unusable until reimport.
    deleted = kms.delete_imported_key_material(KeyId=key_id, KeyMaterialId=id_a)
    assert deleted["KeyMaterialId"] == id_a
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "PendingImport"
    assert materials(kms, key_id)[id_a]["ImportState"] == "PENDING_IMPORT"
    fails(lambda: kms.decrypt(CiphertextBlob=new), "KMSInvalidStateException")
    fails(lambda: put(kms, server, key_id, third, ImportType="NEW_KEY_MATERIAL"),
          "KMSInvalidStateException")  # fmt: skip
    fails(lambda: put(kms, server, key_id, first, KeyMaterialId=id_b),
          "IncorrectKeyMaterialException")  # fmt: skip
    assert put(kms, server, key_id, first, KeyMaterialId=id_a,
               ImportType="EXISTING_KEY_MATERIAL") == id_a  # fmt: skip
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Enabled"
    assert kms.decrypt(CiphertextBlob=old["CiphertextBlob"])["Plaintext"] == b"under a"
    assert kms.decrypt(CiphertextBlob=new)["Plaintext"] == b"under b"
    assert materials(kms, key_id)[id_a]["KeyMaterialDescription"] == "first one"  # kept

    # Staged material is not bound: it can be deleted and other material staged instead.
    id_c = put(kms, server, key_id, third, ImportType="NEW_KEY_MATERIAL")
    kms.delete_imported_key_material(KeyId=key_id, KeyMaterialId=id_c)
    assert id_c not in materials(kms, key_id)
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Enabled"
    fourth = new_material(tmp_path, "d")
    id_d = put(kms, server, key_id, fourth, ImportType="NEW_KEY_MATERIAL")
    assert materials(kms, key_id)[id_d]["KeyMaterialState"] == "PENDING_ROTATION"

    # Without KeyMaterialId the current material goes; an unknown id is not found.
    assert kms.delete_imported_key_material(KeyId=key_id)["KeyMaterialId"] == id_b
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "PendingImport"
    fails(lambda: kms.delete_imported_key_material(KeyId=key_id, KeyMaterialId="ab" * 32),
          "NotFoundException")  # fmt: skip
    put(kms, server, key_id, second)
    assert kms.decrypt(CiphertextBlob=new)["Plaintext"] == b"under b"


def test_staged_and_rotated_material_expire(server: CofreServer, kms: Any, tmp_path: Path) -> None:
    key_id = kms.create_key(Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
    first, second, third = (new_material(tmp_path, n) for n in ("a", "b", "c"))
    put(kms, server, key_id, first)
    soon = datetime.now(UTC) + timedelta(hours=1)
    later = datetime.now(UTC) + timedelta(hours=3)
    id_b = put(kms, server, key_id, second, ImportType="NEW_KEY_MATERIAL",
               ExpirationModel="KEY_MATERIAL_EXPIRES", ValidTo=soon)  # fmt: skip
    meta = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    assert meta["ExpirationModel"] == "KEY_MATERIAL_EXPIRES"
    # Staged material that expires is simply gone; the key stays usable.
    with server.clock_offset(2 * 3600):
        wait_for(lambda: id_b not in materials(kms, key_id), "the staged material did not expire")
        assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Enabled"
    assert "ValidTo" not in kms.describe_key(KeyId=key_id)["KeyMetadata"]

    # Rotated-to material that expires takes the key to PendingImport, like the first one.
    id_c = put(kms, server, key_id, third, ImportType="NEW_KEY_MATERIAL",
               ExpirationModel="KEY_MATERIAL_EXPIRES", ValidTo=later)  # fmt: skip
    kms.rotate_key_on_demand(KeyId=key_id)
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"short-lived")["CiphertextBlob"]
    valid_to = kms.describe_key(KeyId=key_id)["KeyMetadata"]["ValidTo"]
    assert abs(valid_to - later) < timedelta(seconds=1)  # the earliest expiry it holds
    with server.clock_offset(4 * 3600):
        wait_for(lambda: kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"]
                 == "PendingImport", "the rotated material did not expire")  # fmt: skip
    assert materials(kms, key_id)[id_c]["ImportState"] == "PENDING_IMPORT"
    fails(lambda: kms.decrypt(CiphertextBlob=blob), "KMSInvalidStateException")
    put(kms, server, key_id, third)  # the same material brings the key back
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"short-lived"
    assert materials(kms, key_id)[id_c]["KeyMaterialState"] == "CURRENT"


def wait_for(condition: Any, message: str) -> None:
    deadline = time.monotonic() + 15  # the background jobs run every 5 s
    while not condition():
        assert time.monotonic() < deadline, message
        time.sleep(0.5)
