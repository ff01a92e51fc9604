"""What a metrics scrape reports of the store and the node: keys by state and spec,
rotations done, the webhook outbox, the audit journal's backlog, the seal, the database
pool. Read when a scrape asks (a few aggregate queries), never per request.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from cofre.service.ports import Storage


@dataclass(frozen=True, slots=True)
class NodeState:
    keys: list[tuple[str, str, int]]  # (state, key spec, count)
    rotations: int  # backing versions made by rotations, still held
    outbox: int  # webhook deliveries waiting
    audit_backlog: int  # journaled bytes not yet in the chain
    sealed: bool
    pool: Mapping[str, int] = field(default_factory=dict)  # the database pool, if any


class NodeStats:
    def __init__(
        self,
        storage: Storage,
        sealed: Callable[[], bool],
        audit_backlog: Callable[[], int],
        pool: Callable[[], Mapping[str, int]] | None = None,
    ) -> None:
        self._storage = storage
        self._sealed = sealed
        self._audit_backlog = audit_backlog
        self._pool = pool

    def pool(self) -> Mapping[str, int]:
        """This process's database pool (empty on SQLite): cheap, no query."""
        return {} if self._pool is None else self._pool()

    def read(self) -> NodeState:
        """The node's state now (blocks: a thread of the pool)."""
        with self._storage.read() as tx:
            keys = tx.key_counts()
            rotations = tx.rotation_count()
            outbox = tx.delivery_count()
        return NodeState(
            keys, rotations, outbox, self._audit_backlog(), self._sealed(), self.pool()
        )
