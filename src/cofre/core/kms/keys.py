"""KMS keys: the aggregate, its backing versions, and the tables of specs and state rules."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import NamedTuple

from cofre.errors import DisabledError, KeyStateError


class KeyState(StrEnum):
    ENABLED = "Enabled"
    DISABLED = "Disabled"
    PENDING_DELETION = "PendingDeletion"
    PENDING_IMPORT = "PendingImport"


class KeyManager(StrEnum):
    AWS = "AWS"
    CUSTOMER = "CUSTOMER"


class Origin(StrEnum):
    AWS_KMS = "AWS_KMS"
    EXTERNAL = "EXTERNAL"


class RotationType(StrEnum):
    AUTOMATIC = "AUTOMATIC"
    ON_DEMAND = "ON_DEMAND"


DEFAULT_ROTATION_PERIOD_DAYS = 365
MIN_ROTATION_PERIOD_DAYS = 90
MAX_ROTATION_PERIOD_DAYS = 2560
MIN_PENDING_WINDOW_DAYS = 7
MAX_PENDING_WINDOW_DAYS = 30
DEFAULT_PENDING_WINDOW_DAYS = 30
MAX_ON_DEMAND_ROTATIONS = 25
MAX_TAGS = 50


@dataclass(frozen=True, slots=True)
class KeyVersion:
    """One backing key: wrapped material and when it came to be."""

    key_id: str
    version_id: bytes  # 32 bytes; its hex is the KeyMaterialId
    wrapped_material: bytes
    created_at: datetime
    rotation_type: RotationType | None  # None for the first material

    @property
    def material_id(self) -> str:
        return self.version_id.hex()


@dataclass(frozen=True, slots=True)
class Key:
    key_id: str
    account_id: str
    region: str
    arn: str
    created_at: datetime
    description: str
    key_spec: str
    key_usage: str
    origin: Origin
    key_manager: KeyManager
    state: KeyState
    policy: str
    current_version_id: bytes
    deletion_date: datetime | None = None
    pending_window_days: int | None = None
    rotation_enabled: bool = False
    rotation_period_days: int | None = None
    next_rotation_at: datetime | None = None
    on_demand_rotation_started_at: datetime | None = None
    revision: int = 1
    expiration_model: str | None = None  # imported material: KEY_MATERIAL_(DOES_NOT_)EXPIRE(S)
    material_valid_to: datetime | None = None  # imported material expires then
    imported_material_id: bytes | None = None  # the material a reimport must match

    def evolve(self, **changes: object) -> Key:
        """A copy with ``changes`` applied and the revision bumped."""
        return dataclasses.replace(self, revision=self.revision + 1, **changes)  # type: ignore[arg-type]

    @property
    def enabled(self) -> bool:
        return self.state is KeyState.ENABLED


class StateRule(StrEnum):
    """Which key states an operation accepts (AWS: 'Key states of KMS keys')."""

    ANY = "any"
    ENABLED = "enabled"  # cryptographic operations
    MANAGE = "manage"  # management operations: Enabled or Disabled
    ROTATION = "rotation"  # rotation changes: Enabled only; Disabled is DisabledError
    PENDING_DELETION = "pending-deletion"  # CancelKeyDeletion
    IMPORT = "import"  # importing material: Enabled, Disabled or PendingImport


def check_state(key: Key, rule: StateRule) -> None:
    """Raise the AWS error for ``key`` in a state ``rule`` does not accept."""
    state = key.state
    if rule is StateRule.ANY:
        return
    if rule is StateRule.PENDING_DELETION:
        if state is not KeyState.PENDING_DELETION:
            raise KeyStateError(f"{key.arn} is not pending deletion.")
        return
    if state is KeyState.ENABLED:
        return
    if state is KeyState.DISABLED:
        if rule in (StateRule.MANAGE, StateRule.IMPORT):
            return
        raise DisabledError(f"{key.arn} is disabled.")
    if state is KeyState.PENDING_DELETION:
        raise KeyStateError(f"{key.arn} is pending deletion.")
    if rule is StateRule.IMPORT:
        return
    raise KeyStateError(f"{key.arn} is pending import.")


class KeyRef(NamedTuple):
    """What ListKeys answers of a key: no more is read for it (a page holds 100 by default,
    and a whole key row -- its policy above all -- is many times larger)."""

    key_id: str
    arn: str


@dataclass(frozen=True, slots=True)
class Alias:
    account_id: str
    region: str
    name: str  # "alias/..."
    key_id: str
    created_at: datetime
    updated_at: datetime

    @property
    def is_aws_managed(self) -> bool:
        return self.name.startswith("alias/aws/")
