"""``GET /health`` (readiness: storage and the audit trail take writes; 503 with the
reasons when they do not) and ``GET /health/live`` (liveness: the process answers).
Neither needs credentials, and neither says anything secret."""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import Executor

import orjson

from cofre.api.http.exchange import Outgoing, Response
from cofre.service.health import Health

log = logging.getLogger("cofre.api")

_TYPE = b"application/json"
_LIVE = Outgoing(200, orjson.dumps({"status": "ok"}), _TYPE)
_NOT_FOUND = Outgoing(404, orjson.dumps({"status": "not found"}), _TYPE)


def health_response(path: bytes, health: Health, executor: Executor) -> Response:
    """The answer to a ``GET`` under ``/health``: liveness at once, on the event loop;
    readiness from a worker thread (it writes to the database)."""
    if path == b"/health/live":
        return _LIVE
    if path != b"/health":
        return _NOT_FOUND
    loop = asyncio.get_running_loop()
    done: asyncio.Future[Outgoing] = loop.create_future()

    def check() -> None:
        try:
            report = health.check()
            state = "ok" if report.ready else "unavailable"
            body = orjson.dumps({"status": state, "sealed": report.sealed, **report.components})
            answer = Outgoing(200 if report.ready else 503, body, _TYPE)
        except Exception:
            log.exception("the health check failed")
            answer = Outgoing(503, orjson.dumps({"status": "unavailable"}), _TYPE)
        loop.call_soon_threadsafe(_give, done, answer)

    executor.submit(check)
    return done


def _give(done: asyncio.Future[Outgoing], answer: Outgoing) -> None:
    if not done.done():
        done.set_result(answer)
