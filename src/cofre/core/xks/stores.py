"""Logical XKS key stores: one per (account, Region, name), each with its own path prefix
and SigV4 credential, and the Cofre keys it was explicitly given (ADR 22).

Formats follow what AWS KMS accepts for an external key store (botocore's KMS model,
``XksProxyAuthenticationCredentialType`` and ``XksProxyUriPathType``): the access key id
is 20-30 characters of ``A-Z2-7``, the secret 43-64 characters of ``A-Za-z0-9/+=``, the
whole URI path at most 128 characters of ``a-zA-Z0-9/_-`` ending in ``/kms/xks/v1``.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from datetime import datetime

from cofre.core.crypto import Random
from cofre.errors import ValidationError

MAX_STORES = 100  # per account and Region
MAX_KEYS = 10_000  # per store
API_SUFFIX = "/kms/xks/v1"
PREFIX_ROOT = "/xks/"
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_STORE_ID = re.compile(r"^xks-[0-9a-f]{16}$")
_ACCESS_KEY = re.compile(r"^[A-Z2-7]{20,30}$")
# XKS spec, "API operations": an externalKeyId is at most 128 of A-Z a-z 0-9 - . _
_EXTERNAL_KEY_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")


@dataclass(frozen=True, slots=True)
class XksCredential:
    """A SigV4 credential of a store; the secret wrapped by the keyring key."""

    access_key_id: str
    secret_wrapped: bytes


@dataclass(frozen=True, slots=True)
class XksStore:
    store_id: str
    account_id: str
    region: str  # the Region of the store's Cofre keys
    name: str
    credential: XksCredential
    previous: XksCredential | None  # still accepted after a rotation, until the next one
    created_at: datetime

    @property
    def uri_path_prefix(self) -> str:
        """The path under which this store's XKS API is served (without ``/kms/xks/v1``)."""
        return PREFIX_ROOT + self.store_id

    @property
    def uri_path(self) -> str:
        """What AWS KMS calls ``XksProxyUriPath``."""
        return self.uri_path_prefix + API_SUFFIX

    def credentials(self) -> tuple[XksCredential, ...]:
        return (self.credential,) if self.previous is None else (self.credential, self.previous)


def check_name(name: str) -> str:
    if not _NAME.match(name):
        raise ValidationError(
            "A key store name is 1 to 64 characters of letters, digits, '.', '_' and '-'."
        )
    return name


def check_store_id(store_id: str) -> str:
    if not _STORE_ID.match(store_id):
        raise ValidationError(f"Invalid key store id {store_id[:40]!r}.")
    return store_id


def is_external_key_id(text: str) -> bool:
    return _EXTERNAL_KEY_ID.match(text) is not None


def new_store_id(random: Random) -> str:
    return "xks-" + random(8).hex()


def new_access_key_id(random: Random) -> str:
    """24 characters of base32 (``A-Z2-7``): 120 random bits, what AWS KMS accepts."""
    return base64.b32encode(random(15)).decode("ascii")


def new_secret(random: Random) -> str:
    """44 characters of base64 (32 random bytes, ``=``-padded): 43-64 of ``A-Za-z0-9/+=``."""
    return base64.b64encode(random(32)).decode("ascii")


def is_access_key_id(text: str) -> bool:
    return _ACCESS_KEY.match(text) is not None


def secret_aad(store_id: str, access_key_id: str) -> bytes:
    """Associated data binding a wrapped store secret to its store and access key id."""
    return b"cofre/xks-secret/v1\x00" + store_id.encode() + b"\x00" + access_key_id.encode()
