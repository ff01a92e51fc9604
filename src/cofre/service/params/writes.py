"""Parameter Store writes: PutParameter, DeleteParameter(s), and (``params_labels``)
LabelParameterVersion, UnlabelParameterVersion.

Every write locks the parameter's head row first (``WriteTx.lock_param``), so concurrent
writers of one parameter queue up and versions are gapless; a concurrent creation of the
same name is retried as an update (or refused without Overwrite). Every change goes
through ``_changed`` inside its transaction: the one place where change notifications
are recorded (the webhook outbox, ADR 0013); policies act in ``params_policy_jobs``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from cofre.core.iam.principals import Caller
from cofre.core.params.parameters import (
    DEFAULT_DATA_TYPE,
    DEFAULT_KEY_ID,
    MAX_VERSIONS,
    TIERS,
    ChangeOperation,
    ParamChange,
    ParameterType,
    ParamHead,
    ParamId,
    ParamVersion,
    Tier,
    TierLimits,
    ValueFormat,
    canonical_name,
    check_allowed_pattern,
    check_data_type,
    check_new_name,
    check_value,
    compile_allowed_pattern,
)
from cofre.core.params.policies import encode_policies, parse_policies
from cofre.core.params.tiers import (
    TAGS_WITH_OVERWRITE,
    check_policies_allowed,
    check_tags,
    choose_tier,
)
from cofre.errors import (
    AlreadyExistsError,
    CofreError,
    ParameterAlreadyExistsError,
    ParameterLimitExceededError,
    ParameterMaxVersionLimitExceededError,
    ParameterNotFoundError,
    TooManyUpdatesError,
    ValidationError,
)
from cofre.service.authz.authorizer import Authorizer
from cofre.service.params.common import NO_PARAM_CHANGES, authorize
from cofre.service.params.policy_jobs import schedule_policies
from cofre.service.params.secure import SecureStrings
from cofre.service.ports import Clock, ParamChangeSink, Storage, WriteTx

MAX_ATTEMPTS = 5


@dataclass(frozen=True, slots=True)
class PutRequest:
    """PutParameter's input; None means "not given" (keep the current setting)."""

    name: str
    value: str
    type: ParameterType | None = None
    description: str | None = None
    key_id: str | None = None
    overwrite: bool = False
    allowed_pattern: str | None = None
    tags: Mapping[str, str] | None = None
    tier: Tier | None = None
    policies: str | None = None
    data_type: str | None = None


@dataclass(frozen=True, slots=True)
class _Settings:
    """What a new version will hold, once settled (``data``: the plaintext's bytes)."""

    type: ParameterType
    tier: Tier
    data: bytes
    key_id: str | None
    description: str | None
    allowed_pattern: str | None
    data_type: str
    policies: str | None


class _NeedsManagedKey(Exception):  # noqa: N818 - a retry signal, not an error
    def __init__(self, key_id: str) -> None:
        super().__init__(key_id)
        self.key_id = key_id


class ParamService:
    def __init__(
        self,
        storage: Storage,
        authorizer: Authorizer,
        clock: Clock,
        secure: SecureStrings,
        changes: ParamChangeSink = NO_PARAM_CHANGES,
        limits: Mapping[Tier, TierLimits] = TIERS,
    ) -> None:
        self._storage = storage
        self._authorizer = authorizer
        self._clock = clock
        self._secure = secure
        self._changes = changes
        self._limits = limits

    def _changed(self, tx: WriteTx, change: ParamChange) -> None:
        """The one place every change to a parameter goes through, inside its transaction."""
        self._changes.parameter_changed(tx, change)

    # PutParameter ----------------------------------------------------------------------
    def put_parameter(self, caller: Caller, request: PutRequest) -> tuple[int, Tier]:
        """Create or update; the new version number and its tier."""
        pid = ParamId(caller.account_id, caller.region, canonical_name(request.name))
        check_new_name(pid)
        if request.tags and request.overwrite:
            raise ValidationError(TAGS_WITH_OVERWRITE)
        if request.tags:
            check_tags({}, request.tags)
        if request.allowed_pattern:
            compile_allowed_pattern(request.allowed_pattern)
        authorize(self._authorizer, caller, "ssm:PutParameter", pid.arn)
        if request.tags:
            authorize(self._authorizer, caller, "ssm:AddTagsToResource", pid.arn)
        policies = None
        if request.policies is not None:
            policies = encode_policies(parse_policies(request.policies, self._clock.now()))
        for _ in range(MAX_ATTEMPTS):
            try:
                with self._storage.write() as tx:
                    return self._put(tx, caller, pid, request, policies)
            except _NeedsManagedKey as needed:
                self._secure.prepare(caller, needed.key_id)
            except AlreadyExistsError:  # a concurrent PutParameter created it first
                if not request.overwrite:
                    raise ParameterAlreadyExistsError() from None
        raise TooManyUpdatesError("There are concurrent updates for this parameter; try again.")

    def _put(
        self,
        tx: WriteTx,
        caller: Caller,
        pid: ParamId,
        request: PutRequest,
        new_policies: str | None,
    ) -> tuple[int, Tier]:
        head = tx.lock_param(pid)
        current = None if head is None else tx.get_param_version(pid, None)
        if current is not None and not request.overwrite:
            raise ParameterAlreadyExistsError()
        new = self._settle(tx, caller, pid, head, current, request, new_policies)
        data, value_format = new.data, ValueFormat.TEXT
        if new.key_id is not None:
            data, value_format = self._secure.seal(caller, pid.arn, new.key_id, data, new.tier)
        now = self._clock.now()
        number = 1 if head is None else head.version + 1
        version = ParamVersion(
            pid,
            number,
            new.type,
            data,
            value_format,
            new.key_id,
            new.description,
            new.allowed_pattern,
            new.tier,
            new.data_type,
            new.policies,
            now,
            caller.principal_arn,
        )
        if head is None:
            tx.insert_param(ParamHead(pid, number, new.tier, now), version)
            if request.tags:
                tx.set_param_tags(pid, request.tags)
        else:
            self._make_room(tx, pid)
            tx.add_param_version(version)
        schedule_policies(tx, None if current is None else current.policies, version)
        operation = ChangeOperation.CREATE if head is None else ChangeOperation.UPDATE
        self._changed(tx, ParamChange(operation, pid, new.type, number, new.description, now))
        return number, new.tier

    def _settle(
        self,
        tx: WriteTx,
        caller: Caller,
        pid: ParamId,
        head: ParamHead | None,
        current: ParamVersion | None,
        request: PutRequest,
        new_policies: str | None,
    ) -> _Settings:
        """The new version's settings: the request's, else the current version's, checked."""
        type_ = request.type or (current.type if current is not None else None)
        if type_ is None:
            raise ValidationError("A parameter type is required when you create a parameter.")
        policies = new_policies if request.policies is not None else _kept(current, "policies")
        full: dict[Tier, bool] = {}  # each quota counted at most once

        def is_full(tier: Tier) -> bool:
            if tier not in full:
                full[tier] = self._full(tx, pid, tier)
            return full[tier]

        standard_full = (
            head is None and request.tier is Tier.INTELLIGENT_TIERING and is_full(Tier.STANDARD)
        )
        tier = choose_tier(
            request.tier,
            len(request.value.encode()),
            policies is not None,
            None if head is None else head.tier,
            standard_full,
        )
        check_policies_allowed(tier, policies is not None)
        data = check_value(request.value, self._limits[tier].max_value_bytes, tier)
        pattern = _given(request.allowed_pattern, current, "allowed_pattern")
        if pattern:
            check_allowed_pattern(pattern, request.value)
        data_type = request.data_type or _kept(current, "data_type") or DEFAULT_DATA_TYPE
        check_data_type(data_type, type_, request.value)
        key_id = self._key_id(caller, type_, request.key_id, current)
        if (head is None or head.tier is not tier) and is_full(tier):
            raise ParameterLimitExceededError(
                "You have exceeded the number of parameters for this AWS account. Delete one"
                " or more parameters and try again."
            )
        description = _given(request.description, current, "description")
        return _Settings(
            type_, tier, data, key_id, description or None, pattern or None, data_type, policies
        )

    def _full(self, tx: WriteTx, pid: ParamId, tier: Tier) -> bool:
        limit = self._limits[tier].max_parameters
        return tx.count_params(pid.account_id, pid.region, tier) >= limit

    def _key_id(
        self,
        caller: Caller,
        type_: ParameterType,
        requested: str | None,
        current: ParamVersion | None,
    ) -> str | None:
        if type_ is not ParameterType.SECURE_STRING:
            if requested:
                raise ValidationError("KeyId is supported for SecureString parameters only.")
            return None
        kept = current.key_id if current is not None else None
        key_id = requested or kept or DEFAULT_KEY_ID
        if self._secure.missing_managed_key(caller, key_id):
            raise _NeedsManagedKey(key_id)
        return key_id

    @staticmethod
    def _make_room(tx: WriteTx, pid: ParamId) -> None:
        """Keep at most 100 versions: drop the oldest, unless it has a label."""
        count, oldest = tx.param_version_span(pid)
        if count < MAX_VERSIONS:
            return
        if tx.param_version_labels(pid, oldest):
            raise ParameterMaxVersionLimitExceededError(
                f"You attempted to create a new version of {pid.name} by calling the"
                f" PutParameter API with the overwrite flag. Version {oldest}, the oldest"
                " version, can't be deleted because it has a label associated with it. Move"
                " the label to another version of the parameter, and try again."
            )
        tx.delete_param_version(pid, oldest)

    # DeleteParameter(s) ----------------------------------------------------------------
    def delete_parameter(self, caller: Caller, name: str) -> None:
        pid = ParamId(caller.account_id, caller.region, canonical_name(name))
        authorize(self._authorizer, caller, "ssm:DeleteParameter", pid.arn)
        with self._storage.write() as tx:
            if not self._delete(tx, pid):
                raise ParameterNotFoundError("")

    def delete_parameters(
        self, caller: Caller, names: Sequence[str]
    ) -> tuple[list[str], list[str]]:
        """(deleted, invalid): names as given; invalid ones are malformed or absent."""
        wanted: list[tuple[str, ParamId]] = []
        invalid: list[str] = []
        for name in dict.fromkeys(names):
            try:
                wanted.append(
                    (name, ParamId(caller.account_id, caller.region, canonical_name(name)))
                )
            except CofreError:
                invalid.append(name)
        for _, pid in wanted:
            authorize(self._authorizer, caller, "ssm:DeleteParameters", pid.arn)
        deleted: list[str] = []
        with self._storage.write() as tx:
            for name, pid in wanted:
                (deleted if self._delete(tx, pid) else invalid).append(name)
        return deleted, invalid

    def _delete(self, tx: WriteTx, pid: ParamId) -> bool:
        if tx.lock_param(pid) is None:
            return False
        current = tx.get_param_version(pid, None)
        tx.delete_param(pid)
        if current is not None:
            self._changed(
                tx,
                ParamChange(
                    ChangeOperation.DELETE,
                    pid,
                    current.type,
                    current.version,
                    current.description,
                    self._clock.now(),
                ),
            )
        return True


def _given(value: str | None, current: ParamVersion | None, attribute: str) -> str | None:
    """The request's setting when it gives one ("" included), else the current one."""
    return value if value is not None else _kept(current, attribute)


def _kept(current: ParamVersion | None, attribute: str) -> str | None:
    """A setting of the current version, kept when the request leaves it out."""
    if current is None:
        return None
    value: str | None = getattr(current, attribute)
    return value
