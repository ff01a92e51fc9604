"""Tags of parameters: AddTagsToResource, RemoveTagsFromResource, ListTagsForResource
with ResourceType ``Parameter`` (the other SSM resource types are not served)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from cofre.core.iam.principals import Caller
from cofre.core.params.parameters import ParamId, canonical_name
from cofre.core.params.tiers import check_tags
from cofre.errors import CofreError, InvalidResourceIdError, InvalidResourceTypeError
from cofre.service.authz.authorizer import Authorizer
from cofre.service.params.common import authorize
from cofre.service.ports import ReadTx, Storage

PARAMETER = "Parameter"


def _resource(caller: Caller, resource_type: str, resource_id: str) -> ParamId:
    if resource_type != PARAMETER:
        raise InvalidResourceTypeError(
            f"The resource type {resource_type[:40]} is not supported by Cofre; only Parameter is."
        )
    try:
        return ParamId(caller.account_id, caller.region, canonical_name(resource_id))
    except CofreError as exc:
        raise InvalidResourceIdError("The resource ID isn't valid.") from exc


def _existing(tx: ReadTx, pid: ParamId) -> None:
    if tx.get_param_head(pid) is None:
        raise InvalidResourceIdError("The resource ID isn't valid.")


class ParamTags:
    def __init__(self, storage: Storage, authorizer: Authorizer) -> None:
        self._storage = storage
        self._authorizer = authorizer

    def add_tags(
        self, caller: Caller, resource_type: str, resource_id: str, tags: Mapping[str, str]
    ) -> None:
        pid = _resource(caller, resource_type, resource_id)
        authorize(self._authorizer, caller, "ssm:AddTagsToResource", pid.arn)
        with self._storage.write() as tx:
            if tx.lock_param(pid) is None:
                raise InvalidResourceIdError("The resource ID isn't valid.")
            check_tags(tx.get_param_tags(pid), tags)
            tx.set_param_tags(pid, tags)

    def remove_tags(
        self, caller: Caller, resource_type: str, resource_id: str, tag_keys: Sequence[str]
    ) -> None:
        pid = _resource(caller, resource_type, resource_id)
        authorize(self._authorizer, caller, "ssm:RemoveTagsFromResource", pid.arn)
        with self._storage.write() as tx:
            if tx.lock_param(pid) is None:
                raise InvalidResourceIdError("The resource ID isn't valid.")
            tx.remove_param_tags(pid, list(dict.fromkeys(tag_keys)))

    def list_tags(self, caller: Caller, resource_type: str, resource_id: str) -> dict[str, str]:
        pid = _resource(caller, resource_type, resource_id)
        authorize(self._authorizer, caller, "ssm:ListTagsForResource", pid.arn)
        with self._storage.read() as tx:
            _existing(tx, pid)
            return tx.get_param_tags(pid)
