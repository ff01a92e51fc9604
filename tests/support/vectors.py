"""Where the known-answer files live (``tests/vectors``), wherever a test sits."""

from __future__ import annotations

from pathlib import Path

VECTORS = Path(__file__).resolve().parents[1] / "vectors"
