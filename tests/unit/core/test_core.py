"""Pure core: contexts, blobs, wrapping, identifiers, state rules."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cofre.core.crypto import Cipher, key_version_aad, unwrap, wrap
from cofre.core.ids import RefKind, parse_key_ref
from cofre.core.kms.blob import OVERHEAD, BlobHeader, parse_blob
from cofre.core.kms.context import EMPTY_CONTEXT, canonical_context
from cofre.core.kms.keys import Key, KeyManager, KeyState, Origin, StateRule, check_state
from cofre.errors import DisabledError, InvalidCiphertextError, KeyStateError, NotFoundError

contexts = st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=4)


@given(contexts, contexts)
def test_canonical_context_is_injective(a: dict[str, str], b: dict[str, str]) -> None:
    assert (canonical_context(a) == canonical_context(b)) == (a == b)


def test_canonical_context_ignores_order() -> None:
    assert canonical_context({"a": "1", "b": "2"}) == canonical_context({"b": "2", "a": "1"})
    assert canonical_context(None) == canonical_context({}) == EMPTY_CONTEXT


@given(st.binary(max_size=200))
def test_parse_blob_never_raises_anything_but_invalid_ciphertext(data: bytes) -> None:
    try:
        parse_blob(data)
    except InvalidCiphertextError:
        pass


def test_parse_blob_rejects_other_versions_and_short_input() -> None:
    header = BlobHeader("12345678-1234-4234-8234-123456789012", b"\x01" * 32).encode()
    good = header + b"\x00" * (OVERHEAD - len(header))
    assert parse_blob(good).header.key_id == "12345678-1234-4234-8234-123456789012"
    # format 2 reads the same 16 bytes as a multi-Region key id
    assert parse_blob(b"\x02" + good[1:]).header.key_id == "mrk-12345678123442348234123456789012"
    with pytest.raises(InvalidCiphertextError):
        parse_blob(b"\x03" + good[1:])
    with pytest.raises(InvalidCiphertextError):
        parse_blob(good[:-1])


def test_wrap_is_bound_to_its_place() -> None:
    root = Cipher(os.urandom(32))
    aad = key_version_aad("arn:aws:kms:us-east-1:111122223333:key/a", b"v" * 32)
    wrapped = wrap(root, b"m" * 32, aad, os.urandom)
    assert unwrap(root, wrapped, aad) == b"m" * 32
    other = key_version_aad("arn:aws:kms:us-east-1:111122223333:key/b", b"v" * 32)
    with pytest.raises(InvalidCiphertextError):
        unwrap(root, wrapped, other)
    with pytest.raises(InvalidCiphertextError):
        unwrap(Cipher(os.urandom(32)), wrapped, aad)
    with pytest.raises(InvalidCiphertextError):
        unwrap(root, b"\x02" + wrapped[1:], aad)


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("1234abcd-12ab-34cd-56ef-1234567890ab", RefKind.KEY_ID),
        (
            "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            RefKind.KEY_ARN,
        ),
        ("alias/my-key", RefKind.ALIAS_NAME),
        ("arn:aws:kms:us-east-1:111122223333:alias/my-key", RefKind.ALIAS_ARN),
    ],
)
def test_parse_key_ref(text: str, kind: RefKind) -> None:
    assert parse_key_ref(text).kind is kind


@pytest.mark.parametrize(
    "text",
    [
        "",
        "nope",
        "1234ABCD-12AB-34CD-56EF-1234567890AB-x",
        "arn:aws:kms:us-east-1:1111:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        "arn:aws:s3:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        "arn:aws:kms:us-east-1:111122223333:key/not-a-uuid",
        "alias/",
        "alias/has space",
    ],
)
def test_parse_key_ref_rejects(text: str) -> None:
    with pytest.raises(NotFoundError):
        parse_key_ref(text)


def test_aliases_refused_where_not_allowed() -> None:
    with pytest.raises(NotFoundError):
        parse_key_ref("alias/x", allow_alias=False)


def _key(state: KeyState) -> Key:
    return Key(
        key_id="k", account_id="111122223333", region="us-east-1", arn="arn:k",
        created_at=datetime(2026, 1, 1, tzinfo=UTC), description="", key_spec="SYMMETRIC_DEFAULT",
        key_usage="ENCRYPT_DECRYPT", origin=Origin.AWS_KMS, key_manager=KeyManager.CUSTOMER,
        state=state, policy="{}", current_version_id=b"v" * 32,
    )  # fmt: skip


# (rule, state) -> expected error class or None; the AWS key-state table, as data.
STATE_TABLE = [
    (StateRule.ENABLED, KeyState.ENABLED, None),
    (StateRule.ENABLED, KeyState.DISABLED, DisabledError),
    (StateRule.ENABLED, KeyState.PENDING_DELETION, KeyStateError),
    (StateRule.ENABLED, KeyState.PENDING_IMPORT, KeyStateError),
    (StateRule.MANAGE, KeyState.ENABLED, None),
    (StateRule.MANAGE, KeyState.DISABLED, None),
    (StateRule.MANAGE, KeyState.PENDING_DELETION, KeyStateError),
    (StateRule.ROTATION, KeyState.DISABLED, DisabledError),
    (StateRule.PENDING_DELETION, KeyState.ENABLED, KeyStateError),
    (StateRule.PENDING_DELETION, KeyState.PENDING_DELETION, None),
    (StateRule.ANY, KeyState.PENDING_DELETION, None),
]


@pytest.mark.parametrize(("rule", "state", "error"), STATE_TABLE)
def test_state_rules(rule: StateRule, state: KeyState, error: type[Exception] | None) -> None:
    if error is None:
        check_state(_key(state), rule)
    else:
        with pytest.raises(error):
            check_state(_key(state), rule)
    if error is DisabledError:
        assert not issubclass(KeyStateError, DisabledError)
