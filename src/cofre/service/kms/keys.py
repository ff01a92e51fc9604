"""Key management use cases: create, describe, list, enable/disable, delete, rotate, policies."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta

from cofre.core.audit.events import service_event
from cofre.core.iam.principals import Caller
from cofre.core.ids import key_arn
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
from cofre.core.kms.keyspecs import KEY_SPECS, REFUSED_SPECS
from cofre.core.policy import PolicyKind, parse_policy
from cofre.errors import (
    LimitExceededError,
    MalformedPolicyDocumentError,
    NotFoundError,
    UnsupportedOperationError,
    ValidationError,
)
from cofre.service.authz.authorizer import Request
from cofre.service.kms.imported import rotate as rotate_imported
from cofre.service.kms.imports import remove_material
from cofre.service.kms.resolver import KeyResolver
from cofre.service.kms.tags import validate_new_tags
from cofre.service.pagination import Page, decode_marker, decode_offset, encode_marker, first_page
from cofre.service.ports import AuditRecorder, WriteTx


class KeyService:
    def __init__(self, resolver: KeyResolver, audit: AuditRecorder | None = None) -> None:
        """``audit``: where the background work on keys (rotation, deletion, expiry of
        imported material) is recorded, inside the transaction that does it."""
        self._r = resolver
        self._audit = audit

    # create / read ---------------------------------------------------------------------
    def create_key(
        self,
        caller: Caller,
        *,
        description: str = "",
        key_usage: str = "ENCRYPT_DECRYPT",
        key_spec: str = "SYMMETRIC_DEFAULT",
        origin: str = "AWS_KMS",
        policy: str | None = None,
        tags: Mapping[str, str] | None = None,
        multi_region: bool = False,
        bypass_lockout_check: bool = False,
    ) -> Key:
        self._r.authorizer.authorize(caller, Request("kms:CreateKey"), None)
        if policy is not None:
            parse_policy(policy, PolicyKind.KEY)
        spec = KEY_SPECS.get(key_spec)
        if spec is None:
            reason = REFUSED_SPECS.get(key_spec, f"KeySpec {key_spec} is not supported by Cofre.")
            raise UnsupportedOperationError(reason)
        if key_usage not in spec.usages:
            raise ValidationError(
                f"KeyUsage {key_usage} is not compatible with KeySpec {key_spec}; use"
                f" {' or '.join(spec.usages)}."
            )
        if origin not in (Origin.AWS_KMS.value, Origin.EXTERNAL.value):
            raise UnsupportedOperationError(f"Origin {origin} is not supported by Cofre.")
        external = origin == Origin.EXTERNAL.value
        if external and key_spec != "SYMMETRIC_DEFAULT":
            raise UnsupportedOperationError(
                "Cofre imports key material for SYMMETRIC_DEFAULT keys only."
            )
        if multi_region:
            raise UnsupportedOperationError("Multi-Region keys are not supported by Cofre yet.")
        validate_new_tags({}, tags or {})
        now = self._r.clock.now()
        key_id = str(uuid.UUID(bytes=self._r.random(16), version=4))
        arn = key_arn(caller.region, caller.account_id, key_id)
        version = None if external else self._r.new_version(arn, key_id, None, key_spec)
        key = Key(
            key_id=key_id,
            account_id=caller.account_id,
            region=caller.region,
            arn=arn,
            created_at=now,
            description=description,
            key_spec=key_spec,
            key_usage=key_usage,
            origin=Origin(origin),
            key_manager=KeyManager.CUSTOMER,
            state=KeyState.PENDING_IMPORT if external else KeyState.ENABLED,
            policy=policy if policy is not None else default_key_policy(caller.account_id),
            current_version_id=b"" if version is None else version.version_id,
        )
        if policy is not None and not bypass_lockout_check:
            self._check_lockout(caller, key)
        with self._r.storage.write() as tx:
            tx.insert_key(key, version)
            if tags:
                tx.set_tags(key_id, tags)
        return key

    def describe_key(self, caller: Caller, key_id: str) -> Key:
        self._r.ensure_alias(caller, key_id)
        with self._r.storage.read() as tx:
            return self._r.read(tx, caller, key_id, Request("kms:DescribeKey"), allow_alias=True)

    def list_keys(self, caller: Caller, limit: int | None, marker: str | None) -> Page[KeyRef]:
        self._r.authorizer.authorize(caller, Request("kms:ListKeys"), None)
        size = limit or 100  # AWS: "If you do not include a value, it defaults to 100."
        after = decode_marker(marker)
        with self._r.storage.read() as tx:
            keys = tx.list_keys(caller.account_id, caller.region, after, size + 1)
        return first_page(keys, size, lambda k: k.key_id)

    # state changes ---------------------------------------------------------------------
    def _change(
        self, caller: Caller, key_id: str, action: str, rule: StateRule, **changes: object
    ) -> Key:
        with self._r.storage.write() as tx:
            key = self._r.locked(tx, caller, key_id, Request(action), rule)
            updated = key.evolve(**changes)
            tx.update_key(updated)
        self._r.cache.invalidate("key", key.key_id)
        return updated

    def enable_key(self, caller: Caller, key_id: str) -> None:
        self._change(caller, key_id, "kms:EnableKey", StateRule.MANAGE, state=KeyState.ENABLED)

    def disable_key(self, caller: Caller, key_id: str) -> None:
        self._change(caller, key_id, "kms:DisableKey", StateRule.MANAGE, state=KeyState.DISABLED)

    def update_key_description(self, caller: Caller, key_id: str, description: str) -> None:
        self._change(
            caller, key_id, "kms:UpdateKeyDescription", StateRule.MANAGE, description=description
        )

    def schedule_key_deletion(
        self, caller: Caller, key_id: str, pending_window_days: int | None
    ) -> Key:
        days = DEFAULT_PENDING_WINDOW_DAYS if pending_window_days is None else pending_window_days
        if not MIN_PENDING_WINDOW_DAYS <= days <= MAX_PENDING_WINDOW_DAYS:
            raise ValidationError(
                f"PendingWindowInDays must be between {MIN_PENDING_WINDOW_DAYS}"
                f" and {MAX_PENDING_WINDOW_DAYS}"
            )
        deletion_date = self._r.clock.now() + timedelta(days=days)
        return self._change(
            caller,
            key_id,
            "kms:ScheduleKeyDeletion",
            StateRule.MANAGE,
            state=KeyState.PENDING_DELETION,
            deletion_date=deletion_date,
            pending_window_days=days,
        )

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
    def _rotatable(self, key: Key, *, on_demand: bool = False) -> None:
        """Symmetric keys only; imported ones (EXTERNAL) only for on-demand rotation."""
        imported_ok = on_demand and key.origin is Origin.EXTERNAL
        if (key.origin is not Origin.AWS_KMS and not imported_ok) or (
            key.key_spec != "SYMMETRIC_DEFAULT"
        ):
            raise UnsupportedOperationError(
                f"{key.arn} key rotation is supported only for symmetric encryption keys"
                " with key material generated by KMS."
            )

    def enable_key_rotation(self, caller: Caller, key_id: str, period_days: int | None) -> None:
        days = DEFAULT_ROTATION_PERIOD_DAYS if period_days is None else period_days
        with self._r.storage.write() as tx:
            key = self._r.locked(
                tx, caller, key_id, Request("kms:EnableKeyRotation"), StateRule.ROTATION
            )
            self._rotatable(key)
            tx.update_key(
                key.evolve(
                    rotation_enabled=True,
                    rotation_period_days=days,
                    next_rotation_at=self._r.clock.now() + timedelta(days=days),
                )
            )
        self._r.cache.invalidate("key", key.key_id)

    def disable_key_rotation(self, caller: Caller, key_id: str) -> None:
        with self._r.storage.write() as tx:
            key = self._r.locked(
                tx, caller, key_id, Request("kms:DisableKeyRotation"), StateRule.ROTATION
            )
            self._rotatable(key)
            tx.update_key(key.evolve(rotation_enabled=False, next_rotation_at=None))
        self._r.cache.invalidate("key", key.key_id)

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
            self._rotatable(key, on_demand=True)
            if key.origin is Origin.EXTERNAL:  # to the imported material staged for it
                updated = rotate_imported(tx, key, self._r.clock.now())
            else:
                on_demand = [
                    v for v in tx.versions(key.key_id) if v.rotation_type is RotationType.ON_DEMAND
                ]
                if len(on_demand) >= MAX_ON_DEMAND_ROTATIONS:
                    raise LimitExceededError(
                        f"The on-demand rotations limit has been reached for {key.arn}."
                    )
                updated = self._rotate(tx, key, RotationType.ON_DEMAND)
        self._r.cache.invalidate("key", key.key_id)
        return updated

    def _rotate(self, tx: WriteTx, key: Key, rotation_type: RotationType, **changes: object) -> Key:
        version = self._r.new_version(key.arn, key.key_id, rotation_type)
        tx.insert_version(version)
        updated = key.evolve(current_version_id=version.version_id, **changes)
        tx.update_key(updated)
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
            versions: list[KeyVersion | ImportedMaterial] = []
            if key.origin is Origin.EXTERNAL:
                versions.extend(rotations(tx.imported_materials(key.key_id)))
            else:
                versions.extend(tx.versions(key.key_id))
        if not include_all:
            versions = [v for v in versions if v.rotation_type is not None]
        start = decode_offset(marker)
        size = limit or 100
        page = versions[start : start + size]
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
        self._r.cache.invalidate("key", key.key_id)

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

    # background jobs -------------------------------------------------------------------
    def run_due_jobs(self, now: datetime, batch: int = 100) -> int:
        """Delete keys whose waiting period ended; rotate keys whose rotation is due."""
        done = 0
        with self._r.storage.read() as rtx:
            due = rtx.keys_due(now, batch)
        for candidate in due:
            with self._r.storage.write() as tx:
                key = tx.lock_key(candidate.key_id)
                if key is None:
                    continue
                if (
                    key.state is KeyState.PENDING_DELETION
                    and key.deletion_date is not None
                    and key.deletion_date <= now
                ):
                    tx.delete_key(key.key_id)
                    self._key_event(tx, "DeleteKey", key)
                    done += 1
                elif (
                    key.material_valid_to is not None
                    and key.material_valid_to <= now
                    and key.state is not KeyState.PENDING_IMPORT
                ):
                    remove_material(tx, key)  # imported material expired
                    self._key_event(tx, "DeleteExpiredKeyMaterial", key)
                    done += 1
                elif (
                    key.state is KeyState.ENABLED
                    and key.rotation_enabled
                    and key.next_rotation_at is not None
                    and key.next_rotation_at <= now
                ):
                    period = key.rotation_period_days or DEFAULT_ROTATION_PERIOD_DAYS
                    self._rotate(
                        tx,
                        key,
                        RotationType.AUTOMATIC,
                        next_rotation_at=now + timedelta(days=period),
                    )
                    self._key_event(tx, "RotateKey", key)
                    done += 1
            self._r.cache.invalidate("key", candidate.key_id)
        return done

    def _key_event(self, tx: WriteTx, name: str, key: Key) -> None:
        """Record background work on ``key`` in ``tx``: it commits with the work, or
        neither does."""
        if self._audit is not None:
            when = self._r.clock.now()
            details = {"keyId": key.key_id}
            call = service_event(when, "kms", name, key.region, key.account_id, key.arn, details)
            self._audit.record(call, within=tx)
