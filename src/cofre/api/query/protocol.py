"""The AWS Query protocol (IAM, STS): form-encoded requests, XML responses.

Pure codecs, driven by botocore's service models like the JSON protocol in
:mod:`cofre.api.model.service`::

    service = QueryService.load("iam")
    operation, params = service.decode_request(body)       # validated input members
    ...
    payload = encode_response(operation, result, request_id)
    payload = service.encode_error("NoSuchEntity", message, request_id)

Decoding folds the flat form keys back into the input structure (see
:mod:`cofre.api.query.decode`), then validates it with the very nodes that validate JSON
requests, so every constraint message is the one AWS gives. Unknown keys are ignored, as AWS
ignores them. Text that cannot become the member's type (``MaxItems=abc``) is a
:class:`~cofre.errors.SerializationError` with the deserialiser's wording
(``STRING_VALUE can not be converted to an Integer``); the error table sends every
request error of a Query service as ``ValidationError``. Encoding writes exactly what
botocore's ``QueryParser`` reads (see :mod:`cofre.api.query.responses`).

Choices where AWS's behaviour is not documented: a key repeated in the form is refused, not
resolved; list items are taken in index order with gaps closed up; a missing ``Version`` is
accepted, a wrong one is an unknown operation (AWS: "Could not find operation ... for
version ...").
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any, ClassVar, Final

from cofre.api.model.service import OperationModel, ServiceModel
from cofre.api.query.decode import MISSING, Reader, ReaderCompiler, build_tree, parse_form
from cofre.api.query.responses import Writer, WriterCompiler, escape, iso8601
from cofre.errors import UnknownOperationError

__all__ = [
    "IAM_NAMESPACE",
    "STS_NAMESPACE",
    "QueryOperation",
    "QueryService",
    "encode_error",
    "encode_response",
    "escape",
    "iso8601",
    "parse_form",
]

IAM_NAMESPACE: Final = "https://iam.amazonaws.com/doc/2010-05-08/"
STS_NAMESPACE: Final = "https://sts.amazonaws.com/doc/2011-06-15/"


def _clip(text: str) -> str:
    return text if len(text) <= 128 else text[:128] + "..."


class QueryOperation:
    """One operation of a Query service: decodes its parameters, encodes its result."""

    __slots__ = (
        "_close",
        "_open",
        "_reader",
        "_result_close",
        "_result_open",
        "_writer",
        "model",
        "name",
        "service",
    )

    def __init__(self, service: QueryService, model: OperationModel) -> None:
        self.service = service
        self.model = model
        self.name = model.name
        namespace = escape(service.namespace)
        self._open = f'<{self.name}Response xmlns="{namespace}">'
        self._close = f"</{self.name}Response>"
        output = service.model.operation_spec(self.name).get("output") or {}
        wrapper = output.get("resultWrapper", f"{self.name}Result")
        self._result_open, self._result_close = f"<{wrapper}>", f"</{wrapper}>"
        self._reader: Reader | None = None
        self._writer: Writer | None = None

    def __repr__(self) -> str:
        return f"QueryOperation({self.service.name}.{self.name})"

    def compile(self) -> None:
        """Build the reader and writer now rather than on first use."""
        if self._reader is None or self._writer is None:
            self._reader, self._writer = self.service._compile(self.model)

    def decode(self, params: Mapping[str, str]) -> dict[str, Any]:
        """The validated input members of ``params`` (from :func:`parse_form`).

        Blobs become ``bytes``, booleans ``bool``, timestamps aware UTC ``datetime``s.
        Raises :class:`~cofre.errors.SerializationError` for text that cannot become its
        member's type, :class:`~cofre.errors.ValidationError` (with every violation, in AWS's
        words) for values that break the model's constraints.
        """
        if self._reader is None:
            self.compile()
        assert self._reader is not None
        document = self._reader(build_tree(params))
        return self.model.validate({} if document is MISSING else document)

    def encode_response(self, result: Mapping[str, Any] | None, request_id: str) -> bytes:
        """The XML response carrying ``result`` (members of the output shape; None members
        are left out; members the shape does not have are ignored)."""
        if self._writer is None:
            self.compile()
        writer = self._writer
        parts = [self._open]
        if self.model.output_shape is not None:
            parts.append(self._result_open)
            if result:
                assert writer is not None
                writer(result, parts)
            parts.append(self._result_close)
        parts.append("<ResponseMetadata><RequestId>")
        parts.append(escape(request_id))
        parts.append("</RequestId></ResponseMetadata>")
        parts.append(self._close)
        return "".join(parts).encode("utf-8")


def _no_input(node: Any) -> Any:
    return {}


def _no_output(value: Any, parts: list[str]) -> None:
    return None


class QueryService:
    """A Query-protocol service model (``"iam"``, ``"sts"``) and its operations."""

    _loaded: ClassVar[dict[str, QueryService]] = {}  # process-wide cache
    _load_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, model: ServiceModel) -> None:
        self.model = model
        self.name = model.service_name
        self.api_version = model.api_version
        namespace = model.metadata.get("xmlNamespace", "")
        if isinstance(namespace, Mapping):
            namespace = namespace.get("uri", "")
        self.namespace: str = namespace
        self._lock = threading.Lock()
        self._readers = ReaderCompiler(model.shapes)
        self._writers = WriterCompiler(model.shapes)
        self._operations = {
            name: QueryOperation(self, model.operation(name)) for name in model.operation_names()
        }

    @classmethod
    def load(cls, service_name: str) -> QueryService:
        """The Query service ``service_name`` as modelled by botocore, cached."""
        service = cls._loaded.get(service_name)
        if service is None:
            with cls._load_lock:
                service = cls._loaded.get(service_name)
                if service is None:
                    service = cls(ServiceModel.load(service_name))
                    cls._loaded[service_name] = service
        return service

    def __repr__(self) -> str:
        return f"QueryService({self.name!r})"

    def operation(self, name: str) -> QueryOperation:
        try:
            return self._operations[name]
        except KeyError:
            raise UnknownOperationError(
                f"Could not find operation {_clip(name)} for version {self.api_version}"
            ) from None

    def operation_names(self) -> frozenset[str]:
        return self.model.operation_names()

    def operation_for(self, params: Mapping[str, str]) -> QueryOperation:
        """The operation named by the ``Action`` parameter (and ``Version``, when given)."""
        action = params.get("Action")
        if not action:
            raise UnknownOperationError("The request must contain the parameter Action.")
        version = params.get("Version")
        if version is not None and version != self.api_version:
            raise UnknownOperationError(
                f"Could not find operation {_clip(action)} for version {_clip(version)}"
            )
        return self.operation(action)

    def decode_request(self, body: bytes) -> tuple[QueryOperation, dict[str, Any]]:
        """Parse a form body: its operation and validated input members."""
        params = parse_form(body)
        operation = self.operation_for(params)
        return operation, operation.decode(params)

    def encode_error(self, code: str, message: str, request_id: str, sender: bool = True) -> bytes:
        """:func:`encode_error` in this service's XML namespace."""
        return encode_error(code, message, request_id, sender, namespace=self.namespace)

    def compile_all(self) -> None:
        """Compile every operation's reader and writer (start-up warm-up; proves the model)."""
        self.model.compile_all()
        for operation in self._operations.values():
            operation.compile()

    def _compile(self, operation: OperationModel) -> tuple[Reader, Writer]:
        with self._lock:
            reader: Reader = _no_input
            writer: Writer = _no_output
            if operation.input_shape is not None:
                reader = self._readers.input_reader(operation.input_shape)
            if operation.output_shape is not None:
                writer = self._writers.output_writer(operation.output_shape)
            return reader, writer


def encode_response(
    operation: QueryOperation, result: Mapping[str, Any] | None, request_id: str
) -> bytes:
    """``<{Op}Response>`` with the result (when the operation has an output shape) and the
    request id, as botocore's ``QueryParser`` reads it."""
    return operation.encode_response(result, request_id)


def encode_error(
    code: str,
    message: str,
    request_id: str,
    sender: bool = True,
    *,
    namespace: str = IAM_NAMESPACE,
) -> bytes:
    """An ``<ErrorResponse>``: ``Type`` (Sender for the caller's faults, Receiver for
    ours), ``Code``, ``Message`` and ``RequestId``, as IAM and STS send it."""
    fault = "Sender" if sender else "Receiver"
    return (
        f'<ErrorResponse xmlns="{escape(namespace)}"><Error><Type>{fault}</Type>'
        f"<Code>{escape(code)}</Code><Message>{escape(message)}</Message></Error>"
        f"<RequestId>{escape(request_id)}</RequestId></ErrorResponse>"
    ).encode()
