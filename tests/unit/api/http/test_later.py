"""``Later``: a response given later in the same turn of the event loop, whose callbacks run
at once (the HTTP layer writes the burst's responses as soon as its journal write is done)."""

from __future__ import annotations

import asyncio
import logging

import pytest

from cofre.api.http.exchange import Later, Outgoing


def test_callbacks_run_at_once_in_order_when_the_response_is_given() -> None:
    later = Later()
    seen: list[str] = []
    later.add_done_callback(lambda done: seen.append(f"a:{done.result().status}"))
    later.add_done_callback(lambda done: seen.append(f"b:{done.result().status}"))
    assert not later.done()
    assert seen == []
    later.set_result(Outgoing(200, b"{}"))
    assert seen == ["a:200", "b:200"]  # no turn of the loop in between
    assert later.done()
    assert later.result() == Outgoing(200, b"{}")


def test_a_callback_added_after_the_response_runs_at_once() -> None:
    later = Later()
    later.set_result(Outgoing(500, b"{}"))
    seen: list[int] = []
    later.add_done_callback(lambda done: seen.append(done.result().status))
    assert seen == [500]


def test_the_result_before_the_response_is_an_error() -> None:
    with pytest.raises(asyncio.InvalidStateError):
        Later().result()


def test_a_response_is_given_once() -> None:
    later = Later()
    later.set_result(Outgoing(200, b"1"))
    with pytest.raises(asyncio.InvalidStateError):
        later.set_result(Outgoing(200, b"2"))
    assert later.result().body == b"1"


def test_cancelled_drops_its_callbacks_and_takes_no_response() -> None:
    later = Later()
    seen: list[object] = []
    later.add_done_callback(seen.append)
    assert later.cancel()
    assert later.done()
    assert not later.cancel()
    with pytest.raises(asyncio.CancelledError):
        later.result()
    with pytest.raises(asyncio.InvalidStateError):
        later.set_result(Outgoing(200, b"{}"))
    assert seen == []


def test_a_failing_callback_does_not_stop_the_others(caplog: pytest.LogCaptureFixture) -> None:
    later = Later()
    seen: list[int] = []

    def broken(_: Later) -> None:
        raise RuntimeError("boom")

    later.add_done_callback(broken)
    later.add_done_callback(lambda done: seen.append(done.result().status))
    with caplog.at_level(logging.ERROR, logger="cofre.api"):
        later.set_result(Outgoing(200, b"{}"))
    assert seen == [200]
    assert "a response callback failed" in caplog.text
