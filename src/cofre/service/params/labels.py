"""Parameter Store label writes: LabelParameterVersion and UnlabelParameterVersion. Every
change goes to the parameters' change sink inside its transaction, as writes do.

Labels follow AWS's rules: at most 100 characters of letters, digits, ``. - _``, not
starting with a digit, ``aws`` or ``ssm`` (others are returned as InvalidLabels); at most
ten per version; a label is on one version of a parameter at a time, so attaching it to
another version moves it.
"""

from __future__ import annotations

from collections.abc import Sequence

from cofre.core.iam.principals import Caller
from cofre.core.params.parameters import (
    MAX_LABELS_PER_VERSION,
    ChangeOperation,
    ParamChange,
    ParamId,
    ParamVersion,
    canonical_name,
    is_valid_label,
)
from cofre.errors import ParameterVersionLabelLimitExceededError
from cofre.service.authz.authorizer import Authorizer
from cofre.service.params.common import (
    NO_PARAM_CHANGES,
    authorize,
    not_found,
    version_not_found,
)
from cofre.service.ports import Clock, ParamChangeSink, Storage, WriteTx


class ParamLabels:
    def __init__(
        self,
        storage: Storage,
        authorizer: Authorizer,
        clock: Clock,
        changes: ParamChangeSink = NO_PARAM_CHANGES,
    ) -> None:
        self._storage = storage
        self._authorizer = authorizer
        self._clock = clock
        self._changes = changes

    def label_parameter_version(
        self, caller: Caller, name: str, version: int | None, labels: Sequence[str]
    ) -> tuple[list[str], int]:
        """(invalid labels, the version labelled). Labels already on another version move."""
        pid = ParamId(caller.account_id, caller.region, canonical_name(name))
        authorize(self._authorizer, caller, "ssm:LabelParameterVersion", pid.arn)
        wanted = list(dict.fromkeys(labels))
        invalid = [label for label in wanted if not is_valid_label(label)]
        valid = [label for label in wanted if is_valid_label(label)]
        with self._storage.write() as tx:
            target = self._version(tx, pid, version)
            attached = tx.param_version_labels(pid, target.version)
            added = [label for label in valid if label not in attached]
            if len(attached) + len(added) > MAX_LABELS_PER_VERSION:
                raise ParameterVersionLabelLimitExceededError(
                    "A parameter version can have maximum 10 labels. Move one or more labels"
                    " to another version and try again."
                )
            if added:
                tx.put_param_labels(pid, target.version, added)
                self._changes.parameter_changed(
                    tx,
                    ParamChange(
                        ChangeOperation.LABEL,
                        pid,
                        target.type,
                        target.version,
                        target.description,
                        self._clock.now(),
                        tuple(added),
                    ),
                )
        return invalid, target.version

    def unlabel_parameter_version(
        self, caller: Caller, name: str, version: int, labels: Sequence[str]
    ) -> tuple[list[str], list[str]]:
        """(removed labels, invalid labels: those not on that version)."""
        pid = ParamId(caller.account_id, caller.region, canonical_name(name))
        authorize(self._authorizer, caller, "ssm:UnlabelParameterVersion", pid.arn)
        wanted = list(dict.fromkeys(labels))
        with self._storage.write() as tx:
            target = self._version(tx, pid, version)
            attached = set(tx.param_version_labels(pid, target.version))
            removed = [label for label in wanted if label in attached]
            if removed:
                tx.remove_param_labels(pid, target.version, removed)
                self._changes.parameter_changed(
                    tx,
                    ParamChange(
                        ChangeOperation.UNLABEL,
                        pid,
                        target.type,
                        target.version,
                        target.description,
                        self._clock.now(),
                        tuple(removed),
                    ),
                )
        return removed, [label for label in wanted if label not in attached]

    @staticmethod
    def _version(tx: WriteTx, pid: ParamId, version: int | None) -> ParamVersion:
        head = tx.lock_param(pid)
        if head is None:
            raise not_found(pid.name)
        found = tx.get_param_version(pid, head.version if version is None else version)
        if found is None:
            raise version_not_found(pid.name, version if version is not None else head.version)
        return found
