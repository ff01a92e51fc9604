"""SigV4 failure messages, in AWS's wording (internal to :mod:`cofre.api.sigv4.verify`).

None of them carries the secret, the signature or body bytes; client input is echoed only
through :func:`clip`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Final

__all__ = [
    "CONTENT_SHA_MISMATCH",
    "HOST_NOT_SIGNED",
    "MISMATCH",
    "TARGET_NOT_SIGNED",
    "TIMESTAMP_FORMAT",
    "clip",
    "duplicate_parameter",
    "signature_expired",
    "signature_not_yet_current",
]

MISMATCH: Final = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. "
    "Consult the service documentation for details."
)
CONTENT_SHA_MISMATCH: Final = (
    "The provided 'x-amz-content-sha256' header does not match what was computed."
)
HOST_NOT_SIGNED: Final = "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."
TARGET_NOT_SIGNED: Final = "'X-Amz-Target' must be a 'SignedHeader' in the AWS Authorization."
TIMESTAMP_FORMAT: Final = "%Y%m%dT%H%M%SZ"


def duplicate_parameter(name: str) -> str:
    return f"Authorization header contains more than one '{name}' parameter."


def _fmt(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(TIMESTAMP_FORMAT)


def _fmt_span(span: timedelta) -> str:
    seconds = int(span.total_seconds())
    if seconds % 60 == 0:
        return f"{seconds // 60} min."
    return f"{seconds} sec."


def signature_expired(request_time: datetime, now: datetime, span: timedelta) -> str:
    return (
        f"Signature expired: {_fmt(request_time)} is now earlier than {_fmt(now - span)} "
        f"({_fmt(now)} - {_fmt_span(span)})"
    )


def signature_not_yet_current(request_time: datetime, now: datetime, span: timedelta) -> str:
    return (
        f"Signature not yet current: {_fmt(request_time)} is still later than "
        f"{_fmt(now + span)} ({_fmt(now)} + {_fmt_span(span)})"
    )


def clip(text: str, limit: int = 64) -> str:
    """Echo client input in a message: printable, bounded."""
    cleaned = "".join(c if c.isprintable() else "?" for c in text[:limit])
    return cleaned + "..." if len(text) > limit else cleaned
