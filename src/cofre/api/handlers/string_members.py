"""The input of Cofre's own JSON operations (webhooks, XKS stores): an object whose members
are all strings, each with a maximum length, some required. Botocore has no model for
these, so they are checked here, with the same errors the model-driven decoder gives."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from cofre.api.handlers.operation import Params
from cofre.errors import SerializationError, ValidationError

Members = Mapping[str, tuple[bool, int]]  # member -> (required, maximum length)


def parse_string_members(members: Members, body: bytes) -> Params:
    try:
        document: Any = orjson.loads(body or b"{}")
    except orjson.JSONDecodeError as exc:
        raise SerializationError("The request body is not a JSON object.") from exc
    if not isinstance(document, dict):
        raise SerializationError("The request body is not a JSON object.")
    for name, value in document.items():
        if name not in members:
            raise ValidationError(f"Unknown member {name[:40]!r}.")
        if not isinstance(value, str):
            raise SerializationError(f"{name} must be a string.")
        if not 1 <= len(value) <= members[name][1]:
            raise ValidationError(f"{name} must have length between 1 and {members[name][1]}.")
    for name, (required, _) in members.items():
        if required and name not in document:
            raise ValidationError(f"{name} is required.")
    return document
