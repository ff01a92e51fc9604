"""What the SQL modules share: the cursor they drive, time columns, and the credential row.

Times are integer microseconds since the epoch (UTC), so they round-trip exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from cofre.core.iam.principals import Credential, CredentialStatus

Row = Sequence[Any]


class Cursor(Protocol):
    def execute(self, sql: Any, params: Sequence[Any] = ...) -> Any: ...
    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...
    @property
    def rowcount(self) -> int: ...


class SqlHelpers:
    """What the SQL mixins use of ``SqlTx``, which defines all of it."""

    if TYPE_CHECKING:
        _cur: Cursor
        _integrity_errors: tuple[type[Exception], ...]

        def _exec(self, statement: str, params: Sequence[Any] = ()) -> Any: ...
        def _one(self, statement: str, params: Sequence[Any] = ()) -> Any: ...
        def _all(self, statement: str, params: Sequence[Any] = ()) -> list[Any]: ...
        def record_change(self, kind: str, ref: str) -> None: ...


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def to_micros(value: datetime | None) -> int | None:
    """Exact integer arithmetic: float timestamps lose a microsecond for some dates."""
    if value is None:
        return None
    return (value - _EPOCH) // _MICROSECOND


def from_micros(value: int | None) -> datetime | None:
    if value is None:
        return None
    return _EPOCH + timedelta(microseconds=value)


def dt(value: int) -> datetime:
    """A NOT NULL time column."""
    return _EPOCH + timedelta(microseconds=value)


CREDENTIAL_COLUMNS = (
    "access_key_id, account_id, principal_arn, user_name, secret_wrapped, status, created_at,"
    " principal_id, expires_at, session_token_hash, role_arn"
)


def credential_row(credential: Credential) -> tuple[Any, ...]:
    return (
        credential.access_key_id,
        credential.account_id,
        credential.principal_arn,
        credential.user_name,
        credential.secret_wrapped,
        credential.status.value,
        to_micros(credential.created_at),
        credential.principal_id,
        to_micros(credential.expires_at),
        credential.session_token_hash,
        credential.role_arn,
    )


def credential_from_row(row: Row) -> Credential:
    return Credential(
        access_key_id=row[0],
        account_id=row[1],
        principal_arn=row[2],
        user_name=row[3],
        secret_wrapped=bytes(row[4]),
        status=CredentialStatus(row[5]),
        created_at=dt(row[6]),
        principal_id=row[7],
        expires_at=from_micros(row[8]),
        session_token_hash=None if row[9] is None else bytes(row[9]),
        role_arn=row[10],
    )
