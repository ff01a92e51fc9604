"""Before a backup (or a usage report), the audit journals' records are brought into the
chain with the root key already there -- or, without one, the backlog is said."""

from __future__ import annotations

import base64
import secrets
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cofre.config import Settings
from cofre.container import Services
from cofre.core.audit.events import AuditCall
from cofre.core.iam.principals import Caller
from cofre.errors import SealError
from cofre.service.clock import SystemClock
from cofre.stores import NotAStoreError, open_existing_storage, settle_audit_journals

ACCOUNT, REGION = "111122223333", "us-east-1"
ROOT = Caller(ACCOUNT, f"arn:aws:iam::{ACCOUNT}:root", "AKIAEXAMPLE000000001", REGION)


def _journal_five(data_dir: Path, root_key: str) -> Services:
    """A store whose journal holds five Encrypt records the chain does not (the process
    that wrote them has not closed: nothing has appended them)."""
    services = Services.build(Settings(data_dir=data_dir, root_key_b64=root_key))
    for n in range(5):
        services.audit.record(AuditCall(datetime.now(UTC), "kms", "Encrypt", REGION, ROOT,
                                        f"req-{n}"))  # fmt: skip
    return services


def _head(settings: Settings) -> int:
    storage = open_existing_storage(settings, SystemClock(), read_only=False, current=True)
    try:
        with storage.read() as tx:
            return tx.audit_chain_state().head_seq
    finally:
        storage.close()


def test_the_journals_are_brought_in_with_the_root_key_there(tmp_path: Path) -> None:
    root_key = base64.b64encode(secrets.token_bytes(32)).decode()
    writer = _journal_five(tmp_path, root_key)
    try:
        settings = Settings(data_dir=tmp_path, root_key_b64=root_key)
        assert _head(settings) == 0
        storage = open_existing_storage(settings, SystemClock(), read_only=False, current=True)
        try:
            note = settle_audit_journals(settings, storage, SystemClock())
        finally:
            storage.close()
        assert note == "5 journaled audit records brought into the chain first"
        assert _head(settings) == 5
    finally:
        writer.close()


def test_without_a_root_key_the_backlog_is_said_and_nothing_is_made(tmp_path: Path) -> None:
    writer = _journal_five(tmp_path, base64.b64encode(secrets.token_bytes(32)).decode())
    try:
        settings = Settings(data_dir=tmp_path)  # no COFRE_ROOT_KEY, no root.key
        storage = open_existing_storage(settings, SystemClock(), read_only=False, current=True)
        try:
            note = settle_audit_journals(settings, storage, SystemClock())
        finally:
            storage.close()
        assert "bytes of audit journal are not in the chain yet, and not in this backup" in note
        assert not (tmp_path / "root.key").exists()
        assert _head(settings) == 0
    finally:
        writer.close()


def test_a_wrong_root_key_chains_nothing(tmp_path: Path) -> None:
    writer = _journal_five(tmp_path, base64.b64encode(secrets.token_bytes(32)).decode())
    try:
        other = base64.b64encode(secrets.token_bytes(32)).decode()
        settings = Settings(data_dir=tmp_path, root_key_b64=other)
        storage = open_existing_storage(settings, SystemClock(), read_only=False, current=True)
        try:
            with pytest.raises(SealError, match="not this store's root key"):
                settle_audit_journals(settings, storage, SystemClock())
        finally:
            storage.close()
        assert _head(settings) == 0
    finally:
        writer.close()


def test_no_store_no_backup(tmp_path: Path) -> None:
    with pytest.raises(NotAStoreError, match=r"no cofre\.db"):
        open_existing_storage(Settings(data_dir=tmp_path), SystemClock(), read_only=True,
                              current=False)  # fmt: skip
    assert list(tmp_path.iterdir()) == []
