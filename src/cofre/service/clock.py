"""Clocks: the system clock for serving, a settable one for tests."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that moves only when told to (schedules become testable)."""

    def __init__(self, start: datetime) -> None:
        self._now = start

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> None:
        self._now += delta


class OffsetClock:
    """The system clock moved by the number of seconds written in a file.

    For end-to-end tests of expiry against a real server (``COFRE_CLOCK_OFFSET_FILE``):
    the test writes ``3600`` and the server lives an hour later. The file is read at most
    ten times a second; a missing or unreadable file means no offset.
    """

    def __init__(self, path: Path) -> None:
        self._path = path
        self._offset = timedelta(0)
        self._read_at = 0.0

    def now(self) -> datetime:
        moment = time.monotonic()
        if moment - self._read_at > 0.1:
            self._read_at = moment
            try:
                self._offset = timedelta(seconds=float(self._path.read_text().strip() or 0))
            except (OSError, ValueError):
                self._offset = timedelta(0)
        return datetime.now(UTC) + self._offset
