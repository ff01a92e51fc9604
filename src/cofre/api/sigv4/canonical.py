"""SigV4 canonicalisation of what was received: headers, query string and URI path.

Internal to :mod:`cofre.api.sigv4.verify`, whose docstring states the rules these implement.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final
from urllib.parse import quote_from_bytes, unquote_to_bytes

__all__ = [
    "canonical_query_string",
    "canonical_uri",
    "collect_headers",
    "query_pairs",
    "unquote",
]

_UNRESERVED: Final = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~"
_PATH_PLAIN: Final = _UNRESERVED.replace(b".", b"") + b"/"


def collect_headers(raw_headers: Sequence[tuple[bytes, bytes]]) -> dict[bytes, bytes]:
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


def unquote(value: bytes) -> bytes:
    """Decode a canonically encoded query component back to its raw bytes."""
    return unquote_to_bytes(value) if b"%" in value else value


def _encode_component(component: bytes) -> bytes:
    """Form-decode one query name or value and re-encode it the SigV4 way."""
    if not component.translate(None, _UNRESERVED):
        return component
    return quote_from_bytes(unquote_to_bytes(component.replace(b"+", b" ")), safe="").encode(
        "ascii"
    )


def query_pairs(query: bytes) -> list[tuple[bytes, bytes]]:
    """Split a raw query string into canonically encoded (name, value) pairs."""
    pairs: list[tuple[bytes, bytes]] = []
    for item in query.split(b"&"):
        if not item:
            continue
        name, _, value = item.partition(b"=")
        pairs.append((_encode_component(name), _encode_component(value)))
    return pairs


def canonical_query_string(pairs: list[tuple[bytes, bytes]]) -> bytes:
    if not pairs:
        return b""
    return b"&".join(name + b"=" + value for name, value in sorted(pairs))


def canonical_uri(path: str) -> bytes:
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
