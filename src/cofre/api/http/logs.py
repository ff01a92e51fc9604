"""How serving processes log: ``text`` (the default) or ``json`` (``--log-format json``):
one JSON object per line, and then one access line per answered call (request id,
account, Region, service, operation, outcome, status, latency; never an input, an
output or a secret: ``cofre.api.pipeline.observe``)."""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime

import orjson

LOG_FORMAT_ENV = "COFRE_LOG_FORMAT"  # how the supervisor tells its workers
ACCESS_FIELDS = (
    "request_id", "account", "region", "service", "operation", "outcome", "status", "latency_ms",
)  # fmt: skip


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "pid": record.process,
            "message": record.getMessage(),
        }
        for name in ACCESS_FIELDS:
            if name in record.__dict__:
                line[name] = record.__dict__[name]
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(line, default=str).decode()


def configure_logging(level: str, log_format: str, *, worker: bool = False) -> None:
    """The root logger of a serving process, at ``level``, in ``log_format``."""
    os.environ[LOG_FORMAT_ENV] = log_format
    handler = logging.StreamHandler()
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        pid = "[%(process)d]" if worker else ""
        handler.setFormatter(
            logging.Formatter(f"%(asctime)s %(levelname)s %(name)s{pid} %(message)s")
        )
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)
