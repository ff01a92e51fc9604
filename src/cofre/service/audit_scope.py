"""The resources one call touched, collected while it runs, for its audit record.

The pipeline opens a scope around each handler (:func:`collecting`); the authorization
step notes every resource it decides on (a key ARN, a parameter ARN, an IAM entity), so a
record names the key behind an alias, and the key of a call that was denied or failed
after authorization, without each handler reporting them. A context variable keeps
concurrent calls apart: each thread of the pool and the event loop's synchronous handlers
see their own scope. Outside a scope (background jobs, the CLI) nothing is collected.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

MAX_RESOURCES = 20  # GetParametersByPath authorizes each parameter: keep the first ones

_resources: ContextVar[list[str] | None] = ContextVar("cofre_audit_resources", default=None)


def note_resource(arn: str) -> None:
    """Remember that the current call decided on ``arn`` (``"*"`` is no resource)."""
    found = _resources.get()
    if found is not None and arn != "*" and arn not in found and len(found) < MAX_RESOURCES:
        found.append(arn)


@contextmanager
def collecting() -> Iterator[list[str]]:
    """A fresh scope for one call; the list fills while the call runs."""
    found: list[str] = []
    token = _resources.set(found)
    try:
        yield found
    finally:
        _resources.reset(token)
