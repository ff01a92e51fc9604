"""Compiled validator nodes for container shapes: lists, maps and structures.

Internal to :mod:`cofre.api.model.service`. A container checks its elements' own constraints itself,
once for all of them (``Member must satisfy constraint: [...]``), as AWS reports them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from cofre.api.model.messages import LIST_START, MAP_START, NOT_NULL, quote_value, report
from cofre.api.model.scalars import (
    NO_MAX,
    Decoder,
    DocumentNode,
    Node,
    StringNode,
    limit_constraints,
    limit_failures,
)
from cofre.errors import SerializationError

__all__ = ["ListNode", "MapNode", "StructureNode"]


def _null_note(constraints: tuple[str, ...], null: bool) -> str:
    listed = (*constraints, NOT_NULL) if null else constraints
    return "[" + ", ".join(listed) + "]"


class ListNode(Node):
    __slots__ = ("high", "low", "member")

    def __init__(self, shape: Mapping[str, Any], *, echo: bool) -> None:
        self.low: int = shape.get("min", 0)
        self.high: int = shape.get("max", NO_MAX)
        self.member: Node = DocumentNode(echo=False)  # set by the compiler
        super().__init__(echo=echo, constraints=limit_constraints(shape, "length"))
        self.nested = True

    def convert(self, value: Any, prefix: str, name: str, errors: list[str]) -> Any:
        if type(value) is not list:
            if type(value) is dict:
                raise SerializationError(MAP_START)
            raise SerializationError("Expected list or null")
        member = self.member
        convert = member.convert
        check = member.ok if member.has_own else None
        out: list[Any] = []
        append = out.append
        bad = null = False
        if member.nested:
            base = prefix + name
            for index, item in enumerate(value, 1):
                if item is None:
                    null = True
                    append(None)
                    continue
                decoded = convert(item, f"{base}.{index}.", "member", errors)
                if check is not None and not check(decoded):
                    bad = True
                append(decoded)
        else:
            for item in value:
                if item is None:
                    null = True
                    append(None)
                    continue
                decoded = convert(item, "", "", errors)
                if check is not None and not check(decoded):
                    bad = True
                append(decoded)
        if bad or null:
            report(
                errors,
                quote_value(out) if self.echo else None,
                prefix + name,
                "Member must satisfy constraint: " + _null_note(member.constraints, null),
            )
        return out

    def ok(self, decoded: Any) -> bool:
        return self.low <= len(decoded) <= self.high

    def failures(self, decoded: Any) -> list[str]:
        return limit_failures(len(decoded), self.low, self.high, "length")


class MapNode(ListNode):
    __slots__ = ("key",)

    def __init__(self, shape: Mapping[str, Any], *, echo: bool) -> None:
        super().__init__(shape, echo=echo)
        self.key: Node = DocumentNode(echo=False)  # set by the compiler

    def convert(self, value: Any, prefix: str, name: str, errors: list[str]) -> Any:
        if type(value) is not dict:
            if type(value) is list:
                raise SerializationError(LIST_START)
            raise SerializationError("Expected map or null")
        key_node, member = self.key, self.member
        key_check = key_node.ok if key_node.has_own else None
        check = member.ok if member.has_own else None
        if key_check is None and check is None and type(member) is StringNode:
            # The common string-to-string map (an encryption context): types only.
            for item in value.values():
                if type(item) is not str:
                    break
            else:
                return dict(value)
        convert = member.convert
        out: dict[str, Any] = {}
        bad_key = bad = null = False
        base = prefix + name + "." if member.nested else ""
        for key, item in value.items():
            if key_check is not None and not key_check(key):
                bad_key = True
            if item is None:
                null = True
                out[key] = None
                continue
            decoded = convert(item, base, key, errors)
            if check is not None and not check(decoded):
                bad = True
            out[key] = decoded
        if bad_key or bad or null:
            echo = quote_value(out) if self.echo else None
            path = prefix + name
            if bad_key:
                constraints = _null_note(key_node.constraints, False)
                report(errors, echo, path, f"Map keys must satisfy constraint: {constraints}")
            if bad or null:
                constraints = _null_note(member.constraints, null)
                report(errors, echo, path, f"Map value must satisfy constraint: {constraints}")
        return out


class StructureNode(Node):
    """A structure. Members are read in body order (as AWS's streaming deserialiser does, so
    the first wrong-typed member is the one reported); when anything is wrong the members are
    checked again in model order, so violations are listed as AWS lists them."""

    __slots__ = ("by_key", "members", "required", "union")

    def __init__(self, shape: Mapping[str, Any]) -> None:
        super().__init__(echo=False)
        self.nested = True
        self.union = bool(shape.get("union"))
        # Set by the compiler: (wire name, name in paths, decoder, required) in model order,
        # the same keyed by wire name, and the required (wire name, name in paths).
        self.members: tuple[tuple[str, str, Decoder, bool], ...] = ()
        self.by_key: dict[str, tuple[str, Decoder]] = {}
        self.required: tuple[tuple[str, str], ...] = ()

    def set_members(self, members: Iterable[tuple[str, str, Decoder, bool]]) -> None:
        self.members = tuple(members)
        self.by_key = {key: (lower, decode) for key, lower, decode, _ in self.members}
        self.required = tuple((key, lower) for key, lower, _, required in self.members if required)

    def convert(self, value: Any, prefix: str, name: str, errors: list[str]) -> Any:
        if type(value) is not dict:
            if type(value) is list:
                raise SerializationError(LIST_START)
            raise SerializationError("Expected null")
        inner = f"{prefix}{name}." if name else prefix
        start = len(errors)
        out: dict[str, Any] = {}
        by_key = self.by_key
        for key, item in value.items():
            entry = by_key.get(key)
            if entry is not None and item is not None:
                out[key] = entry[1](item, inner, entry[0], errors)
        for key, lower in self.required:
            if key not in out:
                report(errors, "null", inner + lower, NOT_NULL)
        if len(errors) > start:
            del errors[start:]
            out = self._convert_in_model_order(value, inner, errors)
        if self.union and len(out) != 1:
            report(errors, None, prefix + name, "Member must have exactly one member set")
        return out

    def _convert_in_model_order(self, value: Any, inner: str, errors: list[str]) -> Any:
        out: dict[str, Any] = {}
        for key, lower, decode, required in self.members:
            item = value.get(key)
            if item is None:
                if required:
                    report(errors, "null", inner + lower, NOT_NULL)
                continue
            out[key] = decode(item, inner, lower, errors)
        return out

    decode = convert
