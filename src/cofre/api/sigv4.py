"""AWS Signature Version 4 verification, server side.

Written from the public SigV4 specification ("Create a signed AWS API request"
and "Authenticating requests: using query parameters") and cross-checked against
botocore's signer, which is what boto3 and the AWS CLI send.

Two forms are accepted:

* header form: ``Authorization: AWS4-HMAC-SHA256 Credential=AKID/20260101/
  us-east-1/kms/aws4_request, SignedHeaders=host;x-amz-date, Signature=<hex>``
  with the time in ``X-Amz-Date`` (or, failing that, ``Date``);
* query (presigned) form: ``X-Amz-Algorithm``, ``X-Amz-Credential``,
  ``X-Amz-Date``, ``X-Amz-Expires`` (1..604800), ``X-Amz-SignedHeaders``,
  ``X-Amz-Signature`` and optionally ``X-Amz-Security-Token`` in the query.
  Without ``X-Amz-Expires`` the header form's skew window applies.

The canonical request is built from the bytes as received:

* URI: the wire path (already percent-encoded once by the client), with dot
  segments and empty segments removed, percent-encoded once more -- the
  "encode twice" rule of every service but S3 (botocore:
  ``quote(normalize_url_path(path), safe='/~')``);
* query: every ``name=value`` pair form-decoded (``+`` is a space, as at AWS)
  and re-encoded with only ``A-Z a-z 0-9 - _ . ~`` left bare, sorted by
  encoded name then encoded value; in the query form ``X-Amz-Signature`` is
  left out;
* headers: the names listed in SignedHeaders, lower-case, in the listed order,
  each value trimmed with runs of whitespace collapsed to one space, repeated
  headers joined with ``,``; the raw header bytes are hashed, so a UTF-8 value
  signed by an SDK matches;
* payload: ``x-amz-content-sha256`` when sent (it must then equal the SHA-256
  of the body), else the SHA-256 of the body.

Choices where AWS's behaviour is not documented (kept deliberately strict):

* A header-form request whose ``x-amz-content-sha256`` is not the hex SHA-256
  of the body -- including ``UNSIGNED-PAYLOAD`` and the ``STREAMING-*`` chunked
  values -- is refused (InvalidSignatureError): a KMS body carries the
  operation's parameters and must be signed.
* A presigned request is accepted when signed over ``UNSIGNED-PAYLOAD`` (what
  S3-style presigners use) or over the SHA-256 of the body (what botocore's
  ``SigV4QueryAuth`` and STS presigned URLs use); each signature commits to
  exactly one of the two, so trying both does not weaken anything.
* ``host`` must be signed (AWS: "'Host' or ':authority' must be a
  'SignedHeader' in the AWS Authorization."), and so must ``x-amz-target`` when
  present, because it selects the operation: a captured request with an
  unsigned target could be replayed as a different operation with the same
  body (``{"KeyId": ...}`` is a valid DescribeKey and ScheduleKeyDeletion).
* A header named in SignedHeaders but absent from the request makes the
  signature not match (InvalidSignatureError, AWS's mismatch message).
* A credential-scope date that differs from the request date's day is an
  InvalidSignatureError with the message AWS's JSON/query services give
  ("Date in Credential scope does not match YYYYMMDD from ISO-8601 version of
  date from HTTP: ..."); S3 instead answers AuthorizationHeaderMalformed.
* Time checks run before the secret lookup (no store hit for stale requests);
  a request is "expired" when its time is strictly earlier than
  ``now - max_skew`` and "not yet current" when strictly later than
  ``now + max_skew``.  A presigned request is expired when ``now`` is strictly
  later than ``X-Amz-Date + X-Amz-Expires``.

Messages never contain the secret, the signature or body bytes.  AWS appends
the whole Authorization header to some IncompleteSignature messages; Cofre does
not, because that header carries the signature.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Final, NamedTuple, Protocol
from urllib.parse import quote_from_bytes, unquote_to_bytes

from cofre.errors import (
    IncompleteSignatureError,
    InvalidSignatureError,
    MissingAuthenticationError,
    UnrecognizedClientError,
)

if TYPE_CHECKING:
    from hashlib import _Hash

__all__ = [
    "HttpRequest",
    "SecretLookup",
    "SigV4Caller",
    "SigV4Verifier",
]

ALGORITHM: Final = "AWS4-HMAC-SHA256"
MAX_PRESIGN_EXPIRES: Final = 604800  # seven days, the SigV4 maximum

_ALGORITHM_B: Final = b"AWS4-HMAC-SHA256"
_TERMINATOR: Final = "aws4_request"
_UNSIGNED_PAYLOAD: Final = b"UNSIGNED-PAYLOAD"
_STS_PREFIX: Final = b"AWS4-HMAC-SHA256\n"
_UNRESERVED: Final = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~"
_PATH_PLAIN: Final = _UNRESERVED.replace(b".", b"") + b"/"
_TRANS_36: Final = bytes(x ^ 0x36 for x in range(256))
_TRANS_5C: Final = bytes(x ^ 0x5C for x in range(256))
_SHA256_BLOCK: Final = 64
_SHA256 = hashlib.sha256

_MISMATCH: Final = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. "
    "Consult the service documentation for details."
)
_CONTENT_SHA_MISMATCH: Final = (
    "The provided 'x-amz-content-sha256' header does not match what was computed."
)
_HOST_NOT_SIGNED: Final = (
    "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."
)
_TARGET_NOT_SIGNED: Final = "'X-Amz-Target' must be a 'SignedHeader' in the AWS Authorization."
_TIMESTAMP_FORMAT: Final = "%Y%m%dT%H%M%SZ"

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


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """The parts of an HTTP request that SigV4 covers, as received on the wire."""

    method: str
    """The request method, e.g. ``"POST"``."""
    path: str
    """The raw path as sent, still percent-encoded, e.g. ``"/"``.  Non-ASCII
    characters are taken as UTF-8 (decode ASGI ``raw_path`` with
    ``"utf-8", "surrogateescape"``)."""
    query_string: bytes
    """The raw query string, without the leading ``?``."""
    headers: Sequence[tuple[bytes, bytes]]
    """ASGI-style headers: lower-case names, raw values; names may repeat."""
    body: bytes


@dataclass(frozen=True, slots=True)
class SigV4Caller:
    """Who signed a request, as established by :meth:`SigV4Verifier.verify`."""

    access_key_id: str
    region: str
    """The region of the credential scope (not checked here)."""
    service: str
    """The service of the credential scope (not checked here)."""
    request_time: datetime
    """Aware UTC time from ``X-Amz-Date`` (or ``Date``)."""
    session_token: str | None
    """``X-Amz-Security-Token`` if present, signed or not; else None."""


class SecretLookup(Protocol):
    """Where the verifier finds the secret access key of an access key ID."""

    def secret_for(self, access_key_id: str) -> str | None:
        """Return the secret access key, or None when the key is unknown or inactive."""
        ...


class _Parsed(NamedTuple):
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


class SigV4Verifier:
    """Verifies AWS Signature Version 4 requests against a :class:`SecretLookup`.

    Derived signing keys are kept in a small LRU keyed by access key ID, a hash
    of the secret (so a rotated secret never reuses a stale key; the secret
    itself is never a key), scope date, region and service.  Thread-safe.
    """

    __slots__ = ("_cache", "_cache_size", "_lock", "_max_skew", "_secrets")

    def __init__(
        self,
        secrets: SecretLookup,
        *,
        max_skew: timedelta = timedelta(minutes=15),
        cache_size: int = 1024,
    ) -> None:
        if max_skew < timedelta(0):
            raise ValueError("max_skew must not be negative")
        if cache_size < 0:
            raise ValueError("cache_size must not be negative")
        self._secrets = secrets
        self._max_skew = max_skew
        self._cache_size = cache_size
        self._cache: OrderedDict[tuple[str, int, str, str, str], tuple[_Hash, _Hash]] = (
            OrderedDict()
        )
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ verify

    def verify(self, request: HttpRequest, now: datetime) -> SigV4Caller:
        """Check the request's signature; return the caller or raise.

        Raises MissingAuthenticationError (no signature at all),
        IncompleteSignatureError (malformed Authorization header or query
        parameters), InvalidSignatureError (mismatch, expired, not yet current,
        payload hash mismatch) or UnrecognizedClientError (unknown access key).
        """
        if now.tzinfo is None:
            now = now.replace(tzinfo=UTC)

        headers = dict(request.headers)
        if len(headers) != len(request.headers) or not b"".join(headers).islower():
            headers = _collect_headers(request.headers)

        authorization = headers.get(b"authorization")
        pairs = _query_pairs(request.query_string) if request.query_string else []
        if authorization is not None:
            parsed = self._parse_header_auth(authorization, headers, pairs, now)
        else:
            parsed = self._parse_query_auth(headers, pairs, now)

        if b"x-amz-target" in headers and b"x-amz-target" not in parsed.header_names:
            raise IncompleteSignatureError(_TARGET_NOT_SIGNED)

        secret = self._secrets.secret_for(parsed.access_key_id)
        if secret is None:
            raise UnrecognizedClientError()
        ipad, opad = self._signing_pads(parsed, secret)

        # Canonical request, minus the payload line.
        canonical_headers: list[bytes] = []
        for name in parsed.header_names:
            header_value = headers.get(name)
            if header_value is None:
                raise InvalidSignatureError(_MISMATCH)
            canonical_headers.append(name + b":" + b" ".join(header_value.split()) + b"\n")
        head = b"\n".join(
            (
                request.method.encode("utf-8", "surrogatepass"),
                _canonical_uri(request.path),
                parsed.canonical_query,
                b"".join(canonical_headers),
                parsed.signed_headers,
                b"",
            )
        )
        sts_head = _STS_PREFIX + parsed.amz_date + b"\n" + parsed.scope + b"\n"

        body_hash: bytes | None = None
        declared = headers.get(b"x-amz-content-sha256")
        if parsed.presigned and declared is None:
            body_hash = _SHA256(request.body).hexdigest().encode("ascii")
            # botocore's SigV4QueryAuth (and STS presigned URLs) sign the body's
            # hash; S3-style presigners sign UNSIGNED-PAYLOAD.
            candidates: tuple[bytes, ...] = (body_hash, _UNSIGNED_PAYLOAD)
        elif parsed.presigned and declared == _UNSIGNED_PAYLOAD:
            candidates = (_UNSIGNED_PAYLOAD,)
            declared = None  # nothing to compare with the body
        elif declared is not None:
            candidates = (declared,)
        else:
            body_hash = _SHA256(request.body).hexdigest().encode("ascii")
            candidates = (body_hash,)

        matched = False
        for payload_hash in candidates:
            canonical_hash = _SHA256(head + payload_hash).hexdigest().encode("ascii")
            inner = ipad.copy()
            inner.update(sts_head + canonical_hash)
            outer = opad.copy()
            outer.update(inner.digest())
            if hmac.compare_digest(outer.hexdigest().encode("ascii"), parsed.signature):
                matched = True
                break
        if not matched:
            raise InvalidSignatureError(_MISMATCH)

        if declared is not None:
            if body_hash is None:
                body_hash = _SHA256(request.body).hexdigest().encode("ascii")
            if not hmac.compare_digest(declared, body_hash):
                raise InvalidSignatureError(_CONTENT_SHA_MISMATCH)

        return SigV4Caller(
            access_key_id=parsed.access_key_id,
            region=parsed.region,
            service=parsed.service,
            request_time=parsed.request_time,
            session_token=parsed.session_token,
        )

    # ----------------------------------------------------------------- parsing

    def _parse_header_auth(
        self,
        authorization: bytes,
        headers: dict[bytes, bytes],
        pairs: list[tuple[bytes, bytes]],
        now: datetime,
    ) -> _Parsed:
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
                    raise IncompleteSignatureError(_duplicate("Credential"))
                credential = value
            elif key == b"SignedHeaders":
                if signed_headers is not None:
                    raise IncompleteSignatureError(_duplicate("SignedHeaders"))
                signed_headers = value
            elif key == b"Signature":
                if signature is not None:
                    raise IncompleteSignatureError(_duplicate("Signature"))
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
        self._check_skew(request_time, now)

        session_token = headers.get(b"x-amz-security-token")
        return _Parsed(
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
            canonical_query=_canonical_query(pairs),
            session_token=(
                None if session_token is None else session_token.decode("latin-1").strip()
            ),
        )

    def _parse_query_auth(
        self,
        headers: dict[bytes, bytes],
        pairs: list[tuple[bytes, bytes]],
        now: datetime,
    ) -> _Parsed:
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
        if _unquote(params[_Q_ALGORITHM]) != _ALGORITHM_B:
            raise IncompleteSignatureError("X-Amz-Algorithm only supports 'AWS4-HMAC-SHA256'.")

        access_key_id, scope, scope_date, region, service = _parse_credential(
            _unquote(params[_Q_CREDENTIAL])
        )
        header_names = _parse_signed_headers(_unquote(params[_Q_SIGNED_HEADERS]))
        request_time, amz_date = _parse_amz_date(_unquote(params[_Q_DATE]))
        _check_scope_date(scope_date, amz_date)

        if _Q_EXPIRES in params:
            raw_expires = _unquote(params[_Q_EXPIRES])
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
            if request_time > now + self._max_skew:
                raise InvalidSignatureError(_not_yet_current(request_time, now, self._max_skew))
            lifetime = timedelta(seconds=expires)
            if now > request_time + lifetime:
                raise InvalidSignatureError(_expired(request_time, now, lifetime))
        else:
            # Without X-Amz-Expires (allowed by STS-style presigners) the
            # header form's skew window applies both ways.
            self._check_skew(request_time, now)

        token = params.get(_Q_TOKEN)
        if token is not None:
            session_token: str | None = _unquote(token).decode("utf-8", "replace")
        else:
            header_token = headers.get(b"x-amz-security-token")
            session_token = None if header_token is None else header_token.decode("latin-1").strip()

        return _Parsed(
            access_key_id=access_key_id,
            scope=scope,
            scope_date=scope_date,
            region=region,
            service=service,
            signed_headers=b";".join(header_names),
            header_names=header_names,
            signature=_unquote(params[_Q_SIGNATURE]),
            amz_date=amz_date,
            request_time=request_time,
            presigned=True,
            canonical_query=_canonical_query([p for p in pairs if p[0] != _Q_SIGNATURE]),
            session_token=session_token,
        )

    def _check_skew(self, request_time: datetime, now: datetime) -> None:
        skew = self._max_skew
        if request_time < now - skew:
            raise InvalidSignatureError(_expired(request_time, now, skew))
        if request_time > now + skew:
            raise InvalidSignatureError(_not_yet_current(request_time, now, skew))

    # ------------------------------------------------------------- signing key

    def _signing_pads(self, parsed: _Parsed, secret: str) -> tuple[_Hash, _Hash]:
        """The HMAC inner/outer SHA-256 states of the signing key, cached."""
        # hash() of a str is SipHash with a per-process random key (unless
        # PYTHONHASHSEED is pinned): cheap, cached on the str object, useless
        # outside this process, and a rotated secret gets a different entry.
        cache_key = (
            parsed.access_key_id,
            hash(secret),
            parsed.scope_date,
            parsed.region,
            parsed.service,
        )
        cache = self._cache
        with self._lock:
            pads = cache.get(cache_key)
            if pads is not None:
                cache.move_to_end(cache_key)
                return pads
        key = _hmac(("AWS4" + secret).encode("utf-8"), parsed.scope_date.encode("ascii"))
        # The scope was decoded as latin-1, so latin-1 gives back the bytes signed.
        key = _hmac(key, parsed.region.encode("latin-1"))
        key = _hmac(key, parsed.service.encode("latin-1"))
        key = _hmac(key, _TERMINATOR.encode("ascii"))
        block = key.ljust(_SHA256_BLOCK, b"\0")
        pads = (_SHA256(block.translate(_TRANS_36)), _SHA256(block.translate(_TRANS_5C)))
        if self._cache_size:
            with self._lock:
                cache[cache_key] = pads
                cache.move_to_end(cache_key)
                while len(cache) > self._cache_size:
                    cache.popitem(last=False)
        return pads


# ---------------------------------------------------------------------- helpers


def _hmac(key: bytes, msg: bytes) -> bytes:
    return hmac.new(key, msg, _SHA256).digest()


def _collect_headers(raw_headers: Sequence[tuple[bytes, bytes]]) -> dict[bytes, bytes]:
    """Lower-case the names; join repeated headers' trimmed values with ","."""
    headers: dict[bytes, bytes] = {}
    for raw_name, value in raw_headers:
        name = raw_name.lower()
        previous = headers.get(name)
        if previous is None:
            headers[name] = value
        else:
            headers[name] = _trimall(previous) + b"," + _trimall(value)
    return headers


def _trimall(value: bytes) -> bytes:
    """Trim leading/trailing whitespace and collapse inner runs to one space."""
    return b" ".join(value.split())


def _duplicate(name: str) -> str:
    return f"Authorization header contains more than one '{name}' parameter."


def _unquote(value: bytes) -> bytes:
    """Decode a canonically encoded query component back to its raw bytes."""
    return unquote_to_bytes(value) if b"%" in value else value


def _encode_component(component: bytes) -> bytes:
    """Form-decode one query name or value and re-encode it the SigV4 way."""
    if not component.translate(None, _UNRESERVED):
        return component
    return quote_from_bytes(unquote_to_bytes(component.replace(b"+", b" ")), safe="").encode(
        "ascii"
    )


def _query_pairs(query: bytes) -> list[tuple[bytes, bytes]]:
    """Split a raw query string into canonically encoded (name, value) pairs."""
    pairs: list[tuple[bytes, bytes]] = []
    for item in query.split(b"&"):
        if not item:
            continue
        name, _, value = item.partition(b"=")
        pairs.append((_encode_component(name), _encode_component(value)))
    return pairs


def _canonical_query(pairs: list[tuple[bytes, bytes]]) -> bytes:
    if not pairs:
        return b""
    return b"&".join(name + b"=" + value for name, value in sorted(pairs))


def _canonical_uri(path: str) -> bytes:
    """The canonical URI of a non-S3 service: normalised, then encoded once more."""
    if path == "/" or not path:
        return b"/"
    try:
        raw = path.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        raw = path.encode("utf-8", "surrogatepass")
    if raw[:1] == b"/" and b"//" not in raw and not raw.translate(None, _PATH_PLAIN):
        return raw  # no dots, no empty segments, nothing to encode
    segments = [s for s in raw.split(b"/") if s and s != b"."]
    output: list[bytes] = []
    for segment in segments:
        if segment == b"..":
            if output:
                output.pop()
        else:
            output.append(segment)
    first = b"/" if raw[:1] == b"/" else b""
    last = b"/" if raw[-1:] == b"/" and output else b""
    normalised = first + b"/".join(output) + last
    return quote_from_bytes(normalised, safe="/~").encode("ascii")


def _parse_credential(credential: bytes) -> tuple[str, bytes, str, str, str]:
    """Split ``AKID/date/region/service/aws4_request``."""
    text = credential.decode("latin-1")
    parts = text.split("/")
    if len(parts) != 5:
        raise IncompleteSignatureError(
            "Credential must have exactly 5 slash-delimited elements, e.g. "
            f"keyid/date/region/service/term, got '{_clip(text)}'"
        )
    access_key_id, scope_date, region, service, terminator = parts
    if terminator != _TERMINATOR:
        raise IncompleteSignatureError(
            "Credential should be scoped with a valid terminator: 'aws4_request', "
            f"not '{_clip(terminator)}'."
        )
    if not access_key_id:
        raise IncompleteSignatureError("Invalid credential scope: the access key ID is empty.")
    if not (len(scope_date) == 8 and scope_date.isascii() and scope_date.isdigit()):
        raise IncompleteSignatureError(
            f"Invalid credential scope: the date '{_clip(scope_date)}' is not in yyyyMMdd format."
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
        raise IncompleteSignatureError(_HOST_NOT_SIGNED)
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
        f"Date must be in ISO-8601 'basic format'. Got '{_clip(value.decode('latin-1'))}'. "
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
            f"Date header '{_clip(text)}' is not a valid HTTP date."
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC).replace(microsecond=0)
    return moment, moment.strftime(_TIMESTAMP_FORMAT).encode("ascii")


def _check_scope_date(scope_date: str, amz_date: bytes) -> None:
    # AWS's JSON and query services answer a mismatch with SignatureDoesNotMatch
    # (InvalidSignatureException) and this message; S3 says AuthorizationHeaderMalformed.
    request_day = amz_date[:8].decode("ascii")
    if scope_date != request_day:
        raise InvalidSignatureError(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date "
            f"from HTTP: '{scope_date}' != '{request_day}', from '{amz_date.decode('ascii')}'."
        )


def _fmt(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(_TIMESTAMP_FORMAT)


def _fmt_span(span: timedelta) -> str:
    seconds = int(span.total_seconds())
    if seconds % 60 == 0:
        return f"{seconds // 60} min."
    return f"{seconds} sec."


def _expired(request_time: datetime, now: datetime, span: timedelta) -> str:
    return (
        f"Signature expired: {_fmt(request_time)} is now earlier than {_fmt(now - span)} "
        f"({_fmt(now)} - {_fmt_span(span)})"
    )


def _not_yet_current(request_time: datetime, now: datetime, span: timedelta) -> str:
    return (
        f"Signature not yet current: {_fmt(request_time)} is still later than "
        f"{_fmt(now + span)} ({_fmt(now)} + {_fmt_span(span)})"
    )


def _clip(text: str, limit: int = 64) -> str:
    """Echo client input in a message: printable, bounded."""
    cleaned = "".join(c if c.isprintable() else "?" for c in text[:limit])
    return cleaned + "..." if len(text) > limit else cleaned
