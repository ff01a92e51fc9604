"""What AWS answers, written down from evidence: one row per error type, one per case.

Every row names its source, so a reader can check it:

* ``SNAP``: responses recorded from real AWS by LocalStack's validated tests, published
  with them: ``tests/aws/services/kms/test_kms.snapshot.json`` of ``sannya-singal/localstack``
  at ``faa4b27a`` (a fork holding the newest recordings, 2023-04 .. 2025-11; a superset of
  ``localstack/localstack`` at ``0d476833``). Cited as ``SNAP <test> / <snapshot key>``.
* ``LS-T``: the *inputs and assertions* of those validated tests
  (``localstack/localstack`` ``tests/aws/services/{kms,ssm}/test_*.py``).
* ``MODEL``: botocore's service model (``kms/2014-11-01``, ``ssm/2014-11-06``), the text of
  the API reference.
* ``DG``: the KMS Developer Guide (``docs.aws.amazon.com/kms/latest/developerguide/<page>``).
* ``TRANSCRIPT``: an error message from real AWS quoted in a public log or issue.
* ``EMULATOR``: an emulator's text (moto, local-kms): the case is **unconfirmed**, and Cofre
  follows the AWS-documented behaviour with the emulators' words.

``Evidence`` says how sure a row is: RECORDED (a real-AWS response), DOCUMENTED (the API
reference or Developer Guide says it), UNCONFIRMED (no evidence of AWS's exact answer: the
documented behaviour, with the nearest known wording). The research notes behind this table:
``docs/research/aws-fidelity.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

from cofre import errors as e

SNAP = "SNAP"  # see the module docstring
LS_T = "LS-T"


class Evidence(Enum):
    RECORDED = "recorded"
    DOCUMENTED = "documented"
    UNCONFIRMED = "unconfirmed"


class Message(Enum):
    """Whether an error type's body carries a message."""

    ABSENT = "absent"  # AWS sends {"__type": ...} and nothing else
    PRESENT = "present"  # always, with a fixed text
    BY_CASE = "by case"  # the text depends on the case (see CASES)
    ABSTRACT = "never raised"  # a base class of the tree
    LOCAL = "never on the wire"  # an error of the cofre command line's own (backup, restore)


@dataclass(frozen=True)
class ErrorRow:
    error: type[e.CofreError]
    type_name: str  # the wire __type ("" for abstract bases)
    status: int
    message: Message
    source: str
    evidence: Evidence = Evidence.DOCUMENTED
    service: str = "kms"  # the service whose body it is checked in


_AUTH = "AWS common errors (docs.aws.amazon.com/kms/latest/APIReference/CommonErrors.html)"
_SSM = "MODEL ssm: the exception shape of that name"
_KMS = "MODEL kms: the exception shape of that name"
_CT = "MODEL cloudtrail: the exception shape of that name"

# Every class of cofre.errors, as it goes on the wire (tests/api/fidelity/test_errors.py
# walks them all). HTTP 400 throughout: every recorded KMS error is 400, including
# DryRunOperationException, NotFoundException, KMSInvalidStateException (SNAP, all tests).
ERRORS: tuple[ErrorRow, ...] = (
    ErrorRow(e.CofreError, "", 0, Message.ABSTRACT, "root of the tree"),
    ErrorRow(e.RequestError, "ValidationException", 400, Message.BY_CASE, _AUTH),
    ErrorRow(e.ValidationError, "ValidationException", 400, Message.BY_CASE,
             f"{SNAP} test_generate_random_invalid_number_of_bytes", Evidence.RECORDED),
    ErrorRow(e.SerializationError, "SerializationException", 400, Message.BY_CASE, _AUTH),
    ErrorRow(e.UnknownOperationError, "UnknownOperationException", 400, Message.BY_CASE, _AUTH),
    ErrorRow(e.DryRunError, "DryRunOperationException", 400, Message.PRESENT,
             f"{SNAP} TestKMSGenerateKeys::test_generate_data_key_pair_dry_run",
             Evidence.RECORDED),
    ErrorRow(e.AuthenticationError, "", 0, Message.ABSTRACT, "base of the four below"),
    ErrorRow(e.MissingAuthenticationError, "MissingAuthenticationTokenException", 403,
             Message.BY_CASE, _AUTH),
    ErrorRow(e.IncompleteSignatureError, "IncompleteSignatureException", 400, Message.BY_CASE,
             _AUTH),
    ErrorRow(e.InvalidSignatureError, "InvalidSignatureException", 400, Message.BY_CASE, _AUTH),
    ErrorRow(e.UnrecognizedClientError, "UnrecognizedClientException", 400, Message.PRESENT,
             _AUTH),
    ErrorRow(e.ExpiredTokenError, "ExpiredTokenException", 400, Message.PRESENT, _AUTH),
    ErrorRow(e.AccessDeniedError, "AccessDeniedException", 400, Message.BY_CASE, _AUTH),
    ErrorRow(e.NotAuthorizedError, "NotAuthorizedException", 400, Message.BY_CASE,
             "EMULATOR moto and local-kms agree: alias/aws/ names, no message",
             Evidence.UNCONFIRMED),
    ErrorRow(e.NotFoundError, "NotFoundException", 400, Message.BY_CASE,
             f"{SNAP} test_get_key_does_not_exist", Evidence.RECORDED),
    ErrorRow(e.AlreadyExistsError, "AlreadyExistsException", 400, Message.BY_CASE, _KMS),
    ErrorRow(e.DeleteConflictError, "ConflictException", 400, Message.BY_CASE, _KMS),
    ErrorRow(e.InvalidGrantIdError, "InvalidGrantIdException", 400, Message.BY_CASE, _KMS),
    ErrorRow(e.InvalidGrantTokenError, "InvalidGrantTokenException", 400, Message.BY_CASE, _KMS),
    ErrorRow(e.InvalidImportTokenError, "InvalidImportTokenException", 400, Message.BY_CASE,
             _KMS),
    ErrorRow(e.ExpiredImportTokenError, "ExpiredImportTokenException", 400, Message.BY_CASE,
             _KMS),
    ErrorRow(e.IncorrectKeyMaterialError, "IncorrectKeyMaterialException", 400,
             Message.BY_CASE, _KMS),
    ErrorRow(e.InvalidAliasNameError, "InvalidAliasNameException", 400, Message.BY_CASE, _KMS),
    ErrorRow(e.InvalidArnError, "InvalidArnException", 400, Message.BY_CASE, _KMS),
    ErrorRow(e.InvalidMarkerError, "InvalidMarkerException", 400, Message.BY_CASE, _KMS),
    ErrorRow(e.InvalidCiphertextError, "InvalidCiphertextException", 400, Message.ABSENT,
             f"{SNAP} test_encrypt_decrypt_encryption_context", Evidence.RECORDED),
    ErrorRow(e.IncorrectKeyError, "IncorrectKeyException", 400, Message.BY_CASE,
             f"{SNAP} test_error_messaging_for_invalid_keys", Evidence.RECORDED),
    ErrorRow(e.InvalidKeyUsageError, "InvalidKeyUsageException", 400, Message.BY_CASE,
             f"{SNAP} test_error_messaging_for_invalid_keys", Evidence.RECORDED),
    ErrorRow(e.InvalidSignatureValueError, "KMSInvalidSignatureException", 400, Message.ABSENT,
             f"{SNAP} test_sign_verify / bad-signature", Evidence.RECORDED),
    ErrorRow(e.InvalidMacError, "KMSInvalidMacException", 400, Message.ABSENT,
             f"{SNAP} test_invalid_verify_mac", Evidence.RECORDED),
    ErrorRow(e.KeyStateError, "KMSInvalidStateException", 400, Message.BY_CASE,
             f"{SNAP} test_import_key_symmetric / encrypt-after-delete-error",
             Evidence.RECORDED),
    ErrorRow(e.DisabledError, "DisabledException", 400, Message.BY_CASE,
             f"{SNAP} test_rotate_key_on_demand_raises_error_given_key_is_disabled",
             Evidence.RECORDED),
    ErrorRow(e.UnsupportedOperationError, "UnsupportedOperationException", 400,
             Message.BY_CASE, f"{SNAP} test_get_parameters_for_import", Evidence.RECORDED),
    ErrorRow(e.LimitExceededError, "LimitExceededException", 400, Message.BY_CASE,
             f"{SNAP} test_key_rotations_limits", Evidence.RECORDED),
    ErrorRow(e.ThrottlingError, "ThrottlingException", 400, Message.BY_CASE, _AUTH),
    ErrorRow(e.CustomKeyStoreError, "", 0, Message.ABSTRACT,
             "base of the custom key store errors"),  # ADR 22
    ErrorRow(e.CustomKeyStoreNotFoundError, "CustomKeyStoreNotFoundException",
             400, Message.BY_CASE, _KMS),  # ADR 22
    ErrorRow(e.CustomKeyStoreNameInUseError, "CustomKeyStoreNameInUseException",
             400, Message.BY_CASE, _KMS),  # ADR 22
    ErrorRow(e.CustomKeyStoreInvalidStateError, "CustomKeyStoreInvalidStateException",
             400, Message.BY_CASE, _KMS),  # ADR 22
    ErrorRow(e.CustomKeyStoreHasKeysError, "CustomKeyStoreHasCMKsException",
             400, Message.BY_CASE, _KMS),  # ADR 22
    ErrorRow(e.XksProxyError, "", 0, Message.ABSTRACT,
             "base of the XKS proxy errors"),  # ADR 22
    ErrorRow(e.XksProxyUriUnreachableError, "XksProxyUriUnreachableException",
             400, Message.BY_CASE, _KMS),  # ADR 22
    ErrorRow(e.XksProxyIncorrectAuthenticationCredentialError,
             "XksProxyIncorrectAuthenticationCredentialException",
             400, Message.BY_CASE, _KMS),  # ADR 22
    ErrorRow(e.XksProxyInvalidResponseError, "XksProxyInvalidResponseException",
             400, Message.BY_CASE, _KMS),  # ADR 22
    ErrorRow(e.XksProxyInvalidConfigurationError, "XksProxyInvalidConfigurationException",
             400, Message.BY_CASE, _KMS),  # ADR 22
    ErrorRow(e.XksProxyUriInUseError, "XksProxyUriInUseException",
             400, Message.BY_CASE, _KMS),  # ADR 22
    ErrorRow(e.XksKeyError, "", 0, Message.ABSTRACT,
             "base of the external key errors"),  # ADR 22
    ErrorRow(e.XksKeyNotFoundError, "XksKeyNotFoundException",
             400, Message.BY_CASE, _KMS),  # ADR 22
    ErrorRow(e.XksKeyInvalidConfigurationError, "XksKeyInvalidConfigurationException",
             400, Message.BY_CASE, _KMS),  # ADR 22
    ErrorRow(e.XksKeyAlreadyInUseError, "XksKeyAlreadyInUseException",
             400, Message.BY_CASE, _KMS),  # ADR 22
    ErrorRow(e.TagError, "TagException", 400, Message.BY_CASE,
             f"{SNAP} test_tag_key_with_duplicate_tag_keys_raises_error", Evidence.RECORDED),
    ErrorRow(e.MalformedPolicyDocumentError, "MalformedPolicyDocumentException", 400,
             Message.BY_CASE, _KMS),
    ErrorRow(e.UnsupportedParameterError, "UnsupportedOperationException", 400,
             Message.BY_CASE, "Cofre's own: a member of a feature it does not serve (ADR 18)"),
    ErrorRow(e.InternalError, "KMSInternalException", 500, Message.PRESENT,
             "MODEL kms: KMSInternalException is a fault; its text AWS's documentation's"),
    ErrorRow(e.StorageError, "KMSInternalException", 500, Message.PRESENT,
             "Cofre's own: the database failed the call (ADR 18)"),
    ErrorRow(e.StorageUnavailableError, "DependencyTimeoutException", 503, Message.PRESENT,
             "MODEL kms: DependencyTimeoutException, a retryable fault (ADR 18)"),
    ErrorRow(e.StorageFaultError, "KMSInternalException", 500, Message.PRESENT,
             "Cofre's own: a lasting storage fault (ADR 18)"),
    ErrorRow(e.AuditUnavailableError, "KMSInternalException", 500, Message.PRESENT,
             "Cofre's own: the call fails when its audit record cannot be written (ADR 11)"),
    ErrorRow(e.SealError, "ValidationException", 400, Message.BY_CASE,
             "Cofre's own: the root of trust refuses (ADR 19)"),
    ErrorRow(e.SealedError, "DependencyTimeoutException", 503, Message.PRESENT,
             "Cofre's own: a sealed node, retryable (ADR 19)"),
    ErrorRow(e.BackupError, "", 0, Message.LOCAL, "cofre backup / restore (ADR 17)"),
    ErrorRow(e.RestoreError, "", 0, Message.LOCAL, "cofre restore (ADR 17)"),
    # CloudTrail LookupEvents
    ErrorRow(e.AuditLookupError, "", 0, Message.ABSTRACT, "base of the three below"),
    ErrorRow(e.InvalidLookupAttributesError, "InvalidLookupAttributesException", 400,
             Message.BY_CASE, _CT, service="cloudtrail"),
    ErrorRow(e.InvalidTimeRangeError, "InvalidTimeRangeException", 400, Message.BY_CASE, _CT,
             service="cloudtrail"),
    ErrorRow(e.InvalidTrailTokenError, "InvalidNextTokenException", 400, Message.BY_CASE, _CT,
             service="cloudtrail"),
    # Parameter Store (SSM)
    ErrorRow(e.ParameterStoreError, "", 0, Message.ABSTRACT, "base of the SSM errors"),
    ErrorRow(e.ParameterNotFoundError, "ParameterNotFound", 400, Message.BY_CASE,
             "TRANSCRIPT aws-solutions/quota-monitor-for-aws#90 (no message)", service="ssm"),
    ErrorRow(e.ParameterVersionNotFoundError, "ParameterVersionNotFound", 400,
             Message.BY_CASE, _SSM, service="ssm"),
    ErrorRow(e.ParameterAlreadyExistsError, "ParameterAlreadyExists", 400, Message.PRESENT,
             "EMULATOR moto (six emulators agree)", Evidence.UNCONFIRMED, service="ssm"),
    ErrorRow(e.ParameterLimitExceededError, "ParameterLimitExceeded", 400, Message.BY_CASE,
             _SSM, service="ssm"),
    ErrorRow(e.ParameterMaxVersionLimitExceededError, "ParameterMaxVersionLimitExceeded", 400,
             Message.BY_CASE, _SSM, service="ssm"),
    ErrorRow(e.ParameterVersionLabelLimitExceededError, "ParameterVersionLabelLimitExceeded",
             400, Message.BY_CASE, _SSM, service="ssm"),
    ErrorRow(e.ParameterPatternMismatchError, "ParameterPatternMismatchException", 400,
             Message.BY_CASE, _SSM, service="ssm"),
    ErrorRow(e.InvalidAllowedPatternError, "InvalidAllowedPatternException", 400,
             Message.BY_CASE, _SSM, service="ssm"),
    ErrorRow(e.HierarchyLevelLimitExceededError, "HierarchyLevelLimitExceededException", 400,
             Message.BY_CASE, _SSM, service="ssm"),
    ErrorRow(e.InvalidKeyIdError, "InvalidKeyId", 400, Message.BY_CASE, _SSM, service="ssm"),
    ErrorRow(e.InvalidFilterKeyError, "InvalidFilterKey", 400, Message.BY_CASE, _SSM,
             service="ssm"),
    ErrorRow(e.InvalidFilterOptionError, "InvalidFilterOption", 400, Message.BY_CASE, _SSM,
             service="ssm"),
    ErrorRow(e.InvalidFilterValueError, "InvalidFilterValue", 400, Message.BY_CASE, _SSM,
             service="ssm"),
    ErrorRow(e.InvalidNextTokenError, "InvalidNextToken", 400, Message.BY_CASE, _SSM,
             service="ssm"),
    ErrorRow(e.InvalidResourceIdError, "InvalidResourceId", 400, Message.BY_CASE, _SSM,
             service="ssm"),
    ErrorRow(e.InvalidResourceTypeError, "InvalidResourceType", 400, Message.BY_CASE, _SSM,
             service="ssm"),
    ErrorRow(e.TooManyTagsError, "TooManyTagsError", 400, Message.BY_CASE, _SSM, service="ssm"),
    ErrorRow(e.TooManyUpdatesError, "TooManyUpdates", 400, Message.BY_CASE, _SSM,
             service="ssm"),
    ErrorRow(e.PoliciesLimitExceededError, "PoliciesLimitExceededException", 400,
             Message.BY_CASE, _SSM, service="ssm"),
    ErrorRow(e.InvalidPolicyTypeError, "InvalidPolicyTypeException", 400, Message.BY_CASE, _SSM,
             service="ssm"),
    ErrorRow(e.InvalidPolicyAttributeError, "InvalidPolicyAttributeException", 400,
             Message.BY_CASE, _SSM, service="ssm"),
    ErrorRow(e.IncompatiblePolicyError, "IncompatiblePolicyException", 400, Message.BY_CASE,
             _SSM, service="ssm"),
)  # fmt: skip

# Error types that are not in a service's model but that AWS sends (common errors).
UNMODELED = frozenset(
    {
        "ValidationException",
        "SerializationException",
        "UnknownOperationException",
        "AccessDeniedException",
        "NotAuthorizedException",
        "MissingAuthenticationTokenException",
        "IncompleteSignatureException",
        "InvalidSignatureException",
        "UnrecognizedClientException",
        "ExpiredTokenException",
        "DryRunOperationException",
        "ThrottlingException",  # a common error of every AWS JSON service (ADR 20)
    }
)


# --- request cases -----------------------------------------------------------------------
ABSENT = None  # Case.message for an answer with no message member


@dataclass(frozen=True)
class Case:
    """One request and AWS's answer to it. Strings in ``params`` and ``message`` name the
    keys the fixture made with ``{name}`` (key id) and ``{name.arn}`` (key ARN); a param
    that is exactly ``"{name}"`` of a non-key fixture value (a blob) becomes that value."""

    id: str
    operation: str
    params: dict[str, Any]
    error: str
    message: str | None  # exact text; ABSENT: no message member at all
    source: str
    evidence: Evidence = Evidence.RECORDED
    service: str = "kms"
    status: int = 400
    region: str | None = None  # sent in another Region than the fixture's ("{other_region}")


_ALIAS_DOC = "https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html"
_NO_CMK = "The key ID in the request does not identify a CMK that can perform this operation."
_DRY = "The request would have succeeded, but the DryRun option is set."

KMS_CASES: tuple[Case, ...] = (
    # errors AWS sends with no message member
    Case(
        "decrypt-wrong-context",
        "Decrypt",
        {"CiphertextBlob": "{sym_blob}", "EncryptionContext": {"a": "c"}},
        "InvalidCiphertextException",
        ABSENT,
        f"{SNAP} test_encrypt_decrypt_encryption_context",
    ),
    Case(
        "decrypt-truncated",
        "Decrypt",
        {"CiphertextBlob": "{sym_blob_truncated}"},
        "InvalidCiphertextException",
        ABSENT,
        f"{SNAP} test_key_rotations_encryption_decryption",
    ),
    Case(
        "decrypt-appended",
        "Decrypt",
        {"CiphertextBlob": "{sym_blob_appended}"},
        "InvalidCiphertextException",
        ABSENT,
        f"{SNAP} test_key_rotations_encryption_decryption",
    ),
    Case(
        "verify-bad-signature",
        "Verify",
        {
            "KeyId": "{ecc_sign}",
            "Message": "{message}",
            "Signature": "{bad_signature}",
            "SigningAlgorithm": "ECDSA_SHA_256",
        },
        "KMSInvalidSignatureException",
        ABSENT,
        f"{SNAP} test_sign_verify / bad-signature",
    ),
    Case(
        "verify-mac-bad",
        "VerifyMac",
        {
            "KeyId": "{hmac256}",
            "Message": "{message}",
            "Mac": "{bad_mac}",
            "MacAlgorithm": "HMAC_SHA_256",
        },
        "KMSInvalidMacException",
        ABSENT,
        f"{SNAP} test_invalid_verify_mac",
    ),
    Case(
        "rotate-on-demand-asymmetric",
        "RotateKeyOnDemand",
        {"KeyId": "{rsa_enc}"},
        "UnsupportedOperationException",
        ABSENT,
        f"{SNAP} test_rotate_key_on_demand_raises_error_given_non_symmetric_key",
    ),
    # key usage, in AWS's words, naming the operation
    Case(
        "encrypt-with-signing-key",
        "Encrypt",
        {"KeyId": "{rsa_sign}", "Plaintext": "{message}"},
        "InvalidKeyUsageException",
        "{rsa_sign.arn} key usage is SIGN_VERIFY which is not valid for Encrypt.",
        f"{SNAP} test_error_messaging_for_invalid_keys",
    ),
    Case(
        "sign-with-hmac-key",
        "Sign",
        {"KeyId": "{hmac224}", "Message": "{message}", "SigningAlgorithm": "ECDSA_SHA_256"},
        "InvalidKeyUsageException",
        "{hmac224.arn} key usage is GENERATE_VERIFY_MAC which is not valid for Sign.",
        f"{SNAP} test_error_messaging_for_invalid_keys",
    ),
    Case(
        "verify-with-symmetric-key",
        "Verify",
        {
            "KeyId": "{sym}",
            "Message": "{message}",
            "Signature": "{bad_signature}",
            "SigningAlgorithm": "ECDSA_SHA_256",
        },
        "InvalidKeyUsageException",
        "{sym.arn} key usage is ENCRYPT_DECRYPT which is not valid for Verify.",
        f"{SNAP} test_error_messaging_for_invalid_keys",
    ),
    Case(
        "generate-mac-with-symmetric-key",
        "GenerateMac",
        {"KeyId": "{sym}", "Message": "{message}", "MacAlgorithm": "HMAC_SHA_256"},
        "InvalidKeyUsageException",
        "{sym.arn} key usage is ENCRYPT_DECRYPT which is not valid for GenerateMac.",
        f"{SNAP} test_error_messaging_for_invalid_keys",
    ),
    Case(
        "derive-with-signing-key",
        "DeriveSharedSecret",
        {"KeyId": "{ecc_sign}", "KeyAgreementAlgorithm": "ECDH", "PublicKey": "{peer_public}"},
        "InvalidKeyUsageException",
        "{ecc_sign.arn} key usage is SIGN_VERIFY which is not valid for DeriveSharedSecret.",
        f"{SNAP} test_derive_shared_secret",
    ),
    Case(
        "derive-with-symmetric-key",
        "DeriveSharedSecret",
        {"KeyId": "{sym}", "KeyAgreementAlgorithm": "ECDH", "PublicKey": "{peer_public}"},
        "InvalidKeyUsageException",
        "{sym.arn} key usage is ENCRYPT_DECRYPT which is not valid for DeriveSharedSecret.",
        f"{SNAP} test_derive_shared_secret",
    ),
    Case(
        "reencrypt-to-signing-key",
        "ReEncrypt",
        {
            "CiphertextBlob": "{sym_blob}",
            "SourceEncryptionContext": {"a": "b"},
            "DestinationKeyId": "{ecc_sign}",
        },
        "InvalidKeyUsageException",
        "{ecc_sign.arn} key usage is SIGN_VERIFY which is not valid for ReEncrypt.",
        f"{LS_T} test_re_encrypt_invalid_destination_key (type recorded; AWS says"
        " ReEncrypt where LocalStack said ReEncryptTo)",
        Evidence.UNCONFIRMED,
    ),
    Case(
        "generate-mac-wrong-algorithm",
        "GenerateMac",
        {"KeyId": "{hmac224}", "Message": "{message}", "MacAlgorithm": "HMAC_SHA_256"},
        "InvalidKeyUsageException",
        "Algorithm HMAC_SHA_256 is incompatible with key spec HMAC_224.",
        f"{SNAP} test_invalid_generate_mac[HMAC_224-HMAC_SHA_256]",
    ),
    Case(
        "verify-mac-wrong-algorithm",
        "VerifyMac",
        {
            "KeyId": "{hmac256}",
            "Message": "{message}",
            "Mac": "{bad_mac}",
            "MacAlgorithm": "HMAC_SHA_512",
        },
        "InvalidKeyUsageException",
        "Algorithm HMAC_SHA_512 is incompatible with key spec HMAC_256.",
        f"{SNAP} test_invalid_verify_mac[HMAC_256-HMAC_SHA_512-...]",
    ),
    Case(
        "decrypt-with-other-key",
        "Decrypt",
        {"CiphertextBlob": "{sym_blob}", "EncryptionContext": {"a": "b"}, "KeyId": "{hmac224}"},
        "IncorrectKeyException",
        _NO_CMK,
        f"{SNAP} test_error_messaging_for_invalid_keys",
    ),
    Case(
        "reencrypt-with-other-source-key",
        "ReEncrypt",
        {
            "CiphertextBlob": "{sym_blob}",
            "SourceEncryptionContext": {"a": "b"},
            "SourceKeyId": "{hmac224}",
            "DestinationKeyId": "{sym}",
        },
        "IncorrectKeyException",
        _NO_CMK,
        f"{SNAP} test_re_encrypt_incorrect_source_key / incorrect-source-key",
    ),
    # request validation
    Case(
        "generate-random-no-count",
        "GenerateRandom",
        {},
        "ValidationException",
        "NumberOfBytes is required.",
        f"{SNAP} test_generate_random_invalid_number_of_bytes[None]",
    ),
    Case(
        "generate-random-zero",
        "GenerateRandom",
        {"NumberOfBytes": 0},
        "ValidationException",
        "1 validation error detected: Value '0' at 'numberOfBytes' failed to satisfy"
        " constraint: Member must have value greater than or equal to 1",
        f"{SNAP} test_generate_random_invalid_number_of_bytes[0]",
    ),
    Case(
        "generate-random-too-many",
        "GenerateRandom",
        {"NumberOfBytes": 1025},
        "ValidationException",
        "1 validation error detected: Value '1025' at 'numberOfBytes'"
        " failed to satisfy constraint: Member must have value less than or equal to 1024",
        f"{SNAP} test_generate_random_invalid_number_of_bytes[1025]",
    ),
    Case(
        "encrypt-too-long",
        "Encrypt",
        {"KeyId": "{sym}", "Plaintext": "{plaintext_4097}"},
        "ValidationException",
        "1 validation error detected: Value at 'plaintext' failed to"
        " satisfy constraint: Member must have length less than or equal to 4096",
        f"{SNAP} test_plaintext_size_for_encrypt",
    ),
    Case(
        "encrypt-rsa-oaep-sha1-too-long",
        "Encrypt",
        {
            "KeyId": "{rsa_enc}",
            "Plaintext": "{plaintext_1176}",
            "EncryptionAlgorithm": "RSAES_OAEP_SHA_1",
        },
        "ValidationException",
        "Algorithm RSAES_OAEP_SHA_1 and key spec RSA_2048 cannot encrypt data larger than"
        " 214 bytes.",
        f"{SNAP} test_encrypt_validate_plaintext_size_per_key_type[RSA_2048-RSAES_OAEP_SHA_1]",
    ),
    Case(
        "encrypt-rsa-oaep-sha256-too-long",
        "Encrypt",
        {
            "KeyId": "{rsa_enc}",
            "Plaintext": "{plaintext_1176}",
            "EncryptionAlgorithm": "RSAES_OAEP_SHA_256",
        },
        "ValidationException",
        "Algorithm RSAES_OAEP_SHA_256 and key spec RSA_2048 cannot encrypt data larger than"
        " 190 bytes.",
        f"{SNAP} test_encrypt_validate_plaintext_size_per_key_type[RSA_2048-RSAES_OAEP_SHA_256]",
    ),
    Case(
        "sign-digest-wrong-length",
        "Sign",
        {
            "KeyId": "{ecc_sign}",
            "Message": "{message}",
            "MessageType": "DIGEST",
            "SigningAlgorithm": "ECDSA_SHA_256",
        },
        "ValidationException",
        "Digest is invalid length for algorithm ECDSA_SHA_256.",
        f"{SNAP} test_sign_verify[...] / bad-digest",
    ),
    Case(
        "create-hmac-key-without-usage",
        "CreateKey",
        {"KeySpec": "HMAC_256"},
        "ValidationException",
        "You must specify a KeyUsage value for all KMS keys except for symmetric encryption keys.",
        f"{SNAP} test_hmac_create_key_invalid_operations",
    ),
    Case(
        "create-key-usage-not-for-spec",
        "CreateKey",
        {"KeySpec": "RSA_2048", "KeyUsage": "KEY_AGREEMENT"},
        "ValidationException",
        "KeyUsage KEY_AGREEMENT is not compatible with KeySpec RSA_2048",
        f"{SNAP} test_derive_shared_secret / response-invalid-key-spec",
    ),
    Case(
        "mac-algorithm-not-in-enum",
        "GenerateMac",
        {"KeyId": "{hmac256}", "Message": "{message}", "MacAlgorithm": "INVALID"},
        "ValidationException",
        "1 validation error detected: Value 'INVALID' at 'macAlgorithm'"
        " failed to satisfy constraint: Member must satisfy enum value set: [HMAC_SHA_384,"
        " HMAC_SHA_256, HMAC_SHA_224, HMAC_SHA_512]",
        f"{SNAP} test_invalid_generate_mac[...]",
    ),
    Case(
        "key-agreement-algorithm-not-in-enum",
        "DeriveSharedSecret",
        {"KeyId": "{ecc_sign}", "KeyAgreementAlgorithm": "INVALID", "PublicKey": "{peer_public}"},
        "ValidationException",
        "1 validation error detected: Value 'INVALID' at"
        " 'keyAgreementAlgorithm' failed to satisfy constraint: Member must satisfy enum value"
        " set: [ECDH]",
        f"{SNAP} test_derive_shared_secret",
    ),
    Case(
        "schedule-deletion-window",
        "ScheduleKeyDeletion",
        {"KeyId": "{sym}", "PendingWindowInDays": 1},
        "ValidationException",
        "PendingWindowInDays must be between 7 and 30",
        "TRANSCRIPT Skyscanner/kms-issuer#8",
    ),
    # tags
    Case(
        "tag-duplicate-keys",
        "TagResource",
        {
            "KeyId": "{sym}",
            "Tags": [{"TagKey": "k", "TagValue": "1"}, {"TagKey": "k", "TagValue": "2"}],
        },
        "TagException",
        "Duplicate tag keys",
        f"{SNAP} test_tag_key_with_duplicate_tag_keys_raises_error",
    ),
    Case(
        "create-key-too-many-tags",
        "CreateKey",
        {"Tags": [{"TagKey": f"key{i}", "TagValue": "v"} for i in range(51)]},
        "TagException",
        "Too many tags",
        f"{SNAP} test_create_key_with_too_many_tags_raises_error",
    ),
    Case(
        "create-key-reserved-tag",
        "CreateKey",
        {"Tags": [{"TagKey": "aws:key1", "TagValue": "v"}]},
        "TagException",
        "Tags beginning with aws: are reserved",
        f"{SNAP} test_create_key_with_invalid_tag_key[lowercase_prefix]",
    ),
    Case(
        "create-key-reserved-tag-upper",
        "CreateKey",
        {"Tags": [{"TagKey": "AWS:key1", "TagValue": "v"}]},
        "TagException",
        "Tags beginning with aws: are reserved",
        f"{SNAP} test_create_key_with_invalid_tag_key[uppercase_prefix]",
    ),
    Case(
        "tag-reserved",
        "TagResource",
        {"KeyId": "{sym}", "Tags": [{"TagKey": "aws:key1", "TagValue": "v"}]},
        "TagException",
        "Tags beginning with aws: are reserved",
        f"{SNAP} test_tag_existing_key_with_invalid_tag_key",
    ),
    Case(
        "create-key-long-tag-key",
        "CreateKey",
        {"Tags": [{"TagKey": "k" * 129, "TagValue": "v"}]},
        "ValidationException",
        f"1 validation error detected: Value '{'k' * 129}' at"
        " 'tags.1.member.tagKey' failed to satisfy constraint: Member must have length less"
        " than or equal to 128",
        f"{SNAP} test_create_key_with_invalid_tag_key[too_long_key]",
    ),
    Case(
        "create-key-long-tag-value",
        "CreateKey",
        {"Tags": [{"TagKey": "k", "TagValue": "v" * 257}]},
        "ValidationException",
        f"1 validation error detected: Value '{'v' * 257}' at 'tags.1.member.tagValue' failed"
        " to satisfy constraint: Member must have length less than or equal to 256",
        f"{SNAP} test_key_with_long_tag_value_raises_error",
    ),
    # aliases
    Case(
        "create-alias-no-prefix",
        "CreateAlias",
        {"AliasName": "abc123", "TargetKeyId": "{sym}"},
        "ValidationException",
        f'Alias must start with the prefix "alias/". Please see {_ALIAS_DOC}',
        f"{SNAP} test_create_alias",
    ),
    Case(
        "delete-alias-no-prefix",
        "DeleteAlias",
        {"AliasName": "abc123"},
        "ValidationException",
        f'Alias must start with the prefix "alias/". Please see {_ALIAS_DOC}',
        f"{SNAP} test_create_alias (CreateAlias; the same check on DeleteAlias)",
        Evidence.UNCONFIRMED,
    ),
    Case(
        "create-alias-bad-character",
        "CreateAlias",
        {"AliasName": "alias/a b", "TargetKeyId": "{sym}"},
        "ValidationException",
        "1 validation error detected: Value 'alias/a b' at 'aliasName' failed to satisfy"
        " constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$",
        "MODEL AliasNameType pattern; EMULATOR moto's wording",
        Evidence.UNCONFIRMED,
    ),
    Case(
        "create-alias-to-alias",
        "CreateAlias",
        {"AliasName": "alias/to-alias", "TargetKeyId": "alias/sym"},
        "ValidationException",
        "Aliases must refer to keys. Not aliases",
        "EMULATOR moto (kms/responses.py)",
        Evidence.UNCONFIRMED,
    ),
    Case(
        "create-alias-reserved",
        "CreateAlias",
        {"AliasName": "alias/aws/mine", "TargetKeyId": "{sym}"},
        "NotAuthorizedException",
        ABSENT,
        "EMULATOR moto and local-kms agree",
        Evidence.UNCONFIRMED,
    ),
    Case(
        "create-alias-exists",
        "CreateAlias",
        {"AliasName": "alias/sym", "TargetKeyId": "{sym}"},
        "AlreadyExistsException",
        "An alias with the name {alias_arn} already exists",
        "TRANSCRIPT cloudbees-oss/terraform-aws-cloudbees-ci-eks-addon#66",
    ),
    Case(
        "describe-unknown-alias",
        "DescribeKey",
        {"KeyId": "alias/missing"},
        "NotFoundException",
        "Alias {missing_alias_arn} is not found.",
        "TRANSCRIPT sigstore/cosign#1474",
    ),
    # imported key material
    Case(
        "get-parameters-for-aws-kms-key",
        "GetParametersForImport",
        {
            "KeyId": "{sym}",
            "WrappingAlgorithm": "RSAES_OAEP_SHA_256",
            "WrappingKeySpec": "RSA_2048",
        },
        "UnsupportedOperationException",
        "{sym.arn} origin is AWS_KMS which is not valid for this operation.",
        f"{SNAP} test_get_parameters_for_import / response-error",
    ),
    Case(
        "import-without-expiration",
        "ImportKeyMaterial",
        {
            "KeyId": "{external}",
            "ImportToken": "{import_token}",
            "EncryptedKeyMaterial": "{message}",
        },
        "ValidationException",
        "A validTo date must be set if the ExpirationModel is KEY_MATERIAL_EXPIRES",
        f"{SNAP} test_import_key_symmetric / import-expiring-key-without-valid-to",
    ),
    Case(
        "encrypt-pending-import",
        "Encrypt",
        {"KeyId": "{external}", "Plaintext": "{message}"},
        "KMSInvalidStateException",
        "{external.arn} is pending import.",
        f"{SNAP} test_import_key_symmetric / encrypt-after-delete-error",
    ),
    # key states and ids
    Case(
        "rotate-on-demand-disabled",
        "RotateKeyOnDemand",
        {"KeyId": "{disabled}"},
        "DisabledException",
        "{disabled.arn} is disabled.",
        f"{SNAP} test_rotate_key_on_demand_raises_error_given_key_is_disabled",
    ),
    Case(
        "generate-data-key-disabled",
        "GenerateDataKey",
        {"KeyId": "{disabled}", "KeySpec": "AES_256"},
        "DisabledException",
        "{disabled.arn} is disabled.",
        f"{LS_T} test_cant_use_disabled_or_deleted_keys (type); DG key-state.md (text)",
    ),
    Case(
        "generate-data-key-pending-deletion",
        "GenerateDataKey",
        {"KeyId": "{doomed}", "KeySpec": "AES_256"},
        "KMSInvalidStateException",
        "{doomed.arn} is pending deletion.",
        f"{LS_T} test_cant_use_disabled_or_deleted_keys (type); DG key-state.md (text)",
    ),
    Case(
        "schedule-deletion-twice",
        "ScheduleKeyDeletion",
        {"KeyId": "{doomed}"},
        "KMSInvalidStateException",
        "{doomed.arn} is pending deletion.",
        f"{LS_T} test_cant_delete_deleted_key (type); TRANSCRIPT"
        " hashicorp/terraform-provider-aws#17889 (text)",
    ),
    Case(
        "cancel-deletion-not-pending",
        "CancelKeyDeletion",
        {"KeyId": "{sym}"},
        "KMSInvalidStateException",
        "{sym.arn} is not pending deletion.",
        "DG key-state.md",
        Evidence.DOCUMENTED,
    ),
    Case(
        "rotate-on-demand-unknown",
        "RotateKeyOnDemand",
        {"KeyId": "1234abcd-12ab-34cd-56ef-1234567890ab"},
        "NotFoundException",
        "Key '{arn_prefix}1234abcd-12ab-34cd-56ef-1234567890ab' does not exist",
        f"{SNAP} test_rotate_key_on_demand_raises_error_given_key_that_does_not_exist",
    ),
    Case(
        "describe-unknown-mrk",
        "DescribeKey",
        {"KeyId": "mrk-d3b95762d3b95762d3b95762d3b95762"},
        "NotFoundException",
        "Key '{arn_prefix}mrk-d3b95762d3b95762d3b95762d3b95762' does not exist",
        f"{SNAP} test_get_key_does_not_exist / describe-key-with-valid-id-mrk",
    ),
    Case(
        "describe-invalid-id",
        "DescribeKey",
        {"KeyId": "fake-key-id"},
        "NotFoundException",
        "Invalid keyId 'fake-key-id'",
        f"{SNAP} test_get_key_invalid_uuid",
    ),
    Case(
        "describe-uuid-without-dashes",
        "DescribeKey",
        {"KeyId": "134f2428cec14b25a1ae9048164dba47"},
        "NotFoundException",
        "Invalid keyId '134f2428cec14b25a1ae9048164dba47'",
        f"{SNAP} test_get_key_invalid_uuid",
    ),
    Case(
        "describe-invalid-mrk-id",
        "DescribeKey",
        {"KeyId": "mrk-fake-key-id"},
        "NotFoundException",
        "Invalid keyId 'mrk-fake-key-id'",
        f"{SNAP} test_get_key_invalid_uuid",
    ),
    Case(
        "describe-other-region-arn",
        "DescribeKey",
        {"KeyId": "{elsewhere.arn}"},
        "NotFoundException",
        "Invalid arn {other_region}",
        f"{SNAP} test_get_key_in_different_region / describe-key-diff-region-with-arn",
    ),
    Case(
        "describe-other-region-id",
        "DescribeKey",
        {"KeyId": "{elsewhere}"},
        "NotFoundException",
        "Key '{arn_prefix}{elsewhere}' does not exist",
        f"{SNAP} test_get_key_in_different_region / describe-key-diff-region-with-id",
    ),
    Case(
        "dry-run-data-key-pair",
        "GenerateDataKeyPair",
        {"KeyId": "{sym}", "KeyPairSpec": "RSA_2048", "DryRun": True},
        "DryRunOperationException",
        _DRY,
        f"{SNAP} TestKMSGenerateKeys::test_generate_data_key_pair_dry_run",
    ),
    Case(
        "dry-run-data-key-pair-without-plaintext",
        "GenerateDataKeyPairWithoutPlaintext",
        {"KeyId": "{sym}", "KeyPairSpec": "RSA_2048", "DryRun": True},
        "DryRunOperationException",
        _DRY,
        f"{SNAP} TestKMSGenerateKeys::test_generate_data_key_pair_without_plaintext_dry_run",
    ),
    Case(
        "dry-run-encrypt",
        "Encrypt",
        {"KeyId": "{sym}", "Plaintext": "{message}", "DryRun": True},
        "DryRunOperationException",
        _DRY,
        "DG programming-dryrun.md; status as recorded above",
        Evidence.DOCUMENTED,
    ),
    # multi-Region keys
    Case(
        "replicate-a-replica",
        "ReplicateKey",
        {"KeyId": "{replica}", "ReplicaRegion": "{other_region}"},
        "UnsupportedOperationException",
        "{replica.arn} is not a multi-region primary key.",
        f"{SNAP} test_replicate_replica_key_should_fail / fail-replicate-non-primary-key",
        region="{other_region}",
    ),
    Case(
        "replicate-a-single-region-key",
        "ReplicateKey",
        {"KeyId": "{sym}", "ReplicaRegion": "{other_region}"},
        "UnsupportedOperationException",
        "{sym.arn} is not a multi-region primary key.",
        "MODEL ReplicateKey KeyId (a multi-Region primary key); the recorded check's text",
        Evidence.UNCONFIRMED,
    ),
    Case(
        "replicate-where-a-replica-is",
        "ReplicateKey",
        {"KeyId": "{mrk}", "ReplicaRegion": "{other_region}"},
        "AlreadyExistsException",
        "{replica.arn} already exists",
        "MODEL ReplicateKey: AlreadyExistsException (text unconfirmed)",
        Evidence.UNCONFIRMED,
    ),
    Case(
        "update-primary-of-a-replica",
        "UpdatePrimaryRegion",
        {"KeyId": "{replica}", "PrimaryRegion": "{region}"},
        "UnsupportedOperationException",
        "{replica.arn} is not a multi-Region primary key.",
        "TRANSCRIPT ThalesGroup/terraform-provider-ciphertrust (a client matching"
        " 'is not a multi-Region primary key')",
        Evidence.UNCONFIRMED,
        region="{other_region}",
    ),
    Case(
        "enable-rotation-of-a-replica",
        "EnableKeyRotation",
        {"KeyId": "{replica}"},
        "UnsupportedOperationException",
        "{replica.arn} is not a multi-region primary key.",
        "DG multi-region-keys-manage.md (rotation through the primary)",
        Evidence.UNCONFIRMED,
        region="{other_region}",
    ),
)

_PARAM_NAME = (
    'Parameter name: can\'t be prefixed with "ssm" (case-insensitive). If formed as a path,'
    " it can consist of sub-paths divided by slash symbol; each sub-path can be formed as a"
    " mix of letters, numbers and the following 3 symbols .-_"
)

SSM_CASES: tuple[Case, ...] = (
    Case(
        "get-unknown-parameter",
        "GetParameter",
        {"Name": "/fidelity/missing"},
        "ParameterNotFound",
        ABSENT,
        "TRANSCRIPT aws-solutions/quota-monitor-for-aws#90,"
        " awslabs/aws-simple-cicd#10 (no message, 2019-2023)",
        service="ssm",
    ),
    Case(
        "put-type-not-in-enum",
        "PutParameter",
        {"Name": "/fidelity/t", "Value": "v", "Type": "Foo"},
        "ValidationException",
        "1 validation error detected: Value 'Foo' at 'type' failed to satisfy constraint:"
        " Member must satisfy enum value set: [SecureString, StringList, String]",
        "EMULATOR moto (the server's order, not the model's)",
        Evidence.UNCONFIRMED,
        service="ssm",
    ),
    Case(
        "put-unknown-data-type",
        "PutParameter",
        {"Name": "/fidelity/d", "Value": "v", "Type": "String", "DataType": "json"},
        "ValidationException",
        "The following data type is not supported: json (Data type names are all lowercase.)",
        "EMULATOR moto",
        Evidence.UNCONFIRMED,
        service="ssm",
    ),
    Case(
        "put-ssm-prefix",
        "PutParameter",
        {"Name": "/SSM/x", "Value": "v", "Type": "String"},
        "ValidationException",
        _PARAM_NAME,
        "TRANSCRIPT find_string 57931296526, 48609632674",
        service="ssm",
    ),
    Case(
        "put-too-long-standard",
        "PutParameter",
        {"Name": "/fidelity/long", "Value": "x" * 4097, "Type": "String"},
        "ValidationException",
        "Standard tier parameters support a maximum parameter value of"
        " 4096 characters. To create a larger parameter value, upgrade the parameter to use"
        " the advanced-parameter tier. For more information, see"
        " https://docs.aws.amazon.com/systems-manager/latest/userguide/"
        "parameter-store-advanced-parameters.html",
        "TRANSCRIPT a Terraform log (find_string 15137409649) and a Lambda log (54959150050)",
        service="ssm",
    ),
    Case(
        "put-existing",
        "PutParameter",
        {"Name": "/fidelity/exists", "Value": "v", "Type": "String"},
        "ParameterAlreadyExists",
        "The parameter already exists. To overwrite this value, set"
        " the overwrite option in the request to true.",
        "EMULATOR moto (six emulators agree)",
        Evidence.UNCONFIRMED,
        service="ssm",
    ),
)

CASES = KMS_CASES + SSM_CASES
