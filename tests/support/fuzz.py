"""Malformed requests made from botocore's service models, for the fuzzer
(``tests/api/test_fuzz.py``).

For an operation's input shape, :func:`base_body` builds a body whose required members
hold plausible values, and :func:`mutations` the bodies that break it one member at a
time -- top-level members and the members of a nested structure: a required member
missing, null, each wrong JSON type, empty, at and beyond its length and range limits,
an enum value not in the model, base64 that is not, a structure nested too deep. Each
case says what it is, so a failure names it. Every case is meant to be refused; a few
are refused only by the handler (a key that does not exist), none by a 5xx.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from botocore.loaders import Loader

_LOADER = Loader()
_UUID = "1234abcd-12ab-34cd-56ef-1234567890ab"
_CANDIDATES = (
    "fuzz", "alias/fuzz", _UUID, f"arn:aws:kms:us-east-1:111122223333:key/{_UUID}",
    "/fuzz/param", "fuzzname", "a", "0", "2012-10-17", "arn:aws:iam::111122223333:user/fuzz",
    "arn:aws:iam::111122223333:role/fuzz", "AKIAFUZZFUZZFUZZFUZZ", "us-east-1",
    "https://example.com/hook", "Fuzz-1_2.3",
)  # fmt: skip
MAX_DEPTH = 3


@dataclass(frozen=True, slots=True)
class Case:
    operation: str
    what: str  # "member X: null", ...
    body: Any  # JSON-able (JSON protocols) or a dict of form fields (Query)


def load_model(service: str) -> dict[str, Any]:
    model: dict[str, Any] = _LOADER.load_service_model(service, "service-2")
    return model


class Generator:
    def __init__(self, model: Mapping[str, Any]) -> None:
        self.shapes: Mapping[str, Mapping[str, Any]] = model["shapes"]
        self.operations: Mapping[str, Mapping[str, Any]] = model["operations"]
        self.overrides: dict[str, Any] = {}  # shape name -> a value to use (a real key id)

    def input_shape(self, operation: str) -> Mapping[str, Any] | None:
        ref = self.operations[operation].get("input")
        return None if ref is None else self.shapes[ref["shape"]]

    # plausible values ---------------------------------------------------------------------
    def value(self, shape_name: str, depth: int = 0) -> Any:
        if shape_name in self.overrides:
            return self.overrides[shape_name]
        shape = self.shapes[shape_name]
        kind = shape["type"]
        if kind == "string":
            return self._string(shape)
        if kind == "blob":
            size = max(1, shape.get("min", 1))
            return base64.b64encode(b"f" * min(size, 64)).decode()
        if kind in ("integer", "long"):
            return int(max(shape.get("min", 1), min(shape.get("max", 10), 10)))
        if kind in ("float", "double"):
            return 1.0
        if kind == "boolean":
            return False
        if kind == "timestamp":
            return 1_700_000_000
        if kind == "list":
            count = max(1, shape.get("min", 1))
            if depth >= MAX_DEPTH:
                return []
            return [self.value(shape["member"]["shape"], depth + 1) for _ in range(count)]
        if kind == "map":
            if depth >= MAX_DEPTH:
                return {}
            key = self._string(self.shapes[shape["key"]["shape"]])
            return {key: self.value(shape["value"]["shape"], depth + 1)}
        if kind == "structure":
            if depth >= MAX_DEPTH:
                return {}
            return self.required_members(shape, depth + 1)
        return None  # documents and the like

    def required_members(self, shape: Mapping[str, Any], depth: int = 0) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in shape.get("required", []):
            member = shape["members"][name]
            out[name] = self.value(member["shape"], depth)
        return out

    def _string(self, shape: Mapping[str, Any]) -> str:
        if "enum" in shape:
            return str(shape["enum"][0])
        low, high = shape.get("min", 0), shape.get("max", 2048)
        pattern = _compile(shape.get("pattern"))
        for candidate in _CANDIDATES:
            padded = candidate.ljust(low, "x")
            if low <= len(padded) <= high and (pattern is None or pattern.fullmatch(padded)):
                return padded
        return "x" * max(low, 1)

    # cases ------------------------------------------------------------------------------------
    def base_body(self, operation: str) -> dict[str, Any]:
        shape = self.input_shape(operation)
        return {} if shape is None else self.required_members(shape)

    def mutations(self, operation: str) -> Iterator[Case]:
        shape = self.input_shape(operation)
        base = self.base_body(operation)
        yield Case(operation, "base body", base)
        if shape is None:
            yield Case(operation, "a JSON array body", [])
            return
        yield Case(operation, "not JSON", b"{not json")  # type: ignore[arg-type]
        yield Case(operation, "a JSON array body", [])
        yield Case(operation, "a JSON string body", "x")
        yield Case(operation, "nested too deep", _deep(2000))
        for name, member in shape.get("members", {}).items():
            required = name in shape.get("required", [])
            for what, value in self._member_values(member["shape"], required):
                body = dict(base)
                if value is _MISSING:
                    body.pop(name, None)
                else:
                    body[name] = value
                yield Case(operation, f"{name}: {what}", body)
            inner = self.shapes[member["shape"]]
            if inner["type"] == "structure":
                nested = dict(base.get(name) or self.required_members(inner))
                for sub_name, sub in inner.get("members", {}).items():
                    sub_required = sub_name in inner.get("required", [])
                    for what, value in self._member_values(sub["shape"], sub_required, top=False):
                        struct = dict(nested)
                        if value is _MISSING:
                            struct.pop(sub_name, None)
                        else:
                            struct[sub_name] = value
                        yield Case(operation, f"{name}.{sub_name}: {what}", {**base, name: struct})

    def _member_values(
        self, shape_name: str, required: bool, *, top: bool = True
    ) -> Iterator[tuple[str, Any]]:
        shape = self.shapes[shape_name]
        kind = shape["type"]
        if required:
            yield "missing", _MISSING
        yield "null", None
        yield from _WRONG_TYPES.get(kind, ())
        if not top:
            return
        low, high = shape.get("min"), shape.get("max")
        if kind == "string":
            yield "empty", ""
            if high is not None and high < 100_000:
                yield f"{high + 1} characters", "x" * (high + 1)
                yield f"{high} characters", "x" * high
            if low is not None and low > 1:
                yield f"{low - 1} characters", "x" * (low - 1)
            if "enum" in shape:
                yield "not in the enum", "NOT_A_VALUE"
            yield "control characters", "\x00\x01\u202e"
        elif kind == "blob":
            yield "empty", ""
            yield "not base64", "!!not base64!!"
            yield "bad padding", "QQ="
            if high is not None and high < 1_000_000:
                yield f"{high + 1} bytes", base64.b64encode(b"x" * (high + 1)).decode()
        elif kind in ("integer", "long"):
            for bound, delta in ((low, -1), (high, 1)):
                if bound is not None:
                    yield f"{bound + delta} (beyond a limit)", bound + delta
            yield "huge", 10**30
            yield "negative", -1
            yield "a fraction", 1.5
        elif kind == "list":
            yield "empty", []
            if high is not None and high < 2000:
                yield f"{high + 1} items", [self.value(shape["member"]["shape"], 1)] * (high + 1)
            yield "a list of nulls", [None]
        elif kind == "map":
            yield "empty", {}
            yield "a null value", {"k": None}
            if high is not None and high < 2000:
                yield f"{high + 1} entries", {f"k{i}": "v" for i in range(high + 1)}
        elif kind == "structure":
            yield "empty", {}


class _Missing:
    pass


_MISSING: Any = _Missing()
_WRONG_TYPES: dict[str, tuple[tuple[str, Any], ...]] = {
    "string": (("a number", 12), ("a boolean", True), ("a list", ["x"]), ("an object", {"a": 1})),
    "blob": (("a number", 12), ("a list", []), ("an object", {})),
    "integer": (("a string", "12"), ("a word", "yes"), ("a boolean", True), ("a list", [])),
    "long": (("a string", "12"), ("a boolean", False), ("an object", {})),
    "boolean": (("a word", "yes"), ("a number", 1), ("a string", "true"), ("a list", [])),
    "timestamp": (("a word", "yesterday"), ("a list", []), ("a boolean", True)),
    "list": (("a string", "x"), ("an object", {}), ("a number", 1)),
    "map": (("a list", []), ("a string", "x"), ("a number", 1)),
    "structure": (("a list", []), ("a string", "x"), ("a number", 1)),
}


def _deep(depth: int) -> bytes:
    """A body nested ``depth`` lists deep (as bytes: too deep for the json module)."""
    return b'{"Deep": ' + b"[" * depth + b'"x"' + b"]" * depth + b"}"


def _compile(pattern: str | None) -> re.Pattern[str] | None:
    if pattern is None:
        return None
    try:
        return re.compile(pattern)
    except re.error:
        return None  # a Java-only construct: candidates are tried without it


def query_form(case: Case, version: str) -> dict[str, str]:
    """The form fields of a Query-protocol case (IAM, STS): flat members only; a nested
    value is sent as its text, as a client that got it wrong would."""
    fields = {"Action": case.operation, "Version": version}
    body = case.body if isinstance(case.body, dict) else {}
    for name, value in body.items():
        if value is None or isinstance(value, _Missing):
            continue
        if isinstance(value, bool):
            fields[name] = "true" if value else "false"
        elif isinstance(value, list):
            for index, item in enumerate(value, 1):
                fields[f"{name}.member.{index}"] = str(item)
        else:
            fields[name] = str(value)
    return fields
