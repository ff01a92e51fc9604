"""KMS keys: the aggregate, its backing versions, and the tables of specs and state rules."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import NamedTuple

from cofre.core.ids import key_row_id
from cofre.errors import DisabledError, InvalidKeyUsageError, KeyStateError


class KeyState(StrEnum):
    ENABLED = "Enabled"
    DISABLED = "Disabled"
    PENDING_DELETION = "PendingDeletion"
    PENDING_IMPORT = "PendingImport"
    # multi-Region keys (ADR 16)
    CREATING = "Creating"  # a new replica, until the background job settles it
    UPDATING = "Updating"  # both keys of an UpdatePrimaryRegion, until it settles
    PENDING_REPLICA_DELETION = "PendingReplicaDeletion"  # a primary waiting for its replicas


class KeyManager(StrEnum):
    AWS = "AWS"
    CUSTOMER = "CUSTOMER"


class Origin(StrEnum):
    AWS_KMS = "AWS_KMS"
    EXTERNAL = "EXTERNAL"
    EXTERNAL_KEY_STORE = "EXTERNAL_KEY_STORE"  # double encryption with an XKS proxy (ADR 22)


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
    """One backing key: wrapped material and when it came to be. Related multi-Region
    keys each hold the same versions (same ids, same material), wrapped for each one."""

    row_id: str  # the key's (``Key.row_id``)
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
    primary_region: str | None = None  # multi-Region keys: the Region of the primary key
    settles_at: datetime | None = None  # Creating / Updating: when the job ends the state

    def evolve(self, **changes: object) -> Key:
        """A copy with ``changes`` applied and the revision bumped."""
        return dataclasses.replace(self, revision=self.revision + 1, **changes)  # type: ignore[arg-type]

    @property
    def enabled(self) -> bool:
        return self.state is KeyState.ENABLED

    @property
    def row_id(self) -> str:
        """The id it is stored and cached under (``core.ids.key_row_id``)."""
        return key_row_id(self.key_id, self.region)

    @property
    def multi_region(self) -> bool:
        return self.primary_region is not None

    @property
    def is_primary(self) -> bool:
        """A multi-Region primary key (False for single-Region keys and replicas)."""
        return self.primary_region == self.region

    @property
    def is_replica(self) -> bool:
        return self.primary_region is not None and self.primary_region != self.region


class StateRule(StrEnum):
    """Which key states an operation accepts (AWS: 'Key states of KMS keys')."""

    ANY = "any"
    ENABLED = "enabled"  # cryptographic operations (an Updating key still works)
    MANAGE = "manage"  # management operations: Enabled or Disabled, or a transient state
    TOGGLE = "toggle"  # EnableKey, DisableKey: Enabled or Disabled only
    ROTATION = "rotation"  # rotation changes: Enabled only; Disabled is DisabledError
    ENABLED_ONLY = "enabled-only"  # UpdatePrimaryRegion: both keys Enabled
    PENDING_DELETION = "pending-deletion"  # CancelKeyDeletion
    IMPORT = "import"  # importing material: Enabled, Disabled or PendingImport


_S = KeyState
_ACCEPTED: dict[StateRule, frozenset[KeyState]] = {
    StateRule.ANY: frozenset(KeyState),
    StateRule.ENABLED: frozenset({_S.ENABLED, _S.UPDATING}),
    StateRule.MANAGE: frozenset({_S.ENABLED, _S.DISABLED, _S.CREATING, _S.UPDATING}),
    StateRule.TOGGLE: frozenset({_S.ENABLED, _S.DISABLED}),
    StateRule.ROTATION: frozenset({_S.ENABLED}),
    StateRule.ENABLED_ONLY: frozenset({_S.ENABLED}),
    StateRule.PENDING_DELETION: frozenset({_S.PENDING_DELETION, _S.PENDING_REPLICA_DELETION}),
    StateRule.IMPORT: frozenset({_S.ENABLED, _S.DISABLED, _S.PENDING_IMPORT}),
}
# How an error names a state the operation does not accept ("<key ARN> is disabled.").
# "is creating." and "is pending replica deletion." follow the pattern (unconfirmed).
_STATE_TEXT = {
    _S.DISABLED: "is disabled.",
    _S.PENDING_DELETION: "is pending deletion.",
    _S.PENDING_IMPORT: "is pending import.",
    _S.CREATING: "is creating.",
    _S.UPDATING: "is updating.",
    _S.PENDING_REPLICA_DELETION: "is pending replica deletion.",
    _S.ENABLED: "is enabled.",
}


def check_state(key: Key, rule: StateRule) -> None:
    """Raise the AWS error for ``key`` in a state ``rule`` does not accept: a disabled key
    is DisabledException, any other state KMSInvalidStateException."""
    state = key.state
    if state in _ACCEPTED[rule]:
        return
    if rule is StateRule.PENDING_DELETION:
        raise KeyStateError(f"{key.arn} is not pending deletion.")
    if state is KeyState.DISABLED:
        raise DisabledError(f"{key.arn} is disabled.")
    raise KeyStateError(f"{key.arn} {_STATE_TEXT[state]}")


def usage_error(key: Key, operation: str) -> InvalidKeyUsageError:
    """A key used for what its KeyUsage is not, in AWS's words (``operation``: "Sign")."""
    return InvalidKeyUsageError(
        f"{key.arn} key usage is {key.key_usage} which is not valid for {operation}."
    )


def algorithm_error(algorithm: str, key_spec: str) -> InvalidKeyUsageError:
    """An algorithm the key's spec does not offer, in AWS's words."""
    return InvalidKeyUsageError(f"Algorithm {algorithm} is incompatible with key spec {key_spec}.")


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
