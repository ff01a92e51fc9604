"""The XKS byte formats (ADR 22) against the specification's own example (Appendix C)."""

from __future__ import annotations

import base64

import pytest

from cofre.core.kms.custom_stores import check_endpoint, encode_blob, parse_blob
from cofre.core.xks.cipher import (
    LABEL,
    integrity_value,
    key_aad,
    metadata_for,
    version_of,
)
from cofre.errors import InvalidCiphertextError, ValidationError


def test_integrity_value_of_the_specification_example() -> None:
    # "Encrypt" response example and Appendix C of the XKS Proxy API Specification
    value = integrity_value(
        b"project=nile,department=marketing",
        base64.b64decode("a2V5X3ZlcnNpb249MQ=="),
        base64.b64decode("HMrlRw85cAJUd5Ax"),
        base64.b64decode("ghxkK1txeDNn3q8Y"),
        base64.b64decode("vBxN2ncH1oEkR8WVXpmyYQ=="),
    )
    assert base64.b64encode(value).decode() == "qHA/ImC9h5HsLRXqCyPmWgYx7tzyoTplzILbP0fPXsc="


def test_associated_data_is_length_prefixed() -> None:
    # no AAD + metadata must differ from the metadata given as AAD (the spec's example)
    md = metadata_for(bytes(range(32)))
    assert key_aad(b"", md) != key_aad(md, b"")
    assert key_aad(b"ab", md) == LABEL + b"\x00\x02ab\x14" + md
    assert len(md) == 20


def test_version_of_metadata() -> None:
    versions = [bytes([n]) * 32 for n in range(3)]
    assert version_of(metadata_for(versions[1]), versions) == versions[1]
    for bad in (b"", b"\x02" + versions[1][:19], metadata_for(b"\x09" * 32)):
        with pytest.raises(InvalidCiphertextError):
            version_of(bad, versions)


def test_double_encryption_blob_round_trip() -> None:
    header = b"\x03" + bytes(48)
    blob = encode_blob(header, b"m" * 20, b"i" * 12, b"t" * 16, b"c" * 40)
    parsed = parse_blob(blob)
    assert (parsed.metadata, parsed.iv, parsed.tag, parsed.ciphertext) == (
        b"m" * 20, b"i" * 12, b"t" * 16, b"c" * 40,
    )  # fmt: skip
    for cut in (1, 10, 60, len(blob) - 30):
        with pytest.raises(InvalidCiphertextError):
            parse_blob(blob[:cut])


@pytest.mark.parametrize(
    ("endpoint", "ok"),
    [
        ("https://xks.example.com", True),
        ("https://xks.example.com:8443", True),
        ("http://127.0.0.1:4566", True),
        ("http://localhost:80", True),
        ("http://xks.example.com", False),
        ("https://xks.example.com/path", False),
        ("ftp://xks.example.com", False),
    ],
)
def test_endpoints(endpoint: str, ok: bool) -> None:
    if ok:
        assert check_endpoint(endpoint) == endpoint
    else:
        with pytest.raises(ValidationError):
            check_endpoint(endpoint)
