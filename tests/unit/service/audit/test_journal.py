"""The audit journal on real files and a real SQLite database: what is journaled reaches
the chain exactly once, whoever appends it; leftovers of a process that died are taken
in and deleted; a damaged journal is kept; a chain that stops taking records fails calls
closed."""

from __future__ import annotations

import base64
import dataclasses
import json
import logging
import os
import pickle
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from cofre.config import Settings
from cofre.container import Services
from cofre.core.audit.events import AuditCall
from cofre.core.audit.journal import JournalRecords, encode_calls, encode_records
from cofre.errors import AuditUnavailableError
from cofre.service.audit.models import botocore_model
from cofre.service.audit.records import RecordBuilder
from cofre.service.audit.trail import AuditTrail
from cofre.service.clock import ManualClock
from cofre.storage.audit_journal import FILE_BYTES, HEADER, JournalFiles, journal_dir
from tests.support import audit_db
from tests.unit.service.audit.test_trail import KEY, T0, encrypt_call

Outcome = list[BaseException | None]


def _settings(data_dir: Path, root_key: str) -> Settings:
    return Settings(
        data_dir=data_dir,
        root_key_b64=root_key,
        job_interval=3600,
        change_poll_interval=3600,
        audit_digest_interval=3600,
    )


@pytest.fixture
def root_key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


@pytest.fixture
def open_services(tmp_path: Path, root_key: str) -> Iterator[Callable[[], Services]]:
    """Services on one data directory, as many as asked for (processes of one node)."""
    opened: list[Services] = []

    def open_one() -> Services:
        services = Services.build(_settings(tmp_path / "data", root_key), clock=ManualClock(T0))
        opened.append(services)
        return services

    yield open_one
    for services in opened:
        services.close()


def _submit(trail: AuditTrail, calls: list[AuditCall]) -> Outcome:
    """Record each call (read-only: into the journal); the error of each, or None."""
    outcome: Outcome = []
    for call in calls:
        try:
            outcome.append(trail.record(call))  # journaled: no receipt
        except AuditUnavailableError as error:
            outcome.append(error)
    return outcome


def _journals(data_dir: Path) -> list[Path]:
    return sorted(journal_dir(data_dir).glob("*.journal"))


def _request_ids(services: Services) -> list[str]:
    return [
        event["requestID"] for event in audit_db.stored_events(services.settings.data_dir, None)
    ]


def test_journaled_records_reach_the_chain_and_the_journal_goes_at_close(
    open_services: Callable[[], Services],
) -> None:
    services = open_services()
    trail = services.audit
    assert _submit(trail, [encrypt_call(n) for n in range(5)]) == [None] * 5
    assert _submit(trail, [encrypt_call(5)]) == [None]
    [journal] = _journals(services.settings.data_dir)
    assert journal.read_bytes().count(b'"req-') == 6
    assert _request_ids(services) == []  # answered, not yet chained
    trail.settle()
    assert _request_ids(services) == [f"req-{n}" for n in range(6)]
    usage = trail.reads.key_last_usage(KEY)
    assert usage is not None and usage.request_id == "req-5"
    assert trail.reads.verify().ok
    services.close()
    assert _journals(services.settings.data_dir) == []  # all in, and its writer gone


def test_two_processes_append_each_record_once(open_services: Callable[[], Services]) -> None:
    first, second = open_services(), open_services()
    for n in range(40):
        _submit((first, second)[n % 2].audit, [encrypt_call(n)])
    assert len(_journals(first.settings.data_dir)) == 2
    racers = [threading.Thread(target=s.audit.settle) for s in (first, second) * 3]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join()
    assert sorted(_request_ids(first)) == sorted(f"req-{n}" for n in range(40))
    assert first.audit.reads.verify().ok


def _entries(*numbers: int) -> list[list[object]]:
    builder = RecordBuilder(botocore_model, os.urandom)
    return [builder.journal_entry(encrypt_call(n)) for n in numbers]


_DIE_AFTER_WRITING = """
import os, pickle, sys
from pathlib import Path
from cofre.storage.audit_journal import JournalFiles
files = JournalFiles(Path(sys.argv[1]), flush=False)
for frame in pickle.loads(sys.stdin.buffer.read()):
    files.append(frame)
os._exit(0)  # no clean-up: the file stays as the process left it
"""


def test_a_dead_writers_journal_is_taken_in_and_deleted_even_with_a_torn_tail(
    tmp_path: Path, open_services: Callable[[], Services]
) -> None:
    data_dir = tmp_path / "data"
    services = open_services()  # builds the schema; its trail builds the records
    frames = [encode_calls(_entries(0, 1)), encode_calls(_entries(2))]
    subprocess.run(
        [sys.executable, "-c", _DIE_AFTER_WRITING, str(journal_dir(data_dir))],
        input=pickle.dumps(frames), check=True, timeout=60,
    )  # fmt: skip
    [journal] = _journals(data_dir)
    start, end = JournalFiles(journal.parent, flush=False).extent(journal.name) or (0, 0)
    assert (start, end) == (HEADER.size, HEADER.size + sum(map(len, frames)))
    assert journal.stat().st_size == FILE_BYTES  # allocated whole, and never cut
    with journal.open("r+b") as torn:  # it died copying its next frame: the end never moved
        torn.seek(end)
        torn.write(encode_calls(_entries(3))[:40])
    services.audit.start(jobs=False)
    assert _request_ids(services) == ["req-0", "req-1", "req-2"]
    assert _journals(data_dir) == []
    assert services.audit.reads.verify().ok


def _earlier_journal(data_dir: Path, frames: bytes) -> Path:
    """A journal file as earlier versions wrote them: frames from the first byte."""
    journal = journal_dir(data_dir) / "0123456789abcdef.journal"
    journal.parent.mkdir(parents=True, exist_ok=True)
    journal.write_bytes(frames)
    return journal


def test_an_earlier_versions_journal_with_a_torn_tail_is_taken_in(
    tmp_path: Path, open_services: Callable[[], Services]
) -> None:
    data_dir = tmp_path / "data"
    services = open_services()
    whole = encode_calls(_entries(0, 1)) + encode_calls(_entries(2))
    _earlier_journal(data_dir, whole + encode_calls(_entries(3))[:40])
    services.audit.settle()
    assert _request_ids(services) == ["req-0", "req-1", "req-2"]
    assert _journals(data_dir) == []
    assert services.audit.reads.verify().ok


def test_a_journal_of_records_from_an_earlier_version_is_taken_in(
    tmp_path: Path, open_services: Callable[[], Services]
) -> None:
    data_dir = tmp_path / "data"
    services = open_services()
    records = JournalRecords()  # version 1 journals held finished records
    for n in range(3):
        RecordBuilder(botocore_model, os.urandom).render_into(records, encrypt_call(n))
    _earlier_journal(data_dir, encode_records(records))
    services.audit.settle()
    assert _request_ids(services) == ["req-0", "req-1", "req-2"]
    assert _journals(data_dir) == []
    assert services.audit.reads.verify().ok


def test_journaled_records_are_the_records_of_the_calls(
    open_services: Callable[[], Services],
) -> None:
    """A record built from the journal is the record the call itself gives, but for its
    event id: same bytes through the template and the general way alike."""
    services = open_services()
    calls = [encrypt_call(0), encrypt_call(1)]
    calls.append(dataclasses.replace(encrypt_call(2), error_code="AccessDeniedException",
                                     error_message="not allowed"))  # fmt: skip
    calls.append(dataclasses.replace(encrypt_call(3), extra={"note": "general way"}))
    _submit(services.audit, calls)
    services.audit.settle()
    stored = audit_db.stored_events(services.settings.data_dir, None)
    builder = RecordBuilder(botocore_model, os.urandom)
    for event, call in zip(stored, calls, strict=True):
        [(body, _)] = builder.prepared(call).entries
        expected = json.loads(body)
        assert event["eventID"] != expected.pop("eventID")
        event.pop("eventID")
        assert event == expected


def test_a_damaged_journal_stops_and_is_kept(
    tmp_path: Path, open_services: Callable[[], Services], caplog: pytest.LogCaptureFixture
) -> None:
    data_dir = tmp_path / "data"
    services = open_services()
    files = JournalFiles(journal_dir(data_dir), flush=False)
    frames = [encode_calls(_entries(n)) for n in range(3)]
    garbled = bytearray(frames[1])
    garbled[-5] ^= 0x01
    for frame in (frames[0], bytes(garbled), frames[2]):
        files.append(frame)
    with caplog.at_level(logging.ERROR):
        services.audit.settle()  # its writer is there: maybe a frame seen before its bytes
        assert _request_ids(services) == ["req-0"]  # up to the damage, and no further
        assert "damaged frame" not in caplog.text
        files.close()
        services.audit.settle()  # no writer: the damage is there to stay
    assert _request_ids(services) == ["req-0"]
    assert len(_journals(data_dir)) == 1
    assert caplog.text.count("damaged frame") == 1


def test_calls_fail_closed_while_the_chain_takes_nothing(
    tmp_path: Path, root_key: str, open_services: Callable[[], Services]
) -> None:
    services = open_services()
    trail = AuditTrail(
        services.storage,
        services.clock,
        os.urandom,
        services.keyring,  # the store's keyring (its MACs are the trail's)
        botocore_model,  # type: ignore[arg-type]
        journal=JournalFiles(journal_dir(tmp_path / "data"), flush=False),
        max_backlog=1200,
        backlog_check=1,
    )
    try:
        assert _submit(trail, [encrypt_call(0)]) == [None]
        audit_db.block_audit(tmp_path / "data", None, True)
        trail.settle()  # fails: the database refuses segments
        assert _submit(trail, [encrypt_call(n) for n in range(1, 4)]) == [None] * 3
        trail.settle()  # fails again, and sees the backlog: now over 1200 bytes behind
        [error] = _submit(trail, [encrypt_call(4)])
        assert isinstance(error, AuditUnavailableError)
        audit_db.block_audit(tmp_path / "data", None, False)
        trail.settle()  # appends, and sees the backlog gone
        assert _submit(trail, [encrypt_call(5)]) == [None]
        trail.settle()
        assert _request_ids(services) == ["req-0", "req-1", "req-2", "req-3", "req-5"]
    finally:
        trail.close()


def test_a_call_whose_entry_cannot_be_written_fails_alone(
    open_services: Callable[[], Services],
) -> None:
    services = open_services()
    huge = dataclasses.replace(
        encrypt_call(1), operation="GenerateRandom", params={"NumberOfBytes": 2**70}
    )  # an integer JSON cannot carry
    outcomes: dict[str, BaseException | None] = {}
    calls = [encrypt_call(0), huge, encrypt_call(2)]
    for call, error in zip(calls, _submit(services.audit, calls), strict=True):
        outcomes[call.request_id] = error
    assert outcomes["req-0"] is None and outcomes["req-2"] is None
    assert isinstance(outcomes["req-1"], AuditUnavailableError)
    with pytest.raises(AuditUnavailableError):
        services.audit.record(huge)
    services.audit.settle()
    assert _request_ids(services) == ["req-0", "req-2"]
