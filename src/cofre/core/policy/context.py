"""The request context a policy is evaluated against (IAM User Guide, "Processing the
request context"). Built once per request; condition keys are looked up by their
normalised name (see ``normalize_key``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from cofre.core.policy._template import normalize_key

ContextValue = str | bool | int | Sequence[str]


def _texts(value: ContextValue) -> tuple[str, ...]:
    if isinstance(value, bool):
        return ("true" if value else "false",)
    if isinstance(value, str | int):
        return (str(value),)
    return tuple(value)


@dataclass(frozen=True, slots=True)
class RequestContext:
    """Who asks for what, on which resource, and the condition keys of the request.

    ``current_time`` is given, never read from a clock. ``encryption_context`` fills
    ``kms:EncryptionContext:<k>`` and ``kms:EncryptionContextKeys``; ``condition_keys``
    adds or overrides any key (``kms:ViaService``, ``kms:GrantOperations``, ...); list
    values make multivalued keys.
    """

    principal_arn: str
    principal_account: str
    action: str
    resource_arn: str
    resource_account: str
    current_time: datetime
    source_ip: str | None = None
    secure_transport: bool | None = None
    username: str | None = None
    userid: str | None = None
    role_arn: str | None = None  # the role of an assumed-role session
    encryption_context: Mapping[str, str] | None = None
    condition_keys: Mapping[str, ContextValue] = field(default_factory=dict)
    action_lower: str = field(init=False, repr=False, compare=False)
    is_account_root: bool = field(init=False, repr=False, compare=False)
    keys: Mapping[str, tuple[str, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        when = self.current_time
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        when = when.astimezone(UTC)
        keys: dict[str, tuple[str, ...]] = {
            "aws:principalarn": (self.principal_arn,),
            "aws:principalaccount": (self.principal_account,),
            "aws:currenttime": (when.strftime("%Y-%m-%dT%H:%M:%SZ"),),
            "aws:epochtime": (str(int(when.timestamp())),),
            "kms:calleraccount": (self.principal_account,),
        }
        if self.source_ip is not None:
            keys["aws:sourceip"] = (self.source_ip,)
        if self.secure_transport is not None:
            keys["aws:securetransport"] = ("true" if self.secure_transport else "false",)
        if self.username is not None:
            keys["aws:username"] = (self.username,)
        if self.userid is not None:
            keys["aws:userid"] = (self.userid,)
        if self.encryption_context is not None:
            for k, v in self.encryption_context.items():
                keys["kms:encryptioncontext:" + k] = (v,)
            keys["kms:encryptioncontextkeys"] = tuple(self.encryption_context)
        for name, value in self.condition_keys.items():
            keys[normalize_key(name)] = _texts(value)
        object.__setattr__(self, "keys", keys)
        object.__setattr__(self, "action_lower", self.action.lower())
        root = self.principal_arn == f"arn:aws:iam::{self.principal_account}:root"
        object.__setattr__(self, "is_account_root", root)

    def lookup(self, key: str) -> tuple[str, ...] | None:
        """Values of a normalised condition key; None when the request has none."""
        return self.keys.get(key)

    @property
    def is_cross_account(self) -> bool:
        return self.principal_account != self.resource_account
