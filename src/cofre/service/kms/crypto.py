"""Cryptographic use cases of symmetric keys: the hot path.

Nothing here touches storage when the key is cached (see ``keycache.py``).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from cofre.core.crypto import Random
from cofre.core.iam.principals import Caller
from cofre.core.ids import key_arn, key_row_id
from cofre.core.kms.asymmetric import (
    generate_private_der,
    load_private,
    public_der,
    rsa_decrypt,
    rsa_encrypt,
    rsa_max_plaintext,
)
from cofre.core.kms.blob import IV_LEN, parse_blob
from cofre.core.kms.context import canonical_context
from cofre.core.kms.custom_stores import is_xks_blob
from cofre.core.kms.custom_stores import parse_blob as parse_xks_blob
from cofre.core.kms.keys import Origin, StateRule, algorithm_error, usage_error
from cofre.core.kms.keyspecs import DATA_KEY_PAIR_SPECS, KEY_SPECS, REFUSED_SPECS
from cofre.errors import (
    DryRunError,
    IncorrectKeyError,
    InvalidCiphertextError,
    UnsupportedOperationError,
    ValidationError,
)
from cofre.service.authz.authorizer import Request
from cofre.service.cache.keycache import CachedKey
from cofre.service.kms.external import ExternalKeys
from cofre.service.kms.resolver import KeyResolver, key_not_found

SYMMETRIC_DEFAULT = "SYMMETRIC_DEFAULT"
DATA_KEY_SPECS = {"AES_256": 32, "AES_128": 16}


@dataclass(frozen=True, slots=True)
class Sealed:
    key_arn: str
    blob: bytes
    algorithm: str = SYMMETRIC_DEFAULT
    version_id: bytes | None = None  # its hex is the KeyMaterialId (symmetric keys only)


@dataclass(frozen=True, slots=True)
class Opened:
    key_arn: str
    plaintext: bytes
    material_id: str | None  # symmetric keys only (AWS: "present only when ... symmetric")
    algorithm: str = SYMMETRIC_DEFAULT


@dataclass(frozen=True, slots=True)
class DataKeyPair:
    key_arn: str
    private_plaintext: bytes  # PKCS#8 DER
    private_blob: bytes
    public_key: bytes  # DER SubjectPublicKeyInfo
    material_id: str


@dataclass(frozen=True, slots=True)
class DataKey:
    key_arn: str
    plaintext: bytes
    blob: bytes
    material_id: str


@dataclass(frozen=True, slots=True)
class Reencrypted:
    source: Opened
    destination: Sealed


def operation_of(action: str) -> str:
    """The operation AWS names in a key-usage error: kms:ReEncryptFrom -> ReEncrypt."""
    name = action.removeprefix("kms:")
    return "ReEncrypt" if name.startswith("ReEncrypt") else name


def _check_algorithm(entry: CachedKey, algorithm: str | None, action: str) -> str:
    """The encryption algorithm to use with the key; InvalidKeyUsage if it has none such."""
    key = entry.key
    if key.key_usage != "ENCRYPT_DECRYPT":
        raise usage_error(key, operation_of(action))
    chosen = algorithm or SYMMETRIC_DEFAULT
    if not KEY_SPECS[key.key_spec].offers("ENCRYPT_DECRYPT", chosen):
        raise algorithm_error(chosen, key.key_spec)
    return chosen


def _no_context(context: Mapping[str, str] | None) -> None:
    if context:
        raise ValidationError("EncryptionContext is not supported with asymmetric KMS keys.")


def data_key_length(key_spec: str | None, number_of_bytes: int | None) -> int:
    if key_spec is not None and number_of_bytes is not None:
        raise ValidationError("Please specify either number of bytes or key spec.")
    if key_spec is not None:
        return DATA_KEY_SPECS[key_spec]
    if number_of_bytes is not None:
        return number_of_bytes
    raise ValidationError("Please specify either number of bytes or key spec.")


class CryptoService:
    def __init__(
        self, resolver: KeyResolver, random: Random, external: ExternalKeys | None = None
    ) -> None:
        self._r = resolver
        self._random = random
        self._external = external

    def _seal(
        self,
        entry: CachedKey,
        plaintext: bytes,
        context: Mapping[str, str] | None,
        caller: Caller | None = None,
        action: str = "",
    ) -> bytes:
        header = entry.header
        cipher = entry.ciphers[entry.key.current_version_id]
        canonical = canonical_context(context)
        if entry.key.origin is Origin.EXTERNAL_KEY_STORE:  # double encryption (ADR 22)
            if self._external is None or caller is None:
                raise UnsupportedOperationError("Keys in custom key stores cannot do this.")

            def inner(xks_header: bytes) -> bytes:
                iv = self._random(IV_LEN)
                return iv + cipher.seal(iv, plaintext, xks_header + canonical)

            return self._external.seal(
                entry.key, header, inner, canonical, caller, operation_of(action)
            )
        iv = self._random(IV_LEN)
        return header + iv + cipher.seal(iv, plaintext, header + canonical)

    def _sealed(
        self,
        caller: Caller,
        entry: CachedKey,
        plaintext: bytes,
        context: Mapping[str, str] | None,
        algorithm: str | None,
        action: str,
    ) -> Sealed:
        """``plaintext`` encrypted under the key: a blob of ours, or RSAES-OAEP ciphertext."""
        chosen = _check_algorithm(entry, algorithm, action)
        key = entry.key
        if key.key_spec == SYMMETRIC_DEFAULT:
            blob = self._seal(entry, plaintext, context, caller, action)
            return Sealed(key.arn, blob, chosen, key.current_version_id)
        _no_context(context)
        limit = rsa_max_plaintext(KEY_SPECS[key.key_spec], chosen)
        if len(plaintext) > limit:
            raise ValidationError(
                f"Algorithm {chosen} and key spec {key.key_spec} cannot encrypt data larger"
                f" than {limit} bytes."
            )
        return Sealed(key.arn, rsa_encrypt(entry.current_material, chosen, plaintext), chosen)

    def _for_encrypt(
        self,
        caller: Caller,
        key_id: str,
        action: str,
        context: Mapping[str, str] | None,
        algorithm: str | None,
        grant_tokens: tuple[str, ...],
    ) -> CachedKey:
        entry = self._r.for_use(caller, key_id, Request(action, context or None, "*", grant_tokens))
        _check_algorithm(entry, algorithm, action)
        return entry

    def encrypt(
        self,
        caller: Caller,
        key_id: str,
        plaintext: bytes,
        context: Mapping[str, str] | None = None,
        algorithm: str | None = None,
        dry_run: bool = False,
        grant_tokens: tuple[str, ...] = (),
    ) -> Sealed:
        action = "kms:Encrypt"
        entry = self._r.for_use(caller, key_id, Request(action, context or None, "*", grant_tokens))
        sealed = self._sealed(caller, entry, plaintext, context, algorithm, action)
        if dry_run:
            raise DryRunError()
        return sealed

    def _open(
        self,
        caller: Caller,
        blob: bytes,
        context: Mapping[str, str] | None,
        key_id: str | None,
        action: str,
        algorithm: str | None,
        grant_tokens: tuple[str, ...],
    ) -> Opened:
        if is_xks_blob(blob):
            return self._open_external(caller, blob, context, key_id, action, algorithm,
                                       grant_tokens)  # fmt: skip
        parsed = parse_blob(blob)
        version_id = parsed.header.version_id
        entry = self._for_blob(
            caller, parsed.header.key_id, version_id, context, key_id, action, algorithm,
            grant_tokens,
        )  # fmt: skip
        cipher = entry.ciphers.get(version_id)
        if cipher is None:
            raise InvalidCiphertextError()
        aad = parsed.header_bytes + canonical_context(context)
        plaintext = cipher.open(parsed.iv, parsed.sealed, aad)
        return Opened(entry.key.arn, plaintext, version_id.hex())

    def _for_blob(
        self,
        caller: Caller,
        named: str,
        version_id: bytes,
        context: Mapping[str, str] | None,
        key_id: str | None,
        action: str,
        algorithm: str | None,
        grant_tokens: tuple[str, ...],
    ) -> CachedKey:
        """The key a ciphertext names (a multi-Region key id: the related key of this
        Region), checked against the request's KeyId, authorized and state-checked."""
        entry = self._r.cache.key_with_version(key_row_id(named, caller.region), version_id)
        if key_id is not None:
            wanted, account_id = self._r.named_key(caller, key_id)
            if wanted != named or entry is None or entry.key.account_id != account_id:
                if self._r.cache.key(key_row_id(wanted, caller.region)) is None:
                    raise key_not_found(key_arn(caller.region, account_id, wanted))
                raise IncorrectKeyError(
                    "The key ID in the request does not identify a CMK that can perform this"
                    " operation."
                )
        if entry is None or entry.key.region != caller.region:
            raise InvalidCiphertextError()
        self._r.authorize_loaded(
            caller, entry, Request(action, context or None, "*", grant_tokens), StateRule.ENABLED
        )
        _check_algorithm(entry, algorithm, action)
        return entry

    def _open_external(
        self,
        caller: Caller,
        blob: bytes,
        context: Mapping[str, str] | None,
        key_id: str | None,
        action: str,
        algorithm: str | None,
        grant_tokens: tuple[str, ...],
    ) -> Opened:
        """A format 3 blob (a key of a custom key store): the proxy opens the outer layer,
        the key's own backing version the inner one."""
        parsed = parse_xks_blob(blob)
        named = str(uuid.UUID(bytes=parsed.key_id_bytes))
        entry = self._for_blob(
            caller, named, parsed.version_id, context, key_id, action, algorithm, grant_tokens
        )
        cipher = entry.ciphers.get(parsed.version_id)
        if entry.key.origin is not Origin.EXTERNAL_KEY_STORE or self._external is None:
            raise InvalidCiphertextError()
        if cipher is None:
            raise InvalidCiphertextError()
        canonical = canonical_context(context)
        inner = self._external.open(entry.key, parsed, canonical, caller, operation_of(action))
        plaintext = cipher.open(inner[:IV_LEN], inner[IV_LEN:], parsed.header + canonical)
        return Opened(entry.key.arn, plaintext, parsed.version_id.hex())

    def _rsa_open(
        self,
        caller: Caller,
        blob: bytes,
        context: Mapping[str, str] | None,
        key_id: str,
        action: str,
        algorithm: str,
        grant_tokens: tuple[str, ...],
    ) -> Opened:
        request = Request(action, context or None, "*", grant_tokens)
        entry = self._r.for_use(caller, key_id, request)
        chosen = _check_algorithm(entry, algorithm, action)
        _no_context(context)
        plaintext = rsa_decrypt(entry.current_material, chosen, blob)
        return Opened(entry.key.arn, plaintext, None, chosen)

    def _opened(
        self,
        caller: Caller,
        blob: bytes,
        context: Mapping[str, str] | None,
        key_id: str | None,
        action: str,
        algorithm: str | None,
        grant_tokens: tuple[str, ...],
    ) -> Opened:
        """Decrypt a blob of ours, or, given the key and an RSAES_OAEP algorithm, RSA
        ciphertext (which names no key: AWS requires the KeyId for it)."""
        if key_id is not None and algorithm not in (None, SYMMETRIC_DEFAULT):
            return self._rsa_open(caller, blob, context, key_id, action, algorithm, grant_tokens)
        return self._open(caller, blob, context, key_id, action, algorithm, grant_tokens)

    def decrypt(
        self,
        caller: Caller,
        blob: bytes,
        context: Mapping[str, str] | None = None,
        key_id: str | None = None,
        algorithm: str | None = None,
        dry_run: bool = False,
        grant_tokens: tuple[str, ...] = (),
    ) -> Opened:
        opened = self._opened(caller, blob, context, key_id, "kms:Decrypt", algorithm, grant_tokens)
        if dry_run:
            raise DryRunError()
        return opened

    def re_encrypt(
        self,
        caller: Caller,
        blob: bytes,
        destination_key_id: str,
        source_context: Mapping[str, str] | None = None,
        destination_context: Mapping[str, str] | None = None,
        source_key_id: str | None = None,
        source_algorithm: str | None = None,
        destination_algorithm: str | None = None,
        dry_run: bool = False,
        grant_tokens: tuple[str, ...] = (),
    ) -> Reencrypted:
        """Decrypt under the source key and encrypt under the destination key, either of
        them symmetric or RSA (ENCRYPT_DECRYPT), as ReEncrypt allows."""
        source = self._opened(
            caller,
            blob,
            source_context,
            source_key_id,
            "kms:ReEncryptFrom",
            source_algorithm,
            grant_tokens,
        )
        action = "kms:ReEncryptTo"
        request = Request(action, destination_context or None, "*", grant_tokens)
        destination = self._r.for_use(caller, destination_key_id, request)
        sealed = self._sealed(
            caller,
            destination,
            source.plaintext,
            destination_context,
            destination_algorithm,
            action,
        )
        if dry_run:
            raise DryRunError()
        return Reencrypted(source, sealed)

    def generate_data_key_pair(
        self,
        caller: Caller,
        key_id: str,
        pair_spec: str,
        context: Mapping[str, str] | None = None,
        dry_run: bool = False,
        action: str = "kms:GenerateDataKeyPair",
        grant_tokens: tuple[str, ...] = (),
    ) -> DataKeyPair:
        if pair_spec not in DATA_KEY_PAIR_SPECS:
            raise UnsupportedOperationError(
                REFUSED_SPECS.get(pair_spec, f"KeyPairSpec {pair_spec} is not supported.")
            )
        entry = self._for_encrypt(caller, key_id, action, context, None, grant_tokens)
        if dry_run:
            raise DryRunError()
        if entry.key.origin is Origin.EXTERNAL_KEY_STORE:
            raise UnsupportedOperationError(
                f"{entry.key.arn} is in a custom key store: it generates no data key pairs."
            )
        private = generate_private_der(pair_spec)
        return DataKeyPair(
            entry.key.arn,
            private,
            self._seal(entry, private, context, caller, action),
            public_der(load_private(private)),
            entry.key.current_version_id.hex(),
        )

    def generate_data_key(
        self,
        caller: Caller,
        key_id: str,
        length: int,
        context: Mapping[str, str] | None = None,
        dry_run: bool = False,
        action: str = "kms:GenerateDataKey",
        grant_tokens: tuple[str, ...] = (),
    ) -> DataKey:
        entry = self._for_encrypt(caller, key_id, action, context, None, grant_tokens)
        if dry_run:
            raise DryRunError()
        plaintext = self._random(length)
        return DataKey(
            entry.key.arn,
            plaintext,
            self._seal(entry, plaintext, context, caller, action),
            entry.key.current_version_id.hex(),
        )

    def generate_random(self, caller: Caller, number_of_bytes: int) -> bytes:
        self._r.authorizer.authorize(caller, Request("kms:GenerateRandom"), None)
        return self._random(number_of_bytes)
