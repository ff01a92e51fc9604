"""The resources one call touched, collected while it runs, for its audit record.

The pipeline opens a scope around each handler (:func:`collecting`); the authorization
step notes every resource it decides on (a key ARN, a parameter ARN, an IAM entity), so a
record names the key behind an alias, and the key of a call that was denied or failed
after authorization, without each handler reporting them. A context variable keeps
concurrent calls apart: each thread of the pool and the event loop's synchronous handlers
see their own scope. Outside a scope (background jobs, the CLI) nothing is collected.
"""

from __future__ import annotations

from contextvars import ContextVar, Token

MAX_RESOURCES = 20  # GetParametersByPath authorizes each parameter: keep the first ones

_resources: ContextVar[list[str] | None] = ContextVar("cofre_audit_resources", default=None)


def note_resource(arn: str) -> None:
    """Remember that the current call decided on ``arn`` (``"*"`` is no resource)."""
    found = _resources.get()
    if found is not None and arn != "*" and arn not in found and len(found) < MAX_RESOURCES:
        found.append(arn)


class collecting:  # noqa: N801 - used as ``with collecting() as resources``
    """A fresh scope for one call; the list fills while the call runs. (A class, not a
    generator-based context manager: it is entered on every request.)"""

    __slots__ = ("_found", "_token")

    def __enter__(self) -> list[str]:
        self._found: list[str] = []
        self._token: Token[list[str] | None] = _resources.set(self._found)
        return self._found

    def __exit__(self, *_exc: object) -> None:
        _resources.reset(self._token)
