"""The single error table: Cofre's domain errors as AWS error types and HTTP statuses."""

from __future__ import annotations

from cofre import errors as e

# Most specific first: the first class an error is an instance of decides.
_TABLE: tuple[tuple[type[e.CofreError], str, int], ...] = (
    (e.DryRunError, "DryRunOperationException", 412),
    (e.ValidationError, "ValidationException", 400),
    (e.SerializationError, "SerializationException", 400),
    (e.UnknownOperationError, "UnknownOperationException", 400),
    (e.MissingAuthenticationError, "MissingAuthenticationTokenException", 403),
    (e.IncompleteSignatureError, "IncompleteSignatureException", 400),
    (e.InvalidSignatureError, "InvalidSignatureException", 400),
    (e.UnrecognizedClientError, "UnrecognizedClientException", 400),
    (e.AccessDeniedError, "AccessDeniedException", 400),
    (e.NotAuthorizedError, "NotAuthorizedException", 400),
    (e.NotFoundError, "NotFoundException", 400),
    (e.AlreadyExistsError, "AlreadyExistsException", 400),
    (e.InvalidAliasNameError, "InvalidAliasNameException", 400),
    (e.InvalidArnError, "InvalidArnException", 400),
    (e.InvalidMarkerError, "InvalidMarkerException", 400),
    (e.InvalidCiphertextError, "InvalidCiphertextException", 400),
    (e.IncorrectKeyError, "IncorrectKeyException", 400),
    (e.InvalidKeyUsageError, "InvalidKeyUsageException", 400),
    (e.DisabledError, "DisabledException", 400),
    (e.KeyStateError, "KMSInvalidStateException", 400),
    (e.UnsupportedOperationError, "UnsupportedOperationException", 400),
    (e.LimitExceededError, "LimitExceededException", 400),
    (e.TagError, "TagException", 400),
    (e.MalformedPolicyDocumentError, "MalformedPolicyDocumentException", 400),
    (e.RequestError, "ValidationException", 400),
)

INTERNAL_ERROR = ("KMSInternalException", 500)


def wire_error(error: e.CofreError) -> tuple[str, int]:
    """The AWS ``__type`` and HTTP status for ``error``."""
    for cls, type_name, status in _TABLE:
        if isinstance(error, cls):
            return type_name, status
    return INTERNAL_ERROR
