"""Cryptographic operations over the wire: boto3 against a real server, SQLite and PostgreSQL.

Encrypt / Decrypt / ReEncrypt / GenerateDataKey* / GenerateRandom, the key states and
options that change their outcome, authentication failures, and malformed requests sent
with httpx (signed with botocore's SigV4Auth where the test needs a valid signature).
"""

from __future__ import annotations

import base64
import json
import os
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from tests.support.server import ACCESS_KEY_ID, ACCOUNT_ID, REGION, SECRET_ACCESS_KEY, CofreServer

JSON_TYPE = "application/x-amz-json-1.1"
VERSION_ID = slice(17, 49)  # bytes of a blob that hold the key material (version) id
GENERIC_CIPHERTEXT_MESSAGES = {"", "None"}
Call = Callable[[], Any]


# helpers ------------------------------------------------------------------------------
def error_code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def error_message(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"].get("Message") or "")


def status_of(exc: pytest.ExceptionInfo[ClientError]) -> int:
    return int(exc.value.response["ResponseMetadata"]["HTTPStatusCode"])


def assert_secret_not_leaked(exc: pytest.ExceptionInfo[ClientError], secret: bytes) -> None:
    """Neither the error message nor the raw error body may carry the plaintext."""
    text = error_message(exc)
    for form in (secret.decode("latin-1"), base64.b64encode(secret).decode()):
        assert form not in text
        assert form not in str(exc.value.response)


def assert_invalid_ciphertext(exc: pytest.ExceptionInfo[ClientError], secret: bytes) -> None:
    assert error_code(exc) == "InvalidCiphertextException"
    assert status_of(exc) == 400
    assert error_message(exc) in GENERIC_CIPHERTEXT_MESSAGES
    assert_secret_not_leaked(exc, secret)


def key_arn(key_id: str, region: str = REGION) -> str:
    return f"arn:aws:kms:{region}:{ACCOUNT_ID}:key/{key_id}"


def secret(n: int = 24) -> bytes:
    """A recognisable plaintext (n >= 16), so a leak into an error message would show."""
    return (b"cofre-secret-" + os.urandom(n).hex().encode())[:n]


def new_key(kms: Any, description: str = "crypto test") -> str:
    return str(kms.create_key(Description=description)["KeyMetadata"]["KeyId"])


def signed_post(
    server: CofreServer,
    body: bytes,
    target: str | None,
    *,
    access_key_id: str = ACCESS_KEY_ID,
    secret_access_key: str = SECRET_ACCESS_KEY,
    sign: bool = True,
) -> httpx.Response:
    """POST ``body`` to the server with ``target``, SigV4-signed by botocore unless told not."""
    headers = {"Content-Type": JSON_TYPE}
    if target is not None:
        headers["X-Amz-Target"] = target
    url = server.url + "/"
    if sign:
        request = AWSRequest(method="POST", url=url, data=body, headers=headers)
        SigV4Auth(Credentials(access_key_id, secret_access_key), "kms", REGION).add_auth(request)
        headers = dict(request.prepare().headers)
    return httpx.post(url, content=body, headers=headers, timeout=10)


# every response: botocore parses it, and it carries a request id ----------------------
class ResponseChecker:
    def __init__(self) -> None:
        self.seen = 0

    def __call__(self, http_response: Any, parsed: Any, **_: Any) -> None:
        header = http_response.headers.get("x-amzn-requestid")
        assert header, f"no x-amzn-requestid header (status {http_response.status_code})"
        meta = parsed["ResponseMetadata"]
        assert meta["RequestId"] == header
        assert meta["HTTPHeaders"]["x-amzn-requestid"] == header
        uuid.UUID(header)
        if http_response.status_code >= 300:
            # botocore found the AWS JSON error shape (not a bare status code).
            assert parsed["Error"]["Code"] != str(http_response.status_code)
            assert http_response.status_code < 500, http_response.content[:300]
        self.seen += 1


def watch(client: Any, checker: ResponseChecker) -> Any:
    client.meta.events.register("after-call.kms", checker)
    return client


@pytest.fixture(autouse=True)
def every_response_is_well_formed(kms: Any, raw_kms: Any) -> ResponseChecker:
    checker = ResponseChecker()
    watch(kms, checker)
    watch(raw_kms, checker)
    return checker


# Encrypt / Decrypt --------------------------------------------------------------------
@pytest.mark.parametrize("size", [1, 4096])
def test_round_trip_sizes(kms: Any, key_id: str, size: int) -> None:
    plaintext = os.urandom(size)
    out = kms.encrypt(KeyId=key_id, Plaintext=plaintext)
    assert out["KeyId"] == key_arn(key_id)
    assert out["EncryptionAlgorithm"] == "SYMMETRIC_DEFAULT"
    blob = out["CiphertextBlob"]
    assert len(blob) > size
    if size >= 16:  # a short plaintext shows up in random bytes by chance
        assert plaintext not in blob
    back = kms.decrypt(CiphertextBlob=blob)
    assert back["Plaintext"] == plaintext
    assert back["KeyId"] == key_arn(key_id)
    assert back["EncryptionAlgorithm"] == "SYMMETRIC_DEFAULT"


def test_round_trip_random_and_fresh_iv(kms: Any, key_id: str) -> None:
    for _ in range(5):
        plaintext = os.urandom(1 + os.urandom(1)[0] * 16)
        blob = kms.encrypt(KeyId=key_id, Plaintext=plaintext)["CiphertextBlob"]
        assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == plaintext
    same = b"same plaintext"
    first = kms.encrypt(KeyId=key_id, Plaintext=same)["CiphertextBlob"]
    second = kms.encrypt(KeyId=key_id, Plaintext=same)["CiphertextBlob"]
    assert first != second


def test_plaintext_too_long(raw_kms: Any, key_id: str) -> None:
    plaintext = b"A" * 4097
    with pytest.raises(ClientError) as exc:
        raw_kms.encrypt(KeyId=key_id, Plaintext=plaintext)
    assert error_code(exc) == "ValidationException"
    assert status_of(exc) == 400
    assert "4096" in error_message(exc)
    assert "AAAAAAAA" not in error_message(exc)


def test_plaintext_empty(raw_kms: Any, key_id: str) -> None:
    with pytest.raises(ClientError) as exc:
        raw_kms.encrypt(KeyId=key_id, Plaintext=b"")
    assert error_code(exc) == "ValidationException"
    assert status_of(exc) == 400


def test_key_id_forms(kms: Any, key_id: str) -> None:
    alias = f"alias/crypto-{key_id[:8]}"
    kms.create_alias(AliasName=alias, TargetKeyId=key_id)
    alias_arn = f"arn:aws:kms:{REGION}:{ACCOUNT_ID}:{alias}"
    for ref in (key_id, key_arn(key_id), alias, alias_arn):
        plaintext = secret()
        out = kms.encrypt(KeyId=ref, Plaintext=plaintext)
        assert out["KeyId"] == key_arn(key_id), ref
        back = kms.decrypt(CiphertextBlob=out["CiphertextBlob"])
        assert back["Plaintext"] == plaintext and back["KeyId"] == key_arn(key_id)


def test_decrypt_with_right_and_wrong_key_id(kms: Any, key_id: str) -> None:
    alias = f"alias/decrypt-{key_id[:8]}"
    kms.create_alias(AliasName=alias, TargetKeyId=key_id)
    plaintext = secret()
    blob = kms.encrypt(KeyId=key_id, Plaintext=plaintext)["CiphertextBlob"]
    alias_arn = f"arn:aws:kms:{REGION}:{ACCOUNT_ID}:{alias}"
    for ref in (key_id, key_arn(key_id), alias, alias_arn):
        assert kms.decrypt(CiphertextBlob=blob, KeyId=ref)["Plaintext"] == plaintext, ref

    other = new_key(kms)
    other_alias = f"alias/other-{other[:8]}"
    kms.create_alias(AliasName=other_alias, TargetKeyId=other)
    for ref in (other, key_arn(other), other_alias):
        with pytest.raises(ClientError) as exc:
            kms.decrypt(CiphertextBlob=blob, KeyId=ref)
        assert error_code(exc) == "IncorrectKeyException", ref
        assert status_of(exc) == 400
        assert error_message(exc) == (
            "The key ID in the request does not identify a CMK that can perform this operation."
        )
        assert_secret_not_leaked(exc, plaintext)


# encryption context -------------------------------------------------------------------
def test_encryption_context_exact_match(kms: Any, key_id: str) -> None:
    plaintext = secret(32)
    context = {"tenant": "acme", "purpose": "Backup", "zeta": ""}
    blob = kms.encrypt(KeyId=key_id, Plaintext=plaintext, EncryptionContext=context)[
        "CiphertextBlob"
    ]
    # Order of the pairs does not matter.
    reordered = dict(reversed(list(context.items())))
    for ctx in (context, reordered):
        out = kms.decrypt(CiphertextBlob=blob, EncryptionContext=ctx)
        assert out["Plaintext"] == plaintext

    wrong_contexts: list[dict[str, str] | None] = [
        None,  # missing
        {},  # empty
        {"tenant": "acme", "purpose": "Backup"},  # one pair missing
        context | {"extra": "pair"},  # extra pair
        {"tenant": "acme", "purpose": "backup", "zeta": ""},  # value case
        {"Tenant": "acme", "purpose": "Backup", "zeta": ""},  # key case
        {"tenant": "acme", "purpose": "Backup", "zeta": " "},  # value changed
        {"tenant": "acme", "purpose": "Backup", "zeta2": ""},  # key changed
        {"tenant": "acme", "purpose": "Backup", "zeta": plaintext.decode()},
    ]
    for wrong in wrong_contexts:
        kwargs: dict[str, Any] = {"CiphertextBlob": blob}
        if wrong is not None:
            kwargs["EncryptionContext"] = wrong
        with pytest.raises(ClientError) as exc:
            kms.decrypt(**kwargs)
        assert error_code(exc) == "InvalidCiphertextException", wrong
        assert status_of(exc) == 400
        assert error_message(exc) in GENERIC_CIPHERTEXT_MESSAGES
        assert base64.b64encode(plaintext).decode() not in str(exc.value.response)


def test_context_on_decrypt_of_contextless_blob(kms: Any, key_id: str) -> None:
    plaintext = secret()
    blob = kms.encrypt(KeyId=key_id, Plaintext=plaintext)["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=blob, EncryptionContext={})["Plaintext"] == plaintext
    with pytest.raises(ClientError) as exc:
        kms.decrypt(CiphertextBlob=blob, EncryptionContext={"a": "b"})
    assert_invalid_ciphertext(exc, plaintext)


def test_context_unicode(kms: Any, key_id: str) -> None:
    plaintext = secret()
    context = {"clé": "valeur ✓", "🔑": "日本"}
    blob = kms.encrypt(KeyId=key_id, Plaintext=plaintext, EncryptionContext=context)[
        "CiphertextBlob"
    ]
    assert kms.decrypt(CiphertextBlob=blob, EncryptionContext=context)["Plaintext"] == plaintext
    with pytest.raises(ClientError) as exc:
        kms.decrypt(CiphertextBlob=blob, EncryptionContext={"cle": "valeur ✓", "🔑": "日本"})
    assert_invalid_ciphertext(exc, plaintext)


# ReEncrypt ----------------------------------------------------------------------------
def test_re_encrypt_to_other_key_and_context(kms: Any, key_id: str) -> None:
    destination = new_key(kms)
    plaintext = secret(40)
    old_ctx = {"stage": "one"}
    new_ctx = {"stage": "two", "owner": "ops"}
    blob = kms.encrypt(KeyId=key_id, Plaintext=plaintext, EncryptionContext=old_ctx)[
        "CiphertextBlob"
    ]
    out = kms.re_encrypt(
        CiphertextBlob=blob,
        SourceEncryptionContext=old_ctx,
        DestinationKeyId=destination,
        DestinationEncryptionContext=new_ctx,
    )
    assert out["SourceKeyId"] == key_arn(key_id)
    assert out["KeyId"] == key_arn(destination)
    assert out["SourceEncryptionAlgorithm"] == "SYMMETRIC_DEFAULT"
    assert out["DestinationEncryptionAlgorithm"] == "SYMMETRIC_DEFAULT"
    new_blob = out["CiphertextBlob"]
    assert new_blob != blob

    # The old blob is untouched.
    assert kms.decrypt(CiphertextBlob=blob, EncryptionContext=old_ctx)["Plaintext"] == plaintext
    # The new blob opens under the new key, with the new context only.
    back = kms.decrypt(CiphertextBlob=new_blob, EncryptionContext=new_ctx)
    assert back["Plaintext"] == plaintext and back["KeyId"] == key_arn(destination)
    for ctx in (old_ctx, {}, {"stage": "two"}):
        with pytest.raises(ClientError) as exc:
            kms.decrypt(CiphertextBlob=new_blob, EncryptionContext=ctx)
        assert_invalid_ciphertext(exc, plaintext)
    with pytest.raises(ClientError) as exc:
        kms.decrypt(CiphertextBlob=new_blob, EncryptionContext=new_ctx, KeyId=key_id)
    assert error_code(exc) == "IncorrectKeyException"


def test_re_encrypt_same_key_new_context(kms: Any, key_id: str) -> None:
    plaintext = secret()
    blob = kms.encrypt(KeyId=key_id, Plaintext=plaintext)["CiphertextBlob"]
    out = kms.re_encrypt(
        CiphertextBlob=blob, DestinationKeyId=key_id, DestinationEncryptionContext={"v": "2"}
    )
    assert out["SourceKeyId"] == out["KeyId"] == key_arn(key_id)
    assert (
        kms.decrypt(CiphertextBlob=out["CiphertextBlob"], EncryptionContext={"v": "2"})["Plaintext"]
        == plaintext
    )
    with pytest.raises(ClientError) as exc:
        kms.decrypt(CiphertextBlob=out["CiphertextBlob"])
    assert_invalid_ciphertext(exc, plaintext)


def test_re_encrypt_errors(kms: Any, key_id: str) -> None:
    destination = new_key(kms)
    plaintext = secret()
    blob = kms.encrypt(KeyId=key_id, Plaintext=plaintext, EncryptionContext={"a": "1"})[
        "CiphertextBlob"
    ]
    with pytest.raises(ClientError) as exc:
        kms.re_encrypt(CiphertextBlob=blob, DestinationKeyId=destination)
    assert_invalid_ciphertext(exc, plaintext)
    with pytest.raises(ClientError) as exc:
        kms.re_encrypt(
            CiphertextBlob=blob,
            SourceEncryptionContext={"a": "1"},
            SourceKeyId=destination,
            DestinationKeyId=destination,
        )
    assert error_code(exc) == "IncorrectKeyException"
    out = kms.re_encrypt(
        CiphertextBlob=blob,
        SourceEncryptionContext={"a": "1"},
        SourceKeyId=key_arn(key_id),
        DestinationKeyId=destination,
    )
    assert kms.decrypt(CiphertextBlob=out["CiphertextBlob"])["Plaintext"] == plaintext


# data keys ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "length"),
    [
        ({"KeySpec": "AES_256"}, 32),
        ({"KeySpec": "AES_128"}, 16),
        ({"NumberOfBytes": 1}, 1),
        ({"NumberOfBytes": 1024}, 1024),
    ],
)
def test_generate_data_key(kms: Any, key_id: str, kwargs: dict[str, Any], length: int) -> None:
    out = kms.generate_data_key(KeyId=key_id, **kwargs)
    assert out["KeyId"] == key_arn(key_id)
    assert len(out["Plaintext"]) == length
    back = kms.decrypt(CiphertextBlob=out["CiphertextBlob"])
    assert back["Plaintext"] == out["Plaintext"]
    assert back["KeyId"] == key_arn(key_id)


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"KeySpec": "AES_256", "NumberOfBytes": 32},
        {"NumberOfBytes": 0},
        {"NumberOfBytes": 1025},
        {"KeySpec": "AES_512"},
    ],
)
def test_generate_data_key_invalid(raw_kms: Any, key_id: str, kwargs: dict[str, Any]) -> None:
    with pytest.raises(ClientError) as exc:
        raw_kms.generate_data_key(KeyId=key_id, **kwargs)
    assert error_code(exc) == "ValidationException"
    assert status_of(exc) == 400


def test_generate_data_key_both_or_neither_message(raw_kms: Any, key_id: str) -> None:
    for kwargs in ({}, {"KeySpec": "AES_128", "NumberOfBytes": 16}):
        with pytest.raises(ClientError) as exc:
            raw_kms.generate_data_key(KeyId=key_id, **kwargs)
        assert error_message(exc) == "Please specify either number of bytes or key spec."


def test_envelope_encryption_end_to_end(kms: Any, key_id: str) -> None:
    context = {"file": "report.pdf"}
    document = os.urandom(100_000)
    data_key = kms.generate_data_key(KeyId=key_id, KeySpec="AES_256", EncryptionContext=context)
    nonce = os.urandom(12)
    sealed = AESGCM(data_key["Plaintext"]).encrypt(nonce, document, b"report.pdf")
    stored = {"key": data_key["CiphertextBlob"], "nonce": nonce, "data": sealed}
    del data_key

    # Later: recover the data key through KMS, then open the document locally.
    plain_key = kms.decrypt(CiphertextBlob=stored["key"], EncryptionContext=context)["Plaintext"]
    assert len(plain_key) == 32
    assert AESGCM(plain_key).decrypt(stored["nonce"], stored["data"], b"report.pdf") == document
    with pytest.raises(ClientError) as exc:
        kms.decrypt(CiphertextBlob=stored["key"])
    assert error_code(exc) == "InvalidCiphertextException"


@pytest.mark.parametrize(
    ("kwargs", "length"), [({"KeySpec": "AES_128"}, 16), ({"NumberOfBytes": 64}, 64)]
)
def test_generate_data_key_without_plaintext(
    kms: Any, key_id: str, kwargs: dict[str, Any], length: int
) -> None:
    out = kms.generate_data_key_without_plaintext(
        KeyId=key_id, EncryptionContext={"k": "v"}, **kwargs
    )
    assert "Plaintext" not in out
    assert out["KeyId"] == key_arn(key_id)
    back = kms.decrypt(CiphertextBlob=out["CiphertextBlob"], EncryptionContext={"k": "v"})
    assert len(back["Plaintext"]) == length


def test_generate_data_key_without_plaintext_invalid(raw_kms: Any, key_id: str) -> None:
    for kwargs in ({}, {"KeySpec": "AES_256", "NumberOfBytes": 32}):
        with pytest.raises(ClientError) as exc:
            raw_kms.generate_data_key_without_plaintext(KeyId=key_id, **kwargs)
        assert error_code(exc) == "ValidationException"


# GenerateRandom -----------------------------------------------------------------------
@pytest.mark.parametrize("count", [1, 2, 32, 1000, 1024])
def test_generate_random_lengths(kms: Any, count: int) -> None:
    assert len(kms.generate_random(NumberOfBytes=count)["Plaintext"]) == count


def test_generate_random_differs(kms: Any, every_response_is_well_formed: ResponseChecker) -> None:
    first = kms.generate_random(NumberOfBytes=32)["Plaintext"]
    second = kms.generate_random(NumberOfBytes=32)["Plaintext"]
    assert first != second
    assert every_response_is_well_formed.seen == 2


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"NumberOfBytes": 0}, "greater than or equal to 1"),
        ({"NumberOfBytes": 1025}, "less than or equal to 1024"),
        ({}, "NumberOfBytes is required."),
    ],
)
def test_generate_random_invalid(raw_kms: Any, kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ClientError) as exc:
        raw_kms.generate_random(**kwargs)
    assert error_code(exc) == "ValidationException"
    assert status_of(exc) == 400
    assert message in error_message(exc)


# algorithms, DryRun, key states -------------------------------------------------------
def test_asymmetric_algorithm_on_symmetric_key(kms: Any, key_id: str) -> None:
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"x")["CiphertextBlob"]
    calls: list[Call] = [
        lambda: kms.encrypt(KeyId=key_id, Plaintext=b"x", EncryptionAlgorithm="RSAES_OAEP_SHA_256"),
        lambda: kms.decrypt(CiphertextBlob=blob, EncryptionAlgorithm="RSAES_OAEP_SHA_256"),
        lambda: kms.re_encrypt(
            CiphertextBlob=blob,
            DestinationKeyId=key_id,
            DestinationEncryptionAlgorithm="RSAES_OAEP_SHA_1",
        ),
    ]
    for call in calls:
        with pytest.raises(ClientError) as exc:
            call()
        assert error_code(exc) == "InvalidKeyUsageException"
        assert status_of(exc) == 400
    # Naming the symmetric algorithm explicitly is fine.
    out = kms.encrypt(KeyId=key_id, Plaintext=b"y", EncryptionAlgorithm="SYMMETRIC_DEFAULT")
    assert (
        kms.decrypt(CiphertextBlob=out["CiphertextBlob"], EncryptionAlgorithm="SYMMETRIC_DEFAULT")[
            "Plaintext"
        ]
        == b"y"
    )


def test_dry_run(kms: Any, key_id: str) -> None:
    destination = new_key(kms)
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"dry")["CiphertextBlob"]
    calls: dict[str, Call] = {
        "Encrypt": lambda: kms.encrypt(KeyId=key_id, Plaintext=b"x", DryRun=True),
        "Decrypt": lambda: kms.decrypt(CiphertextBlob=blob, DryRun=True),
        "GenerateDataKey": lambda: kms.generate_data_key(
            KeyId=key_id, KeySpec="AES_256", DryRun=True
        ),
        "GenerateDataKeyWithoutPlaintext": lambda: kms.generate_data_key_without_plaintext(
            KeyId=key_id, NumberOfBytes=16, DryRun=True
        ),
        "ReEncrypt": lambda: kms.re_encrypt(
            CiphertextBlob=blob, DestinationKeyId=destination, DryRun=True
        ),
    }
    for name, call in calls.items():
        with pytest.raises(ClientError) as exc:
            call()
        assert error_code(exc) == "DryRunOperationException", name
        assert status_of(exc) == 400, name  # as recorded from AWS, not Smithy's 412
        assert error_message(exc) == (
            "The request would have succeeded, but the DryRun option is set."
        )
        body = exc.value.response
        assert "Plaintext" not in body and "CiphertextBlob" not in body
        assert "dry" not in json.dumps(body, default=str)
    # No effect: keys unchanged, the blob still decrypts, DryRun=False works normally.
    for kid in (key_id, destination):
        meta = kms.describe_key(KeyId=kid)["KeyMetadata"]
        assert meta["KeyState"] == "Enabled"
    assert kms.decrypt(CiphertextBlob=blob, DryRun=False)["Plaintext"] == b"dry"


def test_dry_run_reports_the_real_error(kms: Any, raw_kms: Any, key_id: str) -> None:
    plaintext = secret()
    blob = kms.encrypt(KeyId=key_id, Plaintext=plaintext, EncryptionContext={"a": "b"})[
        "CiphertextBlob"
    ]
    with pytest.raises(ClientError) as exc:
        kms.decrypt(CiphertextBlob=blob, DryRun=True)
    assert_invalid_ciphertext(exc, plaintext)
    with pytest.raises(ClientError) as exc:
        raw_kms.generate_data_key(KeyId=key_id, DryRun=True)
    assert error_code(exc) == "ValidationException"
    kms.disable_key(KeyId=key_id)
    with pytest.raises(ClientError) as exc:
        kms.encrypt(KeyId=key_id, Plaintext=b"x", DryRun=True)
    assert error_code(exc) == "DisabledException"


def test_disabled_key(kms: Any, key_id: str) -> None:
    other = new_key(kms)
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"before")["CiphertextBlob"]
    other_blob = kms.encrypt(KeyId=other, Plaintext=b"other")["CiphertextBlob"]
    kms.disable_key(KeyId=key_id)
    arn = key_arn(key_id)
    calls: dict[str, Call] = {
        "Encrypt": lambda: kms.encrypt(KeyId=key_id, Plaintext=b"x"),
        "Decrypt": lambda: kms.decrypt(CiphertextBlob=blob),
        "GenerateDataKey": lambda: kms.generate_data_key(KeyId=key_id, KeySpec="AES_256"),
        "GenerateDataKeyWithoutPlaintext": lambda: kms.generate_data_key_without_plaintext(
            KeyId=key_id, KeySpec="AES_256"
        ),
        "ReEncrypt from": lambda: kms.re_encrypt(CiphertextBlob=blob, DestinationKeyId=other),
        "ReEncrypt to": lambda: kms.re_encrypt(CiphertextBlob=other_blob, DestinationKeyId=arn),
    }
    for name, call in calls.items():
        with pytest.raises(ClientError) as exc:
            call()
        assert error_code(exc) == "DisabledException", name
        assert error_message(exc) == f"{arn} is disabled.", name
    kms.enable_key(KeyId=key_id)
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"before"


def test_pending_deletion_key(kms: Any, key_id: str) -> None:
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"before")["CiphertextBlob"]
    kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    arn = key_arn(key_id)
    calls: dict[str, Call] = {
        "Encrypt": lambda: kms.encrypt(KeyId=key_id, Plaintext=b"x"),
        "Decrypt": lambda: kms.decrypt(CiphertextBlob=blob),
        "GenerateDataKey": lambda: kms.generate_data_key(KeyId=key_id, NumberOfBytes=8),
        "GenerateDataKeyWithoutPlaintext": lambda: kms.generate_data_key_without_plaintext(
            KeyId=key_id, NumberOfBytes=8
        ),
        "ReEncrypt": lambda: kms.re_encrypt(CiphertextBlob=blob, DestinationKeyId=key_id),
    }
    for name, call in calls.items():
        with pytest.raises(ClientError) as exc:
            call()
        assert error_code(exc) == "KMSInvalidStateException", name
        assert error_message(exc) == f"{arn} is pending deletion.", name
    kms.cancel_key_deletion(KeyId=key_id)
    kms.enable_key(KeyId=key_id)
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"before"


def test_unknown_key(kms: Any) -> None:
    missing = str(uuid.uuid4())
    with pytest.raises(ClientError) as exc:
        kms.encrypt(KeyId=missing, Plaintext=b"x")
    assert error_code(exc) == "NotFoundException"
    assert error_message(exc) == f"Key '{key_arn(missing)}' does not exist"
    with pytest.raises(ClientError) as exc:
        kms.generate_data_key(KeyId="alias/nope-not-here", KeySpec="AES_256")
    assert error_code(exc) == "NotFoundException"


# rotation -----------------------------------------------------------------------------
def test_rotation_keeps_old_blobs_and_uses_new_material(kms: Any, key_id: str) -> None:
    first_version = kms.describe_key(KeyId=key_id)["KeyMetadata"]["CurrentKeyMaterialId"]
    before = {}
    for i in range(3):
        plaintext = secret(16 + i)
        ctx = {"i": str(i)}
        blob = kms.encrypt(KeyId=key_id, Plaintext=plaintext, EncryptionContext=ctx)[
            "CiphertextBlob"
        ]
        assert blob[VERSION_ID].hex() == first_version
        assert blob[0] == 1 and uuid.UUID(bytes=bytes(blob[1:17])) == uuid.UUID(key_id)
        before[blob] = (plaintext, ctx)
    data_key = kms.generate_data_key(KeyId=key_id, KeySpec="AES_256")

    key_arn = kms.describe_key(KeyId=key_id)["KeyMetadata"]["Arn"]
    assert kms.rotate_key_on_demand(KeyId=key_id)["KeyId"] == key_arn  # AWS: the ARN
    second_version = kms.describe_key(KeyId=key_id)["KeyMetadata"]["CurrentKeyMaterialId"]
    assert second_version != first_version and len(second_version) == 64

    for blob, (plaintext, ctx) in before.items():
        assert kms.decrypt(CiphertextBlob=blob, EncryptionContext=ctx)["Plaintext"] == plaintext
    assert (
        kms.decrypt(CiphertextBlob=data_key["CiphertextBlob"])["Plaintext"] == data_key["Plaintext"]
    )

    after = kms.encrypt(KeyId=key_id, Plaintext=b"after")["CiphertextBlob"]
    assert after[VERSION_ID].hex() == second_version
    assert kms.decrypt(CiphertextBlob=after)["Plaintext"] == b"after"
    re = kms.re_encrypt(
        CiphertextBlob=next(iter(before)),
        SourceEncryptionContext={"i": "0"},
        DestinationKeyId=key_id,
    )
    assert re["CiphertextBlob"][VERSION_ID].hex() == second_version
    gdk = kms.generate_data_key_without_plaintext(KeyId=key_id, KeySpec="AES_128")
    assert gdk["CiphertextBlob"][VERSION_ID].hex() == second_version

    rotations = kms.list_key_rotations(KeyId=key_id)["Rotations"]
    assert [r["KeyMaterialId"] for r in rotations] == [second_version]


# regions and authentication ------------------------------------------------------------
def test_blob_from_other_region(server: CofreServer, kms: Any, key_id: str) -> None:
    checker = ResponseChecker()
    eu = watch(server.client("kms", region_name="eu-west-1"), checker)
    plaintext = secret()
    blob = kms.encrypt(KeyId=key_id, Plaintext=plaintext)["CiphertextBlob"]
    with pytest.raises(ClientError) as exc:
        eu.decrypt(CiphertextBlob=blob)
    assert_invalid_ciphertext(exc, plaintext)
    # A key of eu-west-1 works there and its blobs do not open in us-east-1.
    eu_key = eu.create_key()["KeyMetadata"]
    assert eu_key["Arn"] == key_arn(eu_key["KeyId"], "eu-west-1")
    eu_blob = eu.encrypt(KeyId=eu_key["KeyId"], Plaintext=plaintext)["CiphertextBlob"]
    assert eu.decrypt(CiphertextBlob=eu_blob)["Plaintext"] == plaintext
    with pytest.raises(ClientError) as exc:
        kms.decrypt(CiphertextBlob=eu_blob)
    assert_invalid_ciphertext(exc, plaintext)
    with pytest.raises(ClientError) as exc:
        kms.encrypt(KeyId=eu_key["Arn"], Plaintext=b"x")
    assert error_code(exc) == "NotFoundException"
    assert checker.seen == 4


def test_wrong_secret_key(server: CofreServer) -> None:
    client = server.client("kms", aws_secret_access_key="not-the-right-secret")
    with pytest.raises(ClientError) as exc:
        client.generate_random(NumberOfBytes=8)
    assert error_code(exc) == "InvalidSignatureException"
    assert status_of(exc) == 400
    assert "not-the-right-secret" not in str(exc.value.response)
    assert SECRET_ACCESS_KEY not in str(exc.value.response)


def test_unknown_access_key(server: CofreServer) -> None:
    client = server.client(
        "kms", aws_access_key_id="AKIAUNKNOWNUNKNOWN00", aws_secret_access_key="whatever"
    )
    with pytest.raises(ClientError) as exc:
        client.list_keys()
    assert error_code(exc) == "UnrecognizedClientException"
    assert status_of(exc) == 400
    assert error_message(exc) == "The security token included in the request is invalid."


def test_no_authorization_header(server: CofreServer) -> None:
    body = json.dumps({"NumberOfBytes": 8}).encode()
    response = signed_post(server, body, "TrentService.GenerateRandom", sign=False)
    assert response.status_code in (400, 403)
    assert response.json()["__type"] == "MissingAuthenticationTokenException"
    assert response.headers.get("x-amzn-requestid")
    assert "Plaintext" not in response.json()


@pytest.mark.parametrize(
    "target", ["TrentService.NoSuchOperation", "TrentService.", "secretsmanager.GetSecretValue"]
)
def test_unknown_target(server: CofreServer, target: str) -> None:
    response = signed_post(server, b"{}", target)
    assert response.status_code == 400
    assert response.json()["__type"] == "UnknownOperationException"
    assert response.headers.get("x-amzn-requestid")


def test_signed_request_works_and_wrong_signature_fails(server: CofreServer) -> None:
    body = json.dumps({"NumberOfBytes": 16}).encode()
    ok = signed_post(server, body, "TrentService.GenerateRandom")
    assert ok.status_code == 200, ok.text
    assert len(base64.b64decode(ok.json()["Plaintext"])) == 16
    bad = signed_post(
        server, body, "TrentService.GenerateRandom", secret_access_key="another-secret"
    )
    assert bad.status_code == 400
    assert bad.json()["__type"] == "InvalidSignatureException"


@pytest.mark.parametrize(
    "body",
    [
        b"this is not json",
        b"{",
        b'{"NumberOfBytes": }',
        b"[1, 2]",
        b'"a string"',
        b"\xff\xfe\x00",
        b'{"NumberOfBytes": "eight"}',
        b'{"NumberOfBytes": [8]}',
    ],
)
def test_body_not_json(server: CofreServer, body: bytes) -> None:
    response = signed_post(server, body, "TrentService.GenerateRandom")
    assert response.status_code == 400, response.text
    assert response.json()["__type"] == "SerializationException"


@pytest.mark.parametrize(
    ("target", "body"),
    [
        ("TrentService.Encrypt", {"KeyId": "alias/x", "Plaintext": "not base64!!"}),
        ("TrentService.Decrypt", {"CiphertextBlob": {"nested": True}}),
        ("TrentService.Encrypt", {"KeyId": 7, "Plaintext": "eA=="}),
        ("TrentService.Decrypt", {"CiphertextBlob": "AQ==", "EncryptionContext": ["a"]}),
        ("TrentService.Decrypt", {"CiphertextBlob": "AQ==", "EncryptionContext": {"a": 1}}),
    ],
)
def test_malformed_members_are_client_errors(
    server: CofreServer, target: str, body: dict[str, Any]
) -> None:
    response = signed_post(server, json.dumps(body).encode(), target)
    assert response.status_code == 400, response.text
    assert response.json()["__type"] in {"SerializationException", "ValidationException"}


@pytest.mark.parametrize("sign", [True, False])
def test_oversized_body_is_a_client_error(server: CofreServer, sign: bool) -> None:
    """A body over the server's 1 MiB limit is the caller's mistake: 4xx, never a 500."""
    body = json.dumps({"KeyId": "alias/x", "Plaintext": "QUFB" * 300_000}).encode()
    response = signed_post(server, body, "TrentService.Encrypt", sign=sign)
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    assert response.json()["__type"] != "KMSInternalException"


@pytest.mark.parametrize(
    "ref",
    [
        "arn:aws:kms:eu-west-1:{account}:key/{key}",  # same key id, other region
        "arn:aws:kms:{region}:999999999999:key/{key}",  # same key id, other account
    ],
)
def test_decrypt_key_id_arn_must_match_region_and_account(kms: Any, key_id: str, ref: str) -> None:
    """An ARN in another region or account names another key, even with the same UUID.

    Encrypt with such an ARN is NotFoundException; Decrypt and ReEncrypt's SourceKeyId
    must not accept it as naming the blob's key.
    """
    foreign = ref.format(account=ACCOUNT_ID, region=REGION, key=key_id)
    with pytest.raises(ClientError) as exc:
        kms.encrypt(KeyId=foreign, Plaintext=b"x")
    assert error_code(exc) == "NotFoundException"
    plaintext = secret()
    blob = kms.encrypt(KeyId=key_id, Plaintext=plaintext)["CiphertextBlob"]
    with pytest.raises(ClientError) as exc:
        kms.decrypt(CiphertextBlob=blob, KeyId=foreign)
    assert error_code(exc) in {"NotFoundException", "IncorrectKeyException"}
    assert_secret_not_leaked(exc, plaintext)
    with pytest.raises(ClientError) as exc:
        kms.re_encrypt(CiphertextBlob=blob, SourceKeyId=foreign, DestinationKeyId=key_id)
    assert error_code(exc) in {"NotFoundException", "IncorrectKeyException"}
