"""Parameter Store: parameters and their versions, names and ARNs, types, tiers, labels,
limits, as AWS Systems Manager has them. Pure: no I/O.

Names (SSM API reference, PutParameter ``Name``; User Guide, "Requirements and constraints
for parameter names"):

* letters, digits and ``_ . -``; ``/`` separates the levels of a hierarchy, and a name
  with a ``/`` must start with one (``/app/prod/db``); spaces around a name are removed;
* a single-level name is the same parameter with or without its leading slash: AWS
  stores ``/foo`` as ``foo``, and both have the ARN ``...:parameter/foo``;
* at most 15 levels; the ARN (``arn:aws:ssm:<region>:<account>:parameter/`` and the
  name without its leading slash) at most 1011 characters;
* ``aws`` and ``ssm`` prefixes (case-insensitive) are reserved.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum, StrEnum

from cofre.errors import (
    AccessDeniedError,
    HierarchyLevelLimitExceededError,
    InvalidAllowedPatternError,
    ParameterPatternMismatchError,
    ValidationError,
)


class ParameterType(StrEnum):
    STRING = "String"
    STRING_LIST = "StringList"
    SECURE_STRING = "SecureString"


class Tier(StrEnum):
    STANDARD = "Standard"
    ADVANCED = "Advanced"
    INTELLIGENT_TIERING = "Intelligent-Tiering"  # a request option, never a stored tier


class ValueFormat(IntEnum):
    """How a version's value is stored."""

    TEXT = 0  # UTF-8 (String, StringList)
    KMS_BLOB = 1  # a KMS ciphertext blob, one Encrypt call (Standard-tier SecureString)
    ENVELOPE = 2  # docs/formats/securestring-envelope.md (Advanced-tier SecureString)


@dataclass(frozen=True, slots=True)
class TierLimits:
    max_value_bytes: int
    max_parameters: int  # per account and Region
    policies: bool


# User Guide, "Managing parameter tiers".
TIERS: dict[Tier, TierLimits] = {
    Tier.STANDARD: TierLimits(4096, 10_000, policies=False),
    Tier.ADVANCED: TierLimits(8192, 100_000, policies=True),
}
MAX_HIERARCHY_LEVELS = 15
MAX_ARN_LENGTH = 1011  # PutParameter Name: "includes the characters in the ARN that precede"
MAX_VERSIONS = 100  # "Parameter Store retains the 100 most recently created versions"
MAX_LABELS_PER_VERSION = 10
MAX_TAGS = 50
MAX_GET_PARAMETERS = 10
DEFAULT_KEY_ID = "alias/aws/ssm"
DEFAULT_DATA_TYPE = "text"
CONTEXT_KEY = "PARAMETER_ARN"  # the encryption context Parameter Store uses with KMS
ARN_PREFIX = "arn:aws:ssm:"

_SEGMENT = r"[a-zA-Z0-9_.\-]+"
_FLAT_RE = re.compile(_SEGMENT)
_PATH_NAME_RE = re.compile(rf"(?:/{_SEGMENT})+")
_PATH_RE = re.compile(rf"/|(?:/{_SEGMENT})+/?")
_LABEL_RE = re.compile(r"[a-zA-Z0-9_.\-]{1,100}")
_NUMBER_RE = re.compile(r"[0-9]{1,18}")
_SELECTOR_RE = re.compile(r"[a-zA-Z0-9_.\-]{1,128}")
_NESTED_RE = re.compile(r"\{\{.*?\}\}", re.DOTALL)
_AMI_RE = re.compile(r"ami-[0-9a-f]{8,17}")

INVALID_NAME = (
    'Parameter name: can\'t be prefixed with "ssm" (case-insensitive). If formed as a path,'
    " it can consist of sub-paths divided by slash symbol; each sub-path can be formed as a"
    " mix of letters, numbers and the following 3 symbols .-_"
)
RESERVED_FLAT_NAME = 'Parameter name: can\'t be prefixed with "aws" or "ssm" (case-insensitive).'
INVALID_PATH = (
    "The parameter doesn't meet the parameter name requirements. The parameter name must"
    ' begin with a forward slash "/". It can\'t be prefixed with "aws" or "ssm"'
    " (case-insensitive). It must use only letters, numbers, or the following symbols: ."
    " (period), - (hyphen), _ (underscore). Special characters are not allowed. All"
    ' sub-paths, if specified, must use the forward slash symbol "/". Valid example:'
    " /get/parameters2-/by1./path0_."
)
HIERARCHY_LIMIT = "A hierarchy can have a maximum of 15 levels."


@dataclass(frozen=True, slots=True)
class ParamId:
    """Where a parameter lives and its canonical name."""

    account_id: str
    region: str
    name: str

    @property
    def arn(self) -> str:
        return parameter_arn(self.region, self.account_id, self.name)


@dataclass(frozen=True, slots=True)
class ParamVersion:
    """One version of a parameter, as stored. ``value`` is ciphertext for SecureString."""

    id: ParamId
    version: int
    type: ParameterType
    value: bytes
    value_format: ValueFormat
    key_id: str | None  # SecureString: the KeyId as given (or alias/aws/ssm)
    description: str | None
    allowed_pattern: str | None
    tier: Tier
    data_type: str
    policies: str | None  # a JSON array (core.params_policies), None when there are none
    modified_at: datetime
    modified_by: str  # the principal ARN
    labels: tuple[str, ...] = ()  # filled by history reads only


@dataclass(frozen=True, slots=True)
class ParamHead:
    """A parameter's own row: its current version and tier (locked by writers)."""

    id: ParamId
    version: int
    tier: Tier
    created_at: datetime


class ChangeOperation(StrEnum):
    """The ``operation`` of EventBridge's "Parameter Store Change" events."""

    CREATE = "Create"
    UPDATE = "Update"
    DELETE = "Delete"
    LABEL = "LabelParameterVersion"
    UNLABEL = "UnlabelParameterVersion"


@dataclass(frozen=True, slots=True)
class ParamChange:
    """One change to a parameter, recorded in the transaction that made it."""

    operation: ChangeOperation
    id: ParamId
    type: ParameterType
    version: int
    description: str | None
    at: datetime
    labels: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Reference:
    """A parameter named in a request: a name or ARN, with an optional ``:selector``."""

    name: str  # canonical
    account_id: str | None = None  # from an ARN
    region: str | None = None  # from an ARN
    version: int | None = None
    label: str | None = None
    slashed: bool = False  # a single-level name asked for with its leading slash ("/foo")

    @property
    def shown_name(self) -> str:
        """The name as a response shows it: as asked, so ``/foo`` for a parameter created as
        ``foo`` and read as ``/foo`` (AWS echoes the requested form)."""
        return f"/{self.name}" if self.slashed else self.name

    @property
    def selector(self) -> str | None:
        """As the response's ``Selector`` member shows it: ``:3`` or ``:label``."""
        if self.version is not None:
            return f":{self.version}"
        return None if self.label is None else f":{self.label}"


# names -------------------------------------------------------------------------------
def parameter_arn(region: str, account_id: str, name: str) -> str:
    return f"{ARN_PREFIX}{region}:{account_id}:parameter/{name.lstrip('/')}"


def path_arn(region: str, account_id: str, path: str) -> str:
    """The resource GetParametersByPath is authorized on: ``parameter/app/prod``."""
    return f"{ARN_PREFIX}{region}:{account_id}:parameter{path}"


def canonical_name(raw: str) -> str:
    """The name a request means: spaces around it dropped, ``/foo`` as ``foo``.

    ValidationError for anything that is not a name (AWS's message for every case).
    """
    name = raw.strip(" ")
    if _FLAT_RE.fullmatch(name):
        return name
    if _PATH_NAME_RE.fullmatch(name) is None:
        raise ValidationError(INVALID_NAME)
    return name[1:] if name.count("/") == 1 else name


def check_new_name(pid: ParamId) -> None:
    """What a created or updated parameter's name must satisfy beyond its syntax."""
    lowered = pid.name.lower()
    if "/" not in pid.name:
        if lowered.startswith(("aws", "ssm")):
            raise ValidationError(RESERVED_FLAT_NAME)
    elif lowered.startswith("/aws"):
        raise AccessDeniedError(f"No access to reserved parameter name: {pid.name}.")
    elif lowered.startswith("/ssm"):
        raise ValidationError(INVALID_NAME)
    if pid.name.count("/") > MAX_HIERARCHY_LEVELS:
        raise HierarchyLevelLimitExceededError(HIERARCHY_LIMIT)
    arn = pid.arn
    if len(arn) > MAX_ARN_LENGTH:
        raise ValidationError(
            f"Parameter name is too long: its ARN has {len(arn)} characters; the name and the"
            f" ARN prefix before it can have at most {MAX_ARN_LENGTH}."
        )


def parent_path(name: str) -> str:
    """The level a parameter sits at: ``/app/prod/`` for ``/app/prod/db``, ``/`` for ``foo``."""
    if "/" not in name:
        return "/"
    return name[: name.rindex("/") + 1]


def canonical_path(raw: str) -> str:
    """A GetParametersByPath / Path-filter path, with a trailing slash: ``/app/prod/``."""
    path = raw.strip(" ")
    if _PATH_RE.fullmatch(path) is None:
        raise ValidationError(INVALID_PATH)
    path = path.rstrip("/") + "/"
    if path.count("/") - 1 > MAX_HIERARCHY_LEVELS:
        raise HierarchyLevelLimitExceededError(HIERARCHY_LIMIT)
    return path


@functools.lru_cache(maxsize=4096)
def parse_reference(text: str, *, allow_arn: bool, allow_selector: bool) -> Reference:
    """A Name parameter: ``name``, ``name:3``, ``name:label``, or an ARN of either form.

    Pure, so memoised: readers name the same parameters over and over."""
    account_id = region = None
    body = text.strip(" ")
    if allow_arn and body.startswith("arn:"):
        parts = body.split(":", 5)
        resource = parts[5] if len(parts) == 6 else ""
        if parts[1:3] != ["aws", "ssm"] or not resource.startswith("parameter/"):
            raise ValidationError(f"Invalid ARN for a parameter: {text[:200]}")
        region, account_id = parts[3], parts[4]
        resource = resource[len("parameter/") :]
        body = f"/{resource}" if "/" in resource.split(":", 1)[0] else resource
    name, colon, selector = body.partition(":")
    canonical = canonical_name(name)
    slashed = region is None and "/" not in canonical and name.strip(" ").startswith("/")
    if not colon:
        return Reference(canonical, account_id, region, slashed=slashed)
    if not allow_selector or _SELECTOR_RE.fullmatch(selector) is None:
        raise ValidationError(INVALID_NAME)
    if _NUMBER_RE.fullmatch(selector):
        return Reference(canonical, account_id, region, version=int(selector), slashed=slashed)
    return Reference(canonical, account_id, region, label=selector, slashed=slashed)


# labels ------------------------------------------------------------------------------
def is_valid_label(label: str) -> bool:
    """LabelParameterVersion: letters, digits, ``. - _``, at most 100 characters, not
    starting with a digit, ``aws`` or ``ssm`` (case-insensitive)."""
    return (
        _LABEL_RE.fullmatch(label) is not None
        and not label[0].isdigit()
        and not label.lower().startswith(("aws", "ssm"))
    )


# values ------------------------------------------------------------------------------
def check_value(value: str, limit: int, tier: Tier) -> bytes:
    """The value's bytes, once it is known to fit ``tier`` (``limit`` bytes)."""
    if not value:
        raise ValidationError(
            "1 validation error detected: Value at 'value' failed to satisfy constraint:"
            " Member must have length greater than or equal to 1."
        )
    if _NESTED_RE.search(value):
        raise ValidationError(
            'Parameter value can\'t nest another parameter. Do not use "{{}}" in the value.'
        )
    data = value.encode()
    if len(data) > limit:
        if tier is Tier.STANDARD:
            raise ValidationError(
                f"Standard tier parameters support a maximum parameter value of {limit}"
                " characters. To create a larger parameter value, upgrade the parameter to"
                " use the advanced-parameter tier. For more information, see"
                " https://docs.aws.amazon.com/systems-manager/latest/userguide/"
                "parameter-store-advanced-parameters.html"
            )
        raise ValidationError(
            f"Advanced tier parameters support a maximum parameter value of {limit} characters."
        )
    return data


def compile_allowed_pattern(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except (re.error, RecursionError, OverflowError) as exc:
        raise InvalidAllowedPatternError(
            f"The allowed pattern is not a valid regular expression: {pattern[:200]}"
        ) from exc


def check_allowed_pattern(pattern: str, value: str) -> None:
    """The whole value must match (AWS's own example: ``\\d{1,4}`` rejects ``10,000``).
    The message never shows the value, which may be a secret."""
    if compile_allowed_pattern(pattern).fullmatch(value) is None:
        raise ParameterPatternMismatchError(
            f"Parameter value, cannot be validated against allowedPattern: {pattern}"
        )


# Data types Cofre validates (PutParameter ``DataType``); the value checks are the table.
DATA_TYPES: dict[str, re.Pattern[str] | None] = {
    DEFAULT_DATA_TYPE: None,
    "aws:ec2:image": _AMI_RE,
}


def check_data_type(data_type: str, type_: ParameterType, value: str) -> None:
    if data_type not in DATA_TYPES:
        raise ValidationError(
            f"The following data type is not supported: {data_type[:128]} (Data type names are"
            " all lowercase.)"
        )
    pattern = DATA_TYPES[data_type]
    if pattern is None:
        return
    if type_ is not ParameterType.STRING:
        raise ValidationError(f"The data type {data_type} is supported for String parameters only.")
    if pattern.fullmatch(value) is None:
        raise ValidationError(
            f"Parameter value, {value[:64]}, is not a valid image ID for data type {data_type}."
        )
