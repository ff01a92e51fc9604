"""Request decoding for the AWS Query protocol (internal to :mod:`cofre.api.query.protocol`).

A Query request is a form (``application/x-www-form-urlencoded``) whose keys spell paths
into the operation's input shape::

    UserName=alice
    Tags.member.1.Key=team            lists: <name>.member.<1-based index>
    Tags.member.1.Value=kms
    Attributes.entry.1.key=colour     maps: <name>.entry.<index>.key / .value
    Attributes.entry.1.value=blue

:func:`parse_form` reads the body into a flat ``dict``; a :class:`ReaderCompiler` turns an
input shape into a reader that folds those flat parameters (as a :class:`Tree`) back into the
JSON-like document the model's validator nodes take: strings, ``int``, ``float``, ``bool``,
nested dicts and lists; blobs stay text, for the nodes convert them; timestamps become
``datetime``. Keys that name nothing in the shape are ignored, as AWS ignores them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import Any, Final

from cofre.errors import SerializationError

__all__ = ["MISSING", "Reader", "ReaderCompiler", "Tree", "build_tree", "parse_form"]

_BAD_ESCAPE: Final = re.compile(rb"%(?![0-9A-Fa-f]{2})")
_INDEX: Final = re.compile(r"[1-9][0-9]{0,8}")
_INTEGER: Final = re.compile(r"[+-]?[0-9]{1,40}")
_FLOAT: Final = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]{1,5})?")
_SPECIAL_FLOATS: Final = {"NaN": float("nan"), "Infinity": float("inf"), "-Infinity": -float("inf")}
# RFC 3339 date-time (what botocore sends), with 'T'/'Z' in either case.
_ISO8601: Final = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?"
    r"(?:([Zz])|([+-])(\d{2}):?(\d{2}))"
)


class _Missing:
    """The reader's "nothing here" (a parameter that is absent, not one that is empty)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing()


# --------------------------------------------------------------------------- the form


def _unquote(raw: bytes) -> str:
    if b"%" in raw:
        pieces = raw.split(b"%")
        decoded = bytearray(pieces[0])
        for piece in pieces[1:]:  # parse_form has checked every escape
            decoded.append(int(piece[:2], 16))
            decoded += piece[2:]
        raw = bytes(decoded)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise SerializationError("The request body is not valid UTF-8.") from None


def parse_form(body: bytes) -> dict[str, str]:
    """Read an ``application/x-www-form-urlencoded`` body (UTF-8, ``+`` for space).

    A key without ``=`` has the empty value; empty pieces (``a=1&&b=2``) are skipped. A
    malformed percent-escape, text that is not UTF-8, or a key given twice is a
    :class:`~cofre.errors.SerializationError`: a Query client never repeats a key, and one
    reading of a repeated key is no better than another.
    """
    params: dict[str, str] = {}
    if not body:
        return params
    if b"%" in body and _BAD_ESCAPE.search(body) is not None:
        raise SerializationError("The request body contains a malformed percent-escape.")
    if b"+" in body:
        body = body.replace(b"+", b" ")
    for piece in body.split(b"&"):
        if not piece:
            continue
        raw_key, _, raw_value = piece.partition(b"=")
        key = _unquote(raw_key)
        if key in params:
            raise SerializationError(f"The parameter {_clip(key)} is given more than once.")
        params[key] = _unquote(raw_value)
    return params


def _clip(text: str) -> str:
    return text if len(text) <= 128 else text[:128] + "..."


# --------------------------------------------------------------------------- the tree


class Tree:
    """The parameters as a tree of dotted key segments: ``A.b.1=x`` is ``A`` > ``b`` > ``1``
    with text ``x``. A node has text when its full key was given, and children when longer
    keys go through it; it can have both (``Tags=`` next to ``Tags.member.1.Key=k``)."""

    __slots__ = ("children", "text")

    def __init__(self) -> None:
        self.text: str | None = None
        self.children: dict[str, Tree] = {}

    def indexed(self) -> list[Tree]:
        """The children named 1, 2, ... in numeric order; gaps close up, other names are
        not list indices and are ignored."""
        found = [
            (int(name), child) for name, child in self.children.items() if _INDEX.fullmatch(name)
        ]
        found.sort(key=lambda pair: pair[0])
        return [child for _, child in found]


def build_tree(params: Mapping[str, str]) -> Tree:
    root = Tree()
    for key, value in params.items():
        node = root
        for segment in key.split("."):
            child = node.children.get(segment)
            if child is None:
                child = node.children[segment] = Tree()
            node = child
        node.text = value
    return root


# --------------------------------------------------------------------------- scalars


def _not_convertible(target: str) -> SerializationError:
    # The wording AWS's deserialiser uses for text that cannot become the member's type.
    return SerializationError(f"STRING_VALUE can not be converted to {target}")


def _integer(target: str) -> Callable[[str], Any]:
    def read(text: str) -> Any:
        if _INTEGER.fullmatch(text) is None:
            raise _not_convertible(target)
        return int(text)

    return read


def _boolean(text: str) -> bool:
    """A Query boolean: botocore writes ``true`` or ``false``; AWS also reads any case."""
    lowered = text.lower()
    if lowered == "true":
        return True
    if lowered == "false":
        return False
    raise _not_convertible("an Boolean")  # AWS's wording, grammar included


def _float(target: str) -> Callable[[str], Any]:
    def read(text: str) -> Any:
        special = _SPECIAL_FLOATS.get(text)
        if special is not None:
            return special
        if _FLOAT.fullmatch(text) is None:
            raise _not_convertible(target)
        return float(text)

    return read


def _iso8601(text: str) -> datetime:
    match = _ISO8601.fullmatch(text)
    if match is None:
        raise _not_convertible("a Timestamp")
    year, month, day, hour, minute, second, fraction, zulu, sign, off_h, off_m = match.groups()
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    try:
        zone = UTC
        if not zulu:
            offset = timedelta(hours=int(off_h), minutes=int(off_m))
            zone = timezone(-offset if sign == "-" else offset)
        moment = datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second), micro, zone
        )
        return moment.astimezone(UTC)
    except (ValueError, OverflowError):
        raise _not_convertible("a Timestamp") from None


def _epoch(text: str) -> datetime:
    if _FLOAT.fullmatch(text) is None:
        raise _not_convertible("a Timestamp")
    try:
        return datetime.fromtimestamp(float(text), UTC)
    except (ValueError, OverflowError, OSError):
        raise _not_convertible("a Timestamp") from None


def _rfc822(text: str) -> datetime:
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        raise _not_convertible("a Timestamp") from None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


_TIMESTAMP_READERS: Final = {"iso8601": _iso8601, "unixtimestamp": _epoch, "rfc822": _rfc822}


def _text(text: str) -> Any:
    return text


def _scalar_reader(shape: Mapping[str, Any], traits: Mapping[str, Any]) -> Callable[[str], Any]:
    kind = shape["type"]
    if kind == "integer":
        return _integer("an Integer")
    if kind == "long":
        return _integer("a Long")
    if kind == "float":
        return _float("a Float")
    if kind == "double":
        return _float("a Double")
    if kind == "timestamp":
        form = str(traits.get("timestampFormat", "iso8601")).lower()
        return _TIMESTAMP_READERS.get(form, _iso8601)
    if kind == "boolean":
        return _boolean
    # string and blob stay text: the validator nodes read base64.
    return _text


# --------------------------------------------------------------------------- readers

# A reader takes the tree node of a value (None when absent) and returns the value or MISSING.
Reader = Callable[["Tree | None"], Any]
# A member reader takes the tree node of the structure that holds the member.
_MemberReader = Callable[[Tree], Any]
Shapes = Mapping[str, Mapping[str, Any]]


def _traits_of(shapes: Shapes, ref: Mapping[str, Any]) -> dict[str, Any]:
    """A reference's serialisation traits over its shape's (as botocore merges them)."""
    return {**shapes[ref["shape"]], **ref}


class ReaderCompiler:
    """Compiles a service's input shapes to readers, each once (shapes are shared between
    operations); a recursive shape closes its loop through a forwarding cell. Not
    thread-safe: the caller serialises compilation."""

    def __init__(self, shapes: Shapes) -> None:
        self._shapes = shapes
        self._done: dict[tuple[str, bool], Reader] = {}
        self._cells: dict[tuple[str, bool], list[Reader]] = {}

    def input_reader(self, shape_name: str) -> Reader:
        """The reader of an operation's input shape (read from the root of the tree)."""
        return self.reader(shape_name, self._shapes[shape_name])

    def reader(self, shape_name: str, traits: Mapping[str, Any]) -> Reader:
        shape = self._shapes[shape_name]
        kind = shape["type"]
        if kind not in ("structure", "list", "map"):
            convert = _scalar_reader(shape, traits)

            def read_scalar(node: Tree | None) -> Any:
                if node is None or node.text is None:
                    return MISSING
                return convert(node.text)

            return read_scalar
        # Containers depend on the shape and on "flattened" (a trait of the shape or of the
        # reference); a flattened list inside a structure is read by the member reader.
        flattened = bool(traits.get("flattened"))
        done = self._done.get((shape_name, flattened))
        if done is not None:
            return done
        pending = self._cells.get((shape_name, flattened))
        if pending is not None:  # recursion: forward to the reader being built
            return lambda node: pending[0](node)
        cell: list[Reader] = []
        self._cells[shape_name, flattened] = cell
        if kind == "structure":
            built = self._structure(shape)
        elif kind == "list":
            built = self._list(shape, flattened)
        else:
            built = self._map(shape, flattened)
        cell.append(built)
        self._done[shape_name, flattened] = built
        del self._cells[shape_name, flattened]
        return built

    def _structure(self, shape: Mapping[str, Any]) -> Reader:
        members: list[tuple[str, _MemberReader]] = []
        for member_name, ref in shape.get("members", {}).items():
            members.append((member_name, self._member(member_name, ref)))

        def read_structure(node: Tree | None) -> Any:
            if node is None:
                return MISSING
            out: dict[str, Any] = {}
            for member_name, read in members:
                value = read(node)
                if value is not MISSING:
                    out[member_name] = value
            return out

        return read_structure

    def _member(self, member_name: str, ref: Mapping[str, Any]) -> _MemberReader:
        traits = _traits_of(self._shapes, ref)
        key = traits.get("locationName", member_name)
        shape = self._shapes[ref["shape"]]
        if traits.get("flattened") and shape["type"] == "list":
            return self._flattened_list_member(key, shape)
        read = self.reader(ref["shape"], traits)
        return lambda parent: read(parent.children.get(key))

    def _flattened_list_member(self, key: str, shape: Mapping[str, Any]) -> _MemberReader:
        # botocore writes the items of a flattened list as <key>.N, or, when the list's member
        # has a locationName, as <that name>.N; an empty list as "<key>=".
        member_traits = _traits_of(self._shapes, shape["member"])
        items_key = member_traits.get("locationName", key)
        read_item = self.reader(shape["member"]["shape"], member_traits)

        def read_flattened(parent: Tree) -> Any:
            items = parent.children.get(items_key)
            if items is not None:
                found = items.indexed()
                if found:
                    return [_present(read_item(item)) for item in found]
            marker = parent.children.get(key)
            if marker is not None and marker.text == "":
                return []
            return MISSING

        return read_flattened

    def _list(self, shape: Mapping[str, Any], flattened: bool) -> Reader:
        member_traits = _traits_of(self._shapes, shape["member"])
        read_item = self.reader(shape["member"]["shape"], member_traits)
        items_key = member_traits.get("locationName", "member")

        def read_list(node: Tree | None) -> Any:
            if node is None:
                return MISSING
            holder = node if flattened else node.children.get(items_key)
            found = holder.indexed() if holder is not None else []
            if found:
                return [_present(read_item(item)) for item in found]
            return [] if node.text == "" else MISSING

        return read_list

    def _map(self, shape: Mapping[str, Any], flattened: bool) -> Reader:
        key_traits = _traits_of(self._shapes, shape["key"])
        value_traits = _traits_of(self._shapes, shape["value"])
        key_name = key_traits.get("locationName", "key")
        value_name = value_traits.get("locationName", "value")
        read_value = self.reader(shape["value"]["shape"], value_traits)

        def read_map(node: Tree | None) -> Any:
            if node is None:
                return MISSING
            holder = node if flattened else node.children.get("entry")
            found = holder.indexed() if holder is not None else []
            out: dict[str, Any] = {}
            for entry in found:
                key = entry.children.get(key_name)
                if key is not None and key.text is not None:
                    out[key.text] = _present(read_value(entry.children.get(value_name)))
            if out or node.text == "":
                return out
            return MISSING

        return read_map


def _present(value: Any) -> Any:
    """A list item or map value that names nothing readable is a null (which the validator
    reports as ``Member must not be null``)."""
    return None if value is MISSING else value
