"""Every IAM and STS operation, both ways, checked against botocore itself.

Inputs generated from each operation's input shape (valid by construction: patterns, lengths,
enums, ranges, required members, unions) are serialised by botocore's own Query serializer,
decoded by Cofre, and must come back equal. Results generated from each output shape are
encoded by Cofre and must come back equal from botocore's ``QueryParser``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import cache
from typing import Any

import botocore.model
import botocore.parsers
import botocore.serialize
import botocore.session
import pytest
from botocore.awsrequest import AWSRequest
from botocore.loaders import Loader
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cofre.api.model.service import compile_pattern
from cofre.api.query.protocol import QueryService, encode_response

SERVICES = ("iam", "sts")
# A pattern that is one character class repeated: its length limits can go into the regex.
_ONE_CLASS = re.compile(r"\^?(\[(?:\\.|[^\]\\])*\])([+*])\$?")
_JAVA_INT = (-(2**31), 2**31 - 1)
_JAVA_LONG = (-(2**63), 2**63 - 1)
# Text XML 1.0 can carry (the encoder replaces the rest, tested elsewhere).
XML_TEXT = st.characters(
    codec="utf-8",  # no surrogates
    exclude_characters="".join(map(chr, [*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20)]))
    + "\ufffe\uffff",
)
GENERATED = settings(
    max_examples=6,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


@cache
def botocore_model(service: str) -> botocore.model.ServiceModel:
    return botocore.session.get_session().get_service_model(service)


def operations(service: str) -> list[tuple[str, str]]:
    return [(service, name) for name in sorted(QueryService.load(service).operation_names())]


ALL_OPERATIONS = [pair for service in SERVICES for pair in operations(service)]


def form_body(service: str, operation: str, params: Mapping[str, Any]) -> bytes:
    """The body botocore sends for ``params``: its serializer, then its request preparer."""
    model = botocore_model(service).operation_model(operation)
    request = botocore.serialize.create_serializer("query").serialize_to_request(params, model)
    prepared = AWSRequest(method="POST", url="https://example.com/", data=request["body"])
    body = prepared.prepare().body
    return body.encode("utf-8") if isinstance(body, str) else body


def botocore_parse(service: str, operation: str, payload: bytes) -> dict[str, Any]:
    shape = botocore_model(service).operation_model(operation).output_shape
    response = {"body": payload, "status_code": 200, "headers": {}}
    parsed: dict[str, Any] = botocore.parsers.create_parser("query").parse(response, shape)
    return parsed


# --------------------------------------------------------------------------- strategies


def _text(low: int, high: int, alphabet: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.text(alphabet, min_size=low, max_size=min(high, low + 24))


@cache
def _pattern_text(pattern: str, low: int, high: int) -> st.SearchStrategy[str]:
    one = _ONE_CLASS.fullmatch(pattern)
    if one is not None:
        low = max(low, 1) if one.group(2) == "+" else low
        bounded = compile_pattern(f"{one.group(1)}{{{low},{min(high, low + 24)}}}")
        return st.from_regex(bounded, fullmatch=True)
    compiled = compile_pattern(pattern)
    return st.from_regex(compiled, fullmatch=True).filter(lambda text: low <= len(text) <= high)


class Strategies:
    """Values for a service's shapes: valid inputs (``valid=True``) or any well-typed output."""

    def __init__(self, service: str, *, valid: bool) -> None:
        self.shapes: Mapping[str, Any] = Loader().load_service_model(service, "service-2")["shapes"]
        self.valid = valid
        self._cache: dict[tuple[str, int], st.SearchStrategy[Any]] = {}

    def shape(self, name: str, depth: int = 0) -> st.SearchStrategy[Any]:
        key = (name, min(depth, 4))
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = self._build(self.shapes[name], depth)
        return found

    def _build(self, shape: Mapping[str, Any], depth: int) -> st.SearchStrategy[Any]:
        kind = shape["type"]
        low, high = shape.get("min", 0), shape.get("max", 2**31)
        if kind == "string":
            if shape.get("enum"):
                return st.sampled_from(shape["enum"])
            if self.valid and "pattern" in shape:
                return _pattern_text(shape["pattern"], low, high)
            alphabet = st.characters(codec="utf-8") if self.valid else XML_TEXT
            return _text(low, high, alphabet)
        if kind in ("integer", "long"):
            java_low, java_high = _JAVA_LONG if kind == "long" else _JAVA_INT
            return st.integers(
                max(low, java_low) if "min" in shape else java_low, min(high, java_high)
            )
        if kind in ("float", "double"):
            return st.floats(allow_nan=False, allow_infinity=False)
        if kind == "boolean":
            return st.booleans()
        if kind == "timestamp":
            return st.datetimes(
                min_value=datetime(1970, 1, 2),
                max_value=datetime(2100, 1, 1),
                timezones=st.just(UTC),
            )
        if kind == "blob":
            return st.binary(min_size=low, max_size=min(high, low + 48))
        if kind == "list":
            size = min(high, low + (2 if depth < 3 else 0))
            return st.lists(
                self.shape(shape["member"]["shape"], depth + 1), min_size=low, max_size=size
            )
        if kind == "map":
            # botocore writes nothing for an empty map, so generate at least one entry.
            return st.dictionaries(
                self.shape(shape["key"]["shape"], depth + 1),
                self.shape(shape["value"]["shape"], depth + 1),
                min_size=max(low, 1),
                max_size=max(min(high, low + 2), 1),
            )
        if kind == "structure":
            return self._structure(shape, depth)
        raise AssertionError(f"unexpected shape type {kind}")

    def _structure(self, shape: Mapping[str, Any], depth: int) -> st.SearchStrategy[Any]:
        members: dict[str, Any] = shape.get("members", {})
        if not members:
            return st.just({})
        strategies = {name: self.shape(ref["shape"], depth + 1) for name, ref in members.items()}
        if shape.get("union"):
            return st.one_of(
                *(st.fixed_dictionaries({name: strategy}) for name, strategy in strategies.items())
            )
        required = set(shape.get("required", ()))
        optional = {name: s for name, s in strategies.items() if name not in required}
        if depth >= 3:
            optional = {}
        if required or not self.valid:
            return st.fixed_dictionaries(
                {name: strategies[name] for name in required}, optional=optional
            )
        # botocore writes nothing for an empty structure: always set one member.
        return st.sampled_from(sorted(strategies)).flatmap(
            lambda forced: st.fixed_dictionaries(
                {forced: strategies[forced]},
                optional={name: s for name, s in optional.items() if name != forced},
            )
        )


@cache
def strategies(service: str, valid: bool) -> Strategies:
    return Strategies(service, valid=valid)


# --------------------------------------------------------------------------- tests


@pytest.mark.parametrize("service", SERVICES)
def test_every_operation_compiles(service: str) -> None:
    query = QueryService.load(service)
    query.compile_all()
    assert query.namespace == botocore_model(service).metadata["xmlNamespace"]
    assert query.api_version == botocore_model(service).api_version


@pytest.mark.parametrize(("service", "operation"), ALL_OPERATIONS)
@GENERATED
@given(data=st.data())
def test_inputs_round_trip_from_botocore(service: str, operation: str, data: st.DataObject) -> None:
    input_shape = QueryService.load(service).operation(operation).model.input_shape
    params = {} if input_shape is None else data.draw(strategies(service, True).shape(input_shape))
    body = form_body(service, operation, params)
    decoded_operation, decoded = QueryService.load(service).decode_request(body)
    assert decoded_operation.name == operation
    assert decoded == params


@pytest.mark.parametrize(("service", "operation"), ALL_OPERATIONS)
@GENERATED
@given(data=st.data(), request_id=st.uuids().map(str))
def test_outputs_round_trip_through_botocore(
    service: str, operation: str, data: st.DataObject, request_id: str
) -> None:
    query_operation = QueryService.load(service).operation(operation)
    output_shape = query_operation.model.output_shape
    result = (
        {} if output_shape is None else data.draw(strategies(service, False).shape(output_shape))
    )
    payload = encode_response(query_operation, result, request_id)
    parsed = botocore_parse(service, operation, payload)
    metadata = parsed.pop("ResponseMetadata")
    assert metadata["RequestId"] == request_id
    assert parsed == result
