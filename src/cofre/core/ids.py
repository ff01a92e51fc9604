"""Identifiers: account ids, regions, key ids, ARNs and alias names, as AWS shapes them."""

from __future__ import annotations

import functools
import itertools
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from cofre.errors import NotFoundError

ACCOUNT_ID_RE = re.compile(r"[0-9]{12}")
REGION_RE = re.compile(r"[a-z]{2}(?:-[a-z]+)+-[0-9]{1,2}")
ALIAS_NAME_RE = re.compile(r"alias/[a-zA-Z0-9/_-]+")
AWS_ALIAS_PREFIX = "alias/aws/"
MRK_PREFIX = "mrk-"  # the key ids of multi-Region keys: mrk- and 32 lower-case hex digits
_MRK_ID_RE = re.compile(r"mrk-[0-9a-fA-F]{32}")


def is_account_id(value: str) -> bool:
    return ACCOUNT_ID_RE.fullmatch(value) is not None


def is_region(value: str) -> bool:
    return REGION_RE.fullmatch(value) is not None


def key_arn(region: str, account_id: str, key_id: str) -> str:
    return f"arn:aws:kms:{region}:{account_id}:key/{key_id}"


def alias_arn(region: str, account_id: str, alias_name: str) -> str:
    return f"arn:aws:kms:{region}:{account_id}:{alias_name}"


def root_arn(account_id: str) -> str:
    return f"arn:aws:iam::{account_id}:root"


def canonical_key_id(value: str) -> str | None:
    """The lower-case form of ``value`` -- a UUID, or a multi-Region key id (``mrk-`` and
    32 hex digits) -- or None when it is not a key id."""
    if value.startswith(MRK_PREFIX):
        return value.lower() if _MRK_ID_RE.fullmatch(value) else None
    if len(value) != 36:
        return None
    try:
        parsed = uuid.UUID(value)
    except ValueError:
        return None
    text = str(parsed)
    return text if text == value.lower() else None


def is_multi_region_id(key_id: str) -> bool:
    return key_id.startswith(MRK_PREFIX)


def key_row_id(key_id: str, region: str) -> str:
    """The id a key is stored and cached under, unique across Regions.

    A key id names one key, except a multi-Region key id, which names one related key in
    each Region the key is replicated to: its row id is the key id and the Region
    (``mrk-.../us-west-2``). ADR 16.
    """
    return f"{key_id}/{region}" if key_id.startswith(MRK_PREFIX) else key_id


def key_id_of_row(row_id: str) -> str:
    """The key id a row id stands for (the inverse of ``key_row_id`` but for the Region)."""
    return row_id.partition("/")[0]


class RefKind(Enum):
    KEY_ID = "key-id"
    KEY_ARN = "key-arn"
    ALIAS_NAME = "alias-name"
    ALIAS_ARN = "alias-arn"


@dataclass(frozen=True, slots=True)
class KeyRef:
    """A parsed KeyId parameter: a key id, key ARN, alias name or alias ARN."""

    kind: RefKind
    text: str  # the value as given
    key_id: str | None = None  # for KEY_ID / KEY_ARN
    alias_name: str | None = None  # for ALIAS_NAME / ALIAS_ARN
    region: str | None = None  # for ARNs
    account_id: str | None = None  # for ARNs

    @property
    def is_alias(self) -> bool:
        return self.kind in (RefKind.ALIAS_NAME, RefKind.ALIAS_ARN)


@functools.lru_cache(maxsize=4096)
def parse_key_ref(value: str, *, allow_alias: bool = True) -> KeyRef:
    """Parse a KeyId parameter; NotFoundError for anything that is none of the four forms.

    Pure, so memoised: the hot path names the same few keys over and over.
    """
    if value.startswith("arn:"):
        return _parse_arn_ref(value, allow_alias=allow_alias)
    if value.startswith("alias/"):
        if not allow_alias or ALIAS_NAME_RE.fullmatch(value) is None:
            raise NotFoundError(f"Invalid keyId '{value}'")
        return KeyRef(RefKind.ALIAS_NAME, value, alias_name=value)
    key_id = canonical_key_id(value)
    if key_id is None:
        raise NotFoundError(f"Invalid keyId '{value}'")
    return KeyRef(RefKind.KEY_ID, value, key_id=key_id)


def _parse_arn_ref(value: str, *, allow_alias: bool) -> KeyRef:
    parts = value.split(":", 5)
    if len(parts) != 6 or parts[1] != "aws" or parts[2] != "kms":
        raise NotFoundError(f"Invalid arn {value}")
    region, account_id, resource = parts[3], parts[4], parts[5]
    if not is_region(region) or not is_account_id(account_id):
        raise NotFoundError(f"Invalid arn {value}")
    if resource.startswith("key/"):
        key_id = canonical_key_id(resource[4:])
        if key_id is None:
            raise NotFoundError(f"Invalid arn {value}")
        return KeyRef(RefKind.KEY_ARN, value, key_id=key_id, region=region, account_id=account_id)
    if allow_alias and ALIAS_NAME_RE.fullmatch(resource) is not None:
        return KeyRef(
            RefKind.ALIAS_ARN, value, alias_name=resource, region=region, account_id=account_id
        )
    raise NotFoundError(f"Invalid arn {value}")


class CountingIds:
    """UUID-shaped ids from a random prefix (drawn once) and a counter: unique across
    processes and nodes without a random draw per id (request ids, event ids)."""

    def __init__(self, random: Callable[[int], bytes]) -> None:
        raw = random(10).hex()
        self._prefix = f"{raw[:8]}-{raw[8:12]}-4{raw[13:16]}-a{raw[17:20]}-"
        self._counter = itertools.count(int.from_bytes(random(4), "big"))

    def __call__(self) -> str:
        return f"{self._prefix}{next(self._counter) & 0xFFFFFFFFFFFF:012x}"
