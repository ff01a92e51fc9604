"""The rules of imported key material with several materials per key (pure core)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cofre.core.kms.imported import (
    EXISTING_KEY_MATERIAL,
    NEW_KEY_MATERIAL,
    ImportedMaterial,
    check_expiration,
    check_import,
    expired,
    import_type_of,
    rotations,
    settled,
)
from cofre.core.kms.keys import Key, KeyManager, KeyState, Origin, RotationType
from cofre.errors import IncorrectKeyMaterialError, KeyStateError, ValidationError

T0 = datetime(2025, 6, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)
A, B, C = b"\x0a" * 32, b"\x0b" * 32, b"\x0c" * 32
KEY = Key("k", "111122223333", "us-east-1", "arn:aws:kms:us-east-1:111122223333:key/k", T0,
          "", "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT", Origin.EXTERNAL, KeyManager.CUSTOMER,
          KeyState.ENABLED, "{}", A)  # fmt: skip
NEVER = "KEY_MATERIAL_DOES_NOT_EXPIRE"


def material(mid: bytes, **changes: object) -> ImportedMaterial:
    return ImportedMaterial("k", mid, NEVER, None, T0).evolve(**changes)


FIRST = material(A)
STAGED = material(B, pending_wrapped=b"w", imported_at=T0 + HOUR)


def test_import_type_defaults_to_new_only_for_the_first_material() -> None:
    assert import_type_of(None, []) == NEW_KEY_MATERIAL
    assert import_type_of(None, [FIRST]) == EXISTING_KEY_MATERIAL
    assert import_type_of(NEW_KEY_MATERIAL, [FIRST]) == NEW_KEY_MATERIAL


@pytest.mark.parametrize(
    ("key", "materials", "kind", "found", "claimed", "error"),
    [
        (KEY, [FIRST], NEW_KEY_MATERIAL, A, None, IncorrectKeyMaterialError),  # already bound
        (KEY, [FIRST], NEW_KEY_MATERIAL, B, A.hex(), ValidationError),  # id with NEW
        (KEY, [FIRST, STAGED], NEW_KEY_MATERIAL, C, None, KeyStateError),  # one staged at a time
        (KEY.evolve(state=KeyState.PENDING_IMPORT), [material(A, imported=False)],
         NEW_KEY_MATERIAL, B, None, KeyStateError),  # bound material missing
        (KEY, [FIRST], EXISTING_KEY_MATERIAL, B, None, IncorrectKeyMaterialError),
        (KEY, [FIRST], EXISTING_KEY_MATERIAL, A, B.hex(), IncorrectKeyMaterialError),
        (KEY, [], EXISTING_KEY_MATERIAL, A, None, IncorrectKeyMaterialError),
    ],
)  # fmt: skip
def test_refused_imports(
    key: Key,
    materials: list[ImportedMaterial],
    kind: str,
    found: bytes,
    claimed: str | None,
    error: type[Exception],
) -> None:
    with pytest.raises(error):
        check_import(key, materials, kind, found, claimed)


def test_allowed_imports() -> None:
    assert check_import(KEY, [], NEW_KEY_MATERIAL, A, None) is None
    assert check_import(KEY, [FIRST], NEW_KEY_MATERIAL, B, None) is None
    assert check_import(KEY, [FIRST, STAGED], EXISTING_KEY_MATERIAL, B, B.hex()) == STAGED


def test_settled_state_follows_the_bound_materials() -> None:
    pending = KEY.evolve(state=KeyState.PENDING_IMPORT)
    assert settled(pending, []).state is KeyState.PENDING_IMPORT
    assert settled(pending, [FIRST]).state is KeyState.ENABLED
    # Staged material missing does not matter; a bound one missing does.
    assert settled(KEY, [FIRST, STAGED.evolve(imported=False)]).state is KeyState.ENABLED
    gone = settled(KEY, [FIRST, material(C, imported=False)])
    assert (gone.state, gone.material_valid_to, gone.expiration_model) == (
        KeyState.PENDING_IMPORT, None, None)  # fmt: skip
    disabled = KEY.evolve(state=KeyState.DISABLED)
    assert settled(disabled, [FIRST]).state is KeyState.DISABLED
    doomed = KEY.evolve(state=KeyState.PENDING_DELETION)
    assert settled(doomed, [material(A, imported=False)]).state is KeyState.PENDING_DELETION


def test_settled_valid_to_is_the_earliest_expiry_held() -> None:
    expires = "KEY_MATERIAL_EXPIRES"
    expiring = [FIRST.evolve(valid_to=T0 + 3 * HOUR, expiration_model=expires),
                STAGED.evolve(valid_to=T0 + 2 * HOUR, expiration_model=expires)]  # fmt: skip
    key = settled(KEY, expiring)
    assert (key.material_valid_to, key.expiration_model) == (T0 + 2 * HOUR, expires)
    assert settled(KEY, [FIRST]).expiration_model == NEVER
    assert expired(expiring, T0 + 2 * HOUR) == [expiring[1]]
    assert expired([e.evolve(imported=False) for e in expiring], T0 + 9 * HOUR) == []


def test_rotation_list_order_and_states() -> None:
    rotated = material(C, imported_at=T0 + 2 * HOUR, rotated_at=T0 + 5 * HOUR,
                       rotation_type=RotationType.ON_DEMAND)  # fmt: skip
    assert rotations([STAGED, rotated, FIRST]) == [FIRST, rotated, STAGED]
    key = KEY.evolve(current_version_id=C)
    assert [m.state_in(key) for m in (FIRST, rotated, STAGED)] == [
        "NON_CURRENT", "CURRENT", "PENDING_ROTATION"]  # fmt: skip


def test_expiration_rules() -> None:
    assert check_expiration(NEVER, None, T0) == NEVER
    assert check_expiration(None, T0 + HOUR, T0) == "KEY_MATERIAL_EXPIRES"
    # AWS: no ExpirationModel is KEY_MATERIAL_EXPIRES, which needs a ValidTo
    for model, valid_to in ((None, None), ("KEY_MATERIAL_EXPIRES", None),
                            ("KEY_MATERIAL_EXPIRES", T0),
                            ("KEY_MATERIAL_EXPIRES", T0 + timedelta(days=366)),
                            (NEVER, T0 + HOUR)):  # fmt: skip
        with pytest.raises(ValidationError):
            check_expiration(model, valid_to, T0)
