"""Opaque pagination markers: what Cofre hands out is what it accepts back."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from cofre.errors import InvalidMarkerError

_PREFIX = b"cofre1:"
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    next_marker: str | None


def first_page(found: Sequence[T], size: int, position: Callable[[T], str]) -> Page[T]:
    """The first ``size`` items of ``found``, which was read with one more than ``size`` so
    that a marker (the last item's position) is handed out only when more follow."""
    items = list(found[:size])
    more = len(found) > size
    return Page(items, encode_marker(position(items[-1])) if more else None)


def encode_marker(position: str) -> str:
    return base64.urlsafe_b64encode(_PREFIX + position.encode()).decode()


def decode_marker(marker: str | None) -> str | None:
    if marker is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(marker.encode())
    except (binascii.Error, ValueError) as exc:
        raise InvalidMarkerError("The marker is not valid.") from exc
    if not raw.startswith(_PREFIX):
        raise InvalidMarkerError("The marker is not valid.")
    try:
        return raw[len(_PREFIX) :].decode()
    except UnicodeDecodeError as exc:
        raise InvalidMarkerError("The marker is not valid.") from exc


def decode_offset(marker: str | None) -> int:
    """A marker that holds a list offset."""
    text = decode_marker(marker)
    if text is None:
        return 0
    if not text.isdigit():
        raise InvalidMarkerError("The marker is not valid.")
    return int(text)
