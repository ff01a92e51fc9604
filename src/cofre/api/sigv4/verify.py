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

This module holds the verifier and its signing-key cache; next to it are
:mod:`cofre.api.sigv4.parse` (the Authorization header, the presigned query
parameters, the credential scope and the time checks),
:mod:`cofre.api.sigv4.canonical` (canonical headers, query string and URI) and
:mod:`cofre.api.sigv4.messages` (AWS's wording for each failure).
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Final, Protocol

from cofre.api.sigv4.canonical import canonical_uri, collect_headers, query_pairs
from cofre.api.sigv4.messages import CONTENT_SHA_MISMATCH, MISMATCH, TARGET_NOT_SIGNED
from cofre.api.sigv4.parse import (
    ALGORITHM,
    MAX_PRESIGN_EXPIRES,
    TERMINATOR,
    ParsedAuth,
    parse_header_auth,
    parse_query_auth,
)
from cofre.errors import (
    IncompleteSignatureError,
    InvalidSignatureError,
    UnrecognizedClientError,
)

if TYPE_CHECKING:
    from hashlib import _Hash

__all__ = [
    "ALGORITHM",
    "MAX_PRESIGN_EXPIRES",
    "HttpRequest",
    "SecretLookup",
    "SigV4Caller",
    "SigV4Verifier",
]

_UNSIGNED_PAYLOAD: Final = b"UNSIGNED-PAYLOAD"
_STS_PREFIX: Final = b"AWS4-HMAC-SHA256\n"
_TRANS_36: Final = bytes(x ^ 0x36 for x in range(256))
_TRANS_5C: Final = bytes(x ^ 0x5C for x in range(256))
_SHA256_BLOCK: Final = 64
_SHA256 = hashlib.sha256


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
    header_map: Mapping[bytes, bytes] | None = None
    """The same headers by lower-case name, repeated ones joined as
    :func:`~cofre.api.sigv4.canonical.collect_headers` joins them, when the caller has
    them already (the HTTP layer builds them once per request)."""


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

        headers = request.header_map
        if headers is None:
            headers = dict(request.headers)
            if len(headers) != len(request.headers) or not b"".join(headers).islower():
                headers = collect_headers(request.headers)

        authorization = headers.get(b"authorization")
        pairs = query_pairs(request.query_string) if request.query_string else []
        if authorization is not None:
            parsed = parse_header_auth(authorization, headers, pairs, now, self._max_skew)
        else:
            parsed = parse_query_auth(headers, pairs, now, self._max_skew)

        if b"x-amz-target" in headers and b"x-amz-target" not in parsed.header_names:
            raise IncompleteSignatureError(TARGET_NOT_SIGNED)

        secret = self._secrets.secret_for(parsed.access_key_id)
        if secret is None:
            raise UnrecognizedClientError()
        ipad, opad = self._signing_pads(parsed, secret)

        # Canonical request, minus the payload line.
        canonical_headers: list[bytes] = []
        for name in parsed.header_names:
            header_value = headers.get(name)
            if header_value is None:
                raise InvalidSignatureError(MISMATCH)
            canonical_headers.append(name + b":" + b" ".join(header_value.split()) + b"\n")
        head = b"\n".join(
            (
                request.method.encode("utf-8", "surrogatepass"),
                canonical_uri(request.path),
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
            raise InvalidSignatureError(MISMATCH)

        if declared is not None:
            if body_hash is None:
                body_hash = _SHA256(request.body).hexdigest().encode("ascii")
            if not hmac.compare_digest(declared, body_hash):
                raise InvalidSignatureError(CONTENT_SHA_MISMATCH)

        return SigV4Caller(
            access_key_id=parsed.access_key_id,
            region=parsed.region,
            service=parsed.service,
            request_time=parsed.request_time,
            session_token=parsed.session_token,
        )

    # ------------------------------------------------------------- signing key

    def _signing_pads(self, parsed: ParsedAuth, secret: str) -> tuple[_Hash, _Hash]:
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
        key = _hmac(key, TERMINATOR.encode("ascii"))
        block = key.ljust(_SHA256_BLOCK, b"\0")
        pads = (_SHA256(block.translate(_TRANS_36)), _SHA256(block.translate(_TRANS_5C)))
        if self._cache_size:
            with self._lock:
                cache[cache_key] = pads
                cache.move_to_end(cache_key)
                while len(cache) > self._cache_size:
                    cache.popitem(last=False)
        return pads


def _hmac(key: bytes, msg: bytes) -> bytes:
    return hmac.new(key, msg, _SHA256).digest()
