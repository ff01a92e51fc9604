"""Asymmetric and HMAC keys end to end, checked by a second implementation: OpenSSL's
command line and pyca/cryptography verify what Cofre signs; what they encrypt Cofre
decrypts; ECDH secrets match a local computation."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, utils

from tests.support.server import CofreServer

MESSAGE = b"the quick brown fox jumps over the lazy dog"
KMS_MODEL = botocore.session.get_session().get_service_model("kms")
OPENSSL = shutil.which("openssl")


def code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def enum(shape: str) -> list[str]:
    return list(KMS_MODEL.shape_for(shape).enum)


def new_key(kms: Any, spec: str, usage: str) -> dict[str, Any]:
    return dict(kms.create_key(KeySpec=spec, KeyUsage=usage)["KeyMetadata"])


SIGNING = [
    ("RSA_2048", "RSASSA_PSS_SHA_256"),
    ("RSA_2048", "RSASSA_PKCS1_V1_5_SHA_256"),
    ("RSA_3072", "RSASSA_PSS_SHA_384"),
    ("RSA_4096", "RSASSA_PKCS1_V1_5_SHA_512"),
    ("ECC_NIST_P256", "ECDSA_SHA_256"),
    ("ECC_NIST_P384", "ECDSA_SHA_384"),
    ("ECC_NIST_P521", "ECDSA_SHA_512"),
    ("ECC_SECG_P256K1", "ECDSA_SHA_256"),
    ("ECC_NIST_EDWARDS25519", "ED25519_SHA_512"),
    ("ML_DSA_44", "ML_DSA_SHAKE_256"),
    ("ML_DSA_65", "ML_DSA_SHAKE_256"),
    ("ML_DSA_87", "ML_DSA_SHAKE_256"),
]


def _digest(algorithm: str) -> Any:
    return {"256": hashes.SHA256, "384": hashes.SHA384, "512": hashes.SHA512}[
        algorithm.rsplit("_", 1)[-1]
    ]()


def local_verify(public_der: bytes, algorithm: str, message: bytes, signature: bytes) -> None:
    public: Any = serialization.load_der_public_key(public_der)
    if algorithm.startswith("RSASSA_PSS"):
        digest = _digest(algorithm)
        pss = padding.PSS(mgf=padding.MGF1(digest), salt_length=digest.digest_size)
        public.verify(signature, message, pss, digest)
    elif algorithm.startswith("RSASSA_PKCS1"):
        public.verify(signature, message, padding.PKCS1v15(), _digest(algorithm))
    elif algorithm.startswith("ECDSA"):
        public.verify(signature, message, ec.ECDSA(_digest(algorithm)))
    else:  # Ed25519, ML-DSA
        public.verify(signature, message)


def openssl_verify(tmp: Path, public_der: bytes, algorithm: str, signature: bytes) -> None:
    """``openssl dgst -verify`` (RSA, ECDSA) or ``pkeyutl -verify -rawin`` (Ed25519)."""
    assert OPENSSL is not None
    (tmp / "pub.der").write_bytes(public_der)
    (tmp / "msg").write_bytes(MESSAGE)
    (tmp / "sig").write_bytes(signature)
    subprocess.run([OPENSSL, "pkey", "-pubin", "-inform", "DER", "-in", str(tmp / "pub.der"),
                    "-out", str(tmp / "pub.pem")], check=True, capture_output=True)  # fmt: skip
    if algorithm.startswith("ED25519"):
        args = [OPENSSL, "pkeyutl", "-verify", "-pubin", "-inkey", str(tmp / "pub.pem"),
                "-rawin", "-in", str(tmp / "msg"), "-sigfile", str(tmp / "sig")]  # fmt: skip
    else:
        bits = algorithm.rsplit("_", 1)[-1]
        args = [OPENSSL, "dgst", f"-sha{bits}", "-verify", str(tmp / "pub.pem"),
                "-signature", str(tmp / "sig")]  # fmt: skip
        if algorithm.startswith("RSASSA_PSS"):
            args += ["-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:digest"]
        args.append(str(tmp / "msg"))
    done = subprocess.run(args, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Verified OK" in done.stdout or "Signature Verified Successfully" in done.stdout


@pytest.mark.parametrize(("spec", "algorithm"), SIGNING)
def test_sign_verify_checked_outside(
    server: CofreServer, kms: Any, spec: str, algorithm: str, tmp_path: Path
) -> None:
    meta = new_key(kms, spec, "SIGN_VERIFY")
    assert algorithm in meta["SigningAlgorithms"]
    assert "EncryptionAlgorithms" not in meta
    public = kms.get_public_key(KeyId=meta["KeyId"])
    assert public["KeySpec"] == spec and public["KeyUsage"] == "SIGN_VERIFY"
    assert public["SigningAlgorithms"] == meta["SigningAlgorithms"]
    signed = kms.sign(
        KeyId=meta["KeyId"], Message=MESSAGE, MessageType="RAW", SigningAlgorithm=algorithm
    )
    assert signed["KeyId"] == meta["Arn"]
    local_verify(public["PublicKey"], algorithm, MESSAGE, signed["Signature"])
    if OPENSSL is not None and not spec.startswith("ML_DSA"):
        openssl_verify(tmp_path, public["PublicKey"], algorithm, signed["Signature"])
    ok = kms.verify(
        KeyId=meta["KeyId"],
        Message=MESSAGE,
        MessageType="RAW",
        Signature=signed["Signature"],
        SigningAlgorithm=algorithm,
    )
    assert ok["SignatureValid"] is True
    with pytest.raises(ClientError) as exc:
        kms.verify(
            KeyId=meta["KeyId"],
            Message=MESSAGE + b"!",
            MessageType="RAW",
            Signature=signed["Signature"],
            SigningAlgorithm=algorithm,
        )
    assert code(exc) == "KMSInvalidSignatureException"


@pytest.mark.parametrize(
    ("spec", "algorithm"),
    [("RSA_2048", "RSASSA_PSS_SHA_256"), ("ECC_NIST_P384", "ECDSA_SHA_384")],
)
def test_sign_digest(kms: Any, spec: str, algorithm: str) -> None:
    meta = new_key(kms, spec, "SIGN_VERIFY")
    digest_name = {"256": "sha256", "384": "sha384"}[algorithm.rsplit("_", 1)[-1]]
    digest = hashlib.new(digest_name, MESSAGE).digest()
    signed = kms.sign(
        KeyId=meta["KeyId"], Message=digest, MessageType="DIGEST", SigningAlgorithm=algorithm
    )
    public: Any = serialization.load_der_public_key(
        kms.get_public_key(KeyId=meta["KeyId"])["PublicKey"]
    )
    prehashed = utils.Prehashed(_digest(algorithm))
    if spec.startswith("RSA"):
        pss = padding.PSS(mgf=padding.MGF1(_digest(algorithm)), salt_length=32)
        public.verify(signed["Signature"], digest, pss, prehashed)
    else:
        public.verify(signed["Signature"], digest, ec.ECDSA(prehashed))
    # A signature over the digest verifies the raw message too.
    kms.verify(KeyId=meta["KeyId"], Message=MESSAGE, MessageType="RAW",
               Signature=signed["Signature"], SigningAlgorithm=algorithm)  # fmt: skip
    with pytest.raises(ClientError) as exc:
        kms.sign(KeyId=meta["KeyId"], Message=digest[:-1], MessageType="DIGEST",
                 SigningAlgorithm=algorithm)  # fmt: skip
    assert code(exc) == "ValidationException"


def test_ml_dsa_external_mu(kms: Any) -> None:
    from cryptography.hazmat.primitives.asymmetric import mldsa

    meta = new_key(kms, "ML_DSA_65", "SIGN_VERIFY")
    public: Any = serialization.load_der_public_key(
        kms.get_public_key(KeyId=meta["KeyId"])["PublicKey"]
    )
    hasher = mldsa.MLDSAMuHasher(public)
    hasher.update(MESSAGE)
    mu = hasher.finalize()
    signed = kms.sign(KeyId=meta["KeyId"], Message=mu, MessageType="EXTERNAL_MU",
                      SigningAlgorithm="ML_DSA_SHAKE_256")  # fmt: skip
    public.verify(signed["Signature"], MESSAGE)


@pytest.mark.parametrize("spec", ["RSA_2048", "RSA_3072", "RSA_4096"])
@pytest.mark.parametrize("algorithm", ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"])
def test_rsa_encryption_both_ways(kms: Any, spec: str, algorithm: str) -> None:
    meta = new_key(kms, spec, "ENCRYPT_DECRYPT")
    assert meta["EncryptionAlgorithms"] == ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"]
    public: Any = serialization.load_der_public_key(
        kms.get_public_key(KeyId=meta["KeyId"])["PublicKey"]
    )
    digest = hashes.SHA1() if algorithm.endswith("SHA_1") else hashes.SHA256()
    oaep = padding.OAEP(mgf=padding.MGF1(digest), algorithm=digest, label=None)
    outside = public.encrypt(b"made outside", oaep)
    opened = kms.decrypt(KeyId=meta["KeyId"], CiphertextBlob=outside, EncryptionAlgorithm=algorithm)
    assert opened["Plaintext"] == b"made outside"
    assert opened["EncryptionAlgorithm"] == algorithm
    inside = kms.encrypt(
        KeyId=meta["KeyId"], Plaintext=b"made inside", EncryptionAlgorithm=algorithm
    )
    assert inside["EncryptionAlgorithm"] == algorithm
    again = kms.decrypt(KeyId=meta["KeyId"], CiphertextBlob=inside["CiphertextBlob"],
                        EncryptionAlgorithm=algorithm)  # fmt: skip
    assert again["Plaintext"] == b"made inside"
    limit = int(spec.split("_")[1]) // 8 - 2 * digest.digest_size - 2
    kms.encrypt(KeyId=meta["KeyId"], Plaintext=b"x" * limit, EncryptionAlgorithm=algorithm)
    with pytest.raises(ClientError) as exc:
        kms.encrypt(
            KeyId=meta["KeyId"], Plaintext=b"x" * (limit + 1), EncryptionAlgorithm=algorithm
        )
    assert code(exc) == "ValidationException"
    with pytest.raises(ClientError) as exc:
        kms.decrypt(KeyId=meta["KeyId"], CiphertextBlob=outside[:-1] + bytes([outside[-1] ^ 1]),
                    EncryptionAlgorithm=algorithm)  # fmt: skip
    assert code(exc) == "InvalidCiphertextException"


@pytest.mark.parametrize(
    ("spec", "curve"),
    [("ECC_NIST_P256", ec.SECP256R1()), ("ECC_NIST_P384", ec.SECP384R1()),
     ("ECC_NIST_P521", ec.SECP521R1())],
)  # fmt: skip
def test_ecdh_matches_a_local_computation(kms: Any, spec: str, curve: Any) -> None:
    meta = new_key(kms, spec, "KEY_AGREEMENT")
    assert meta["KeyAgreementAlgorithms"] == ["ECDH"]
    ours = ec.generate_private_key(curve)
    our_public = ours.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    derived = kms.derive_shared_secret(
        KeyId=meta["KeyId"], KeyAgreementAlgorithm="ECDH", PublicKey=our_public
    )
    theirs: Any = serialization.load_der_public_key(
        kms.get_public_key(KeyId=meta["KeyId"])["PublicKey"]
    )
    assert derived["SharedSecret"] == ours.exchange(ec.ECDH(), theirs)
    other_curve = (
        ec.generate_private_key(ec.SECP256K1())
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    with pytest.raises(ClientError) as exc:
        kms.derive_shared_secret(
            KeyId=meta["KeyId"], KeyAgreementAlgorithm="ECDH", PublicKey=other_curve
        )
    assert code(exc) == "ValidationException"


@pytest.mark.parametrize("bits", [224, 256, 384, 512])
def test_hmac(kms: Any, bits: int) -> None:
    meta = new_key(kms, f"HMAC_{bits}", "GENERATE_VERIFY_MAC")
    algorithm = f"HMAC_SHA_{bits}"
    assert meta["MacAlgorithms"] == [algorithm]
    tag = kms.generate_mac(KeyId=meta["KeyId"], Message=MESSAGE, MacAlgorithm=algorithm)["Mac"]
    assert len(tag) == bits // 8
    assert (
        kms.generate_mac(KeyId=meta["KeyId"], Message=MESSAGE, MacAlgorithm=algorithm)["Mac"] == tag
    )  # deterministic
    ok = kms.verify_mac(KeyId=meta["KeyId"], Message=MESSAGE, MacAlgorithm=algorithm, Mac=tag)
    assert ok["MacValid"] is True
    with pytest.raises(ClientError) as exc:
        kms.verify_mac(KeyId=meta["KeyId"], Message=MESSAGE + b"!", MacAlgorithm=algorithm,
                       Mac=tag)  # fmt: skip
    assert code(exc) == "KMSInvalidMacException"
    with pytest.raises(ClientError) as exc:
        kms.get_public_key(KeyId=meta["KeyId"])
    assert code(exc) == "UnsupportedOperationException"


@pytest.mark.parametrize("pair_spec", ["RSA_2048", "ECC_NIST_P256", "ECC_NIST_EDWARDS25519"])
def test_generate_data_key_pair(kms: Any, key_id: str, pair_spec: str) -> None:
    pair = kms.generate_data_key_pair(
        KeyId=key_id, KeyPairSpec=pair_spec, EncryptionContext={"purpose": "test"}
    )
    private: Any = serialization.load_der_private_key(pair["PrivateKeyPlaintext"], None)
    assert (
        private.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        == pair["PublicKey"]
    )
    opened = kms.decrypt(
        CiphertextBlob=pair["PrivateKeyCiphertextBlob"], EncryptionContext={"purpose": "test"}
    )
    assert opened["Plaintext"] == pair["PrivateKeyPlaintext"]
    bare = kms.generate_data_key_pair_without_plaintext(KeyId=key_id, KeyPairSpec=pair_spec)
    assert "PrivateKeyPlaintext" not in bare
    assert bare["PublicKey"] and bare["PrivateKeyCiphertextBlob"]
    signing = new_key(kms, "ECC_NIST_P256", "SIGN_VERIFY")
    with pytest.raises(ClientError) as exc:
        kms.generate_data_key_pair(KeyId=signing["KeyId"], KeyPairSpec=pair_spec)
    assert code(exc) == "InvalidKeyUsageException"


# Every key spec x usage, and every algorithm, of the service model ------------------------
def test_every_spec_and_usage_of_the_model(kms: Any) -> None:
    expected = {
        "SYMMETRIC_DEFAULT": {"ENCRYPT_DECRYPT"},
        **{f"RSA_{b}": {"ENCRYPT_DECRYPT", "SIGN_VERIFY"} for b in (2048, 3072, 4096)},
        **{s: {"SIGN_VERIFY", "KEY_AGREEMENT"}
           for s in ("ECC_NIST_P256", "ECC_NIST_P384", "ECC_NIST_P521")},
        "ECC_SECG_P256K1": {"SIGN_VERIFY"},
        "ECC_NIST_EDWARDS25519": {"SIGN_VERIFY"},
        **{f"ML_DSA_{n}": {"SIGN_VERIFY"} for n in (44, 65, 87)},
        **{f"HMAC_{b}": {"GENERATE_VERIFY_MAC"} for b in (224, 256, 384, 512)},
    }  # fmt: skip
    for spec in enum("KeySpec"):
        for usage in enum("KeyUsageType"):
            try:
                kms.create_key(KeySpec=spec, KeyUsage=usage)
            except ClientError as exc:
                got = exc.response["Error"]["Code"]
                assert usage not in expected.get(spec, set()), (spec, usage, got)
                assert got in ("ValidationException", "UnsupportedOperationException")
            else:
                assert usage in expected.get(spec, set()), (spec, usage)


def test_every_signing_algorithm_on_every_signing_spec(kms: Any) -> None:
    offered = {
        **{f"RSA_{b}": {a for a in enum("SigningAlgorithmSpec") if a.startswith("RSASSA")}
           for b in (2048, 3072, 4096)},
        "ECC_NIST_P256": {"ECDSA_SHA_256"}, "ECC_NIST_P384": {"ECDSA_SHA_384"},
        "ECC_NIST_P521": {"ECDSA_SHA_512"}, "ECC_SECG_P256K1": {"ECDSA_SHA_256"},
        "ECC_NIST_EDWARDS25519": {"ED25519_SHA_512", "ED25519_PH_SHA_512"},
        **{f"ML_DSA_{n}": {"ML_DSA_SHAKE_256"} for n in (44, 65, 87)},
    }  # fmt: skip
    for spec, algorithms in offered.items():
        key_id = new_key(kms, spec, "SIGN_VERIFY")["KeyId"]
        for algorithm in enum("SigningAlgorithmSpec"):
            # ED25519_PH_SHA_512 takes only MessageType DIGEST (the Sign API reference).
            shape: dict[str, Any] = (
                {"Message": hashlib.sha512(MESSAGE).digest(), "MessageType": "DIGEST"}
                if algorithm == "ED25519_PH_SHA_512"
                else {"Message": MESSAGE}
            )
            try:
                signed = kms.sign(KeyId=key_id, SigningAlgorithm=algorithm, **shape)
            except ClientError as exc:
                got = exc.response["Error"]["Code"]
                assert algorithm not in algorithms, (spec, algorithm, got)
                assert got == "InvalidKeyUsageException", (spec, algorithm, got)
            else:
                assert algorithm in algorithms, (spec, algorithm)
                kms.verify(KeyId=key_id, SigningAlgorithm=algorithm,
                           Signature=signed["Signature"], **shape)  # fmt: skip


def test_every_encryption_and_mac_algorithm(kms: Any, key_id: str) -> None:
    rsa = new_key(kms, "RSA_2048", "ENCRYPT_DECRYPT")["KeyId"]
    hmac_key = new_key(kms, "HMAC_256", "GENERATE_VERIFY_MAC")["KeyId"]
    signer = new_key(kms, "ECC_NIST_P256", "SIGN_VERIFY")["KeyId"]
    for algorithm in enum("EncryptionAlgorithmSpec"):
        for target, offered in ((key_id, {"SYMMETRIC_DEFAULT"}),
                                (rsa, {"RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"})):  # fmt: skip
            try:
                kms.encrypt(KeyId=target, Plaintext=b"x", EncryptionAlgorithm=algorithm)
            except ClientError as exc:
                assert algorithm not in offered
                assert exc.response["Error"]["Code"] == "InvalidKeyUsageException"
            else:
                assert algorithm in offered
        with pytest.raises(ClientError) as exc:
            kms.encrypt(KeyId=signer, Plaintext=b"x", EncryptionAlgorithm=algorithm)
        assert code(exc) == "InvalidKeyUsageException"
    for algorithm in enum("MacAlgorithmSpec"):
        try:
            kms.generate_mac(KeyId=hmac_key, Message=b"x", MacAlgorithm=algorithm)
        except ClientError as exc:
            assert algorithm != "HMAC_SHA_256"
            assert exc.response["Error"]["Code"] == "InvalidKeyUsageException"
        else:
            assert algorithm == "HMAC_SHA_256"
    for operation in (
        lambda: kms.sign(KeyId=key_id, Message=b"x", SigningAlgorithm="ECDSA_SHA_256"),
        lambda: kms.generate_mac(KeyId=key_id, Message=b"x", MacAlgorithm="HMAC_SHA_256"),
        lambda: kms.generate_data_key(KeyId=rsa, KeySpec="AES_256"),
        lambda: kms.encrypt(KeyId=hmac_key, Plaintext=b"x"),
    ):
        with pytest.raises(ClientError) as exc:
            operation()
        assert code(exc) == "InvalidKeyUsageException"
