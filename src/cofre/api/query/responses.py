"""Response encoding for the AWS Query protocol (internal to :mod:`cofre.api.query.protocol`).

A :class:`WriterCompiler` turns an output shape into a writer that appends a value's XML to
a list of strings, as botocore's ``QueryParser`` reads it back: structure members in model
order under their names (or ``locationName``), lists as ``<Name><member>..</member></Name>``
(flattened: the items repeated under the name), maps as
``<Name><entry><key>..</key><value>..</value></entry></Name>``, booleans ``true``/``false``,
timestamps ISO 8601 in UTC (``2026-11-29T04:56:25Z``; fractions of a second only when there
are any), blobs base64. ``None`` members, items and values are left out.

Text is escaped with :func:`escape`. Characters XML 1.0 cannot carry at all (most C0
controls, lone surrogates, U+FFFE/U+FFFF) are replaced by U+FFFD; a carriage return is
written as ``&#13;`` so that the parser's line-ending normalisation does not turn it into a
line feed.
"""

from __future__ import annotations

import binascii
import math
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime
from email.utils import format_datetime
from enum import Enum
from typing import Any, Final

__all__ = ["Writer", "WriterCompiler", "escape", "iso8601"]

_NEEDS_ESCAPE: Final = re.compile('[&<>"\r\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]')
_REPLACEMENTS: Final = {
    "&": "&amp;",
    "<": "&lt;",
    ">": "&gt;",
    '"': "&quot;",
    "\r": "&#13;",
}


def _replace(match: re.Match[str]) -> str:
    return _REPLACEMENTS.get(match.group(), "\ufffd")


def escape(text: str) -> str:
    """``text`` as XML 1.0 character data (also safe inside a double-quoted attribute)."""
    if _NEEDS_ESCAPE.search(text) is None:
        return text
    return _NEEDS_ESCAPE.sub(_replace, text)


def iso8601(moment: datetime) -> str:
    """``moment`` in UTC as AWS writes it: ``2026-11-29T04:56:25Z``, or with ``.123Z`` /
    ``.123456Z`` when it has a fraction of a second. Naive datetimes are taken as UTC."""
    micro = moment.microsecond
    if not micro:
        spec = "seconds"
    elif micro % 1000 == 0:
        spec = "milliseconds"
    else:
        spec = "microseconds"
    offset = moment.utcoffset()
    if offset is None:
        return moment.isoformat(timespec=spec) + "Z"
    if offset:
        moment = moment.astimezone(UTC)
    return moment.isoformat(timespec=spec)[:-6] + "Z"  # drop "+00:00"


# --------------------------------------------------------------------------- scalars


def _as_datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    raise TypeError(f"cannot encode {type(value).__name__} as a timestamp")


def _string(value: Any) -> str:
    if type(value) is str:
        return escape(value)
    if isinstance(value, Enum):
        return escape(str(value.value))
    if isinstance(value, str):
        return escape(str(value))
    raise TypeError(f"cannot encode {type(value).__name__} as a string")


def _boolean(value: Any) -> str:
    return "true" if value else "false"


def _integer(value: Any) -> str:
    if isinstance(value, int):
        return str(int(value))
    raise TypeError(f"cannot encode {type(value).__name__} as an integer")


def _float(value: Any) -> str:
    number = float(value)
    if math.isfinite(number):
        return repr(number)
    if math.isnan(number):
        return "NaN"
    return "Infinity" if number > 0 else "-Infinity"


def _blob(value: Any) -> str:
    if isinstance(value, str):
        value = value.encode("utf-8")
    if isinstance(value, bytes | bytearray | memoryview):
        return binascii.b2a_base64(value, newline=False).decode("ascii")
    raise TypeError(f"cannot encode {type(value).__name__} as a blob")


def _timestamp_iso(value: Any) -> str:
    return iso8601(_as_datetime(value))


def _timestamp_epoch(value: Any) -> str:
    moment = _as_datetime(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    seconds = moment.timestamp()
    return str(int(seconds)) if seconds.is_integer() else repr(seconds)


def _timestamp_rfc822(value: Any) -> str:
    moment = _as_datetime(value)
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return format_datetime(moment.replace(microsecond=0), usegmt=True)


_TIMESTAMP_WRITERS: Final = {
    "iso8601": _timestamp_iso,
    "unixtimestamp": _timestamp_epoch,
    "rfc822": _timestamp_rfc822,
}
_SCALAR_WRITERS: Final[dict[str, Callable[[Any], str]]] = {
    "string": _string,
    "boolean": _boolean,
    "integer": _integer,
    "long": _integer,
    "float": _float,
    "double": _float,
    "blob": _blob,
}


def _scalar_text(kind: str, traits: Mapping[str, Any]) -> Callable[[Any], str]:
    if kind == "timestamp":
        form = str(traits.get("timestampFormat", "iso8601")).lower()
        return _TIMESTAMP_WRITERS.get(form, _timestamp_iso)
    return _SCALAR_WRITERS.get(kind, _string)


# --------------------------------------------------------------------------- writers

# A writer appends the XML of one value (without the element around it) to ``parts``.
Writer = Callable[[Any, list[str]], None]
# A member writer appends a member's whole XML, its element(s) included.
_MemberWriter = Callable[[Any, list[str]], None]
Shapes = Mapping[str, Mapping[str, Any]]


def _traits(shapes: Shapes, ref: Mapping[str, Any]) -> dict[str, Any]:
    return {**shapes[ref["shape"]], **ref}


def _items(value: Any) -> Iterable[Any]:
    if isinstance(value, str | bytes | Mapping):
        raise TypeError(f"cannot encode {type(value).__name__} as a list")
    return value  # type: ignore[no-any-return]


class WriterCompiler:
    """Compiles a service's output shapes to writers, each once. Not thread-safe: the caller
    serialises compilation."""

    def __init__(self, shapes: Shapes) -> None:
        self._shapes = shapes
        self._done: dict[str, Writer] = {}
        self._cells: dict[str, list[Writer]] = {}

    def output_writer(self, shape_name: str) -> Writer:
        """The writer of an operation's output shape: its members' XML."""
        return self.writer(shape_name, self._shapes[shape_name])

    def writer(self, shape_name: str, traits: Mapping[str, Any]) -> Writer:
        shape = self._shapes[shape_name]
        kind = shape["type"]
        if kind not in ("structure", "list", "map"):
            text = _scalar_text(kind, traits)

            def write_scalar(value: Any, parts: list[str]) -> None:
                parts.append(text(value))

            return write_scalar
        # Containers depend on the shape only: "flattened" changes how a structure writes
        # its member (see _member), not the container's content.
        done = self._done.get(shape_name)
        if done is not None:
            return done
        pending = self._cells.get(shape_name)
        if pending is not None:  # a recursive shape: forward to the writer being built
            return lambda value, parts: pending[0](value, parts)
        cell: list[Writer] = []
        self._cells[shape_name] = cell
        if kind == "structure":
            built = self._structure(shape)
        elif kind == "list":
            built = self._list(shape)
        else:
            built = self._map(shape)
        cell.append(built)
        self._done[shape_name] = built
        del self._cells[shape_name]
        return built

    def _structure(self, shape: Mapping[str, Any]) -> Writer:
        members = tuple(
            (member_name, self._member(member_name, ref))
            for member_name, ref in shape.get("members", {}).items()
        )

        def write_structure(value: Any, parts: list[str]) -> None:
            get = value.get
            for member_name, write in members:
                item = get(member_name)
                if item is not None:
                    write(item, parts)

        return write_structure

    def _member(self, member_name: str, ref: Mapping[str, Any]) -> _MemberWriter:
        traits = _traits(self._shapes, ref)
        shape = self._shapes[ref["shape"]]
        name = traits.get("locationName", member_name)
        if traits.get("flattened") and shape["type"] == "list":
            item_traits = _traits(self._shapes, shape["member"])
            return self._repeated(
                item_traits.get("locationName", name),
                self.writer(shape["member"]["shape"], item_traits),
            )
        if traits.get("flattened") and shape["type"] == "map":
            return self._repeated_entries(name, shape)
        if shape["type"] not in ("structure", "list", "map"):
            text = _scalar_text(shape["type"], traits)
            start, end = f"<{name}>", f"</{name}>"

            def write_scalar_member(value: Any, parts: list[str]) -> None:
                parts.append(start + text(value) + end)

            return write_scalar_member
        return _element(name, self.writer(ref["shape"], traits))

    @staticmethod
    def _repeated(name: str, write_item: Writer) -> _MemberWriter:
        start, end = f"<{name}>", f"</{name}>"

        def write_items(value: Any, parts: list[str]) -> None:
            for item in _items(value):
                if item is not None:
                    parts.append(start)
                    write_item(item, parts)
                    parts.append(end)

        return write_items

    def _repeated_entries(self, name: str, shape: Mapping[str, Any]) -> _MemberWriter:
        write_entry = self._entry_writer(shape)
        start, end = f"<{name}>", f"</{name}>"

        def write_entries(value: Any, parts: list[str]) -> None:
            for key, item in value.items():
                if item is not None:
                    parts.append(start)
                    write_entry(key, item, parts)
                    parts.append(end)

        return write_entries

    def _list(self, shape: Mapping[str, Any]) -> Writer:
        item_traits = _traits(self._shapes, shape["member"])
        write_item = self.writer(shape["member"]["shape"], item_traits)
        return self._repeated(item_traits.get("locationName", "member"), write_item)

    def _map(self, shape: Mapping[str, Any]) -> Writer:
        write_entry = self._entry_writer(shape)

        def write_map(value: Any, parts: list[str]) -> None:
            for key, item in value.items():
                if item is not None:
                    parts.append("<entry>")
                    write_entry(key, item, parts)
                    parts.append("</entry>")

        return write_map

    def _entry_writer(self, shape: Mapping[str, Any]) -> Callable[[Any, Any, list[str]], None]:
        key_traits = _traits(self._shapes, shape["key"])
        value_traits = _traits(self._shapes, shape["value"])
        write_key = _element(
            key_traits.get("locationName", "key"), self.writer(shape["key"]["shape"], key_traits)
        )
        write_value = _element(
            value_traits.get("locationName", "value"),
            self.writer(shape["value"]["shape"], value_traits),
        )

        def write_entry(key: Any, item: Any, parts: list[str]) -> None:
            write_key(key, parts)
            write_value(item, parts)

        return write_entry


def _element(name: str, write: Writer) -> _MemberWriter:
    start, end = f"<{name}>", f"</{name}>"

    def write_element(value: Any, parts: list[str]) -> None:
        parts.append(start)
        write(value, parts)
        parts.append(end)

    return write_element
