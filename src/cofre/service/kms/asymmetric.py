"""Signing, MACs, key agreement and public keys: the use cases of non-symmetric keys.

Like the symmetric hot path, nothing here touches storage when the key is cached.
"""

from __future__ import annotations

from dataclasses import dataclass

from cofre.core.iam.principals import Caller
from cofre.core.kms import asymmetric
from cofre.core.kms.keys import algorithm_error, usage_error
from cofre.core.kms.keyspecs import (
    GENERATE_VERIFY_MAC,
    KEY_AGREEMENT,
    KEY_SPECS,
    SIGN_VERIFY,
    Family,
    KeySpecInfo,
)
from cofre.errors import (
    DryRunError,
    InvalidMacError,
    InvalidSignatureValueError,
    UnsupportedOperationError,
)
from cofre.service.authz.authorizer import Request
from cofre.service.cache.keycache import CachedKey
from cofre.service.kms.resolver import KeyResolver


@dataclass(frozen=True, slots=True)
class PublicKeyInfo:
    key_arn: str
    public_key: bytes  # DER SubjectPublicKeyInfo
    spec: KeySpecInfo
    key_usage: str


def _usable(entry: CachedKey, usage: str, algorithm: str, operation: str) -> KeySpecInfo:
    """The key's spec, once the key may do ``operation`` with ``algorithm``."""
    key = entry.key
    if key.key_usage != usage:
        raise usage_error(key, operation)
    info = KEY_SPECS[key.key_spec]
    if not info.offers(usage, algorithm):
        raise algorithm_error(algorithm, key.key_spec)
    return info


class AsymmetricService:
    def __init__(self, resolver: KeyResolver) -> None:
        self._r = resolver

    def _entry(
        self, caller: Caller, key_id: str, action: str, grant_tokens: tuple[str, ...]
    ) -> CachedKey:
        return self._r.for_use(caller, key_id, Request(action, None, "*", grant_tokens))

    def get_public_key(
        self, caller: Caller, key_id: str, grant_tokens: tuple[str, ...] = ()
    ) -> PublicKeyInfo:
        entry = self._entry(caller, key_id, "kms:GetPublicKey", grant_tokens)
        info = KEY_SPECS[entry.key.key_spec]
        if info.family in (Family.SYMMETRIC, Family.HMAC):
            raise UnsupportedOperationError(
                f"{entry.key.arn} key spec is {info.spec}; it has no public key."
            )
        return PublicKeyInfo(
            entry.key.arn, asymmetric.public_der(entry.current_material), info, entry.key.key_usage
        )

    def sign(
        self,
        caller: Caller,
        key_id: str,
        message: bytes,
        message_type: str,
        algorithm: str,
        grant_tokens: tuple[str, ...] = (),
        dry_run: bool = False,
    ) -> tuple[str, bytes]:
        entry = self._entry(caller, key_id, "kms:Sign", grant_tokens)
        info = _usable(entry, SIGN_VERIFY, algorithm, "Sign")
        signature = asymmetric.sign(info, entry.current_material, algorithm, message_type, message)
        if dry_run:
            raise DryRunError()
        return entry.key.arn, signature

    def verify(
        self,
        caller: Caller,
        key_id: str,
        message: bytes,
        message_type: str,
        algorithm: str,
        signature: bytes,
        grant_tokens: tuple[str, ...] = (),
        dry_run: bool = False,
    ) -> str:
        entry = self._entry(caller, key_id, "kms:Verify", grant_tokens)
        info = _usable(entry, SIGN_VERIFY, algorithm, "Verify")
        valid = asymmetric.verify(
            info, entry.current_material, algorithm, message_type, message, signature
        )
        if dry_run:
            raise DryRunError()
        if not valid:
            raise InvalidSignatureValueError()
        return entry.key.arn

    def generate_mac(
        self,
        caller: Caller,
        key_id: str,
        message: bytes,
        algorithm: str,
        grant_tokens: tuple[str, ...] = (),
        dry_run: bool = False,
    ) -> tuple[str, bytes]:
        entry = self._entry(caller, key_id, "kms:GenerateMac", grant_tokens)
        _usable(entry, GENERATE_VERIFY_MAC, algorithm, "GenerateMac")
        tag = asymmetric.mac(entry.current_material, algorithm, message)
        if dry_run:
            raise DryRunError()
        return entry.key.arn, tag

    def verify_mac(
        self,
        caller: Caller,
        key_id: str,
        message: bytes,
        algorithm: str,
        tag: bytes,
        grant_tokens: tuple[str, ...] = (),
        dry_run: bool = False,
    ) -> str:
        entry = self._entry(caller, key_id, "kms:VerifyMac", grant_tokens)
        _usable(entry, GENERATE_VERIFY_MAC, algorithm, "VerifyMac")
        valid = asymmetric.mac_matches(entry.current_material, algorithm, message, tag)
        if dry_run:
            raise DryRunError()
        if not valid:
            raise InvalidMacError()
        return entry.key.arn

    def derive_shared_secret(
        self,
        caller: Caller,
        key_id: str,
        algorithm: str,
        public_key: bytes,
        grant_tokens: tuple[str, ...] = (),
        dry_run: bool = False,
    ) -> tuple[str, bytes]:
        entry = self._entry(caller, key_id, "kms:DeriveSharedSecret", grant_tokens)
        _usable(entry, KEY_AGREEMENT, algorithm, "DeriveSharedSecret")
        secret = asymmetric.shared_secret(entry.current_material, public_key)
        if dry_run:
            raise DryRunError()
        return entry.key.arn, secret
