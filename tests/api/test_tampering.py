"""Tampered ciphertext against a running server: every change must fail the same way.

One plaintext is encrypted under one random encryption context per backend; hypothesis
then flips bits, truncates, extends, rewrites the header and edits the context. Decrypt
must answer InvalidCiphertextException with no message (ValidationException only where
the model's CiphertextBlob limits of 1..6144 bytes are crossed), never a 5xx, and never
echo the plaintext.
"""

from __future__ import annotations

import base64
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tests.support.server import CofreServer

MAX_BLOB = 6144
KEY_ID = slice(1, 17)
VERSION_ID = slice(17, 49)

PROPERTY = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@dataclass(frozen=True)
class Sample:
    key_id: str
    plaintext: bytes
    context: dict[str, str]
    blob: bytes


@pytest.fixture(scope="module")
def client(server: CofreServer) -> Any:
    """No client-side validation: the server's own checks are under test."""
    return server.client("kms", validate=False)


@pytest.fixture(scope="module")
def sample(client: Any) -> Sample:
    key_id = client.create_key(Description="tampering")["KeyMetadata"]["KeyId"]
    plaintext = b"tamper-secret-" + secrets.token_hex(24).encode()
    context = {
        f"k{secrets.token_hex(3)}": secrets.token_urlsafe(8)
        for _ in range(1 + secrets.randbelow(3))
    }
    blob = client.encrypt(KeyId=key_id, Plaintext=plaintext, EncryptionContext=context)[
        "CiphertextBlob"
    ]
    # The untouched blob opens: every failure below is the tampering's doing.
    out = client.decrypt(CiphertextBlob=blob, EncryptionContext=context)
    assert out["Plaintext"] == plaintext
    return Sample(key_id, plaintext, context, bytes(blob))


def decrypt_error(client: Any, blob: bytes, context: dict[str, str] | None) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"CiphertextBlob": blob}
    if context is not None:
        kwargs["EncryptionContext"] = context
    try:
        out = client.decrypt(**kwargs)
    except ClientError as exc:
        return dict(exc.response)
    raise AssertionError(f"tampered blob decrypted: {out!r}")


def assert_rejected(response: dict[str, Any], sample: Sample, expected: str) -> None:
    status = response["ResponseMetadata"]["HTTPStatusCode"]
    assert 400 <= status < 500, status
    assert response["Error"]["Code"] == expected, response["Error"]
    message = str(response["Error"].get("Message") or "")
    if expected == "InvalidCiphertextException":
        assert message == ""
    everything = repr(response)
    for leak in (sample.plaintext, base64.b64encode(sample.plaintext)):
        assert leak.decode() not in message
        assert leak.decode() not in everything


def assert_invalid(client: Any, sample: Sample, blob: bytes, context: Any = ...) -> None:
    response = decrypt_error(client, blob, sample.context if context is ... else context)
    assert_rejected(response, sample, "InvalidCiphertextException")


# blob bytes ---------------------------------------------------------------------------
@PROPERTY
@given(data=st.data())
def test_bit_flip(client: Any, sample: Sample, data: st.DataObject) -> None:
    bit = data.draw(st.integers(0, len(sample.blob) * 8 - 1), label="bit")
    tampered = bytearray(sample.blob)
    tampered[bit // 8] ^= 1 << (bit % 8)
    assert_invalid(client, sample, bytes(tampered))


def test_bit_flip_every_header_byte(client: Any, sample: Sample) -> None:
    """Each byte of the 61-byte header and IV, and of the tag, is covered at least once."""
    positions = [*range(61), *range(len(sample.blob) - 16, len(sample.blob))]
    for position in positions:
        tampered = bytearray(sample.blob)
        tampered[position] ^= 0x80
        assert_invalid(client, sample, bytes(tampered))


@PROPERTY
@given(data=st.data())
def test_truncate(client: Any, sample: Sample, data: st.DataObject) -> None:
    length = data.draw(st.integers(1, len(sample.blob) - 1), label="length")
    assert_invalid(client, sample, sample.blob[:length])


def test_truncate_to_nothing_is_a_validation_error(client: Any, sample: Sample) -> None:
    response = decrypt_error(client, b"", sample.context)
    assert_rejected(response, sample, "ValidationException")


@PROPERTY
@given(data=st.data())
def test_append(client: Any, sample: Sample, data: st.DataObject) -> None:
    extra = data.draw(st.binary(min_size=1, max_size=MAX_BLOB - len(sample.blob)), label="extra")
    assert_invalid(client, sample, sample.blob + extra)


def test_append_up_to_the_limit(client: Any, sample: Sample) -> None:
    assert_invalid(client, sample, sample.blob.ljust(MAX_BLOB, b"\x00"))
    response = decrypt_error(client, sample.blob.ljust(MAX_BLOB + 1, b"\x00"), sample.context)
    assert_rejected(response, sample, "ValidationException")


@PROPERTY
@given(garbage=st.binary(min_size=1, max_size=MAX_BLOB))
def test_arbitrary_bytes(client: Any, sample: Sample, garbage: bytes) -> None:
    assert_invalid(client, sample, garbage)


@PROPERTY
@given(data=st.data())
def test_splice_from_another_blob(client: Any, sample: Sample, data: st.DataObject) -> None:
    """Header, IV or body of the sample combined with parts of a fresh blob of the same key."""
    other = client.encrypt(
        KeyId=sample.key_id, Plaintext=sample.plaintext, EncryptionContext=sample.context
    )["CiphertextBlob"]
    cut = data.draw(st.integers(50, len(sample.blob) - 1), label="cut")  # past the header
    spliced = sample.blob[:cut] + other[cut:]
    assume(spliced not in (sample.blob, other))
    assert_invalid(client, sample, spliced)


# encryption context -------------------------------------------------------------------
context_text = st.text(max_size=12)


@st.composite
def edited_context(draw: st.DrawFn, original: dict[str, str]) -> dict[str, str] | None:
    edit = draw(st.sampled_from(["change-value", "rename-key", "add", "remove", "drop-all"]))
    context = dict(original)
    name = draw(st.sampled_from(sorted(original)))
    if edit == "change-value":
        context[name] = draw(context_text.filter(lambda v: v != original[name]))
    elif edit == "rename-key":
        value = context.pop(name)
        context[draw(context_text.filter(lambda k: k not in original))] = value
    elif edit == "add":
        context[draw(context_text.filter(lambda k: k not in original))] = draw(context_text)
    elif edit == "remove":
        del context[name]
    else:
        return draw(st.sampled_from([None, {}]))
    return context


@PROPERTY
@given(data=st.data())
def test_context_edit(client: Any, sample: Sample, data: st.DataObject) -> None:
    context = data.draw(edited_context(sample.context), label="context")
    assert context != sample.context
    assert_invalid(client, sample, sample.blob, context)


@PROPERTY
@given(data=st.data())
def test_context_case_change(client: Any, sample: Sample, data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(sorted(sample.context)), label="name")
    where = data.draw(st.sampled_from(["key", "value"]), label="where")
    context = dict(sample.context)
    if where == "key":
        assume(name.swapcase() != name)
        context[name.swapcase()] = context.pop(name)
    else:
        assume(context[name].swapcase() != context[name])
        context[name] = context[name].swapcase()
    assert_invalid(client, sample, sample.blob, context)


# header rewriting ---------------------------------------------------------------------
def with_key_id(blob: bytes, key_id: str) -> bytes:
    return blob[:1] + uuid.UUID(key_id).bytes + blob[17:]


def test_header_names_nonexistent_key(client: Any, sample: Sample) -> None:
    for _ in range(5):
        assert_invalid(client, sample, with_key_id(sample.blob, str(uuid.uuid4())))
    assert_invalid(client, sample, with_key_id(sample.blob, "00000000-0000-0000-0000-000000000000"))


def test_header_names_another_key(client: Any, sample: Sample) -> None:
    other = client.create_key(Description="swap target")["KeyMetadata"]["KeyId"]
    other_blob = client.encrypt(
        KeyId=other, Plaintext=sample.plaintext, EncryptionContext=sample.context
    )["CiphertextBlob"]
    # Key id of B, version of A.
    assert_invalid(client, sample, with_key_id(sample.blob, other))
    # Whole header of B (key id and version), IV and body of A.
    assert_invalid(client, sample, other_blob[:49] + sample.blob[49:])
    # Whole header of A, IV and body of B.
    assert_invalid(client, sample, sample.blob[:49] + other_blob[49:])
    # Version of B under A's key id.
    assert_invalid(client, sample, sample.blob[:17] + other_blob[VERSION_ID] + sample.blob[49:])


def test_header_names_key_in_other_region(server: CofreServer, client: Any, sample: Sample) -> None:
    eu = server.client("kms", region_name="eu-west-1", validate=False)
    eu_key = eu.create_key(Description="other region")["KeyMetadata"]["KeyId"]
    assert_invalid(client, sample, with_key_id(sample.blob, eu_key))
    response = decrypt_error(eu, sample.blob, sample.context)
    assert_rejected(response, sample, "InvalidCiphertextException")
    response = decrypt_error(eu, with_key_id(sample.blob, eu_key), sample.context)
    assert_rejected(response, sample, "InvalidCiphertextException")


def test_header_after_rotation(client: Any, sample: Sample) -> None:
    """A rotated key's old version id still names the old material; a made-up one does not."""
    key_id = client.create_key(Description="rotated")["KeyMetadata"]["KeyId"]
    blob = client.encrypt(
        KeyId=key_id, Plaintext=sample.plaintext, EncryptionContext=sample.context
    )["CiphertextBlob"]
    client.rotate_key_on_demand(KeyId=key_id)
    current = client.describe_key(KeyId=key_id)["KeyMetadata"]["CurrentKeyMaterialId"]
    assert (
        client.decrypt(CiphertextBlob=blob, EncryptionContext=sample.context)["Plaintext"]
        == sample.plaintext
    )
    swapped = blob[:17] + bytes.fromhex(current) + blob[49:]
    assert_invalid(client, sample, swapped)
    assert_invalid(client, sample, blob[:17] + secrets.token_bytes(32) + blob[49:])
