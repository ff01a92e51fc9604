"""``cofre audit``: verify the trail, export it, show the digest signing key.

These commands open an existing store (the data directory, and the database) with the
same root key as ``cofre serve``, and may run while a server is serving: they only read.
They refuse a directory or database that holds no initialised store, and never create or
write a key, a file or a row there. Calls a running server has journaled but not yet
appended to the chain are reported, not appended (the server does that).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import click

from cofre.config import Settings
from cofre.core.audit.verify import VerifyReport
from cofre.errors import CofreError
from cofre.service.audit.export import FORMATS, export_trail
from cofre.stores import ExistingStore, open_existing

_DATA_DIR = click.option(
    "--data-dir",
    default="./data",
    show_default=True,
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="The data directory of the server (root key, SQLite database).",
)
_DATABASE = click.option(
    "--database", default=None, help="postgresql://... (default: SQLite in the data dir)."
)


@contextmanager
def _store(data_dir: Path, database: str | None) -> Iterator[ExistingStore]:
    settings = Settings.with_environment(data_dir=data_dir.resolve(), database=database)
    try:
        store = open_existing(settings)
    except CofreError as error:
        click.echo(f"cofre: cannot open the store: {error.message}", err=True)
        sys.exit(2)
    try:
        yield store
    finally:
        store.close()


def _time(value: str | None, option: str) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter("give an ISO 8601 time", param_hint=option) from exc
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _summary(report: VerifyReport) -> str:
    if report.events == 0:
        span = "no events"
    else:
        span = f"{report.events} events, seq {report.first_seq}..{report.last_seq}"
    if report.anchor_seq:
        span += f" (pruned through seq {report.anchor_seq})"
    signed = f"{report.digests} signed digests, signed through seq {report.signed_through}"
    return f"{span}; {signed}"


@click.group()
def audit() -> None:
    """The audit trail: verify, export, public key."""


@audit.command()
@_DATA_DIR
@_DATABASE
@click.option(
    "--max-problems",
    default=20,
    show_default=True,
    type=click.IntRange(1),
    help="Stop after reporting this many problems (the exit status is 1 either way).",
)
def verify(data_dir: Path, database: str | None, max_problems: int) -> None:
    """Check the whole trail: hash chain, MACs, lookup columns, signed digests.

    Exit status 0 when intact; 1 naming the first altered, inserted, deleted or
    reordered event (seq, eventID, what is wrong) otherwise.
    """
    with _store(data_dir, database) as store:
        report = store.reads.verify(max_problems=max_problems)
        backlog = store.journal_backlog
    if backlog:
        click.echo(
            f"note: {backlog} bytes of calls are journaled but not yet in the chain (a running"
            " server appends them; a stopped one on its next start): not verified here"
        )
    if report.ok:
        click.echo(f"audit trail intact: {_summary(report)}")
        if report.last_seq is not None and report.signed_through < report.last_seq:
            click.echo(
                f"note: events after seq {report.signed_through} are not yet covered by a"
                " signed digest"
            )
        return
    click.echo(f"audit trail BROKEN: {report.problem_count} problem(s); {_summary(report)}")
    first = report.first_problem
    assert first is not None
    click.echo(f"first problem: {first}")
    for problem in report.problems[1:]:
        click.echo(f"  {problem}")
    if report.problem_count > len(report.problems):
        click.echo(f"  ... and {report.problem_count - len(report.problems)} more")
    sys.exit(1)


@audit.command()
@_DATA_DIR
@_DATABASE
@click.option(
    "--output",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder to write into (created; existing files are never overwritten).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="jsonl",
    show_default=True,
    help="jsonl: one event per line; cloudtrail: gzip files in CloudTrail's S3 layout.",
)
@click.option(
    "--since",
    default=None,
    help="ISO 8601 time, UTC unless it names a zone: events at or after it (default: all).",
)
@click.option(
    "--until",
    default=None,
    help="ISO 8601 time, UTC unless it names a zone: events before it (default: all).",
)
def export(
    data_dir: Path,
    database: str | None,
    output: Path,
    fmt: str,
    since: str | None,
    until: str | None,
) -> None:
    """Write events as JSON Lines, or gzip files in CloudTrail's layout, for a SIEM."""
    start, end = _time(since, "--since"), _time(until, "--until")
    with _store(data_dir, database) as store:
        try:
            summary = export_trail(
                store.reads, store.storage, output, fmt=fmt, since=start, until=end
            )
        except FileExistsError as error:
            click.echo(f"cofre: {error.filename} exists; not overwriting", err=True)
            sys.exit(1)
    if summary.events == 0:
        click.echo("no events in that range")
        return
    click.echo(
        f"exported {summary.events} events (seq {summary.first_seq}..{summary.last_seq})"
        f" to {len(summary.files)} files in {output}"
    )


@audit.command("public-key")
@_DATA_DIR
@_DATABASE
def public_key(data_dir: Path, database: str | None) -> None:
    """Print the PEM of the key that signs the digests (Ed25519)."""
    with _store(data_dir, database) as store:
        pem = store.signing.public_key_pem()
    if pem is None:
        click.echo("cofre: no digest has been signed yet, so there is no key", err=True)
        sys.exit(1)
    click.echo(pem, nl=False)
