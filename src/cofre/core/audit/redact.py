"""What of a request or response may appear in an audit event, decided by the service model.

CloudTrail logs ``requestParameters`` and ``responseElements`` with the model's member names
in lowerCamelCase (``KeyId`` -> ``keyId``, ``AWSAccountId`` -> ``aWSAccountId``) and leaves
out what is secret: the plaintext of Encrypt, data keys, signatures, MACs, key material,
secret access keys, session tokens, SecureString values. Here the rule is a table, not a
list of special cases: a member is dropped when

* its shape is a ``blob`` (Plaintext, CiphertextBlob, Signature, Mac, PublicKey,
  PrivateKeyPlaintext, SharedSecret, EncryptedKeyMaterial, ImportToken, ...), or
* its shape or the member itself is ``sensitive`` in the botocore model (Plaintext,
  SecretAccessKey, SSM's ``PSParameterValue``, passwords, ...), or
* its name is in :data:`DENIED_MEMBERS` (secrets the models do not flag: STS session
  tokens, KMS grant tokens), or
* it is not in the model at all (an unknown member is never logged).

Everything else is kept, the encryption context included (AWS logs it). Map keys are user
data and keep their spelling. ``bytes`` never survive: a blob is dropped wherever it sits,
and a ``bytes`` value where the model expects anything else is dropped too.

Models are plain mappings (botocore's ``service-2.json`` as loaded), so this module does
not depend on the API layer. Plans are compiled once per (service, operation, direction).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from enum import Enum
from typing import Any, Literal

Direction = Literal["input", "output"]
ModelSource = Callable[[str], Mapping[str, Any] | None]

DENIED_MEMBERS = frozenset(
    {
        "SessionToken",  # STS credentials: not flagged sensitive in the sts model
        "SecretAccessKey",
        "GrantToken",  # bearer tokens for KMS grants
        "GrantTokens",
        "Password",
        "NewPassword",
        "OldPassword",
    }
)

_DROP: Any = object()  # a plan's answer for "leave this member out"
_SCALARS = frozenset({"string", "integer", "long", "boolean", "float", "double", "bigdecimal"})

Plan = Callable[[Any], Any]


def lower_first(name: str) -> str:
    """CloudTrail's spelling of a model member name."""
    return name[:1].lower() + name[1:]


_last_time: tuple[float, str] = (-1.0, "")


def iso_time(value: datetime) -> str:
    """``2025-03-14T09:26:53Z``: UTC, whole seconds, as CloudTrail writes times."""
    global _last_time
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    second = value.timestamp() // 1
    cached = _last_time
    if cached[0] == second:
        return cached[1]
    text = value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    _last_time = (second, text)
    return text


def clean_text(value: str) -> str:
    """Text that encodes as UTF-8 (lone surrogates replaced), so every event serialises."""
    if value.isascii():
        return value
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return value.encode("utf-8", "replace").decode("utf-8")
    return value


def _scalar(value: Any) -> Any:
    if type(value) is str:  # the common case first
        return value if value.isascii() else clean_text(value)
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, bool | int | float) or value is None:
        return value
    if isinstance(value, str):
        return clean_text(value)
    return _DROP  # bytes, containers or objects where the model says scalar


def _timestamp(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso_time(value)
    if isinstance(value, date):
        return iso_time(datetime(value.year, value.month, value.day, tzinfo=UTC))
    if isinstance(value, int | float) and not isinstance(value, bool):
        return iso_time(datetime.fromtimestamp(value, UTC))
    if isinstance(value, str):
        return clean_text(value)
    return _DROP


def _document(value: Any) -> Any:
    """A free-form JSON document: kept, with bytes and odd objects removed."""
    if isinstance(value, Mapping):
        out = {str(k): _document(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v is not _DROP}
    if isinstance(value, list | tuple):
        return [v for v in (_document(item) for item in value) if v is not _DROP]
    return _scalar(value)


class _Ref:
    """A plan compiled lazily, so recursive shapes terminate."""

    __slots__ = ("plan",)

    def __init__(self) -> None:
        self.plan: Plan = _drop_all

    def __call__(self, value: Any) -> Any:
        return self.plan(value)


def _drop_all(value: Any) -> Any:
    return _DROP


def _is_secret(shape: Mapping[str, Any]) -> bool:
    return bool(shape.get("sensitive")) or shape.get("type") == "blob"


class _Compiler:
    def __init__(self, shapes: Mapping[str, Mapping[str, Any]]) -> None:
        self._shapes = shapes
        self._plans: dict[str, _Ref] = {}

    def plan(self, shape_name: str) -> _Ref:
        ref = self._plans.get(shape_name)
        if ref is None:
            ref = self._plans[shape_name] = _Ref()
            ref.plan = self._build(self._shapes.get(shape_name, {"type": "blob"}))
        return ref

    def _build(self, shape: Mapping[str, Any]) -> Plan:
        if _is_secret(shape):
            return _drop_all
        kind = shape.get("type")
        if kind == "structure":
            return self._structure(shape)
        if kind == "list":
            return self._list(shape)
        if kind == "map":
            return self._map(shape)
        if kind == "timestamp":
            return _timestamp
        if kind in _SCALARS:
            return _scalar
        if kind == "document":
            return _document
        return _drop_all  # unknown kinds: fail safe

    def _structure(self, shape: Mapping[str, Any]) -> Plan:
        members: dict[str, tuple[str, _Ref, bool]] = {}  # logged name, plan, scalar?
        for name, ref in shape.get("members", {}).items():
            target = self._shapes.get(ref["shape"], {"type": "blob"})
            if name in DENIED_MEMBERS or ref.get("sensitive") or _is_secret(target):
                continue
            plan = self.plan(ref["shape"])
            members[name] = (lower_first(name), plan, plan.plan is _scalar)

        def structure(value: Any) -> Any:
            if type(value) is not dict and not isinstance(value, Mapping):  # dict: quick
                return _DROP
            out: dict[str, Any] = {}
            for name, item in value.items():  # the members given, not every one the model has
                member = members.get(name)
                if member is None or item is None:
                    continue
                if member[2] and type(item) is str and item.isascii():
                    out[member[0]] = item  # what _scalar keeps of it, without the call
                    continue
                kept = member[1].plan(item)
                if kept is not _DROP:
                    out[member[0]] = kept
            return out

        return structure

    def _list(self, shape: Mapping[str, Any]) -> Plan:
        item_shape = self._shapes.get(shape["member"]["shape"], {"type": "blob"})
        if _is_secret(item_shape):
            return _drop_all
        item_plan = self.plan(shape["member"]["shape"])

        def listing(value: Any) -> Any:
            if not isinstance(value, list | tuple | set | frozenset):
                return _DROP
            kept = (item_plan(item) for item in value)
            return [item for item in kept if item is not _DROP]

        return listing

    def _map(self, shape: Mapping[str, Any]) -> Plan:
        key_shape = self._shapes.get(shape["key"]["shape"], {"type": "blob"})
        value_shape = self._shapes.get(shape["value"]["shape"], {"type": "blob"})
        if _is_secret(key_shape) or _is_secret(value_shape):
            return _drop_all
        value_plan = self.plan(shape["value"]["shape"])

        def mapping(value: Any) -> Any:
            if type(value) is not dict and not isinstance(value, Mapping):
                return _DROP
            out: dict[str, Any] = {}
            plan = value_plan.plan
            for key, item in value.items():
                if type(key) is not str:
                    continue
                kept = plan(item)
                if kept is not _DROP:
                    out[key if key.isascii() else clean_text(key)] = kept
            return out

        return mapping


_UNPLANNED: Any = object()


class ModelRedactor:
    """Compiled redaction plans for every service whose model ``models`` returns.

    Safe to share between threads without a lock: each plan is compiled on its own (a
    compiler of its own, nothing half-built visible) and published by one assignment;
    two threads that compile the same plan at once publish equal plans."""

    def __init__(self, models: ModelSource) -> None:
        self._models = models
        self._loaded: dict[str, Mapping[str, Any] | None] = {}
        self._plans: dict[tuple[str, str, Direction], Plan | None] = {}

    def load(self, service: str) -> None:
        """Load a service's model now rather than on its first call."""
        self._model(service)

    def _model(self, service: str) -> Mapping[str, Any] | None:
        if service not in self._loaded:
            self._loaded[service] = self._models(service)
        return self._loaded[service]

    def _plan(self, service: str, operation: str, direction: Direction) -> Plan | None:
        """Compile the plan of an operation's input or output, once (``__call__`` looks
        for it first)."""
        model = self._model(service)
        plan: Plan | None = None
        if model is not None:
            spec = model["operations"].get(operation)
            ref = None if spec is None else spec.get(direction)
            if ref is not None:  # compiled whole now: its own plan, without the _Ref
                plan = _Compiler(model["shapes"]).plan(ref["shape"]).plan
        self._plans[(service, operation, direction)] = plan
        return plan

    def __call__(
        self,
        service: str,
        operation: str,
        params: Mapping[str, Any] | None,
        direction: Direction,
    ) -> dict[str, Any] | None:
        """The logged form of ``params``; None when nothing of it may be logged (an
        unknown service or operation, or nothing left)."""
        if not params:
            return None
        plan = self._plans.get((service, operation, direction), _UNPLANNED)
        if plan is _UNPLANNED:  # compiled once per operation and direction
            plan = self._plan(service, operation, direction)
        if plan is None:
            return None
        kept = plan(params)
        return kept if isinstance(kept, dict) and kept else None


def redact(
    service_model: Mapping[str, Any],
    operation: str,
    params: Mapping[str, Any] | None,
    direction: Direction,
) -> dict[str, Any] | None:
    """One-off redaction against one model (``{"operations": ..., "shapes": ...}``);
    services keep a :class:`ModelRedactor`, which compiles each plan once."""
    return ModelRedactor(lambda _service: service_model)("", operation, params, direction)
