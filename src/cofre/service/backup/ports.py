"""What backup and restore need of a storage backend: a consistent snapshot of every table
to read, and an empty store to load (implemented in ``cofre.storage.snapshot`` and
``cofre.storage.load``)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol

from cofre.core.backup.rows import Row, TableShape


class StoreSnapshot(Protocol):
    """One consistent view of a whole store (a single read transaction): every table of
    its schema, parents before the tables whose foreign keys name them."""

    backend: str  # "sqlite" or "postgresql"
    schema_version: int
    migrations: list[tuple[int, str]]  # applied, oldest first

    def tables(self) -> list[TableShape]: ...

    def count(self, table: TableShape) -> int: ...

    def rows(self, table: TableShape, batch: int) -> Iterator[list[Row]]:
        """The table's rows in primary-key order, ``batch`` at a time."""
        ...


class StoreLoader(Protocol):
    """An empty store being filled inside one transaction: nothing is visible, and
    nothing is left, unless :meth:`commit` is reached."""

    backend: str

    def latest_version(self) -> int:
        """The schema version this Cofre's migrations reach."""
        ...

    def create_schema(self, version: int) -> list[TableShape]:
        """Refuse a store that is not empty; create the schema up to ``version``, with no
        row in any table (the rows migrations seed go: the backup has them); its
        tables."""
        ...

    def insert(self, table: TableShape, rows: Sequence[Row]) -> None: ...

    def commit(self) -> None:
        """Set what follows from the rows (sequences), and commit."""
        ...


class Progress(Protocol):
    """Told how far a backup, verification or restore is (a progress bar, or nothing)."""

    def start(self, total_rows: int) -> None: ...

    def table(self, name: str, rows: int) -> None: ...

    def advance(self, rows: int) -> None: ...


class NoProgress:
    def start(self, total_rows: int) -> None:
        return None

    def table(self, name: str, rows: int) -> None:
        return None

    def advance(self, rows: int) -> None:
        return None
