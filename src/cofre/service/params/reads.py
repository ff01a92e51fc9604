"""Parameter Store reads: GetParameter(s), GetParametersByPath, GetParameterHistory,
DescribeParameters.

Reads go to the database every time (one query for GetParameter); there is no parameter
cache to keep coherent across processes. Each operation is authorized on its own SSM
action, as AWS does; GetParametersByPath is authorized on the path and, in Cofre, returns
only the parameters the caller may also read with GetParameter (ADR 0009).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cofre.core.iam.principals import Caller
from cofre.core.params.filters import (
    Operation,
    ParamQuery,
    check_filters,
    legacy_terms,
)
from cofre.core.params.parameters import (
    ParamId,
    ParamVersion,
    Reference,
    canonical_path,
    parse_reference,
    path_arn,
)
from cofre.errors import (
    CofreError,
    ParameterNotFoundError,
    ParameterVersionNotFoundError,
    ValidationError,
)
from cofre.service.authz.authorizer import Authorizer
from cofre.service.params.common import (
    allowed,
    authorize,
    decode_token,
    decode_version_token,
    encode_token,
    param_id,
    shown_value,
    version_not_found,
)
from cofre.service.params.secure import SecureStrings
from cofre.service.ports import ReadTx, Storage

BY_PATH_PAGE = 10
HISTORY_PAGE = 50
DESCRIBE_PAGE = 50


@dataclass(frozen=True, slots=True)
class Found:
    """A parameter version as a read returns it, its value ready to show."""

    version: ParamVersion
    value: str
    selector: str | None = None
    name: str | None = None  # the name as asked, when it is not the stored one ("/foo")


@dataclass(frozen=True, slots=True)
class Listed:
    items: list[Found]
    next_token: str | None


class ParamQueries:
    def __init__(self, storage: Storage, authorizer: Authorizer, secure: SecureStrings) -> None:
        self._storage = storage
        self._authorizer = authorizer
        self._secure = secure

    def _show(self, caller: Caller, version: ParamVersion, decrypt: bool) -> str:
        return shown_value(self._secure, caller, version, decrypt)

    @staticmethod
    def _lookup(tx: ReadTx, pid: ParamId, ref: Reference) -> ParamVersion:
        if ref.version is not None:
            found = tx.get_param_version(pid, ref.version)
        elif ref.label is not None:
            found = tx.get_param_by_label(pid, ref.label)
        else:
            found = tx.get_param_version(pid, None)
        if found is not None:
            return found
        if ref.selector is None or tx.get_param_head(pid) is None:
            raise ParameterNotFoundError("")
        raise version_not_found(pid.name, ref.selector[1:])

    # GetParameter(s) -------------------------------------------------------------------
    def get_parameter(self, caller: Caller, name: str, decrypt: bool) -> Found:
        ref = parse_reference(name, allow_arn=True, allow_selector=True)
        pid = param_id(caller, ref)
        authorize(self._authorizer, caller, "ssm:GetParameter", pid.arn)
        with self._storage.read() as tx:
            version = self._lookup(tx, pid, ref)
        return Found(version, self._show(caller, version, decrypt), ref.selector, ref.shown_name)

    def get_parameters(
        self, caller: Caller, names: Sequence[str], decrypt: bool
    ) -> tuple[list[Found], list[str]]:
        """(found, invalid): invalid names are malformed, absent, or their version is."""
        refs: list[tuple[str, Reference, ParamId]] = []
        invalid: list[str] = []
        for name in dict.fromkeys(names):
            try:
                ref = parse_reference(name, allow_arn=True, allow_selector=True)
                refs.append((name, ref, param_id(caller, ref)))
            except CofreError:
                invalid.append(name)
        for _, _, pid in refs:
            authorize(self._authorizer, caller, "ssm:GetParameters", pid.arn)
        versions: list[tuple[ParamVersion, Reference]] = []
        with self._storage.read() as tx:
            for name, ref, pid in refs:
                try:
                    versions.append((self._lookup(tx, pid, ref), ref))
                except (ParameterNotFoundError, ParameterVersionNotFoundError):
                    invalid.append(name)
        found = [
            Found(v, self._show(caller, v, decrypt), ref.selector, ref.shown_name)
            for v, ref in versions
        ]
        return found, invalid

    # GetParametersByPath ---------------------------------------------------------------
    def get_parameters_by_path(
        self,
        caller: Caller,
        path: str,
        *,
        recursive: bool = False,
        filters: Sequence[Mapping[str, Any]] | None = None,
        decrypt: bool = False,
        max_results: int | None = None,
        next_token: str | None = None,
    ) -> Listed:
        level = canonical_path(path)
        terms = check_filters(filters, Operation.BY_PATH)
        given = path.strip(" ")
        authorize(
            self._authorizer,
            caller,
            "ssm:GetParametersByPath",
            path_arn(caller.region, caller.account_id, given),
        )
        query = ParamQuery(
            caller.account_id,
            caller.region,
            max_results or BY_PATH_PAGE,
            level,
            recursive,
            terms,
            decode_token(next_token),
        )
        with self._storage.read() as tx:
            page, after = tx.query_params(query)
        readable = [
            v for v in page if allowed(self._authorizer, caller, "ssm:GetParameter", v.id.arn)
        ]
        token = None if after is None else encode_token(after)
        return Listed([Found(v, self._show(caller, v, decrypt)) for v in readable], token)

    # GetParameterHistory ---------------------------------------------------------------
    def get_parameter_history(
        self,
        caller: Caller,
        name: str,
        *,
        decrypt: bool = False,
        max_results: int | None = None,
        next_token: str | None = None,
    ) -> Listed:
        ref = parse_reference(name, allow_arn=True, allow_selector=False)
        pid = param_id(caller, ref)
        authorize(self._authorizer, caller, "ssm:GetParameterHistory", pid.arn)
        size = max_results or HISTORY_PAGE
        after = decode_version_token(next_token)
        with self._storage.read() as tx:
            if tx.get_param_head(pid) is None:
                raise ParameterNotFoundError("")
            rows = tx.list_param_versions(pid, after, size + 1)
        page = rows[:size]
        token = encode_token(str(page[-1].version)) if len(rows) > size else None
        return Listed([Found(v, self._show(caller, v, decrypt)) for v in page], token)

    # DescribeParameters ----------------------------------------------------------------
    def describe_parameters(
        self,
        caller: Caller,
        *,
        filters: Sequence[Mapping[str, Any]] | None = None,
        parameter_filters: Sequence[Mapping[str, Any]] | None = None,
        max_results: int | None = None,
        next_token: str | None = None,
        shared: bool = False,
    ) -> tuple[list[ParamVersion], str | None]:
        if filters and parameter_filters:
            raise ValidationError(
                "You can use either Filters or ParameterFilters in a single request."
            )
        terms = (
            legacy_terms(filters)
            if filters
            else check_filters(parameter_filters, Operation.DESCRIBE)
        )
        authorize(self._authorizer, caller, "ssm:DescribeParameters", "*")
        after = decode_token(next_token)
        if shared:  # Cofre does not share parameters between accounts
            return [], None
        query = ParamQuery(
            caller.account_id, caller.region, max_results or DESCRIBE_PAGE, terms=terms, after=after
        )
        with self._storage.read() as tx:
            page, last = tx.query_params(query)
        return page, None if last is None else encode_token(last)
