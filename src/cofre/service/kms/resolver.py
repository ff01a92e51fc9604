"""Finding the key a request names, checking who may use it, and minting key material.

Shared by the key-management and cryptographic use cases.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime, timedelta

from cofre.core.crypto import Aead, Random, key_version_aad, unwrap, wrap
from cofre.core.iam.principals import Caller
from cofre.core.ids import AWS_ALIAS_PREFIX, KeyRef, alias_arn, key_arn, key_row_id, parse_key_ref
from cofre.core.kms.asymmetric import generate_private_der
from cofre.core.kms.default_policy import aws_managed_key_policy
from cofre.core.kms.keys import (
    DEFAULT_ROTATION_PERIOD_DAYS,
    Alias,
    Key,
    KeyManager,
    KeyState,
    KeyVersion,
    Origin,
    RotationType,
    StateRule,
    check_state,
)
from cofre.core.kms.keyspecs import KEY_SPECS, Family
from cofre.errors import AlreadyExistsError, NotFoundError
from cofre.service.authz.authorizer import Authorizer, Request
from cofre.service.cache.keycache import CachedKey, KeyCache
from cofre.service.ports import Clock, ReadTx, Storage, WriteTx

# The services whose default keys (alias/aws/<service>) Cofre creates on first use.
AWS_MANAGED_SERVICES = frozenset(
    {
        "acm", "backup", "cloudtrail", "codecommit", "dms", "dynamodb", "ebs",
        "elasticfilesystem", "es", "fsx", "glue", "kinesis", "kinesisvideo", "lambda",
        "lightsail", "rds", "redshift", "s3", "sagemaker", "secretsmanager", "sns", "sqs",
        "ssm", "xray",
    }
)  # fmt: skip


_PROTECTS = {
    "ssm": "SSM parameters",
    "s3": "S3 objects",
    "ebs": "EBS volumes",
    "rds": "RDS database volumes",
    "secretsmanager": "Secrets Manager secrets",
    "lambda": "Lambda functions",
    "sns": "SNS data",
    "sqs": "SQS messages",
    "dynamodb": "DynamoDB data",
}


def key_not_found(arn: str) -> NotFoundError:
    return NotFoundError(f"Key '{arn}' does not exist")


def _with_alias(request: Request, ref: KeyRef) -> Request:
    """kms:RequestAlias: the alias the request named the key by, when it did."""
    if ref.alias_name is None:
        return request
    keys = {**request.condition_keys, "kms:RequestAlias": ref.alias_name}
    return replace(request, condition_keys=keys)


class KeyResolver:
    def __init__(
        self,
        storage: Storage,
        cache: KeyCache,
        authorizer: Authorizer,
        clock: Clock,
        random: Random,
        root: Aead,
    ) -> None:
        self.storage = storage
        self.cache = cache
        self.authorizer = authorizer
        self.clock = clock
        self.random = random
        self.root = root

    # naming ----------------------------------------------------------------------------
    def _owner(self, caller: Caller, ref: KeyRef) -> tuple[str, str]:
        """The (account, region) a reference points into; NotFound for another region (AWS
        names the ARN's Region: "Invalid arn ap-southeast-1")."""
        if ref.region is not None and ref.region != caller.region:
            raise NotFoundError(f"Invalid arn {ref.region}")
        return (ref.account_id or caller.account_id, caller.region)

    def _check_owner(self, caller: Caller, ref: KeyRef, key: Key | None, key_id: str) -> Key:
        account_id, region = self._owner(caller, ref)
        if key is None or key.account_id != account_id or key.region != region:
            raise key_not_found(key_arn(region, account_id, key_id))
        return key

    def key_id_for(self, caller: Caller, text: str, *, allow_alias: bool) -> str:
        """The key id named by a key id, key ARN, alias name or alias ARN (cached)."""
        return self._key_id_of(caller, parse_key_ref(text, allow_alias=allow_alias))

    def _key_id_of(self, caller: Caller, ref: KeyRef) -> str:
        if ref.key_id is not None:
            return ref.key_id
        account_id, region = self._owner(caller, ref)
        assert ref.alias_name is not None
        target = self.cache.alias_target(account_id, region, ref.alias_name)
        if target is not None:
            return target
        if self._is_creatable_aws_alias(caller, account_id, ref.alias_name):
            return self.ensure_aws_managed_key(account_id, region, ref.alias_name)
        raise NotFoundError(f"Alias {alias_arn(region, account_id, ref.alias_name)} is not found.")

    def named_key(self, caller: Caller, text: str) -> tuple[str, str]:
        """(key id, account id) that a KeyId parameter names, as far as the name tells."""
        ref = parse_key_ref(text, allow_alias=True)
        account_id, _ = self._owner(caller, ref)
        return self._key_id_of(caller, ref), account_id

    @staticmethod
    def _is_creatable_aws_alias(caller: Caller, account_id: str, name: str) -> bool:
        return (
            account_id == caller.account_id
            and name.startswith(AWS_ALIAS_PREFIX)
            and name[len(AWS_ALIAS_PREFIX) :] in AWS_MANAGED_SERVICES
        )

    # use: the hot path -----------------------------------------------------------------
    def for_use(
        self,
        caller: Caller,
        text: str,
        request: Request,
        rule: StateRule = StateRule.ENABLED,
        *,
        allow_alias: bool = True,
    ) -> CachedKey:
        """Resolve, authorize and state-check a key through the cache."""
        ref = parse_key_ref(text, allow_alias=allow_alias)
        key_id = self._key_id_of(caller, ref)
        entry = self.cache.key(key_row_id(key_id, caller.region))
        self._check_owner(caller, ref, None if entry is None else entry.key, key_id)
        assert entry is not None
        self.authorizer.authorize(caller, _with_alias(request, ref), entry.key)
        check_state(entry.key, rule)
        return entry

    def authorize_loaded(
        self, caller: Caller, entry: CachedKey, request: Request, rule: StateRule
    ) -> None:
        self.authorizer.authorize(caller, request, entry.key)
        check_state(entry.key, rule)

    # management: inside a write transaction ---------------------------------------------
    def locked(
        self,
        tx: WriteTx,
        caller: Caller,
        text: str,
        request: Request,
        rule: StateRule,
        *,
        allow_alias: bool = False,
    ) -> Key:
        """Resolve a key inside ``tx``, lock its row, authorize and state-check it."""
        ref = parse_key_ref(text, allow_alias=allow_alias)
        key_id = ref.key_id if not ref.is_alias else self._alias_in_tx(tx, caller, ref)
        assert key_id is not None
        key = self._check_owner(caller, ref, tx.lock_key(key_row_id(key_id, caller.region)), key_id)
        self.authorizer.authorize(caller, _with_alias(request, ref), key)
        check_state(key, rule)
        return key

    def read(
        self, tx: ReadTx, caller: Caller, text: str, request: Request, *, allow_alias: bool
    ) -> Key:
        """Resolve and authorize a key for reading (any state)."""
        ref = parse_key_ref(text, allow_alias=allow_alias)
        key_id = ref.key_id if not ref.is_alias else self._alias_in_tx(tx, caller, ref)
        assert key_id is not None
        key = self._check_owner(caller, ref, tx.get_key(key_row_id(key_id, caller.region)), key_id)
        self.authorizer.authorize(caller, _with_alias(request, ref), key)
        return key

    def _alias_in_tx(self, tx: ReadTx, caller: Caller, ref: KeyRef) -> str:
        account_id, region = self._owner(caller, ref)
        assert ref.alias_name is not None
        alias = tx.get_alias(account_id, region, ref.alias_name)
        if alias is not None:
            return alias.key_id
        raise NotFoundError(f"Alias {alias_arn(region, account_id, ref.alias_name)} is not found.")

    def ensure_alias(self, caller: Caller, text: str) -> None:
        """Create the AWS managed key ``text`` names, if it names one not yet created.

        Call before opening a transaction that resolves ``text``.
        """
        if text.startswith(("alias/aws/", "arn:")) and "alias/aws/" in text:
            self.key_id_for(caller, text, allow_alias=True)

    # material --------------------------------------------------------------------------
    def new_material(self, spec: str = "SYMMETRIC_DEFAULT") -> bytes:
        """New key material of ``spec``: random bytes, or a private key as PKCS#8 DER."""
        info = KEY_SPECS[spec]
        if info.family in (Family.SYMMETRIC, Family.HMAC):
            return self.random(info.material_bytes)
        return generate_private_der(spec)

    def version_of(
        self,
        key: Key,
        version_id: bytes,
        material: bytes,
        created_at: datetime,
        rotation_type: RotationType | None,
    ) -> KeyVersion:
        """``material`` as a version of ``key``: wrapped under the keyring key, bound to the
        key's ARN and the version id (docs/formats/wrapped-secret.md)."""
        aad = key_version_aad(key.arn, version_id)
        wrapped = wrap(self.root, material, aad, self.random)
        return KeyVersion(key.row_id, version_id, wrapped, created_at, rotation_type)

    def material_of(self, key: Key, version: KeyVersion) -> bytes:
        """The plaintext material of one of ``key``'s versions (to copy it to a replica)."""
        return unwrap(
            self.root, version.wrapped_material, key_version_aad(key.arn, version.version_id)
        )

    def new_version(self, key: Key, rotation_type: RotationType | None) -> KeyVersion:
        """A version of ``key`` with new material of its spec."""
        material = self.new_material(key.key_spec)
        return self.version_of(key, self.random(32), material, self.clock.now(), rotation_type)

    def ensure_aws_managed_key(self, account_id: str, region: str, alias_name: str) -> str:
        """Create the AWS managed key behind ``alias/aws/<service>`` unless it exists.

        Two first uses may race (on PostgreSQL both see no alias); the loser finds the
        winner's key.
        """
        try:
            return self._create_aws_managed_key(account_id, region, alias_name)
        except AlreadyExistsError:
            with self.storage.read() as tx:
                existing = tx.get_alias(account_id, region, alias_name)
            if existing is None:
                raise
            return existing.key_id

    def _create_aws_managed_key(self, account_id: str, region: str, alias_name: str) -> str:
        service = alias_name[len(AWS_ALIAS_PREFIX) :]
        with self.storage.write() as tx:
            existing = tx.get_alias(account_id, region, alias_name)
            if existing is not None:
                return existing.key_id
            now = self.clock.now()
            key_id = str(uuid.UUID(bytes=self.random(16), version=4))
            arn = key_arn(region, account_id, key_id)
            version_id = self.random(32)
            key = Key(
                key_id=key_id,
                account_id=account_id,
                region=region,
                arn=arn,
                created_at=now,
                description=f"Default key that protects my {_PROTECTS.get(service, service)}"
                " when no other key is defined",
                key_spec="SYMMETRIC_DEFAULT",
                key_usage="ENCRYPT_DECRYPT",
                origin=Origin.AWS_KMS,
                key_manager=KeyManager.AWS,
                state=KeyState.ENABLED,
                policy=aws_managed_key_policy(account_id, region, service),
                current_version_id=version_id,
                rotation_enabled=True,
                rotation_period_days=DEFAULT_ROTATION_PERIOD_DAYS,
                next_rotation_at=now + timedelta(days=DEFAULT_ROTATION_PERIOD_DAYS),
            )
            version = self.version_of(key, version_id, self.new_material(), now, None)
            tx.insert_key(key, version)
            tx.insert_alias(Alias(account_id, region, alias_name, key_id, now, now))
        return key_id
