"""Reading a SigV4 request's authentication parts: the Authorization header or the
presigned query parameters, the credential scope and the request time.

Internal to :mod:`cofre.api.sigv4.verify`: everything here runs before any secret is looked up,
including the time checks (so a stale request never reaches the secret store).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Final, NamedTuple

from cofre.api.sigv4.canonical import canonical_query_string, unquote
from cofre.api.sigv4.messages import (
    HOST_NOT_SIGNED,
    TIMESTAMP_FORMAT,
    clip,
    duplicate_parameter,
    signature_expired,
    signature_not_yet_current,
)
from cofre.errors import (
    IncompleteSignatureError,
    InvalidSignatureError,
    MissingAuthenticationError,
)

__all__ = [
    "ALGORITHM",
    "MAX_PRESIGN_EXPIRES",
    "TERMINATOR",
    "ParsedAuth",
    "check_skew",
    "parse_header_auth",
    "parse_query_auth",
]

ALGORITHM: Final = "AWS4-HMAC-SHA256"
MAX_PRESIGN_EXPIRES: Final = 604800  # seven days, the SigV4 maximum

_ALGORITHM_B: Final = b"AWS4-HMAC-SHA256"
TERMINATOR: Final = "aws4_request"

# Query-form parameter names (canonically encoded, as they appear after encoding).
_Q_ALGORITHM: Final = b"X-Amz-Algorithm"
_Q_CREDENTIAL: Final = b"X-Amz-Credential"
_Q_DATE: Final = b"X-Amz-Date"
_Q_EXPIRES: Final = b"X-Amz-Expires"
_Q_SIGNED_HEADERS: Final = b"X-Amz-SignedHeaders"
_Q_SIGNATURE: Final = b"X-Amz-Signature"
_Q_TOKEN: Final = b"X-Amz-Security-Token"
_Q_AUTH_PARAMS: Final = frozenset(
    (_Q_ALGORITHM, _Q_CREDENTIAL, _Q_DATE, _Q_EXPIRES, _Q_SIGNED_HEADERS, _Q_SIGNATURE, _Q_TOKEN)
)
_Q_REQUIRED: Final = (_Q_ALGORITHM, _Q_CREDENTIAL, _Q_SIGNATURE, _Q_SIGNED_HEADERS, _Q_DATE)


class ParsedAuth(NamedTuple):
    """The authentication parts of a request, before any secret is involved."""

    access_key_id: str
    scope: bytes  # date/region/service/aws4_request
    scope_date: str
    region: str
    service: str
    signed_headers: bytes  # the SignedHeaders line, lower-case
    header_names: list[bytes]
    signature: bytes
    amz_date: bytes  # basic ISO 8601, as it goes into the string to sign
    request_time: datetime
    presigned: bool
    canonical_query: bytes
    session_token: str | None


def parse_header_auth(
    authorization: bytes,
    headers: Mapping[bytes, bytes],
    pairs: list[tuple[bytes, bytes]],
    now: datetime,
    max_skew: timedelta,
) -> ParsedAuth:
    """The header form: ``Authorization`` plus ``X-Amz-Date`` (or ``Date``)."""
    for name, _ in pairs:
        if name == _Q_ALGORITHM or name == _Q_SIGNATURE:
            raise IncompleteSignatureError(
                "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter "
                "or the Authorization header should be specified."
            )

    algorithm, _, rest = authorization.strip().partition(b" ")
    credential: bytes | None = None
    signed_headers: bytes | None = None
    signature: bytes | None = None
    for token in rest.replace(b",", b" ").split():
        key, eq, value = token.partition(b"=")
        if not eq:
            raise IncompleteSignatureError(
                "A component of the Authorization header is not a valid key=value pair "
                "(missing equal-sign)."
            )
        if key == b"Credential":
            if credential is not None:
                raise IncompleteSignatureError(duplicate_parameter("Credential"))
            credential = value
        elif key == b"SignedHeaders":
            if signed_headers is not None:
                raise IncompleteSignatureError(duplicate_parameter("SignedHeaders"))
            signed_headers = value
        elif key == b"Signature":
            if signature is not None:
                raise IncompleteSignatureError(duplicate_parameter("Signature"))
            signature = value

    raw_date = headers.get(b"x-amz-date")
    from_date_header = False
    if raw_date is None:
        raw_date = headers.get(b"date")
        from_date_header = True

    if credential is None or signed_headers is None or signature is None or raw_date is None:
        missing: list[str] = []
        if credential is None:
            missing.append("Authorization header requires 'Credential' parameter.")
        if signature is None:
            missing.append("Authorization header requires 'Signature' parameter.")
        if signed_headers is None:
            missing.append("Authorization header requires 'SignedHeaders' parameter.")
        if raw_date is None:
            missing.append(
                "Authorization header requires existence of either a 'X-Amz-Date' or "
                "a 'Date' header."
            )
        raise IncompleteSignatureError(" ".join(missing))

    if algorithm != _ALGORITHM_B:
        raise IncompleteSignatureError(
            "The authorization mechanism you have provided is not supported. "
            "Please use AWS4-HMAC-SHA256."
        )

    access_key_id, scope, scope_date, region, service = _parse_credential(credential)
    header_names = _parse_signed_headers(signed_headers)

    if from_date_header:
        request_time, amz_date = _parse_http_date(raw_date)
    else:
        request_time, amz_date = _parse_amz_date(raw_date)
    _check_scope_date(scope_date, amz_date)
    check_skew(request_time, now, max_skew)

    session_token = headers.get(b"x-amz-security-token")
    return ParsedAuth(
        access_key_id=access_key_id,
        scope=scope,
        scope_date=scope_date,
        region=region,
        service=service,
        signed_headers=b";".join(header_names),
        header_names=header_names,
        signature=signature,
        amz_date=amz_date,
        request_time=request_time,
        presigned=False,
        canonical_query=canonical_query_string(pairs),
        session_token=(None if session_token is None else session_token.decode("latin-1").strip()),
    )


def parse_query_auth(
    headers: Mapping[bytes, bytes],
    pairs: list[tuple[bytes, bytes]],
    now: datetime,
    max_skew: timedelta,
) -> ParsedAuth:
    """The query (presigned) form; MissingAuthenticationError when there is no signature."""
    params: dict[bytes, bytes] = {}
    for name, value in pairs:
        if name in _Q_AUTH_PARAMS:
            if name in params:
                raise IncompleteSignatureError(
                    f"Query-string parameter '{name.decode('ascii')}' must appear only once."
                )
            params[name] = value
    if not params.keys() & {_Q_ALGORITHM, _Q_CREDENTIAL, _Q_SIGNATURE}:
        if b"x-amz-target" in headers:
            raise MissingAuthenticationError("Request is missing Authentication Token")
        raise MissingAuthenticationError("Missing Authentication Token")

    missing = [name for name in _Q_REQUIRED if name not in params]
    if missing:
        raise IncompleteSignatureError(
            " ".join(
                f"AWS query-string parameters must include '{name.decode('ascii')}'."
                for name in missing
            )
            + " Re-examine the query-string parameters."
        )
    if unquote(params[_Q_ALGORITHM]) != _ALGORITHM_B:
        raise IncompleteSignatureError("X-Amz-Algorithm only supports 'AWS4-HMAC-SHA256'.")

    access_key_id, scope, scope_date, region, service = _parse_credential(
        unquote(params[_Q_CREDENTIAL])
    )
    header_names = _parse_signed_headers(unquote(params[_Q_SIGNED_HEADERS]))
    request_time, amz_date = _parse_amz_date(unquote(params[_Q_DATE]))
    _check_scope_date(scope_date, amz_date)

    if _Q_EXPIRES in params:
        raw_expires = unquote(params[_Q_EXPIRES])
        if not (raw_expires.isdigit() and len(raw_expires) <= 7):
            raise IncompleteSignatureError(
                "X-Amz-Expires should be a number of seconds between 1 and 604800."
            )
        expires = int(raw_expires)
        if expires < 1:
            raise IncompleteSignatureError("X-Amz-Expires must be positive.")
        if expires > MAX_PRESIGN_EXPIRES:
            raise IncompleteSignatureError(
                "X-Amz-Expires must be less than a week (in seconds) that is 604800."
            )
        # Not yet current: the header form's rule.  Expired: X-Amz-Expires.
        if request_time > now + max_skew:
            raise InvalidSignatureError(signature_not_yet_current(request_time, now, max_skew))
        lifetime = timedelta(seconds=expires)
        if now > request_time + lifetime:
            raise InvalidSignatureError(signature_expired(request_time, now, lifetime))
    else:
        # Without X-Amz-Expires (allowed by STS-style presigners) the
        # header form's skew window applies both ways.
        check_skew(request_time, now, max_skew)

    token = params.get(_Q_TOKEN)
    if token is not None:
        session_token: str | None = unquote(token).decode("utf-8", "replace")
    else:
        header_token = headers.get(b"x-amz-security-token")
        session_token = None if header_token is None else header_token.decode("latin-1").strip()

    return ParsedAuth(
        access_key_id=access_key_id,
        scope=scope,
        scope_date=scope_date,
        region=region,
        service=service,
        signed_headers=b";".join(header_names),
        header_names=header_names,
        signature=unquote(params[_Q_SIGNATURE]),
        amz_date=amz_date,
        request_time=request_time,
        presigned=True,
        canonical_query=canonical_query_string([p for p in pairs if p[0] != _Q_SIGNATURE]),
        session_token=session_token,
    )


def check_skew(request_time: datetime, now: datetime, skew: timedelta) -> None:
    """The header form's window: expired before ``now - skew``, not yet current after
    ``now + skew``."""
    if request_time < now - skew:
        raise InvalidSignatureError(signature_expired(request_time, now, skew))
    if request_time > now + skew:
        raise InvalidSignatureError(signature_not_yet_current(request_time, now, skew))


def _parse_credential(credential: bytes) -> tuple[str, bytes, str, str, str]:
    """Split ``AKID/date/region/service/aws4_request``."""
    text = credential.decode("latin-1")
    parts = text.split("/")
    if len(parts) != 5:
        raise IncompleteSignatureError(
            "Credential must have exactly 5 slash-delimited elements, e.g. "
            f"keyid/date/region/service/term, got '{clip(text)}'"
        )
    access_key_id, scope_date, region, service, terminator = parts
    if terminator != TERMINATOR:
        raise IncompleteSignatureError(
            "Credential should be scoped with a valid terminator: 'aws4_request', "
            f"not '{clip(terminator)}'."
        )
    if not access_key_id:
        raise IncompleteSignatureError("Invalid credential scope: the access key ID is empty.")
    if not (len(scope_date) == 8 and scope_date.isascii() and scope_date.isdigit()):
        raise IncompleteSignatureError(
            f"Invalid credential scope: the date '{clip(scope_date)}' is not in yyyyMMdd format."
        )
    if not region:
        raise IncompleteSignatureError("Credential should be scoped to a valid region.")
    if not service:
        raise IncompleteSignatureError("Credential should be scoped to a valid service.")
    return access_key_id, credential.partition(b"/")[2], scope_date, region, service


def _parse_signed_headers(signed_headers: bytes) -> list[bytes]:
    names = signed_headers.lower().split(b";")
    if b"" in names:
        raise IncompleteSignatureError("SignedHeaders must list non-empty header names.")
    if b"host" not in names:
        raise IncompleteSignatureError(HOST_NOT_SIGNED)
    return names


def _parse_amz_date(raw: bytes) -> tuple[datetime, bytes]:
    """Parse ``YYYYMMDDTHHMMSSZ``; return the time and the string as signed."""
    value = raw.strip()
    if len(value) == 16 and value[8:9] == b"T" and value[15:16] == b"Z":
        # The shape is checked first: fromisoformat alone would take other forms too.
        if (value[:8] + value[9:15]).isdigit():
            try:
                moment = datetime.fromisoformat(value.decode("ascii"))
            except ValueError:
                pass
            else:
                return moment, value
    raise IncompleteSignatureError(
        f"Date must be in ISO-8601 'basic format'. Got '{clip(value.decode('latin-1'))}'. "
        "See http://en.wikipedia.org/wiki/ISO_8601"
    )


def _parse_http_date(raw: bytes) -> tuple[datetime, bytes]:
    """Parse a ``Date`` header (RFC 7231, or ISO 8601 basic format)."""
    value = raw.strip()
    if len(value) == 16 and value[8:9] == b"T":
        return _parse_amz_date(value)
    text = value.decode("latin-1")
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        raise IncompleteSignatureError(
            f"Date header '{clip(text)}' is not a valid HTTP date."
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC).replace(microsecond=0)
    return moment, moment.strftime(TIMESTAMP_FORMAT).encode("ascii")


def _check_scope_date(scope_date: str, amz_date: bytes) -> None:
    # AWS's JSON and query services answer a mismatch with SignatureDoesNotMatch
    # (InvalidSignatureException) and this message; S3 says AuthorizationHeaderMalformed.
    request_day = amz_date[:8].decode("ascii")
    if scope_date != request_day:
        raise InvalidSignatureError(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date "
            f"from HTTP: '{scope_date}' != '{request_day}', from '{amz_date.decode('ascii')}'."
        )
