"""The IAM SQL: users, roles, managed and inline policies, attachments, access keys and
temporary credentials. A mixin of ``SqlTx`` (``cofre.storage.sql.transaction``), whose
helpers it uses.

Names are looked up exactly as given; their uniqueness per account is case-insensitive, as
in AWS (a unique index on ``lower(name)``). Every write records a change of kind "iam" with
the account id as ref, except credential deletions, which record "credential".
"""

# Statements are built only from constant column lists; every value is a bound parameter.
# ruff: noqa: S608

from __future__ import annotations

from datetime import datetime
from typing import Any

from cofre.core.iam.entities import (
    InlinePolicy,
    ManagedPolicy,
    OwnerKind,
    PolicyVersion,
    Role,
    User,
)
from cofre.core.iam.entities import policy_arn as managed_policy_arn
from cofre.core.iam.principals import Credential
from cofre.errors import AlreadyExistsError
from cofre.storage.sql.common import (
    CREDENTIAL_COLUMNS,
    Row,
    SqlHelpers,
    credential_from_row,
    dt,
    to_micros,
)

USER_COLUMNS = "account_id, name, user_id, path, created_at"
ROLE_COLUMNS = (
    "account_id, name, role_id, path, trust_policy, description, max_session_duration, created_at"
)
POLICY_COLUMNS = (
    "account_id, name, policy_id, path, description, default_version_id, next_version,"
    " created_at, updated_at"
)
VERSION_COLUMNS = "account_id, policy_name, version_id, document, created_at"
INLINE_COLUMNS = "account_id, owner_kind, owner_name, name, document"
# Paths match a prefix with substr, not LIKE: LIKE ignores case in SQLite, not in PostgreSQL.
_PAGE = " AND substr(path, 1, ?) = ? AND name > ? ORDER BY name LIMIT ?"

# The inline documents ordered by policy name, then the default versions of the attached
# managed policies ordered by ARN; ARNs with no row here (AWS-managed ones) drop out of the join.
_IDENTITY_DOCUMENTS = (
    "SELECT 0, name, document FROM iam_inline_policies"
    " WHERE account_id = ? AND owner_kind = ? AND owner_name = ?"
    " UNION ALL"
    " SELECT 1, a.policy_arn, v.document FROM iam_attachments a"
    " JOIN iam_policies p ON p.arn = a.policy_arn"
    " JOIN iam_policy_versions v ON v.account_id = p.account_id"
    " AND v.policy_name = p.name AND v.version_id = p.default_version_id"
    " WHERE a.account_id = ? AND a.owner_kind = ? AND a.owner_name = ?"
    " ORDER BY 1, 2"
)


def _page(path_prefix: str, after: str | None, limit: int) -> tuple[Any, ...]:
    return (len(path_prefix), path_prefix, after or "", limit)


def _user_from_row(row: Row) -> User:
    return User(row[0], row[1], row[2], row[3], dt(row[4]))


def _role_from_row(row: Row) -> Role:
    return Role(row[0], row[1], row[2], row[3], row[4], row[5], row[6], dt(row[7]))


def _policy_from_row(row: Row) -> ManagedPolicy:
    return ManagedPolicy(
        row[0], row[1], row[2], row[3], row[4], row[5], row[6], dt(row[7]), dt(row[8])
    )


def _version_from_row(row: Row) -> PolicyVersion:
    return PolicyVersion(row[0], row[1], row[2], row[3], dt(row[4]))


def _inline_from_row(row: Row) -> InlinePolicy:
    return InlinePolicy(row[0], OwnerKind(row[1]), row[2], row[3], row[4])


class IamSql(SqlHelpers):
    """Every ``IamReadTx`` / ``IamWriteTx`` method but the grant ones (``GrantSql``)."""

    def _insert_named(self, statement: str, params: tuple[Any, ...], duplicate: str) -> None:
        try:
            self._exec(statement, params)
        except self._integrity_errors as exc:
            raise AlreadyExistsError(duplicate) from exc

    # users and access keys -------------------------------------------------------------
    def get_user(self, account_id: str, name: str) -> User | None:
        row = self._one(
            f"SELECT {USER_COLUMNS} FROM iam_users WHERE account_id = ? AND name = ?",
            (account_id, name),
        )
        return None if row is None else _user_from_row(row)

    def list_users(
        self, account_id: str, path_prefix: str, after: str | None, limit: int
    ) -> list[User]:
        rows = self._all(
            f"SELECT {USER_COLUMNS} FROM iam_users WHERE account_id = ?{_PAGE}",
            (account_id, *_page(path_prefix, after, limit)),
        )
        return [_user_from_row(r) for r in rows]

    def insert_user(self, user: User) -> None:
        self._insert_named(
            f"INSERT INTO iam_users ({USER_COLUMNS}) VALUES (?, ?, ?, ?, ?)",
            (user.account_id, user.name, user.user_id, user.path, to_micros(user.created_at)),
            f"User with name {user.name} already exists.",
        )
        self.record_change("iam", user.account_id)

    def delete_user(self, account_id: str, name: str) -> None:
        self._exec("DELETE FROM iam_users WHERE account_id = ? AND name = ?", (account_id, name))
        self.record_change("iam", account_id)

    def list_access_keys(self, account_id: str, user_name: str) -> list[Credential]:
        rows = self._all(
            f"SELECT {CREDENTIAL_COLUMNS} FROM credentials WHERE account_id = ?"
            " AND user_name = ? AND session_token_hash IS NULL"
            " ORDER BY created_at, access_key_id",
            (account_id, user_name),
        )
        return [credential_from_row(r) for r in rows]

    def delete_credential(self, access_key_id: str) -> None:
        self._exec("DELETE FROM credentials WHERE access_key_id = ?", (access_key_id,))
        self.record_change("credential", access_key_id)

    def delete_expired_credentials(self, now: datetime) -> int:
        # One row at a time, so that the change feed names exactly the rows deleted.
        rows = self._all(
            "SELECT access_key_id FROM credentials WHERE expires_at IS NOT NULL"
            " AND expires_at <= ? ORDER BY access_key_id",
            (to_micros(now),),
        )
        deleted = 0
        for (access_key_id,) in rows:
            self._exec("DELETE FROM credentials WHERE access_key_id = ?", (access_key_id,))
            if self._cur.rowcount > 0:
                deleted += 1
                self.record_change("credential", access_key_id)
        return deleted

    # roles -----------------------------------------------------------------------------
    def get_role(self, account_id: str, name: str) -> Role | None:
        row = self._one(
            f"SELECT {ROLE_COLUMNS} FROM iam_roles WHERE account_id = ? AND name = ?",
            (account_id, name),
        )
        return None if row is None else _role_from_row(row)

    def list_roles(
        self, account_id: str, path_prefix: str, after: str | None, limit: int
    ) -> list[Role]:
        rows = self._all(
            f"SELECT {ROLE_COLUMNS} FROM iam_roles WHERE account_id = ?{_PAGE}",
            (account_id, *_page(path_prefix, after, limit)),
        )
        return [_role_from_row(r) for r in rows]

    def insert_role(self, role: Role) -> None:
        self._insert_named(
            f"INSERT INTO iam_roles ({ROLE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                role.account_id,
                role.name,
                role.role_id,
                role.path,
                role.trust_policy,
                role.description,
                role.max_session_duration,
                to_micros(role.created_at),
            ),
            f"Role with name {role.name} already exists.",
        )
        self.record_change("iam", role.account_id)

    def update_role(self, role: Role) -> None:
        """Replaces what UpdateRole and UpdateAssumeRolePolicy change."""
        self._exec(
            "UPDATE iam_roles SET trust_policy = ?, description = ?, max_session_duration = ?"
            " WHERE account_id = ? AND name = ?",
            (
                role.trust_policy,
                role.description,
                role.max_session_duration,
                role.account_id,
                role.name,
            ),
        )
        self.record_change("iam", role.account_id)

    def delete_role(self, account_id: str, name: str) -> None:
        self._exec("DELETE FROM iam_roles WHERE account_id = ? AND name = ?", (account_id, name))
        self.record_change("iam", account_id)

    # managed policies and their versions -----------------------------------------------
    def get_managed_policy(self, account_id: str, name: str) -> ManagedPolicy | None:
        row = self._one(
            f"SELECT {POLICY_COLUMNS} FROM iam_policies WHERE account_id = ? AND name = ?",
            (account_id, name),
        )
        return None if row is None else _policy_from_row(row)

    def list_managed_policies(
        self, account_id: str, path_prefix: str, after: str | None, limit: int
    ) -> list[ManagedPolicy]:
        rows = self._all(
            f"SELECT {POLICY_COLUMNS} FROM iam_policies WHERE account_id = ?{_PAGE}",
            (account_id, *_page(path_prefix, after, limit)),
        )
        return [_policy_from_row(r) for r in rows]

    def insert_managed_policy(self, policy: ManagedPolicy, first: PolicyVersion) -> None:
        self._insert_named(
            f"INSERT INTO iam_policies ({POLICY_COLUMNS}, arn)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                policy.account_id,
                policy.name,
                policy.policy_id,
                policy.path,
                policy.description,
                policy.default_version_id,
                policy.next_version,
                to_micros(policy.created_at),
                to_micros(policy.updated_at),
                managed_policy_arn(policy.account_id, policy.path, policy.name),
            ),
            f"A policy called {policy.name} already exists. Duplicate names are not allowed.",
        )
        self.insert_policy_version(first)

    def update_managed_policy(self, policy: ManagedPolicy) -> None:
        """Replaces the description, default version, version counter and update time."""
        self._exec(
            "UPDATE iam_policies SET description = ?, default_version_id = ?, next_version = ?,"
            " updated_at = ? WHERE account_id = ? AND name = ?",
            (
                policy.description,
                policy.default_version_id,
                policy.next_version,
                to_micros(policy.updated_at),
                policy.account_id,
                policy.name,
            ),
        )
        self.record_change("iam", policy.account_id)

    def delete_managed_policy(self, account_id: str, name: str) -> None:
        self._exec(
            "DELETE FROM iam_policy_versions WHERE account_id = ? AND policy_name = ?",
            (account_id, name),
        )
        self._exec("DELETE FROM iam_policies WHERE account_id = ? AND name = ?", (account_id, name))
        self.record_change("iam", account_id)

    def get_policy_version(
        self, account_id: str, policy_name: str, version_id: str
    ) -> PolicyVersion | None:
        row = self._one(
            f"SELECT {VERSION_COLUMNS} FROM iam_policy_versions"
            " WHERE account_id = ? AND policy_name = ? AND version_id = ?",
            (account_id, policy_name, version_id),
        )
        return None if row is None else _version_from_row(row)

    def list_policy_versions(self, account_id: str, policy_name: str) -> list[PolicyVersion]:
        """Oldest first: v1, v2, ..., v10 (by number, not as text)."""
        rows = self._all(
            f"SELECT {VERSION_COLUMNS} FROM iam_policy_versions"
            " WHERE account_id = ? AND policy_name = ?"
            " ORDER BY length(version_id), version_id",
            (account_id, policy_name),
        )
        return [_version_from_row(r) for r in rows]

    def insert_policy_version(self, version: PolicyVersion) -> None:
        self._exec(
            f"INSERT INTO iam_policy_versions ({VERSION_COLUMNS}) VALUES (?, ?, ?, ?, ?)",
            (
                version.account_id,
                version.policy_name,
                version.version_id,
                version.document,
                to_micros(version.created_at),
            ),
        )
        self.record_change("iam", version.account_id)

    def delete_policy_version(self, account_id: str, policy_name: str, version_id: str) -> None:
        self._exec(
            "DELETE FROM iam_policy_versions"
            " WHERE account_id = ? AND policy_name = ? AND version_id = ?",
            (account_id, policy_name, version_id),
        )
        self.record_change("iam", account_id)

    # inline policies and attachments ---------------------------------------------------
    def get_inline_policy(
        self, account_id: str, owner_kind: OwnerKind, owner_name: str, name: str
    ) -> InlinePolicy | None:
        row = self._one(
            f"SELECT {INLINE_COLUMNS} FROM iam_inline_policies"
            " WHERE account_id = ? AND owner_kind = ? AND owner_name = ? AND name = ?",
            (account_id, owner_kind.value, owner_name, name),
        )
        return None if row is None else _inline_from_row(row)

    def list_inline_policies(
        self, account_id: str, owner_kind: OwnerKind, owner_name: str
    ) -> list[InlinePolicy]:
        rows = self._all(
            f"SELECT {INLINE_COLUMNS} FROM iam_inline_policies"
            " WHERE account_id = ? AND owner_kind = ? AND owner_name = ? ORDER BY name",
            (account_id, owner_kind.value, owner_name),
        )
        return [_inline_from_row(r) for r in rows]

    def put_inline_policy(self, policy: InlinePolicy) -> None:
        self._exec(
            f"INSERT INTO iam_inline_policies ({INLINE_COLUMNS}) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (account_id, owner_kind, owner_name, name)"
            " DO UPDATE SET document = excluded.document",
            (
                policy.account_id,
                policy.owner_kind.value,
                policy.owner_name,
                policy.name,
                policy.document,
            ),
        )
        self.record_change("iam", policy.account_id)

    def delete_inline_policy(
        self, account_id: str, owner_kind: OwnerKind, owner_name: str, name: str
    ) -> None:
        self._exec(
            "DELETE FROM iam_inline_policies"
            " WHERE account_id = ? AND owner_kind = ? AND owner_name = ? AND name = ?",
            (account_id, owner_kind.value, owner_name, name),
        )
        self.record_change("iam", account_id)

    def list_attached(self, account_id: str, owner_kind: OwnerKind, owner_name: str) -> list[str]:
        rows = self._all(
            "SELECT policy_arn FROM iam_attachments"
            " WHERE account_id = ? AND owner_kind = ? AND owner_name = ? ORDER BY policy_arn",
            (account_id, owner_kind.value, owner_name),
        )
        return [str(r[0]) for r in rows]

    def count_attachments(self, account_id: str, policy_arn: str) -> int:
        row = self._one(
            "SELECT COUNT(*) FROM iam_attachments WHERE policy_arn = ? AND account_id = ?",
            (policy_arn, account_id),
        )
        return int(row[0])

    def attach_policy(
        self, account_id: str, owner_kind: OwnerKind, owner_name: str, policy_arn: str
    ) -> None:
        """Attaching an attached policy again changes nothing (but is still recorded)."""
        self._exec(
            "INSERT INTO iam_attachments (account_id, owner_kind, owner_name, policy_arn)"
            " VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (account_id, owner_kind.value, owner_name, policy_arn),
        )
        self.record_change("iam", account_id)

    def detach_policy(
        self, account_id: str, owner_kind: OwnerKind, owner_name: str, policy_arn: str
    ) -> None:
        self._exec(
            "DELETE FROM iam_attachments WHERE account_id = ? AND owner_kind = ?"
            " AND owner_name = ? AND policy_arn = ?",
            (account_id, owner_kind.value, owner_name, policy_arn),
        )
        self.record_change("iam", account_id)

    def identity_documents(
        self, account_id: str, owner_kind: OwnerKind, owner_name: str
    ) -> list[str]:
        owner = (account_id, owner_kind.value, owner_name)
        return [str(r[2]) for r in self._all(_IDENTITY_DOCUMENTS, (*owner, *owner))]
