"""Helpers of the seal tests: a copy of a migrated store, a node starting on a store, and
randomness that lets another writer act at the moment a keeper is between reading the
seal record and writing the next one."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from cofre.service.seal.keeper import SealAccess, SealKeeper
from cofre.service.seal.keyring import Keyring
from cofre.storage.sqlite import SqliteStorage

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def copy_store(template: Path, path: Path) -> SqliteStorage:
    """A store at ``path``, as ``template`` (a migrated, closed database) holds it."""
    shutil.copyfile(template, path)
    return SqliteStorage(path, lambda: T0)


def node(
    storage: SqliteStorage, access: SealAccess, random: Callable[[int], bytes] = os.urandom
) -> tuple[SealKeeper, Keyring]:
    """A node starting on the store: its keeper, opened, and its keyring."""
    keyring = Keyring()
    keeper = SealKeeper(storage, keyring, access, random)
    keeper.open()
    return keeper, keyring


def unsealed(
    storage: SqliteStorage, access: SealAccess, keys: list[str]
) -> tuple[SealKeeper, Keyring]:
    """A node starting on a shamir store, unsealed with ``keys``."""
    keeper, keyring = node(storage, access)
    for text in keys:
        keeper.submit_share(text)
    assert not keyring.sealed
    return keeper, keyring


class Racing:
    """``os.urandom`` that, once armed, first lets ``other_writer`` act (once)."""

    def __init__(self, other_writer: Callable[[], object]) -> None:
        self._other_writer = other_writer
        self.armed = False

    def __call__(self, size: int) -> bytes:
        if self.armed:
            self.armed = False
            self._other_writer()
        return os.urandom(size)
