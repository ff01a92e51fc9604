"""Cryptographic use cases of symmetric keys: the hot path.

Nothing here touches storage when the key is cached (see ``keycache.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from cofre.core.crypto import Random
from cofre.core.iam.principals import Caller
from cofre.core.ids import key_arn
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
from cofre.core.kms.keys import StateRule
from cofre.core.kms.keyspecs import DATA_KEY_PAIR_SPECS, KEY_SPECS, REFUSED_SPECS
from cofre.errors import (
    DryRunError,
    IncorrectKeyError,
    InvalidCiphertextError,
    InvalidKeyUsageError,
    UnsupportedOperationError,
    ValidationError,
)
from cofre.service.authz.authorizer import Request
from cofre.service.cache.keycache import CachedKey
from cofre.service.kms.resolver import KeyResolver, key_not_found

SYMMETRIC_DEFAULT = "SYMMETRIC_DEFAULT"
DATA_KEY_SPECS = {"AES_256": 32, "AES_128": 16}


@dataclass(frozen=True, slots=True)
class Sealed:
    key_arn: str
    blob: bytes
    algorithm: str = SYMMETRIC_DEFAULT


@dataclass(frozen=True, slots=True)
class Opened:
    key_arn: str
    plaintext: bytes
    material_id: str
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
    source_key_arn: str
    key_arn: str
    blob: bytes
    source_material_id: str
    destination_material_id: str


def _check_algorithm(entry: CachedKey, algorithm: str | None) -> str:
    """The encryption algorithm to use with the key; InvalidKeyUsage if it has none such."""
    key = entry.key
    if key.key_usage != "ENCRYPT_DECRYPT":
        raise InvalidKeyUsageError(f"{key.arn} key usage is {key.key_usage}")
    chosen = algorithm or SYMMETRIC_DEFAULT
    if not KEY_SPECS[key.key_spec].offers("ENCRYPT_DECRYPT", chosen):
        raise InvalidKeyUsageError(
            f"{key.arn} key usage is ENCRYPT_DECRYPT and key spec is"
            f" {key.key_spec}; it does not support {chosen}"
        )
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
    def __init__(self, resolver: KeyResolver, random: Random) -> None:
        self._r = resolver
        self._random = random

    def _seal(self, entry: CachedKey, plaintext: bytes, context: Mapping[str, str] | None) -> bytes:
        header = entry.header
        iv = self._random(IV_LEN)
        cipher = entry.ciphers[entry.key.current_version_id]
        return header + iv + cipher.seal(iv, plaintext, header + canonical_context(context))

    def _for_encrypt(
        self,
        caller: Caller,
        key_id: str,
        action: str,
        context: Mapping[str, str] | None,
        algorithm: str | None,
        dry_run: bool,
        grant_tokens: tuple[str, ...],
    ) -> CachedKey:
        entry = self._r.for_use(caller, key_id, Request(action, context or None, "*", grant_tokens))
        _check_algorithm(entry, algorithm)
        if dry_run:
            raise DryRunError()
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
        entry = self._for_encrypt(
            caller, key_id, "kms:Encrypt", context, algorithm, dry_run, grant_tokens
        )
        if entry.key.key_spec == SYMMETRIC_DEFAULT:
            return Sealed(entry.key.arn, self._seal(entry, plaintext, context))
        chosen = _check_algorithm(entry, algorithm)
        _no_context(context)
        limit = rsa_max_plaintext(KEY_SPECS[entry.key.key_spec], chosen)
        if len(plaintext) > limit:
            raise ValidationError(
                f"Plaintext is too long for {chosen} with {entry.key.key_spec}"
                f" ({limit} bytes at most)."
            )
        return Sealed(entry.key.arn, rsa_encrypt(entry.current_material, chosen, plaintext), chosen)

    def _open(
        self,
        caller: Caller,
        blob: bytes,
        context: Mapping[str, str] | None,
        key_id: str | None,
        action: str,
        algorithm: str | None,
        grant_tokens: tuple[str, ...],
    ) -> tuple[CachedKey, bytes, str]:
        parsed = parse_blob(blob)
        named = parsed.header.key_id
        entry = self._r.cache.key_with_version(named, parsed.header.version_id)
        if key_id is not None:
            wanted, account_id = self._r.named_key(caller, key_id)
            if wanted != named or entry is None or entry.key.account_id != account_id:
                if self._r.cache.key(wanted) is None:
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
        _check_algorithm(entry, algorithm)
        cipher = entry.ciphers.get(parsed.header.version_id)
        if cipher is None:
            raise InvalidCiphertextError()
        aad = parsed.header_bytes + canonical_context(context)
        return entry, cipher.open(parsed.iv, parsed.sealed, aad), parsed.header.version_id.hex()

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
        if key_id is not None and algorithm not in (None, SYMMETRIC_DEFAULT):
            return self._rsa_decrypt(
                caller, blob, context, key_id, algorithm, dry_run, grant_tokens
            )
        entry, plaintext, material_id = self._open(
            caller, blob, context, key_id, "kms:Decrypt", algorithm, grant_tokens
        )
        if dry_run:
            raise DryRunError()
        return Opened(entry.key.arn, plaintext, material_id)

    def _rsa_decrypt(
        self,
        caller: Caller,
        blob: bytes,
        context: Mapping[str, str] | None,
        key_id: str,
        algorithm: str | None,
        dry_run: bool,
        grant_tokens: tuple[str, ...],
    ) -> Opened:
        request = Request("kms:Decrypt", context or None, "*", grant_tokens)
        entry = self._r.for_use(caller, key_id, request)
        chosen = _check_algorithm(entry, algorithm)
        _no_context(context)
        plaintext = rsa_decrypt(entry.current_material, chosen, blob)
        if dry_run:
            raise DryRunError()
        return Opened(entry.key.arn, plaintext, entry.key.current_version_id.hex(), chosen)

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
        entry = self._for_encrypt(caller, key_id, action, context, None, dry_run, grant_tokens)
        if entry.key.key_spec != SYMMETRIC_DEFAULT:
            raise InvalidKeyUsageError(
                f"{entry.key.arn} key spec is {entry.key.key_spec}; data key pairs are"
                " encrypted under symmetric encryption keys only"
            )
        private = generate_private_der(pair_spec)
        return DataKeyPair(
            entry.key.arn,
            private,
            self._seal(entry, private, context),
            public_der(load_private(private)),
            entry.key.current_version_id.hex(),
        )

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
        source, plaintext, source_material = self._open(
            caller,
            blob,
            source_context,
            source_key_id,
            "kms:ReEncryptFrom",
            source_algorithm,
            grant_tokens,
        )
        destination = self._for_encrypt(
            caller,
            destination_key_id,
            "kms:ReEncryptTo",
            destination_context,
            destination_algorithm,
            dry_run,
            grant_tokens,
        )
        return Reencrypted(
            source.key.arn,
            destination.key.arn,
            self._seal(destination, plaintext, destination_context),
            source_material,
            destination.key.current_version_id.hex(),
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
        entry = self._for_encrypt(caller, key_id, action, context, None, dry_run, grant_tokens)
        plaintext = self._random(length)
        return DataKey(
            entry.key.arn,
            plaintext,
            self._seal(entry, plaintext, context),
            entry.key.current_version_id.hex(),
        )

    def generate_random(self, caller: Caller, number_of_bytes: int) -> bytes:
        self._r.authorizer.authorize(caller, Request("kms:GenerateRandom"), None)
        return self._random(number_of_bytes)
