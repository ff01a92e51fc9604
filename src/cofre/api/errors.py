"""The single error table: Cofre's domain errors as AWS error types and HTTP statuses.

Two protocols, two columns: the JSON services (KMS, SSM, Cofre's admin API) name errors
``...Exception`` with status 400 (real AWS answers every KMS and SSM client error with 400,
DryRunOperationException included, whatever the Smithy traits say); the Query services
(IAM, STS) use bare codes and REST-like statuses (404 NoSuchEntity, 409
EntityAlreadyExists, 403 AccessDenied).

A JSON error body carries its message in the member its service's model names
(:func:`message_member`), and no message member at all when the error has no message, as
AWS sends ``{"__type": "InvalidCiphertextException"}`` and nothing else.
"""

from __future__ import annotations

import functools

from cofre import errors as e
from cofre.api.model.service import ServiceModel

# Most specific first: the first class an error is an instance of decides.
_TABLE: tuple[tuple[type[e.CofreError], str, int], ...] = (
    (e.DryRunError, "DryRunOperationException", 400),
    (e.ValidationError, "ValidationException", 400),
    (e.SerializationError, "SerializationException", 400),
    (e.UnknownOperationError, "UnknownOperationException", 400),
    (e.MissingAuthenticationError, "MissingAuthenticationTokenException", 403),
    (e.IncompleteSignatureError, "IncompleteSignatureException", 400),
    (e.InvalidSignatureError, "InvalidSignatureException", 400),
    (e.UnrecognizedClientError, "UnrecognizedClientException", 400),
    (e.ExpiredTokenError, "ExpiredTokenException", 400),
    (e.AccessDeniedError, "AccessDeniedException", 400),
    (e.NotAuthorizedError, "NotAuthorizedException", 400),
    (e.NotFoundError, "NotFoundException", 400),
    (e.AlreadyExistsError, "AlreadyExistsException", 400),
    (e.InvalidAliasNameError, "InvalidAliasNameException", 400),
    (e.InvalidGrantIdError, "InvalidGrantIdException", 400),
    (e.InvalidGrantTokenError, "InvalidGrantTokenException", 400),
    (e.InvalidImportTokenError, "InvalidImportTokenException", 400),
    (e.ExpiredImportTokenError, "ExpiredImportTokenException", 400),
    (e.IncorrectKeyMaterialError, "IncorrectKeyMaterialException", 400),
    (e.DeleteConflictError, "ConflictException", 400),
    (e.InvalidArnError, "InvalidArnException", 400),
    (e.InvalidMarkerError, "InvalidMarkerException", 400),
    (e.InvalidCiphertextError, "InvalidCiphertextException", 400),
    (e.IncorrectKeyError, "IncorrectKeyException", 400),
    (e.InvalidKeyUsageError, "InvalidKeyUsageException", 400),
    (e.InvalidSignatureValueError, "KMSInvalidSignatureException", 400),
    (e.InvalidMacError, "KMSInvalidMacException", 400),
    (e.DisabledError, "DisabledException", 400),
    (e.KeyStateError, "KMSInvalidStateException", 400),
    (e.UnsupportedOperationError, "UnsupportedOperationException", 400),
    (e.LimitExceededError, "LimitExceededException", 400),
    (e.ThrottlingError, "ThrottlingException", 400),
    (e.CustomKeyStoreNotFoundError, "CustomKeyStoreNotFoundException", 400),
    (e.CustomKeyStoreNameInUseError, "CustomKeyStoreNameInUseException", 400),
    (e.CustomKeyStoreInvalidStateError, "CustomKeyStoreInvalidStateException", 400),
    (e.CustomKeyStoreHasKeysError, "CustomKeyStoreHasCMKsException", 400),
    (e.XksProxyUriUnreachableError, "XksProxyUriUnreachableException", 400),
    (
        e.XksProxyIncorrectAuthenticationCredentialError,
        "XksProxyIncorrectAuthenticationCredentialException",
        400,
    ),
    (e.XksProxyInvalidResponseError, "XksProxyInvalidResponseException", 400),
    (e.XksProxyInvalidConfigurationError, "XksProxyInvalidConfigurationException", 400),
    (e.XksProxyUriInUseError, "XksProxyUriInUseException", 400),
    (e.XksKeyNotFoundError, "XksKeyNotFoundException", 400),
    (e.XksKeyInvalidConfigurationError, "XksKeyInvalidConfigurationException", 400),
    (e.XksKeyAlreadyInUseError, "XksKeyAlreadyInUseException", 400),
    (e.TagError, "TagException", 400),
    (e.MalformedPolicyDocumentError, "MalformedPolicyDocumentException", 400),
    (e.ParameterNotFoundError, "ParameterNotFound", 400),
    (e.ParameterVersionNotFoundError, "ParameterVersionNotFound", 400),
    (e.ParameterAlreadyExistsError, "ParameterAlreadyExists", 400),
    (e.ParameterLimitExceededError, "ParameterLimitExceeded", 400),
    (e.ParameterMaxVersionLimitExceededError, "ParameterMaxVersionLimitExceeded", 400),
    (e.ParameterVersionLabelLimitExceededError, "ParameterVersionLabelLimitExceeded", 400),
    (e.ParameterPatternMismatchError, "ParameterPatternMismatchException", 400),
    (e.InvalidAllowedPatternError, "InvalidAllowedPatternException", 400),
    (e.HierarchyLevelLimitExceededError, "HierarchyLevelLimitExceededException", 400),
    (e.InvalidKeyIdError, "InvalidKeyId", 400),
    (e.InvalidFilterKeyError, "InvalidFilterKey", 400),
    (e.InvalidFilterOptionError, "InvalidFilterOption", 400),
    (e.InvalidFilterValueError, "InvalidFilterValue", 400),
    (e.InvalidNextTokenError, "InvalidNextToken", 400),
    (e.InvalidResourceIdError, "InvalidResourceId", 400),
    (e.InvalidResourceTypeError, "InvalidResourceType", 400),
    (e.TooManyTagsError, "TooManyTagsError", 400),
    (e.TooManyUpdatesError, "TooManyUpdates", 400),
    (e.PoliciesLimitExceededError, "PoliciesLimitExceededException", 400),
    (e.InvalidPolicyTypeError, "InvalidPolicyTypeException", 400),
    (e.InvalidPolicyAttributeError, "InvalidPolicyAttributeException", 400),
    (e.IncompatiblePolicyError, "IncompatiblePolicyException", 400),
    (e.InvalidLookupAttributesError, "InvalidLookupAttributesException", 400),
    (e.InvalidTimeRangeError, "InvalidTimeRangeException", 400),
    (e.InvalidTrailTokenError, "InvalidNextTokenException", 400),
    (e.SealError, "ValidationException", 400),
    (e.RequestError, "ValidationException", 400),
)

INTERNAL_ERROR = ("KMSInternalException", 500)
# A fault of ours, in each JSON service's own words (SSM's model: InternalServerError).
_INTERNAL_TYPES = {"ssm": "InternalServerError", "cloudtrail": "InternalServerError"}


def internal_type(service: str) -> str:
    """The ``__type`` of an internal fault for ``service`` ("kms", "ssm", ...)."""
    return _INTERNAL_TYPES.get(service, INTERNAL_ERROR[0])


# A passing failure of the database, where the service has a retryable type for it; the
# others answer their internal fault type (a 500, which the SDKs retry too).
_UNAVAILABLE = {"kms": ("DependencyTimeoutException", 503)}
# A sealed node: 503 everywhere (retried by every SDK), in each service's words.
_SEALED = {
    "kms": ("DependencyTimeoutException", 503),
    "ssm": ("ServiceUnavailableException", 503),
    "cloudtrail": ("ServiceUnavailableException", 503),
}


_QUERY_TABLE: tuple[tuple[type[e.CofreError], str, int], ...] = (
    (e.UnknownOperationError, "InvalidAction", 400),
    (e.MissingAuthenticationError, "MissingAuthenticationToken", 403),
    (e.IncompleteSignatureError, "IncompleteSignature", 400),
    (e.InvalidSignatureError, "SignatureDoesNotMatch", 403),
    (e.UnrecognizedClientError, "InvalidClientTokenId", 403),
    (e.ExpiredTokenError, "ExpiredToken", 403),
    (e.AccessDeniedError, "AccessDenied", 403),
    (e.NotFoundError, "NoSuchEntity", 404),
    (e.AlreadyExistsError, "EntityAlreadyExists", 409),
    (e.DeleteConflictError, "DeleteConflict", 409),
    (e.LimitExceededError, "LimitExceeded", 409),
    (e.ThrottlingError, "Throttling", 400),
    (e.MalformedPolicyDocumentError, "MalformedPolicyDocument", 400),
    (e.UnsupportedOperationError, "UnsupportedOperation", 400),
    (e.RequestError, "ValidationError", 400),
    (e.CofreError, "ValidationError", 400),
)
QUERY_INTERNAL_ERROR = ("ServiceFailure", 500)
QUERY_UNAVAILABLE = ("ServiceUnavailable", 503)


# Services whose error shapes name their message member as AWS sends it (SSM: "Message"
# for most types, "message" for the Parameter Store ones). CloudTrail's model declares no
# members at all, although the service sends messages: it keeps "message".
_MODELED_MESSAGES = frozenset({"ssm"})


@functools.lru_cache(maxsize=256)
def message_member(service: str, type_name: str) -> str:
    """The member of an error body that holds the message: as the service's model names
    it, else ``message`` (KMS, unmodeled types, shapes modeled with no members)."""
    if service not in _MODELED_MESSAGES:
        return "message"
    shape = ServiceModel.load(service).shapes.get(type_name)
    members = shape.get("members", {}) if shape is not None else {}
    return "Message" if "Message" in members else "message"


def error_body(error: e.CofreError, service: str = "kms") -> tuple[dict[str, str], int]:
    """The JSON body and HTTP status of ``error``."""
    type_name, status = wire_error(error, service)
    body = {"__type": type_name}
    if error.message:
        body[message_member(service, type_name)] = error.message
    return body, status


def wire_error(error: e.CofreError, service: str = "kms") -> tuple[str, int]:
    """The AWS ``__type`` and HTTP status for ``error`` (JSON protocol services)."""
    if isinstance(error, e.StorageUnavailableError) and service in _UNAVAILABLE:
        return _UNAVAILABLE[service]
    if isinstance(error, e.SealedError):
        return _SEALED.get(service, ("ServiceUnavailableException", 503))
    for cls, type_name, status in _TABLE:
        if isinstance(error, cls):
            return type_name, status
    return internal_type(service), INTERNAL_ERROR[1]


def query_error(error: e.CofreError) -> tuple[str, int]:
    """The error code and HTTP status for ``error`` (Query protocol services)."""
    if isinstance(error, (e.StorageUnavailableError, e.SealedError)):
        return QUERY_UNAVAILABLE
    if isinstance(error, e.InternalError):
        return QUERY_INTERNAL_ERROR
    for cls, code, status in _QUERY_TABLE:
        if isinstance(error, cls):
            return code, status
    return QUERY_INTERNAL_ERROR
