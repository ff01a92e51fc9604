"""The storage backend a test runs on, as a database argument for :class:`CofreServer`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from tests.conftest import require_postgres
from tests.support.server import postgres_database


@contextmanager
def backend_database(backend: str) -> Iterator[str | None]:
    """None for SQLite (in the data dir), else the URL of a fresh PostgreSQL database."""
    if backend == "postgres":
        require_postgres()
        with postgres_database() as url:
            yield url
    else:
        yield None
