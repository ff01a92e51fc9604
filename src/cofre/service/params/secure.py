"""SecureString values through Cofre's own KMS, the way Parameter Store uses AWS KMS.

The caller's own identity makes every KMS call, marked as coming through Parameter Store
(``via_service="ssm"``, so ``kms:ViaService`` is ``ssm.<region>.amazonaws.com`` and the
AWS managed key ``alias/aws/ssm`` lets it in); the encryption context is always
``{"PARAMETER_ARN": <parameter ARN>}``.

* Standard tier: one KMS Encrypt; the stored value is the KMS ciphertext blob, so
  ``kms decrypt`` with that context opens it.
* Advanced tier (values up to 8 KB, over KMS's 4 KB): a data key from GenerateDataKey and
  AES-256-GCM here (``core.params_envelope``).

KMS failures come back as SSM reports them: AccessDeniedException for a denial, InvalidKeyId
for everything else (missing, disabled or pending-deletion key, wrong key type, bad
ciphertext). Plaintext is never stored, logged or put in a message.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

from cofre.core.crypto import KEY_LEN, Random
from cofre.core.iam.principals import Caller
from cofre.core.ids import AWS_ALIAS_PREFIX, parse_key_ref
from cofre.core.params.envelope import open_envelope, parse_envelope, seal_envelope
from cofre.core.params.parameters import CONTEXT_KEY, ParamVersion, Tier, ValueFormat
from cofre.errors import (
    AccessDeniedError,
    AlreadyExistsError,
    CofreError,
    InternalError,
    InvalidCiphertextError,
    InvalidKeyIdError,
    ParameterStoreError,
)
from cofre.service.kms.crypto import SYMMETRIC_DEFAULT, CryptoService
from cofre.service.kms.resolver import KeyResolver

VIA_SERVICE = "ssm"


@contextmanager
def kms_errors() -> Iterator[None]:
    """Report a KMS failure as Parameter Store does."""
    try:
        yield
    except AccessDeniedError as exc:
        raise AccessDeniedError(f"{exc.message} (Service: AWSKMS)") from exc
    except InvalidCiphertextError as exc:
        raise InvalidKeyIdError(
            "The stored value cannot be decrypted with its KMS key. (Service: AWSKMS)"
        ) from exc
    except (ParameterStoreError, InternalError):
        raise
    except CofreError as exc:
        raise InvalidKeyIdError(f"{exc.message} (Service: AWSKMS)") from exc


@functools.lru_cache(maxsize=1024)
def via_ssm(caller: Caller) -> Caller:
    """The caller as KMS sees it when Parameter Store acts for it (memoised: ``replace``
    costs more than the decryption itself)."""
    return replace(caller, via_service=VIA_SERVICE)


class SecureStrings:
    def __init__(self, crypto: CryptoService, resolver: KeyResolver, random: Random) -> None:
        self._crypto = crypto
        self._resolver = resolver
        self._random = random

    def missing_managed_key(self, caller: Caller, key_id: str) -> bool:
        """Whether ``key_id`` names an AWS managed key (``alias/aws/ssm``) not created yet.

        Such a key is created by ``prepare`` before the parameter's own write transaction
        (inside the pipeline's, whose uncommitted reads no cache keeps: ADR 11).
        """
        with kms_errors():
            ref = parse_key_ref(key_id, allow_alias=True)
        name = ref.alias_name
        if name is None or not name.startswith(AWS_ALIAS_PREFIX):
            return False
        if ref.account_id not in (None, caller.account_id):
            return False
        return self._resolver.cache.alias_target(caller.account_id, caller.region, name) is None

    def prepare(self, caller: Caller, key_id: str) -> None:
        with kms_errors():
            try:
                self._resolver.ensure_alias(via_ssm(caller), key_id)
            except AlreadyExistsError:
                # A concurrent first use created it (on PostgreSQL nothing can be locked
                # before the alias exists, so one of the racing creations loses): it is there.
                pass

    def seal(
        self, caller: Caller, arn: str, key_id: str, plaintext: bytes, tier: Tier
    ) -> tuple[bytes, ValueFormat]:
        context = {CONTEXT_KEY: arn}
        via = via_ssm(caller)
        with kms_errors():
            if tier is Tier.STANDARD:
                sealed = self._crypto.encrypt(via, key_id, plaintext, context)
                if sealed.algorithm != SYMMETRIC_DEFAULT:  # pragma: no cover - refused earlier
                    raise InvalidKeyIdError(f"{sealed.key_arn} is not a symmetric key.")
                return sealed.blob, ValueFormat.KMS_BLOB
            data_key = self._crypto.generate_data_key(via, key_id, KEY_LEN, context)
        envelope = seal_envelope(
            data_key.plaintext, data_key.blob, plaintext, context, self._random
        )
        return envelope, ValueFormat.ENVELOPE

    def open(self, caller: Caller, version: ParamVersion) -> str:
        """The plaintext of a SecureString version (needs kms:Decrypt on its key)."""
        context = {CONTEXT_KEY: version.id.arn}
        via = via_ssm(caller)
        with kms_errors():
            if version.value_format is ValueFormat.KMS_BLOB:
                plaintext = self._crypto.decrypt(via, version.value, context).plaintext
            else:
                envelope = parse_envelope(version.value)
                data_key = self._crypto.decrypt(via, envelope.encrypted_key, context).plaintext
                plaintext = open_envelope(envelope, data_key, context)
        try:
            return plaintext.decode()
        except UnicodeDecodeError as exc:  # pragma: no cover - only UTF-8 is ever sealed
            raise InvalidKeyIdError("The stored value is not text.") from exc
