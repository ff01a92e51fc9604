"""The Parameter Store SQL: a mixin of ``SqlTx`` (``cofre.storage.sql.transaction``), whose
helpers it uses.

Schema in ``migrations/*/0003_params.sql``. Parameters are read from the database on every
request (no cache), so writes record no change-feed rows. The head row (``params``) holds a
copy of the current version: the frequent reads touch one table, by primary key or a key
range, and no statement joins on columns whose plan would depend on table statistics
(PostgreSQL may have none yet). Filters (``core.params_filters``) become WHERE clauses:
names are ASCII (``[a-zA-Z0-9_.-/]``), so a name prefix ``p`` is the range
``p <= name < p || '\\x7f'``; other prefixes end their range at U+10FFFF.
"""

# Statements are built only from constant column lists and placeholders; every value is a
# bound parameter.
# ruff: noqa: S608

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from cofre.core.params.filters import Field, Option, ParamQuery, Term
from cofre.core.params.parameters import (
    ParameterType,
    ParamHead,
    ParamId,
    ParamVersion,
    Tier,
    ValueFormat,
    parent_path,
)
from cofre.errors import AlreadyExistsError, ParameterAlreadyExistsError
from cofre.storage.sql.common import Row, SqlHelpers, dt, to_micros

VERSION_COLUMNS = (
    "account_id, region, name, version, type, value, value_format, key_id, description,"
    " allowed_pattern, tier, data_type, policies, modified_at, modified_by"
)
_P_COLUMNS = ", ".join(f"p.{c.strip()}" for c in VERSION_COLUMNS.split(","))
_CURRENT = (  # params' copy of the current version, set from a version row
    "version = ?, type = ?, value = ?, value_format = ?, key_id = ?, description = ?,"
    " allowed_pattern = ?, tier = ?, data_type = ?, policies = ?, modified_at = ?,"
    " modified_by = ?"
)
_PK = "account_id = ? AND region = ? AND name = ?"
_NAME_END = "\x7f"  # above every character a parameter name may hold
_TEXT_END = "\U0010ffff"
_VERSION_FIELDS = {  # filter fields that are settings of a version
    Field.TYPE: "type",
    Field.KEY_ID: "key_id",
    Field.TIER: "tier",
    Field.DATA_TYPE: "data_type",
}


def _version_row(v: ParamVersion) -> tuple[Any, ...]:
    return (
        v.id.account_id,
        v.id.region,
        v.id.name,
        v.version,
        v.type.value,
        v.value,
        int(v.value_format),
        v.key_id,
        v.description,
        v.allowed_pattern,
        v.tier.value,
        v.data_type,
        v.policies,
        to_micros(v.modified_at),
        v.modified_by,
    )


def _version_from_row(row: Row, labels: tuple[str, ...] = ()) -> ParamVersion:
    return ParamVersion(
        id=ParamId(row[0], row[1], row[2]),
        version=int(row[3]),
        type=ParameterType(row[4]),
        value=bytes(row[5]),
        value_format=ValueFormat(int(row[6])),
        key_id=row[7],
        description=row[8],
        allowed_pattern=row[9],
        tier=Tier(row[10]),
        data_type=row[11],
        policies=row[12],
        modified_at=dt(row[13]),
        modified_by=row[14],
        labels=labels,
    )


def _pk(pid: ParamId) -> tuple[str, str, str]:
    return (pid.account_id, pid.region, pid.name)


def _marks(values: Sequence[Any]) -> str:
    return ", ".join("?" * len(values))


def _prefixes(column: str, values: Sequence[str], end: str, params: list[Any]) -> str:
    clauses = []
    for value in values:
        clauses.append(f"({column} >= ? AND {column} < ?)")
        params += [value, value + end]
    return "(" + " OR ".join(clauses) + ")"


def _match(column: str, term: Term, end: str, params: list[Any]) -> str:
    if term.option is Option.BEGINS_WITH:
        return _prefixes(column, term.values, end, params)
    if term.option is Option.CONTAINS:
        params += term.values
        return "(" + " OR ".join(f"replace({column}, ?, '') <> {column}" for _ in term.values) + ")"
    params += term.values
    return f"{column} IN ({_marks(term.values)})"


def _term_clause(term: Term, alias: str, params: list[Any]) -> str:
    """The WHERE clause of one term; ``alias`` names the table of version settings."""
    if term.field in _VERSION_FIELDS:
        return _match(f"{alias}.{_VERSION_FIELDS[term.field]}", term, _TEXT_END, params)
    if term.field is Field.NAME:
        return _match("p.name", term, _NAME_END, params)
    if term.field is Field.PATH:
        clauses = []
        for path in term.values:
            if term.option is Option.ONE_LEVEL:
                clauses.append("p.parent = ?")
                params.append(path)
            elif path == "/":
                clauses.append("1 = 1")
            else:
                clauses.append(_prefixes("p.name", [path], _NAME_END, params))
        return "(" + " OR ".join(clauses) + ")"
    assert term.field is Field.TAG
    params.append(term.tag_key)
    clause = (
        "EXISTS (SELECT 1 FROM param_tags t WHERE t.account_id = p.account_id"
        " AND t.region = p.region AND t.name = p.name AND t.tag_key = ?"
    )
    if term.option is not Option.EXISTS:
        clause += " AND " + _match("t.tag_value", term, _TEXT_END, params)
    return clause + ")"


def _labelled(labels: Sequence[str], params: list[Any]) -> str:
    """The newest version of the row's parameter carrying one of ``labels`` (a subquery
    per row, on param_labels' primary key)."""
    params += labels
    return (
        "(SELECT MAX(l.version) FROM param_labels l WHERE l.account_id = p.account_id"
        f" AND l.region = p.region AND l.name = p.name AND l.label IN ({_marks(labels)}))"
    )


class ParamsSql(SqlHelpers):
    """The ``ParamsReadTx`` / ``ParamsWriteTx`` methods."""

    if TYPE_CHECKING:
        _lock_suffix: str  # " FOR UPDATE" in PostgreSQL write transactions (SqlTx)

    # reads -----------------------------------------------------------------------------
    def get_param_head(self, pid: ParamId) -> ParamHead | None:
        return self._head(pid, "")

    def _head(self, pid: ParamId, suffix: str) -> ParamHead | None:
        row = self._one(
            f"SELECT version, tier, created_at FROM params WHERE {_PK}{suffix}", _pk(pid)
        )
        return None if row is None else ParamHead(pid, int(row[0]), Tier(row[1]), dt(row[2]))

    def get_param_version(self, pid: ParamId, version: int | None) -> ParamVersion | None:
        if version is None:
            row = self._one(f"SELECT {VERSION_COLUMNS} FROM params WHERE {_PK}", _pk(pid))
        else:
            row = self._one(
                f"SELECT {VERSION_COLUMNS} FROM param_versions WHERE {_PK} AND version = ?",
                (*_pk(pid), version),
            )
        return None if row is None else _version_from_row(row)

    def get_param_by_label(self, pid: ParamId, label: str) -> ParamVersion | None:
        row = self._one(
            f"SELECT {VERSION_COLUMNS} FROM param_versions WHERE {_PK} AND version ="
            f" (SELECT version FROM param_labels WHERE {_PK} AND label = ?)",
            (*_pk(pid), *_pk(pid), label),
        )
        return None if row is None else _version_from_row(row)

    def list_param_versions(
        self, pid: ParamId, after: int | None, limit: int
    ) -> list[ParamVersion]:
        rows = self._all(
            f"SELECT {VERSION_COLUMNS} FROM param_versions WHERE {_PK} AND version > ?"
            " ORDER BY version LIMIT ?",
            (*_pk(pid), after or 0, limit),
        )
        labels: dict[int, list[str]] = {}
        for label, version in self._all(
            f"SELECT label, version FROM param_labels WHERE {_PK} ORDER BY label", _pk(pid)
        ):
            labels.setdefault(int(version), []).append(label)
        return [_version_from_row(r, tuple(labels.get(int(r[3]), ()))) for r in rows]

    def param_version_labels(self, pid: ParamId, version: int) -> list[str]:
        rows = self._all(
            f"SELECT label FROM param_labels WHERE {_PK} AND version = ? ORDER BY label",
            (*_pk(pid), version),
        )
        return [str(r[0]) for r in rows]

    def param_version_span(self, pid: ParamId) -> tuple[int, int]:
        row = self._one(
            f"SELECT COUNT(*), COALESCE(MIN(version), 0) FROM param_versions WHERE {_PK}",
            _pk(pid),
        )
        return int(row[0]), int(row[1])

    def query_params(self, query: ParamQuery) -> tuple[list[ParamVersion], str | None]:
        labels = [v for t in query.terms if t.field is Field.LABEL for v in t.values]
        head_terms = [t for t in query.terms if t.field is not Field.LABEL]
        params: list[Any] = []
        if labels:  # names and labelled version numbers first, then those versions
            select = f"p.name, {_labelled(labels, params)}"
            head_terms = [t for t in head_terms if t.field not in _VERSION_FIELDS]
        else:
            select = _P_COLUMNS
        where = ["p.account_id = ?", "p.region = ?"]
        params += [query.account_id, query.region]
        if query.path is not None and not query.recursive:
            where.append("p.parent = ?")
            params.append(query.path)
        elif query.path is not None and query.path != "/":
            where.append(_prefixes("p.name", [query.path], _NAME_END, params))
        if query.after is not None:
            where.append("p.name > ?")
            params.append(query.after)
        where += [_term_clause(term, "p", params) for term in head_terms]
        if labels:
            where.append(f"{_labelled(labels, params)} IS NOT NULL")
        params.append(query.limit + 1)
        rows = self._all(
            f"SELECT {select} FROM params p WHERE {' AND '.join(where)} ORDER BY p.name LIMIT ?",
            params,
        )
        more = len(rows) > query.limit
        rows = rows[: query.limit]
        after = str(rows[-1][2 if not labels else 0]) if more else None
        if not labels:
            return [_version_from_row(r) for r in rows], after
        return self._labelled_versions(query, [(str(r[0]), int(r[1])) for r in rows]), after

    def _labelled_versions(
        self, query: ParamQuery, keys: list[tuple[str, int]]
    ) -> list[ParamVersion]:
        """Those versions, filtered by the version terms (a page may come out shorter)."""
        if not keys:
            return []
        params: list[Any] = [query.account_id, query.region]
        for name, version in keys:
            params += [name, version]
        wanted = " OR ".join("(v.name = ? AND v.version = ?)" for _ in keys)
        where = [f"v.account_id = ? AND v.region = ? AND ({wanted})"]
        where += [_term_clause(t, "v", params) for t in query.terms if t.field in _VERSION_FIELDS]
        rows = self._all(
            f"SELECT {VERSION_COLUMNS} FROM param_versions v WHERE {' AND '.join(where)}"
            " ORDER BY v.name",
            params,
        )
        return [_version_from_row(r) for r in rows]

    def get_param_tags(self, pid: ParamId) -> dict[str, str]:
        rows = self._all(
            f"SELECT tag_key, tag_value FROM param_tags WHERE {_PK} ORDER BY tag_key", _pk(pid)
        )
        return {str(r[0]): str(r[1]) for r in rows}

    def count_params(self, account_id: str, region: str, tier: Tier) -> int:
        row = self._one(
            "SELECT COUNT(*) FROM params WHERE account_id = ? AND region = ? AND tier = ?",
            (account_id, region, tier.value),
        )
        return int(row[0])

    # writes ----------------------------------------------------------------------------
    def lock_param(self, pid: ParamId) -> ParamHead | None:
        return self._head(pid, self._lock_suffix)

    def insert_param(self, head: ParamHead, first: ParamVersion) -> None:
        try:
            self._exec(
                f"INSERT INTO params ({VERSION_COLUMNS}, parent, created_at)"
                f" VALUES ({_marks(range(17))})",
                (*_version_row(first), parent_path(head.id.name), to_micros(head.created_at)),
            )
        except self._integrity_errors as exc:
            raise AlreadyExistsError(ParameterAlreadyExistsError().message) from exc
        self._insert_version(first)

    def _insert_version(self, version: ParamVersion) -> None:
        self._exec(
            f"INSERT INTO param_versions ({VERSION_COLUMNS}) VALUES ({_marks(range(15))})",
            _version_row(version),
        )

    def add_param_version(self, version: ParamVersion) -> None:
        self._insert_version(version)
        row = _version_row(version)
        self._exec(f"UPDATE params SET {_CURRENT} WHERE {_PK}", (*row[3:], *row[:3]))

    def delete_param_version(self, pid: ParamId, version: int) -> None:
        self._exec(f"DELETE FROM param_versions WHERE {_PK} AND version = ?", (*_pk(pid), version))

    def delete_param(self, pid: ParamId) -> bool:
        # The foreign keys cascade to versions, labels and tags.
        self._exec(f"DELETE FROM params WHERE {_PK}", _pk(pid))
        return bool(self._cur.rowcount > 0)

    def put_param_labels(self, pid: ParamId, version: int, labels: Sequence[str]) -> None:
        for label in labels:
            self._exec(
                "INSERT INTO param_labels (account_id, region, name, label, version)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (account_id, region, name, label)"
                " DO UPDATE SET version = excluded.version",
                (*_pk(pid), label, version),
            )

    def remove_param_labels(self, pid: ParamId, version: int, labels: Sequence[str]) -> None:
        if labels:
            self._exec(
                f"DELETE FROM param_labels WHERE {_PK} AND version = ?"
                f" AND label IN ({_marks(labels)})",
                (*_pk(pid), version, *labels),
            )

    def set_param_tags(self, pid: ParamId, tags: Mapping[str, str]) -> None:
        for tag_key, tag_value in tags.items():
            self._exec(
                "INSERT INTO param_tags (account_id, region, name, tag_key, tag_value)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (account_id, region, name, tag_key)"
                " DO UPDATE SET tag_value = excluded.tag_value",
                (*_pk(pid), tag_key, tag_value),
            )

    def remove_param_tags(self, pid: ParamId, tag_keys: Sequence[str]) -> None:
        if tag_keys:
            self._exec(
                f"DELETE FROM param_tags WHERE {_PK} AND tag_key IN ({_marks(tag_keys)})",
                (*_pk(pid), *tag_keys),
            )
