"""Fixtures the conformance suites share: ``db``, a migrated storage on each backend."""

from __future__ import annotations

from tests.conformance.test_storage import db

__all__ = ["db"]
