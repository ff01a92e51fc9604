"""What the Parameter Store use cases share: naming a parameter for a caller, the
authorization call, NextTokens, and how a stored version's value is shown.

Authorization is identity-policy only, as in SSM (no resource policies): the account root
may do anything in its own account; anyone else needs an IAM policy that allows the SSM
action (``ssm:GetParameter``, ...) on the parameter's ARN and none that denies it.
"""

from __future__ import annotations

import base64

from cofre.core.iam.principals import Caller
from cofre.core.params.events import PolicyAction
from cofre.core.params.parameters import (
    ParamChange,
    ParameterType,
    ParamId,
    ParamVersion,
    Reference,
    ValueFormat,
)
from cofre.errors import (
    AccessDeniedError,
    InvalidMarkerError,
    InvalidNextTokenError,
    ParameterNotFoundError,
    ParameterVersionNotFoundError,
)
from cofre.service.authz.authorizer import Authorizer
from cofre.service.iam.common import check
from cofre.service.pagination import decode_marker, encode_marker
from cofre.service.params.secure import SecureStrings
from cofre.service.ports import ParamChangeSink, WriteTx


def version_not_found(name: str, version: int | str) -> ParameterVersionNotFoundError:
    return ParameterVersionNotFoundError(
        f"Systems Manager could not find version {version} of {name}. Verify the version and"
        " try again."
    )


def not_found(name: str) -> ParameterNotFoundError:
    return ParameterNotFoundError(f"Parameter {name} not found.")


class NoParamChanges:
    """A change sink that records nothing (tests, and tools that need no notifications;
    the server uses ``params_outbox.WebhookOutbox``)."""

    def parameter_changed(self, tx: WriteTx, change: ParamChange) -> None:
        return None

    def policy_acted(self, tx: WriteTx, action: PolicyAction) -> None:
        return None


NO_PARAM_CHANGES: ParamChangeSink = NoParamChanges()


def param_id(caller: Caller, ref: Reference) -> ParamId:
    """The parameter a reference names for ``caller``. A parameter ARN of another account
    or Region names nothing Cofre can show (no parameter sharing): ParameterNotFound."""
    if ref.account_id not in (None, caller.account_id) or ref.region not in (None, caller.region):
        raise ParameterNotFoundError(f"Parameter {ref.name} not found.")
    return ParamId(caller.account_id, caller.region, ref.name)


def authorize(authorizer: Authorizer, caller: Caller, action: str, resource: str) -> None:
    check(authorizer, caller, action, resource)


def allowed(authorizer: Authorizer, caller: Caller, action: str, resource: str) -> bool:
    try:
        check(authorizer, caller, action, resource)
    except AccessDeniedError:
        return False
    return True


def encode_token(position: str) -> str:
    return encode_marker(position)


def decode_token(token: str | None) -> str | None:
    try:
        return decode_marker(token)
    except InvalidMarkerError as exc:
        raise InvalidNextTokenError("The specified token isn't valid.") from exc


def decode_version_token(token: str | None) -> int | None:
    position = decode_token(token)
    if position is None:
        return None
    if not position.isdigit() or len(position) > 18:
        raise InvalidNextTokenError("The specified token isn't valid.")
    return int(position)


def shown_value(secure: SecureStrings, caller: Caller, version: ParamVersion, decrypt: bool) -> str:
    """The Value member: text as stored; a SecureString decrypted when asked (that needs
    kms:Decrypt), else the base64 of what is stored."""
    if version.value_format is ValueFormat.TEXT:
        return version.value.decode()
    if decrypt and version.type is ParameterType.SECURE_STRING:
        return secure.open(caller, version)
    return base64.b64encode(version.value).decode("ascii")
