"""A real SQLite store per test (a copy of one migrated once: migrating costs more than
the test) and the ``file`` seal's root key in the test's directory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cofre.service.seal.files import FileRoot
from cofre.service.seal.keeper import SealAccess
from cofre.storage.sqlite import SqliteStorage
from tests.unit.service.seal.support import T0, copy_store


@pytest.fixture(scope="session")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("seal-template") / "cofre.db"
    storage = SqliteStorage(path, lambda: T0)
    storage.migrate()
    storage.close()
    return path


@pytest.fixture
def storage(migrated: Path, tmp_path: Path) -> Iterator[SqliteStorage]:
    opened = copy_store(migrated, tmp_path / "cofre.db")
    yield opened
    opened.close()


@pytest.fixture
def access(tmp_path: Path) -> SealAccess:
    return SealAccess(FileRoot.in_dir(tmp_path, None))
