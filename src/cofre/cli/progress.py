"""A progress bar on standard error when it is a terminal; nothing otherwise."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from cofre.service.backup.ports import NoProgress, Progress


class _Bar:
    def __init__(self, bar: Any, verb: str) -> None:
        self._bar = bar
        self._verb = verb
        self._task = bar.add_task(verb, total=None)

    def start(self, total_rows: int) -> None:
        self._bar.update(self._task, total=max(total_rows, 1))

    def table(self, name: str, rows: int) -> None:
        self._bar.update(self._task, description=f"{self._verb} {name}")

    def advance(self, rows: int) -> None:
        self._bar.advance(self._task, rows)


@contextmanager
def progress_bar(verb: str) -> Iterator[Progress]:
    """A bar of rows done while ``verb``-ing, on a terminal (rich is imported only then)."""
    if not sys.stderr.isatty():
        yield NoProgress()
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
    from rich.progress import Progress as RichProgress

    columns = (
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()
    )  # fmt: skip
    with RichProgress(*columns, console=Console(stderr=True), transient=True) as bar:
        yield _Bar(bar, verb)
