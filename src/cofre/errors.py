"""Cofre's domain errors: one root, mapped to the wire once (``cofre.api.errors``).

The tree::

    CofreError
    ├── RequestError                 the request itself is wrong
    │   ├── ValidationError          a parameter breaks a limit, enum or pattern
    │   ├── SerializationError       the body is not the JSON the operation takes
    │   ├── UnknownOperationError    no such X-Amz-Target
    │   └── DryRunError              DryRun=true and the call would have succeeded
    ├── AuthenticationError          who is calling cannot be established
    │   ├── MissingAuthenticationError
    │   ├── IncompleteSignatureError
    │   ├── InvalidSignatureError    (also: signature expired / clock skew)
    │   ├── UnrecognizedClientError  unknown or inactive access key
    │   └── ExpiredTokenError        temporary credentials past their expiry
    ├── AccessDeniedError            the caller may not do this
    ├── NotAuthorizedError           reserved names (alias/aws/...)
    ├── NotFoundError                no such key / alias
    ├── AlreadyExistsError
    ├── DeleteConflictError          an IAM entity still has what must go first
    ├── InvalidGrantIdError
    ├── InvalidImportTokenError / ExpiredImportTokenError
    ├── IncorrectKeyMaterialError    a reimport that is not the key's material
    ├── InvalidGrantTokenError
    ├── InvalidAliasNameError
    ├── InvalidArnError
    ├── InvalidMarkerError
    ├── InvalidCiphertextError       every decrypt failure, whatever the cause (no oracle)
    ├── IncorrectKeyError            Decrypt's KeyId is not the ciphertext's key
    ├── InvalidKeyUsageError
    ├── InvalidSignatureValueError   Verify: the signature does not match
    ├── InvalidMacError              VerifyMac: the MAC does not match
    ├── KeyStateError                the key's state forbids the operation
    │   └── DisabledError
    ├── UnsupportedOperationError
    │   └── UnsupportedParameterError  a member of a feature Cofre does not serve
    ├── LimitExceededError
    ├── ThrottlingError              over a request quota (ADR 20): SDKs back off, retry
    ├── CustomKeyStoreError          a custom key store refuses (ADR 22)
    │   └── ...NotFound / ...NameInUse / ...InvalidState / ...HasKeys
    ├── XksProxyError                an XKS proxy refuses or fails (store set-up)
    │   └── UriUnreachable / IncorrectAuthenticationCredential / InvalidResponse /
    │       InvalidConfiguration / UriInUse
    ├── XksKeyError                  an external key cannot back a KMS key
    │   └── XksKeyNotFound / XksKeyInvalidConfiguration / XksKeyAlreadyInUse
    ├── TagError
    ├── MalformedPolicyDocumentError
    ├── ParameterStoreError          Parameter Store (SSM), one class per AWS error type
    │   ├── ParameterNotFoundError / ParameterVersionNotFoundError
    │   ├── ParameterAlreadyExistsError / ParameterLimitExceededError
    │   ├── ParameterMaxVersionLimitExceededError / ParameterVersionLabelLimitExceededError
    │   ├── ParameterPatternMismatchError / InvalidAllowedPatternError
    │   ├── HierarchyLevelLimitExceededError
    │   ├── InvalidKeyIdError        a KMS failure behind a SecureString (not access)
    │   ├── InvalidFilterKeyError / InvalidFilterOptionError / InvalidFilterValueError
    │   ├── InvalidNextTokenError / InvalidResourceIdError / InvalidResourceTypeError
    │   ├── TooManyTagsError / TooManyUpdatesError
    │   └── PoliciesLimitExceededError / InvalidPolicyTypeError /
    │       InvalidPolicyAttributeError / IncompatiblePolicyError
    ├── AuditLookupError             CloudTrail LookupEvents, one class per AWS error type
    │   └── InvalidLookupAttributesError / InvalidTimeRangeError / InvalidTrailTokenError
    ├── SealError                    the root of trust refuses (a bad share, a wrong PIN)
    ├── SealedError                  this node is sealed: retry later or elsewhere (503)
    ├── BackupError                  a backup file that is damaged, cut short or not one
    ├── RestoreError                 a restore refused: the target is not empty, or of
    │                                another schema version
    └── InternalError                a real fault of ours (the only other 5xx)
        ├── StorageError             the database failed the call
        │   ├── StorageUnavailableError  passing: retry (503 where AWS has one)
        │   └── StorageFaultError        lasting: a full disk, a read-only file, I/O
        └── AuditUnavailableError    the audit record could not be written (fail closed)

Messages never carry plaintext, key material or secrets. An error with an empty message
goes on the wire with no message member, as AWS sends InvalidCiphertextException,
KMSInvalidSignatureException and KMSInvalidMacException.
"""

from __future__ import annotations


class CofreError(Exception):
    """Root of every error Cofre raises on purpose."""

    def __init__(self, message: str = "") -> None:
        super().__init__(message)
        self.message = message


class RequestError(CofreError):
    """The request is malformed."""


class ValidationError(RequestError):
    """A parameter breaks a constraint of the service model."""


class SerializationError(RequestError):
    """The body cannot be read as the operation's input shape."""


class UnknownOperationError(RequestError):
    """The target names no operation Cofre serves."""


class DryRunError(RequestError):
    """DryRun was set and the request would have succeeded."""

    def __init__(self) -> None:
        super().__init__("The request would have succeeded, but the DryRun option is set.")


class AuthenticationError(CofreError):
    """The caller's identity cannot be established."""


class MissingAuthenticationError(AuthenticationError):
    """No credentials at all."""


class IncompleteSignatureError(AuthenticationError):
    """The Authorization header or query is missing parts."""


class InvalidSignatureError(AuthenticationError):
    """The signature does not match, or is outside the allowed time window."""


class UnrecognizedClientError(AuthenticationError):
    """The access key is unknown or inactive."""

    def __init__(
        self, message: str = "The security token included in the request is invalid."
    ) -> None:
        super().__init__(message)


class ExpiredTokenError(AuthenticationError):
    """Temporary credentials whose expiry has passed."""

    def __init__(
        self, message: str = "The security token included in the request is expired"
    ) -> None:
        super().__init__(message)


class AccessDeniedError(CofreError):
    """The caller is not allowed to perform the action on the resource."""


class NotAuthorizedError(CofreError):
    """A reserved resource (e.g. an ``alias/aws/`` alias) cannot be changed by customers."""


class NotFoundError(CofreError):
    """The named resource does not exist."""


class AlreadyExistsError(CofreError):
    """The resource to create already exists."""


class DeleteConflictError(CofreError):
    """An IAM entity cannot be deleted while it still has keys, policies or attachments."""


class InvalidGrantIdError(CofreError):
    """A grant id that is not one KMS could have issued."""


class InvalidGrantTokenError(CofreError):
    """A grant token that Cofre did not issue."""


class InvalidImportTokenError(CofreError):
    """An import token Cofre did not issue, or issued for another key."""


class ExpiredImportTokenError(CofreError):
    """An import token past its 24 hours."""


class IncorrectKeyMaterialError(CofreError):
    """Imported material that is not the material the key held before."""


class InvalidAliasNameError(CofreError):
    """The alias name is not acceptable."""


class InvalidArnError(CofreError):
    """The ARN is malformed."""


class InvalidMarkerError(CofreError):
    """The pagination marker is not one Cofre issued."""


class InvalidCiphertextError(CofreError):
    """A ciphertext cannot be decrypted. Deliberately says nothing about why (no message,
    as AWS)."""

    def __init__(self) -> None:
        super().__init__("")


class IncorrectKeyError(CofreError):
    """The key named in the request is not the one the ciphertext was made with."""


class InvalidKeyUsageError(CofreError):
    """The key's usage does not allow the operation."""


class InvalidSignatureValueError(CofreError):
    """A signature given to Verify is not valid. AWS says nothing more (no message)."""

    def __init__(self) -> None:
        super().__init__("")


class InvalidMacError(CofreError):
    """A MAC given to VerifyMac is not valid. AWS says nothing more (no message)."""

    def __init__(self) -> None:
        super().__init__("")


class KeyStateError(CofreError):
    """The key's state does not allow the operation."""


class DisabledError(KeyStateError):
    """The key is disabled."""


class UnsupportedOperationError(CofreError):
    """The operation is not supported for this resource."""


class UnsupportedParameterError(UnsupportedOperationError):
    """A request member of a feature Cofre does not serve: refused, never ignored."""


class LimitExceededError(CofreError):
    """A quota is exceeded."""


class ThrottlingError(CofreError):
    """The caller's account is over a request quota in this Region: retry later."""


class CustomKeyStoreError(CofreError):
    """A custom key store refuses (ADR 22); one class per AWS error type."""


class CustomKeyStoreNotFoundError(CustomKeyStoreError):
    pass


class CustomKeyStoreNameInUseError(CustomKeyStoreError):
    pass


class CustomKeyStoreInvalidStateError(CustomKeyStoreError):
    pass


class CustomKeyStoreHasKeysError(CustomKeyStoreError):
    pass


class XksProxyError(CofreError):
    """An XKS proxy, reached to set up or check a custom key store, refuses or fails."""


class XksProxyUriUnreachableError(XksProxyError):
    pass


class XksProxyIncorrectAuthenticationCredentialError(XksProxyError):
    pass


class XksProxyInvalidResponseError(XksProxyError):
    pass


class XksProxyInvalidConfigurationError(XksProxyError):
    pass


class XksProxyUriInUseError(XksProxyError):
    pass


class XksKeyError(CofreError):
    """The external key a CreateKey names cannot back a KMS key."""


class XksKeyNotFoundError(XksKeyError):
    pass


class XksKeyInvalidConfigurationError(XksKeyError):
    pass


class XksKeyAlreadyInUseError(XksKeyError):
    pass


class TagError(CofreError):
    """A tag is not acceptable."""


class MalformedPolicyDocumentError(CofreError):
    """A policy document cannot be accepted."""


class InternalError(CofreError):
    """A fault of Cofre's own; the only errors mapped to HTTP 5xx."""

    def __init__(
        self,
        message: str = "The request was rejected because an internal exception occurred."
        " The request can be retried.",
    ) -> None:
        super().__init__(message)


class SealError(CofreError):
    """The root of trust refuses: a share that is not one, a seal that cannot be opened
    (a wrong PIN, a missing HSM key, a disabled KMS key), a seal record that is damaged.
    The message says what is wrong; nothing secret is in it."""


class SealedError(CofreError):
    """This node is sealed: it holds no key until operators unseal it. Retryable (503):
    another node, or this one once unsealed, answers."""

    def __init__(
        self,
        message: str = "The server is sealed: it holds no key until its operators unseal it"
        " (cofre operator unseal). Retry later or on another node.",
    ) -> None:
        super().__init__(message)


class StorageError(InternalError):
    """The database failed a call. Its message says what kind of failure it was and whether
    a retry can help; the real cause is logged where it was caught."""

    retryable = False


class StorageUnavailableError(StorageError):
    """A passing failure (a lost connection, a restarting server, a lock held too long):
    retrying the call can succeed, and the SDKs do."""

    retryable = True


class StorageFaultError(StorageError):
    """A failure that lasts until an operator acts (a full disk, a read-only or damaged
    database file, an I/O error): the call fails, and so will its retries until then."""


class AuditUnavailableError(InternalError):
    """The audit trail could not record a call: the call fails rather than go unaudited."""

    def __init__(self, message: str = "The audit trail could not be written.") -> None:
        super().__init__(message)


class BackupError(CofreError):
    """A backup file that cannot be read whole: the message names the place."""


class RestoreError(CofreError):
    """A restore that must not happen: the target holds data, or another schema."""


class AuditLookupError(CofreError):
    """A LookupEvents request CloudTrail would refuse."""


class InvalidLookupAttributesError(AuditLookupError):
    """More than one lookup attribute, or a value the attribute cannot take."""


class InvalidTimeRangeError(AuditLookupError):
    """StartTime after EndTime."""


class InvalidTrailTokenError(AuditLookupError):
    """A NextToken LookupEvents did not hand out for these parameters."""


# Parameter Store ---------------------------------------------------------------------
class ParameterStoreError(CofreError):
    """Root of the Parameter Store errors (each maps to one SSM error type)."""


class ParameterNotFoundError(ParameterStoreError):
    """No such parameter."""


class ParameterVersionNotFoundError(ParameterStoreError):
    """The parameter exists; the version or label asked for does not."""


class ParameterAlreadyExistsError(ParameterStoreError):
    """PutParameter without Overwrite on an existing parameter."""

    def __init__(
        self,
        message: str = "The parameter already exists. To overwrite this value, set the"
        " overwrite option in the request to true.",
    ) -> None:
        super().__init__(message)


class ParameterLimitExceededError(ParameterStoreError):
    """The account and Region hold as many parameters of the tier as they may."""


class ParameterMaxVersionLimitExceededError(ParameterStoreError):
    """A 101st version while the oldest version has a label."""


class ParameterVersionLabelLimitExceededError(ParameterStoreError):
    """More than ten labels on one version."""


class ParameterPatternMismatchError(ParameterStoreError):
    """The value does not match the parameter's AllowedPattern."""


class InvalidAllowedPatternError(ParameterStoreError):
    """AllowedPattern is not a regular expression."""


class HierarchyLevelLimitExceededError(ParameterStoreError):
    """A name or path deeper than 15 levels."""


class InvalidKeyIdError(ParameterStoreError):
    """The KMS key of a SecureString cannot be used (missing, disabled, wrong kind)."""


class InvalidFilterKeyError(ParameterStoreError):
    """A filter key the operation does not take, or given twice."""


class InvalidFilterOptionError(ParameterStoreError):
    """A filter option the key does not take."""


class InvalidFilterValueError(ParameterStoreError):
    """A filter value that is missing or not one the key takes."""


class InvalidNextTokenError(ParameterStoreError):
    """A NextToken Cofre did not hand out."""


class InvalidResourceIdError(ParameterStoreError):
    """Tagging a parameter that does not exist."""


class InvalidResourceTypeError(ParameterStoreError):
    """Tagging a resource type other than Parameter."""


class TooManyTagsError(ParameterStoreError):
    """More than 50 tags on a parameter."""


class TooManyUpdatesError(ParameterStoreError):
    """Concurrent updates kept colliding."""


class PoliciesLimitExceededError(ParameterStoreError):
    """More than ten parameter policies."""


class InvalidPolicyTypeError(ParameterStoreError):
    """A parameter policy type other than Expiration, ExpirationNotification,
    NoChangeNotification."""


class InvalidPolicyAttributeError(ParameterStoreError):
    """A parameter policy attribute, or its value, is not valid."""


class IncompatiblePolicyError(ParameterStoreError):
    """Parameter policies that conflict (two Expiration policies, ...)."""
