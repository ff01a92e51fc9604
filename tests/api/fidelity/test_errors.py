"""Every error Cofre can raise, walked: each class of ``cofre.errors`` is in the table of
``cases.py`` with the AWS type, HTTP status and message policy it goes on the wire with,
and the single error table (``cofre.api.errors``) and the JSON encoder agree."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import orjson
import pytest
from botocore.loaders import Loader

from cofre import errors
from cofre.api.errors import message_member, wire_error
from cofre.api.http.exchange import error_response
from tests.api.fidelity.cases import ERRORS, UNMODELED, ErrorRow, Message

SRC = Path(errors.__file__).parent
ROWS = {row.error: row for row in ERRORS}


def error_classes() -> list[type[errors.CofreError]]:
    """Every CofreError subclass defined in cofre/errors.py, the root included."""
    return [
        cls
        for _, cls in inspect.getmembers(errors, inspect.isclass)
        if issubclass(cls, errors.CofreError) and cls.__module__ == errors.__name__
    ]


def instance(row: ErrorRow, message: str = "a message") -> errors.CofreError:
    """The error as code raises it: with a message, unless it takes none."""
    parameters = inspect.signature(row.error.__init__).parameters
    return row.error(message) if "message" in parameters else row.error()


def body_of(error: errors.CofreError, service: str) -> tuple[int, dict[str, str]]:
    response = error_response(error, "request-id", query=False, service=service)
    return response.status, orjson.loads(response.body)


def test_the_table_covers_every_error_class_once() -> None:
    assert len(ROWS) == len(ERRORS)
    assert set(ROWS) == set(error_classes())


@pytest.mark.parametrize("row", ERRORS, ids=[r.error.__name__ for r in ERRORS])
def test_error_on_the_wire(row: ErrorRow) -> None:
    assert row.source
    raising = re.compile(rf"raise {row.error.__name__}\(")
    if row.message is Message.ABSTRACT:
        assert not any(raising.search(p.read_text()) for p in SRC.rglob("*.py"))
        return
    if row.message is Message.LOCAL:  # raised outside the request path only
        assert not any(raising.search(p.read_text()) for p in (SRC / "api").rglob("*.py"))
        assert not any(raising.search(p.read_text()) for p in (SRC / "service").rglob("*.py")
                       if "backup" not in p.parts)  # fmt: skip
        return
    error = instance(row)
    assert wire_error(error, row.service) == (row.type_name, row.status)
    status, body = body_of(error, row.service)
    assert (status, body["__type"]) == (row.status, row.type_name)
    member = message_member(row.service, row.type_name)
    if row.message is Message.ABSENT:
        assert "__init__" in vars(row.error), "a message-less error takes no message"
        assert set(body) == {"__type"}
    elif row.message is Message.PRESENT:
        default = row.error()
        assert default.message
        assert body_of(default, row.service)[1][member] == default.message
    else:
        assert body[member] == "a message"
        assert set(body_of(row.error(""), row.service)[1]) == {"__type"}


@pytest.mark.parametrize("service", ["kms", "ssm"])
def test_types_are_the_services_own(service: str) -> None:
    """A type sent for ``service`` is one of its model's exceptions, or a common error."""
    shapes = Loader().load_service_model(service, "service-2")["shapes"]
    modeled = {name for name, shape in shapes.items() if shape.get("exception")}
    for row in ERRORS:
        sent = row.message not in (Message.ABSTRACT, Message.LOCAL)
        if row.service == service and sent and row.status < 500:
            assert row.type_name in modeled | UNMODELED, row.type_name


def test_ssm_messages_go_in_the_member_the_model_names() -> None:
    assert message_member("ssm", "ParameterNotFound") == "message"
    assert message_member("ssm", "InvalidFilterValue") == "Message"
    assert message_member("ssm", "ValidationException") == "Message"
    assert message_member("kms", "NotFoundException") == "message"
    _, body = body_of(errors.InvalidFilterValueError("bad value"), "ssm")
    assert body == {"__type": "InvalidFilterValue", "Message": "bad value"}
