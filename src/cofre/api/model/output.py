"""Response encoding for the AWS JSON 1.1 protocol: the fast path, with no model consulted."""

from __future__ import annotations

import binascii
from collections.abc import Mapping
from datetime import UTC, date, datetime
from enum import Enum
from typing import Any

import orjson

__all__ = ["encode_output"]


def _encode_default(value: Any) -> Any:
    if isinstance(value, bytes | bytearray | memoryview):
        return binascii.b2a_base64(value, newline=False).decode("ascii")
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.timestamp()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, set | frozenset):
        return list(value)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC).timestamp()
    raise TypeError(f"cannot encode {type(value).__name__} in a response")


def encode_output(data: Mapping[str, Any]) -> bytes:
    """Serialise a response for the AWS JSON 1.1 protocol.

    Blobs (``bytes``) become base64 strings, ``datetime``s epoch seconds (a float; naive
    ones are taken as UTC), ``Enum``s their value. No model is consulted.
    """
    return orjson.dumps(data, default=_encode_default, option=orjson.OPT_PASSTHROUGH_DATETIME)
