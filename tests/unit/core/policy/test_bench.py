"""The hot path stays cheap: a loose bound so that CI noise does not flake it."""

from __future__ import annotations

from tests.unit.core.policy.bench_policy import measure


def test_decision_is_cheap() -> None:
    assert measure(2000) < 50.0
