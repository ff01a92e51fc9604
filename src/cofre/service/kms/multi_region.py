"""Multi-Region keys (ADR 16): ReplicateKey, UpdatePrimaryRegion, and what related keys
share.

Related keys share a key id (``mrk-...``) and have a row each, one per Region, under the
row id ``<key id>/<Region>``. Each row holds its own copy of every key version -- the
same version ids and the same material, wrapped under the keyring key for its own ARN -- so
a ciphertext made in one Region decrypts in any other that holds a related key (the blob
names the key id, and the Decrypt's Region picks the row). What AWS shares is copied to
every row and changed in all of them in one transaction: the key material (a rotation of
the primary is a rotation of all), key spec, usage, origin, rotation settings and which
Region is the primary. Description, policy, tags, grants, aliases and the key state are
each key's own.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from cofre.core.audit.events import AuditCall
from cofre.core.iam.principals import Caller
from cofre.core.ids import key_arn
from cofre.core.kms.default_policy import default_key_policy
from cofre.core.kms.keys import Key, KeyManager, KeyState, Origin, RotationType, StateRule
from cofre.core.kms.keys import check_state as check_key_state
from cofre.core.policy import PolicyKind, parse_policy
from cofre.errors import (
    AlreadyExistsError,
    MalformedPolicyDocumentError,
    NotFoundError,
    UnsupportedOperationError,
)
from cofre.service.authz.authorizer import Request
from cofre.service.kms.resolver import KeyResolver
from cofre.service.kms.tags import Tags, new_tags
from cofre.service.ports import AuditRecorder, ReadTx, WriteTx


def regions_of(tx: ReadTx, key: Key) -> tuple[str, ...]:
    """The Regions of ``key`` and its related keys, sorted; () for a single-Region key."""
    if not key.multi_region:
        return ()
    return tuple(k.region for k in tx.related_keys(key.account_id, key.key_id))


def related_or_self(tx: WriteTx, key: Key) -> list[Key]:
    """``key`` and its related keys, their rows locked; just ``key`` if single-Region."""
    if not key.multi_region:
        return [key]
    return tx.lock_related_keys(key.account_id, key.key_id)


def rotate(
    tx: WriteTx, resolver: KeyResolver, key: Key, rotation_type: RotationType, **changes: object
) -> tuple[Key, list[str]]:
    """New material for ``key`` and every related key -- one material, wrapped for each --
    made current; ``changes`` apply to them all. The key as updated, and the row ids
    touched (for the caller to invalidate once the transaction has committed)."""
    now = resolver.clock.now()
    version_id = resolver.random(32)
    material = resolver.new_material(key.key_spec)
    result = key
    touched: list[str] = []
    for related in related_or_self(tx, key):
        tx.insert_version(resolver.version_of(related, version_id, material, now, rotation_type))
        updated = related.evolve(current_version_id=version_id, **changes)
        tx.update_key(updated)
        touched.append(updated.row_id)
        if updated.row_id == key.row_id:
            result = updated
    return result, touched


@dataclass(frozen=True, slots=True)
class Replica:
    """What ReplicateKey made: the new key, the Regions of every related key, its tags."""

    key: Key
    regions: tuple[str, ...]
    tags: dict[str, str]


class MultiRegionService:
    def __init__(self, resolver: KeyResolver, audit: AuditRecorder | None = None) -> None:
        """``audit``: where the CreateKey that ReplicateKey makes in the replica's Region is
        recorded (AWS records both), inside the transaction that makes it."""
        self._r = resolver
        self._audit = audit

    def replicate_key(
        self,
        caller: Caller,
        key_id: str,
        replica_region: str,
        *,
        policy: str | None = None,
        description: str = "",
        tags: Tags = (),
        bypass_lockout_check: bool = False,
    ) -> Replica:
        """A replica of a multi-Region primary key in ``replica_region``: created in state
        Creating (the background job makes it Enabled, or PendingImport for imported key
        material), with the primary's key material, all of it."""
        if policy is not None:
            parse_policy(policy, PolicyKind.KEY)
        there = dataclasses.replace(caller, region=replica_region)
        with self._r.storage.write() as tx:
            request = Request(
                "kms:ReplicateKey", condition_keys={"kms:ReplicaRegion": replica_region}
            )
            primary = self._r.locked(tx, caller, key_id, request, StateRule.ANY)
            if not primary.is_primary:  # checked first, as AWS does
                raise UnsupportedOperationError(f"{primary.arn} is not a multi-region primary key.")
            check_key_state(primary, StateRule.IMPORT)
            related = tx.lock_related_keys(primary.account_id, primary.key_id)
            arn = key_arn(replica_region, primary.account_id, primary.key_id)
            if any(k.region == replica_region for k in related):
                raise AlreadyExistsError(f"{arn} already exists")
            self._r.authorizer.authorize(there, Request("kms:CreateKey"), None)
            tag_map = new_tags({}, tags)
            if tag_map:
                self._r.authorizer.authorize(there, Request("kms:TagResource"), None)
            now = self._r.clock.now()
            replica = dataclasses.replace(
                primary,
                region=replica_region,
                arn=arn,
                created_at=now,
                description=description,
                key_manager=KeyManager.CUSTOMER,
                state=KeyState.CREATING,
                policy=policy if policy is not None else default_key_policy(caller.account_id),
                deletion_date=None,
                pending_window_days=None,
                on_demand_rotation_started_at=None,
                revision=1,
                expiration_model=None,
                material_valid_to=None,
                settles_at=now,
            )
            if policy is not None and not bypass_lockout_check:
                if not self._r.authorizer.allows(there, Request("kms:PutKeyPolicy"), replica):
                    raise MalformedPolicyDocumentError(
                        "The new key policy will not allow you to update the key policy in the"
                        " future."
                    )
            tx.insert_key(replica, None)
            self._copy_material(tx, primary, replica)
            if tag_map:
                tx.set_tags(replica.row_id, tag_map)
            self._record_create(tx, there, replica)
        regions = tuple(sorted({*(k.region for k in related), replica_region}))
        return Replica(replica, regions, tag_map)

    def _copy_material(self, tx: WriteTx, primary: Key, replica: Key) -> None:
        """Every version of the primary, rewrapped for the replica. Imported material is
        not copied: the replica lists it as pending import, and the same material must be
        imported into it (ImportKeyMaterial with the material the primary holds)."""
        if primary.origin is Origin.EXTERNAL:
            for material in tx.imported_materials(primary.row_id):
                if not material.pending_rotation:
                    tx.put_imported_material(material.evolve(row_id=replica.row_id))
            return
        for version in tx.versions(primary.row_id):
            tx.insert_version(
                self._r.version_of(
                    replica,
                    version.version_id,
                    self._r.material_of(primary, version),
                    version.created_at,
                    version.rotation_type,
                )
            )

    def _record_create(self, tx: WriteTx, caller: Caller, replica: Key) -> None:
        if self._audit is None:
            return
        call = AuditCall(
            time=replica.created_at,
            service="kms",
            operation="CreateKey",
            region=replica.region,
            caller=caller,
            params={
                "Description": replica.description,
                "KeySpec": replica.key_spec,
                "KeyUsage": replica.key_usage,
                "Origin": replica.origin.value,
                "MultiRegion": True,
            },
            read_only=False,
            resources=(replica.arn,),
        )
        self._audit.record(call, within=tx)

    def update_primary_region(self, caller: Caller, key_id: str, primary_region: str) -> None:
        """Make the related key in ``primary_region`` the primary, the primary a replica.
        Both must be Enabled; both are Updating until the background job settles them."""
        with self._r.storage.write() as tx:
            request = Request(
                "kms:UpdatePrimaryRegion", condition_keys={"kms:PrimaryRegion": primary_region}
            )
            key = self._r.locked(tx, caller, key_id, request, StateRule.ANY)
            if not key.is_primary:
                raise UnsupportedOperationError(f"{key.arn} is not a multi-Region primary key.")
            if primary_region == key.region:
                raise UnsupportedOperationError(f"{key.arn} is already the primary key.")
            related = tx.lock_related_keys(key.account_id, key.key_id)
            new = next((k for k in related if k.region == primary_region), None)
            if new is None:
                arn = key_arn(primary_region, key.account_id, key.key_id)
                raise NotFoundError(f"Key '{arn}' does not exist")
            there = dataclasses.replace(caller, region=primary_region)
            self._r.authorizer.authorize(there, request, new)
            check_key_state(key, StateRule.ENABLED_ONLY)
            check_key_state(new, StateRule.ENABLED_ONLY)
            now = self._r.clock.now()
            for member in related:
                changes: dict[str, object] = {"primary_region": primary_region}
                if member.row_id in (key.row_id, new.row_id):
                    changes.update(state=KeyState.UPDATING, settles_at=now)
                tx.update_key(member.evolve(**changes))
        for member in related:
            self._r.cache.invalidate("key", member.row_id)
