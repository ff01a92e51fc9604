"""Aliases and tags of KMS keys."""

from __future__ import annotations

from collections.abc import Sequence

from cofre.core.iam.principals import Caller
from cofre.core.ids import (
    ALIAS_NAME_RE,
    AWS_ALIAS_PREFIX,
    alias_arn,
    key_row_id,
)
from cofre.core.kms.keys import Alias, StateRule
from cofre.errors import KeyStateError, NotAuthorizedError, NotFoundError, ValidationError
from cofre.service.authz.authorizer import Request
from cofre.service.kms.resolver import KeyResolver
from cofre.service.kms.tags import Tags, new_tags
from cofre.service.pagination import Page, decode_marker, decode_offset, encode_marker, first_page
from cofre.service.ports import ReadTx

MAX_ALIAS_LIST = 100


def _check_alias_name(name: str) -> None:
    """AWS's checks of an AliasName beyond the model's pattern (``^[a-zA-Z0-9:/_-]+$``,
    checked before the request gets here): the ``alias/`` prefix, no ``:``, and
    ``alias/aws/`` reserved (NotAuthorizedException, with no message)."""
    if not name.startswith("alias/"):
        raise ValidationError(
            'Alias must start with the prefix "alias/". Please see'
            " https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html"
        )
    if ALIAS_NAME_RE.fullmatch(name) is None:  # a ":" (the model's pattern lets it pass)
        raise ValidationError(
            "Alias names can contain only alphanumeric characters, forward slashes (/),"
            " underscores (_), and dashes (-)."
        )
    if name.startswith(AWS_ALIAS_PREFIX):
        raise NotAuthorizedError()


def _check_target(target_key_id: str) -> None:
    """An alias points at a key, never at another alias."""
    if target_key_id.startswith("alias/") or ":alias/" in target_key_id:
        raise ValidationError("Aliases must refer to keys. Not aliases")


class AliasService:
    def __init__(self, resolver: KeyResolver) -> None:
        self._r = resolver

    def create_alias(self, caller: Caller, alias_name: str, target_key_id: str) -> None:
        _check_alias_name(alias_name)
        _check_target(target_key_id)
        with self._r.storage.write() as tx:
            key = self._r.locked(
                tx, caller, target_key_id, Request("kms:CreateAlias"), StateRule.MANAGE
            )
            now = self._r.clock.now()
            tx.insert_alias(
                Alias(caller.account_id, caller.region, alias_name, key.key_id, now, now)
            )
        self._r.cache.invalidate("alias", f"{caller.account_id}/{caller.region}/{alias_name}")

    def update_alias(self, caller: Caller, alias_name: str, target_key_id: str) -> None:
        _check_alias_name(alias_name)
        _check_target(target_key_id)
        with self._r.storage.write() as tx:
            alias = self._existing(tx, caller, alias_name)
            old = tx.lock_key(key_row_id(alias.key_id, alias.region))
            key = self._r.locked(
                tx, caller, target_key_id, Request("kms:UpdateAlias"), StateRule.MANAGE
            )
            if old is not None and (old.key_usage, old.key_spec) != (key.key_usage, key.key_spec):
                raise KeyStateError(
                    "The new target key must have the same key usage and key spec as the old one."
                )
            tx.update_alias(
                Alias(
                    alias.account_id,
                    alias.region,
                    alias.name,
                    key.key_id,
                    alias.created_at,
                    self._r.clock.now(),
                )
            )
        self._r.cache.invalidate("alias", f"{caller.account_id}/{caller.region}/{alias_name}")

    def delete_alias(self, caller: Caller, alias_name: str) -> None:
        _check_alias_name(alias_name)
        with self._r.storage.write() as tx:
            alias = self._existing(tx, caller, alias_name)
            key = tx.lock_key(key_row_id(alias.key_id, alias.region))
            if key is not None:
                self._r.authorizer.authorize(caller, Request("kms:DeleteAlias"), key)
            tx.delete_alias(caller.account_id, caller.region, alias_name)
        self._r.cache.invalidate("alias", f"{caller.account_id}/{caller.region}/{alias_name}")

    def _existing(self, tx: ReadTx, caller: Caller, alias_name: str) -> Alias:
        alias = tx.get_alias(caller.account_id, caller.region, alias_name)
        if alias is None:
            arn = alias_arn(caller.region, caller.account_id, alias_name)
            raise NotFoundError(f"Alias {arn} is not found.")
        return alias

    def list_aliases(
        self, caller: Caller, key_id: str | None, limit: int | None, marker: str | None
    ) -> Page[Alias]:
        size = min(limit or 50, MAX_ALIAS_LIST)
        after = decode_marker(marker)
        with self._r.storage.read() as tx:
            target: str | None = None
            if key_id is not None:
                key = self._r.read(
                    tx, caller, key_id, Request("kms:ListAliases"), allow_alias=False
                )
                target = key.key_id
            else:
                self._r.authorizer.authorize(caller, Request("kms:ListAliases"), None)
            aliases = tx.list_aliases(caller.account_id, caller.region, target, after, size + 1)
        return first_page(aliases, size, lambda a: a.name)

    # tags ------------------------------------------------------------------------------
    def tag_resource(self, caller: Caller, key_id: str, tags: Tags) -> None:
        with self._r.storage.write() as tx:
            key = self._r.locked(tx, caller, key_id, Request("kms:TagResource"), StateRule.MANAGE)
            tx.set_tags(key.row_id, new_tags(tx.get_tags(key.row_id), tags))

    def untag_resource(self, caller: Caller, key_id: str, tag_keys: Sequence[str]) -> None:
        with self._r.storage.write() as tx:
            key = self._r.locked(tx, caller, key_id, Request("kms:UntagResource"), StateRule.MANAGE)
            tx.remove_tags(key.row_id, tag_keys)

    def list_resource_tags(
        self, caller: Caller, key_id: str, limit: int | None, marker: str | None
    ) -> Page[tuple[str, str]]:
        with self._r.storage.read() as tx:
            key = self._r.read(
                tx, caller, key_id, Request("kms:ListResourceTags"), allow_alias=False
            )
            tags = sorted(tx.get_tags(key.row_id).items())
        start = decode_offset(marker)
        size = limit or 50
        more = start + size < len(tags)
        return Page(tags[start : start + size], encode_marker(str(start + size)) if more else None)
