"""Request decoding and validation for the AWS JSON 1.1 protocol, driven by botocore's models.

The service models that ship inside botocore are the authority for every shape, limit and
enum. Each operation's input shape is compiled, on first use, into a tree of small node
objects; a request then costs one ``orjson.loads`` and one walk of that tree, with no
dictionary lookups in the model itself.

Decoding happens in two kinds of failure, as on AWS:

* A member of the wrong JSON type cannot be deserialised at all. That is a
  :class:`~cofre.errors.SerializationError`, raised at once, with the message AWS's
  deserialiser gives (``"STRING_VALUE can not be converted to an Integer"``,
  ``"Start of list found where not expected"`` ...).
* A well-typed value that breaks a constraint of the model (``required``, ``min``/``max``,
  ``enum``, ``pattern``) is collected. Every violation is reported in one
  :class:`~cofre.errors.ValidationError` in AWS's format::

      2 validation errors detected: Value null at 'keyId' failed to satisfy constraint:
      Member must not be null; Value at 'plaintext' failed to satisfy constraint: Member
      must have length less than or equal to 4096

Values are echoed in messages only when that is safe: a value whose shape (or any shape
around or inside it) is ``sensitive`` in the model, and any blob, is reported as
``Value at '...'`` with no value at all, and long values are truncated. Messages from the
deserialiser never carry values.

:func:`encode_output` is the matching fast path for responses.

This module loads the models and compiles their shapes; the pieces live next to it:

* :mod:`cofre.api.model.scalars` -- the node protocol and the scalar nodes (strings, blobs,
  numbers, booleans, timestamps, documents);
* :mod:`cofre.api.model.containers` -- list, map and structure nodes;
* :mod:`cofre.api.model.patterns` -- Java ``pattern`` syntax translated to Python ``re``;
* :mod:`cofre.api.model.messages` -- AWS's wording for both kinds of failure;
* :mod:`cofre.api.model.output` -- :func:`encode_output`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

import orjson
from botocore.loaders import Loader

from cofre.api.model.containers import ListNode, MapNode, StructureNode
from cofre.api.model.enum_order import in_server_order
from cofre.api.model.messages import (
    LIST_START,
    MAX_ECHO_CHARS,
    MAX_REPORTED_ERRORS,
    validation_message,
)
from cofre.api.model.output import encode_output
from cofre.api.model.overlay import unsupported, with_required
from cofre.api.model.patterns import compile_pattern
from cofre.api.model.scalars import (
    BlobNode,
    BooleanNode,
    Decoder,
    DocumentNode,
    FloatNode,
    IntegerNode,
    Node,
    StringNode,
    TimestampNode,
)
from cofre.errors import (
    SerializationError,
    UnknownOperationError,
    UnsupportedParameterError,
    ValidationError,
)

__all__ = [
    "MAX_ECHO_CHARS",
    "MAX_REPORTED_ERRORS",
    "OperationModel",
    "ServiceModel",
    "compile_pattern",
    "encode_output",
]


def _lower_first(name: str) -> str:
    return name[:1].lower() + name[1:]


class _TimestampNode(TimestampNode):
    """Epoch seconds as in JSON, and also a ``datetime`` already parsed by another protocol's
    decoder (the Query protocol's ISO 8601 text); a JSON document never holds one."""

    __slots__ = ()

    def convert(self, value: Any, prefix: str, name: str, errors: list[str]) -> Any:
        if isinstance(value, datetime):
            return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return super().convert(value, prefix, name, errors)

    decode = convert


def _unsafe_to_echo(shapes: Mapping[str, Mapping[str, Any]]) -> frozenset[str]:
    """Shapes whose values must never appear in messages: sensitive ones, blobs, and every
    shape that contains one of them."""
    children: dict[str, list[str]] = {}
    unsafe: set[str] = set()
    for name, shape in shapes.items():
        if shape.get("sensitive") or shape.get("type") == "blob":
            unsafe.add(name)
        kind = shape.get("type")
        if kind == "structure":
            children[name] = [member["shape"] for member in shape.get("members", {}).values()]
        elif kind == "list":
            children[name] = [shape["member"]["shape"]]
        elif kind == "map":
            children[name] = [shape["key"]["shape"], shape["value"]["shape"]]
    changed = True
    while changed:
        changed = False
        for name, inner in children.items():
            if name not in unsafe and any(child in unsafe for child in inner):
                unsafe.add(name)
                changed = True
    return frozenset(unsafe)


class OperationModel:
    """One operation of a service: decodes and validates its input."""

    __slots__ = ("_decode", "_service", "_unsupported", "input_shape", "name", "output_shape")

    def __init__(
        self,
        service: ServiceModel,
        name: str,
        input_shape: str | None,
        output_shape: str | None,
    ) -> None:
        self._service = service
        self.name = name
        self.input_shape = input_shape
        self.output_shape = output_shape
        self._decode: Decoder | None = None
        self._unsupported = unsupported(service.service_name, name)

    def __repr__(self) -> str:
        return f"OperationModel({self._service.service_name}.{self.name})"

    def compile(self) -> None:
        """Build this operation's decoder now rather than on the first request."""
        if self._decode is None:
            if self.input_shape is None:
                node: Node = StructureNode({})
            else:
                node = self._service._node(self.input_shape)
            self._decode = node.decode

    def validate(self, document: Mapping[str, Any]) -> dict[str, Any]:
        """Validate an input already decoded into JSON's types, exactly as :meth:`parse_input`
        does after parsing the JSON (other protocols' decoders use this); timestamps may also be
        ``datetime``s. Returns a new dict; raises as :meth:`parse_input` does."""
        decode = self._decode
        if decode is None:
            self.compile()
            decode = self._decode
            assert decode is not None
        errors: list[str] = []
        value = document if type(document) is dict else dict(document)
        if self._unsupported:
            self._refuse_unsupported(value)
        decoded: dict[str, Any] = decode(value, "", "", errors)
        if errors:
            raise ValidationError(validation_message(errors))
        return decoded

    def parse_input(self, body: bytes) -> dict[str, Any]:
        """Decode and validate a request body; returns a new dict of decoded members.

        Blobs become ``bytes``, timestamps aware UTC ``datetime``s, unknown members are
        dropped and JSON nulls count as absent. Raises :class:`SerializationError` when the
        body is not a JSON object of the right types, :class:`ValidationError` (with every
        violation) when it breaks the model's constraints.
        """
        decode = self._decode
        if decode is None:
            self.compile()
            decode = self._decode
            assert decode is not None
        if not body or body == b"{}":
            document: Any = {}
        else:
            try:
                document = orjson.loads(body)
            except orjson.JSONDecodeError:
                raise SerializationError("The request body is not valid JSON.") from None
            if type(document) is not dict:
                if type(document) is list:
                    raise SerializationError(LIST_START)
                raise SerializationError("The request body must be a JSON object.")
        if self._unsupported:
            self._refuse_unsupported(document)
        errors: list[str] = []
        decoded: dict[str, Any] = decode(document, "", "", errors)
        if errors:
            raise ValidationError(validation_message(errors))
        return decoded

    def _refuse_unsupported(self, document: Mapping[str, Any]) -> None:
        """Refuse a member of a feature Cofre does not serve (``overlay.UNSUPPORTED``)."""
        for member in self._unsupported:
            if document.get(member) is not None:
                raise UnsupportedParameterError(
                    f"{member} is not supported by Cofre: the request is refused rather than"
                    f" served without it."
                )


class ServiceModel:
    """A botocore service model: its operations, their inputs, and its error shapes."""

    _loaded: ClassVar[dict[str, ServiceModel]] = {}  # process-wide cache
    _load_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, service_name: str, model: Mapping[str, Any]) -> None:
        metadata: Mapping[str, Any] = model["metadata"]
        self.service_name = service_name
        self.metadata = metadata
        # Only the JSON protocols have a target prefix (Query services name the Action).
        self.target_prefix: str = metadata.get("targetPrefix", "")
        self.api_version: str = metadata["apiVersion"]
        self._specs: Mapping[str, Mapping[str, Any]] = model["operations"]
        self._shapes: Mapping[str, Mapping[str, Any]] = with_required(
            service_name, model["shapes"], self._specs
        )
        self._unsafe = _unsafe_to_echo(self._shapes)
        self._nodes: dict[tuple[str, bool], Node] = {}
        self._compile_lock = threading.RLock()
        operations: dict[str, OperationModel] = {}
        for name, operation in model["operations"].items():
            input_ref = operation.get("input")
            output_ref = operation.get("output")
            operations[name] = OperationModel(
                self,
                name,
                input_ref["shape"] if input_ref else None,
                output_ref["shape"] if output_ref else None,
            )
        self._operations = operations
        self._operation_names = frozenset(operations)
        self._error_shapes = frozenset(
            name for name, shape in self._shapes.items() if shape.get("exception")
        )

    @classmethod
    def load(cls, service_name: str) -> ServiceModel:
        """The model of ``service_name`` ("kms", "ssm") shipped with botocore, cached."""
        model = cls._loaded.get(service_name)
        if model is None:
            with cls._load_lock:
                model = cls._loaded.get(service_name)
                if model is None:
                    raw = Loader().load_service_model(service_name, "service-2")
                    model = cls(service_name, raw)
                    cls._loaded[service_name] = model
        return model

    def __repr__(self) -> str:
        return f"ServiceModel({self.service_name!r})"

    def operation(self, name: str) -> OperationModel:
        try:
            return self._operations[name]
        except KeyError:
            raise UnknownOperationError(f"Unknown operation: {name[:128]}") from None

    def operation_names(self) -> frozenset[str]:
        return self._operation_names

    def error_shapes(self) -> frozenset[str]:
        return self._error_shapes

    @property
    def shapes(self) -> Mapping[str, Mapping[str, Any]]:
        """The model's raw shape definitions, by name (read-only)."""
        return self._shapes

    def operation_spec(self, name: str) -> Mapping[str, Any]:
        """The model's raw definition of operation ``name`` (read-only)."""
        return self._specs[name]

    def compile_all(self) -> None:
        """Compile every operation's decoder (start-up warm-up; also proves the model)."""
        for operation in self._operations.values():
            operation.compile()

    def _node(self, shape_name: str, sensitive: bool = False) -> Node:
        with self._compile_lock:
            return self._compile(shape_name, sensitive)

    def _compile(self, shape_name: str, sensitive: bool) -> Node:
        shape = self._shapes[shape_name]
        sensitive = sensitive or bool(shape.get("sensitive"))
        cached = self._nodes.get((shape_name, sensitive))
        if cached is not None:
            return cached
        echo = not sensitive and shape_name not in self._unsafe
        kind = shape["type"]
        node: Node
        if kind == "structure":
            structure = StructureNode(shape)
            self._nodes[shape_name, sensitive] = structure  # before members: shapes recurse
            required = frozenset(shape.get("required", ()))
            members: list[tuple[str, str, Decoder, bool]] = []
            for member_name, reference in shape.get("members", {}).items():
                child = self._compile(reference["shape"], sensitive)
                members.append(
                    (member_name, _lower_first(member_name), child.decode, member_name in required)
                )
            structure.set_members(members)
            return structure
        if kind in ("list", "map"):
            container = MapNode(shape, echo=echo) if kind == "map" else ListNode(shape, echo=echo)
            self._nodes[shape_name, sensitive] = container
            container.member = self._compile(
                shape["value" if kind == "map" else "member"]["shape"], sensitive
            )
            if isinstance(container, MapNode):
                container.key = self._compile(shape["key"]["shape"], sensitive)
            return container
        if kind == "string":
            node = StringNode(in_server_order(self.service_name, shape_name, shape), echo=echo)
        elif kind == "blob":
            node = BlobNode(shape)
        elif kind in ("integer", "long"):
            node = IntegerNode(shape, echo=echo)
        elif kind in ("float", "double"):
            node = FloatNode(shape, echo=echo)
        elif kind == "boolean":
            node = BooleanNode(echo=echo)
        elif kind == "timestamp":
            node = _TimestampNode(echo=echo)
        elif kind == "document":
            node = DocumentNode(echo=False)
        else:
            raise ValueError(f"shape {shape_name!r} has unsupported type {kind!r}")
        self._nodes[shape_name, sensitive] = node
        return node

    def shape_patterns(self) -> Iterable[tuple[str, str]]:
        """(shape name, Java pattern) for every shape with a ``pattern``."""
        for name, shape in self._shapes.items():
            pattern = shape.get("pattern")
            if pattern is not None:
                yield name, pattern
