"""Key management use cases: create, describe, list, enable/disable, delete, rotate, policies.

Multi-Region keys (ADR 16) share their key material, key spec, usage, origin and rotation
settings: a rotation of the primary is a rotation of every related key, and rotation
settings are changed through the primary only (``multi_region`` does the sharing).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import timedelta

from cofre.core.iam.principals import Caller
from cofre.core.ids import MRK_PREFIX, key_arn, key_row_id
from cofre.core.kms.default_policy import default_key_policy
from cofre.core.kms.imported import ImportedMaterial, rotations
from cofre.core.kms.keys import (
    DEFAULT_PENDING_WINDOW_DAYS,
    DEFAULT_ROTATION_PERIOD_DAYS,
    MAX_ON_DEMAND_ROTATIONS,
    MAX_PENDING_WINDOW_DAYS,
    MIN_PENDING_WINDOW_DAYS,
    Key,
    KeyManager,
    KeyRef,
    KeyState,
    KeyVersion,
    Origin,
    RotationType,
    StateRule,
)
from cofre.core.kms.keyspecs import IMPORTABLE_FAMILIES, KEY_SPECS, REFUSED_SPECS
from cofre.core.policy import PolicyKind, parse_policy
from cofre.errors import (
    LimitExceededError,
    MalformedPolicyDocumentError,
    NotFoundError,
    UnsupportedOperationError,
    ValidationError,
)
from cofre.service.authz.authorizer import Request
from cofre.service.kms import multi_region
from cofre.service.kms.custom_stores import CustomKeyStores
from cofre.service.kms.imported import rotate as rotate_imported
from cofre.service.kms.resolver import KeyResolver
from cofre.service.kms.tags import Tags, new_tags
from cofre.service.pagination import Page, decode_marker, decode_offset, encode_marker, first_page

SYMMETRIC_DEFAULT = "SYMMETRIC_DEFAULT"


def check_key_usage(key_spec: str, key_usage: str | None) -> str:
    """CreateKey's KeyUsage: optional for symmetric encryption keys only (AWS's words)."""
    spec = KEY_SPECS.get(key_spec)
    if spec is None:
        reason = REFUSED_SPECS.get(key_spec, f"KeySpec {key_spec} is not supported by Cofre.")
        raise UnsupportedOperationError(reason)
    if key_usage is None:
        if key_spec != SYMMETRIC_DEFAULT:
            raise ValidationError(
                "You must specify a KeyUsage value for all KMS keys except for symmetric"
                " encryption keys."
            )
        key_usage = "ENCRYPT_DECRYPT"
    if key_usage not in spec.usages:
        raise ValidationError(f"KeyUsage {key_usage} is not compatible with KeySpec {key_spec}")
    return key_usage


class KeyService:
    def __init__(self, resolver: KeyResolver, stores: CustomKeyStores | None = None) -> None:
        self._r = resolver
        self._stores = stores

    # create / read ---------------------------------------------------------------------
    def create_key(
        self,
        caller: Caller,
        *,
        description: str = "",
        key_usage: str | None = None,
        key_spec: str = SYMMETRIC_DEFAULT,
        origin: str = "AWS_KMS",
        policy: str | None = None,
        tags: Tags = (),
        multi_region: bool = False,
        bypass_lockout_check: bool = False,
        custom_key_store_id: str | None = None,
        xks_key_id: str | None = None,
    ) -> Key:
        self._r.authorizer.authorize(caller, Request("kms:CreateKey"), None)
        if policy is not None:
            parse_policy(policy, PolicyKind.KEY)
        usage = check_key_usage(key_spec, key_usage)
        in_store = None
        if origin == Origin.EXTERNAL_KEY_STORE.value or custom_key_store_id or xks_key_id:
            if self._stores is None:
                raise UnsupportedOperationError("Custom key stores are not served here.")
            in_store = self._stores.place_new_key(
                caller, origin, key_spec, usage, multi_region, custom_key_store_id, xks_key_id
            )
        if origin not in (Origin.AWS_KMS.value, Origin.EXTERNAL.value) and in_store is None:
            raise UnsupportedOperationError(f"Origin {origin} is not supported by Cofre.")
        external = origin == Origin.EXTERNAL.value
        if external and KEY_SPECS[key_spec].family not in IMPORTABLE_FAMILIES:
            raise UnsupportedOperationError(
                f"KeySpec {key_spec} does not support imported key material (Origin EXTERNAL)."
            )
        tag_map = new_tags({}, tags)
        now = self._r.clock.now()
        if multi_region:
            key_id = MRK_PREFIX + self._r.random(16).hex()
        else:
            key_id = str(uuid.UUID(bytes=self._r.random(16), version=4))
        key = Key(
            key_id=key_id,
            account_id=caller.account_id,
            region=caller.region,
            arn=key_arn(caller.region, caller.account_id, key_id),
            created_at=now,
            description=description,
            key_spec=key_spec,
            key_usage=usage,
            origin=Origin(origin),  # EXTERNAL_KEY_STORE keys have material of their own too
            key_manager=KeyManager.CUSTOMER,
            state=KeyState.PENDING_IMPORT if external else KeyState.ENABLED,
            policy=policy if policy is not None else default_key_policy(caller.account_id),
            current_version_id=b"" if external else self._r.random(32),
            primary_region=caller.region if multi_region else None,
        )
        version = None
        if not external:
            material = self._r.new_material(key_spec)
            version = self._r.version_of(key, key.current_version_id, material, now, None)
        if policy is not None and not bypass_lockout_check:
            self._check_lockout(caller, key)
        with self._r.storage.write() as tx:
            tx.insert_key(key, version)
            if tag_map:
                tx.set_tags(key.row_id, tag_map)
            if in_store is not None:
                assert xks_key_id is not None
                CustomKeyStores.bind(tx, key, in_store, xks_key_id)
        return key

    def describe_key(self, caller: Caller, key_id: str) -> Key:
        return self.describe(caller, key_id)[0]

    def describe(self, caller: Caller, key_id: str) -> tuple[Key, tuple[str, ...]]:
        """DescribeKey: the key, and the Regions of its related multi-Region keys (none
        for a single-Region key)."""
        self._r.ensure_alias(caller, key_id)
        with self._r.storage.read() as tx:
            key = self._r.read(tx, caller, key_id, Request("kms:DescribeKey"), allow_alias=True)
            return key, multi_region.regions_of(tx, key)

    def list_keys(self, caller: Caller, limit: int | None, marker: str | None) -> Page[KeyRef]:
        self._r.authorizer.authorize(caller, Request("kms:ListKeys"), None)
        size = limit or 100  # AWS: "If you do not include a value, it defaults to 100."
        after = decode_marker(marker)
        with self._r.storage.read() as tx:
            keys = tx.list_keys(caller.account_id, caller.region, after, size + 1)
        # the marker is the row id, which the keys are listed by (ADR 16)
        return first_page(keys, size, lambda k: key_row_id(k.key_id, caller.region))

    # state changes ---------------------------------------------------------------------
    def _change(
        self, caller: Caller, key_id: str, action: str, rule: StateRule, **changes: object
    ) -> Key:
        with self._r.storage.write() as tx:
            key = self._r.locked(tx, caller, key_id, Request(action), rule)
            updated = key.evolve(**changes)
            tx.update_key(updated)
        self._r.cache.invalidate("key", key.row_id)
        return updated

    def enable_key(self, caller: Caller, key_id: str) -> None:
        self._change(caller, key_id, "kms:EnableKey", StateRule.TOGGLE, state=KeyState.ENABLED)

    def disable_key(self, caller: Caller, key_id: str) -> None:
        self._change(caller, key_id, "kms:DisableKey", StateRule.TOGGLE, state=KeyState.DISABLED)

    def update_key_description(self, caller: Caller, key_id: str, description: str) -> None:
        self._change(
            caller, key_id, "kms:UpdateKeyDescription", StateRule.MANAGE, description=description
        )

    def schedule_key_deletion(
        self, caller: Caller, key_id: str, pending_window_days: int | None
    ) -> Key:
        """PendingDeletion; a multi-Region primary with replicas waits for them instead
        (PendingReplicaDeletion: no deletion date until its last replica is deleted)."""
        days = DEFAULT_PENDING_WINDOW_DAYS if pending_window_days is None else pending_window_days
        if not MIN_PENDING_WINDOW_DAYS <= days <= MAX_PENDING_WINDOW_DAYS:
            raise ValidationError(
                f"PendingWindowInDays must be between {MIN_PENDING_WINDOW_DAYS}"
                f" and {MAX_PENDING_WINDOW_DAYS}"
            )
        with self._r.storage.write() as tx:
            request = Request("kms:ScheduleKeyDeletion")
            key = self._r.locked(tx, caller, key_id, request, StateRule.MANAGE)
            if key.is_primary and len(multi_region.regions_of(tx, key)) > 1:
                updated = key.evolve(
                    state=KeyState.PENDING_REPLICA_DELETION, pending_window_days=days
                )
            else:
                updated = key.evolve(
                    state=KeyState.PENDING_DELETION,
                    deletion_date=self._r.clock.now() + timedelta(days=days),
                    pending_window_days=days,
                )
            tx.update_key(updated)
        self._r.cache.invalidate("key", key.row_id)
        return updated

    def cancel_key_deletion(self, caller: Caller, key_id: str) -> Key:
        return self._change(
            caller,
            key_id,
            "kms:CancelKeyDeletion",
            StateRule.PENDING_DELETION,
            state=KeyState.DISABLED,
            deletion_date=None,
            pending_window_days=None,
        )

    # rotation --------------------------------------------------------------------------
    @staticmethod
    def _rotatable(key: Key, *, on_demand: bool = False, changing: bool = False) -> None:
        """Symmetric keys only (AWS says no more: no message); imported ones (EXTERNAL)
        only for on-demand rotation; a multi-Region key's rotation through its primary."""
        if key.key_spec != SYMMETRIC_DEFAULT:
            raise UnsupportedOperationError()
        if key.origin is Origin.EXTERNAL_KEY_STORE or (
            key.origin is not Origin.AWS_KMS and not on_demand
        ):  # keys in custom key stores do not rotate at all, as at AWS (ADR 22)
            raise UnsupportedOperationError(
                f"{key.arn} origin is {key.origin.value} which is not valid for this operation."
            )
        if changing and key.is_replica:
            raise UnsupportedOperationError(f"{key.arn} is not a multi-region primary key.")

    def _set_rotation(self, caller: Caller, key_id: str, action: str, **changes: object) -> None:
        with self._r.storage.write() as tx:
            key = self._r.locked(tx, caller, key_id, Request(action), StateRule.ROTATION)
            self._rotatable(key, changing=True)
            touched = multi_region.related_or_self(tx, key)
            for related in touched:
                tx.update_key(related.evolve(**changes))
        for related in touched:
            self._r.cache.invalidate("key", related.row_id)

    def enable_key_rotation(self, caller: Caller, key_id: str, period_days: int | None) -> None:
        days = DEFAULT_ROTATION_PERIOD_DAYS if period_days is None else period_days
        self._set_rotation(
            caller,
            key_id,
            "kms:EnableKeyRotation",
            rotation_enabled=True,
            rotation_period_days=days,
            next_rotation_at=self._r.clock.now() + timedelta(days=days),
        )

    def disable_key_rotation(self, caller: Caller, key_id: str) -> None:
        self._set_rotation(
            caller,
            key_id,
            "kms:DisableKeyRotation",
            rotation_enabled=False,
            next_rotation_at=None,
        )

    def get_key_rotation_status(self, caller: Caller, key_id: str) -> Key:
        with self._r.storage.read() as tx:
            key = self._r.read(
                tx, caller, key_id, Request("kms:GetKeyRotationStatus"), allow_alias=False
            )
        if key.state is KeyState.PENDING_IMPORT:
            self._rotatable(key)
        return key

    def rotate_key_on_demand(self, caller: Caller, key_id: str) -> Key:
        with self._r.storage.write() as tx:
            key = self._r.locked(
                tx, caller, key_id, Request("kms:RotateKeyOnDemand"), StateRule.ENABLED
            )
            self._rotatable(key, on_demand=True, changing=True)
            if key.origin is Origin.EXTERNAL:  # to the imported material staged for it
                if key.multi_region:
                    raise UnsupportedOperationError(
                        f"{key.arn} origin is EXTERNAL which is not valid for this operation."
                    )
                updated, touched = rotate_imported(tx, key, self._r.clock.now()), [key.row_id]
            else:
                on_demand = [
                    v for v in tx.versions(key.row_id) if v.rotation_type is RotationType.ON_DEMAND
                ]
                if len(on_demand) >= MAX_ON_DEMAND_ROTATIONS:
                    raise LimitExceededError(
                        "The on-demand rotations limit has been reached for the given keyId. No"
                        f" more on-demand rotations can be performed for this key: {key.arn}"
                    )
                updated, touched = multi_region.rotate(tx, self._r, key, RotationType.ON_DEMAND)
        for row_id in touched:
            self._r.cache.invalidate("key", row_id)
        return updated

    def list_key_rotations(
        self,
        caller: Caller,
        key_id: str,
        include_all: bool,
        limit: int | None,
        marker: str | None,
    ) -> tuple[Key, Page[KeyVersion | ImportedMaterial]]:
        with self._r.storage.read() as tx:
            key = self._r.read(
                tx, caller, key_id, Request("kms:ListKeyRotations"), allow_alias=False
            )
            self._rotatable(key, on_demand=True)
            versions: Sequence[KeyVersion | ImportedMaterial]
            if key.origin is Origin.EXTERNAL:
                versions = rotations(tx.imported_materials(key.row_id))
            else:
                versions = tx.versions(key.row_id)
        if not include_all:
            versions = [v for v in versions if v.rotation_type is not None]
        start = decode_offset(marker)
        size = limit or 100
        page = list(versions[start : start + size])
        more = start + size < len(versions)
        return key, Page(page, encode_marker(str(start + size)) if more else None)

    # policies --------------------------------------------------------------------------
    def get_key_policy(self, caller: Caller, key_id: str, policy_name: str | None) -> str:
        with self._r.storage.read() as tx:
            key = self._r.read(tx, caller, key_id, Request("kms:GetKeyPolicy"), allow_alias=False)
        if policy_name not in (None, "default"):
            raise NotFoundError("No such policy exists")
        return key.policy

    def put_key_policy(
        self,
        caller: Caller,
        key_id: str,
        policy_name: str | None,
        policy: str,
        bypass_lockout_check: bool,
    ) -> None:
        if policy_name not in (None, "default"):
            raise NotFoundError("No such policy exists")
        parse_policy(policy, PolicyKind.KEY)
        with self._r.storage.write() as tx:
            key = self._r.locked(tx, caller, key_id, Request("kms:PutKeyPolicy"), StateRule.MANAGE)
            if key.key_manager is KeyManager.AWS:
                raise UnsupportedOperationError(
                    f"{key.arn} is an AWS managed key; its policy cannot be changed."
                )
            updated = key.evolve(policy=policy)
            if not bypass_lockout_check:
                self._check_lockout(caller, updated)
            tx.update_key(updated)
        self._r.cache.invalidate("key", key.row_id)

    def _check_lockout(self, caller: Caller, key: Key) -> None:
        """The policy safety check: the caller must still be able to change the policy."""
        if not self._r.authorizer.allows(caller, Request("kms:PutKeyPolicy"), key):
            raise MalformedPolicyDocumentError(
                "The new key policy will not allow you to update the key policy in the future."
            )

    def list_key_policies(self, caller: Caller, key_id: str) -> list[str]:
        with self._r.storage.read() as tx:
            self._r.read(tx, caller, key_id, Request("kms:ListKeyPolicies"), allow_alias=False)
        return ["default"]
