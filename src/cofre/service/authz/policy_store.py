"""Parsed policies, identity policies and grants, cached for the authorization step.

Everything here is dropped when the change feed reports a change to what it was built
from ("iam" for an account's users, roles and policies; "grant" for a key's grants);
key policies are cached by their text, so a new policy text is simply a new entry.
Decisions cached by the authorizer are dropped on any change at all.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Generic, TypeVar

from cofre.core.iam.entities import OwnerKind
from cofre.core.iam.principals import Caller
from cofre.core.kms.grants import Grant
from cofre.core.policy import GrantRecord, Policy, PolicyKind, parse_policy
from cofre.service.ports import Storage

K = TypeVar("K")
V = TypeVar("V")


class Lru(Generic[K, V]):
    """A thread-safe LRU map of bounded size."""

    def __init__(self, max_entries: int) -> None:
        self._data: OrderedDict[K, V] = OrderedDict()
        self._max = max_entries
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            value = self._data.get(key)
            if value is not None:
                self._data.move_to_end(key)
            return value

    def put(self, key: K, value: V) -> None:
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self._max:
                self._data.popitem(last=False)

    def pop(self, key: K) -> None:
        with self._lock:
            self._data.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


def identity_owner(caller: Caller) -> tuple[OwnerKind, str] | None:
    """Whose identity policies apply to the caller: a user's, or the role of a session."""
    if caller.role_arn is not None:
        return OwnerKind.ROLE, caller.role_arn.rsplit("/", 1)[-1]
    if caller.user_name is not None:
        return OwnerKind.USER, caller.user_name
    return None


class PolicyStore:
    def __init__(self, storage: Storage, max_entries: int = 20_000) -> None:
        self._storage = storage
        self._parsed: Lru[tuple[str, PolicyKind], Policy] = Lru(max_entries)
        self._identity: Lru[tuple[str, OwnerKind, str], tuple[Policy, ...]] = Lru(max_entries)
        self._grants: Lru[str, tuple[GrantRecord, ...]] = Lru(max_entries)
        self._generation = 0
        self._lock = threading.Lock()

    @property
    def generation(self) -> int:
        """Bumped by every invalidation; a decision computed under an older one is stale."""
        return self._generation

    def parsed(self, text: str, kind: PolicyKind) -> Policy:
        """A policy document, parsed once (stored documents were validated when written)."""
        hit = self._parsed.get((text, kind))
        if hit is None:
            hit = parse_policy(text, kind)
            self._parsed.put((text, kind), hit)
        return hit

    def cacheable(self, generation: int) -> bool:
        """Whether what was read since ``generation`` may be cached: nothing changed
        meanwhile, and it was not read inside a transaction still open (uncommitted)."""
        return generation == self._generation and not self._storage.in_transaction()

    def identity_policies(self, caller: Caller) -> tuple[Policy, ...]:
        owner = identity_owner(caller)
        if owner is None:
            return ()
        ref = (caller.account_id, owner[0], owner[1])
        hit = self._identity.get(ref)
        if hit is not None:
            return hit
        generation = self._generation
        with self._storage.read() as tx:
            documents = tx.identity_documents(*ref)
        policies = tuple(self.parsed(d, PolicyKind.IDENTITY) for d in documents)
        if self.cacheable(generation):
            self._identity.put(ref, policies)
        return policies

    def grants(self, row_id: str) -> tuple[GrantRecord, ...]:
        """The grants of the key stored under ``row_id``."""
        hit = self._grants.get(row_id)
        if hit is not None:
            return hit
        generation = self._generation
        records: list[GrantRecord] = []
        after: str | None = None
        with self._storage.read() as tx:
            while True:
                page = tx.list_grants(row_id, after, 1000)
                records.extend(g.record() for g in page)
                if len(page) < 1000:
                    break
                after = page[-1].grant_id
        result = tuple(records)
        if self.cacheable(generation):
            self._grants.put(row_id, result)
        return result

    def fresh_grant(self, grant_id: str) -> Grant | None:
        """A grant read from the database, bypassing the cache (for grant tokens)."""
        with self._storage.read() as tx:
            return tx.get_grant(grant_id)

    # invalidation (a KeyCache listener) -----------------------------------------------
    def invalidate(self, kind: str, ref: str) -> None:
        with self._lock:
            self._generation += 1
        if kind == "iam":
            self._identity.clear()
        elif kind in ("grant", "key"):  # a deleted key takes its grants with it
            self._grants.pop(ref)

    def clear(self) -> None:
        with self._lock:
            self._generation += 1
        self._identity.clear()
        self._grants.clear()
