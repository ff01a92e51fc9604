"""``cofre audit``: verify the trail, export it, show the digest signing key.

These commands open the data directory (and the database) the way ``cofre serve`` does,
with the same root key, and may run while a server is serving: they only read.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import click

from cofre.config import Settings
from cofre.container import Services
from cofre.core.audit.verify import VerifyReport
from cofre.errors import CofreError
from cofre.service.audit.export import FORMATS, export_trail

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
def _services(data_dir: Path, database: str | None) -> Iterator[Services]:
    settings = Settings.with_environment(data_dir=data_dir.resolve(), database=database)
    try:
        services = Services.build(settings)
    except CofreError as error:
        click.echo(f"cofre: cannot open the data directory: {error.message}", err=True)
        sys.exit(2)
    try:
        yield services
    finally:
        services.close()


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
@click.option("--max-problems", default=20, show_default=True, type=click.IntRange(1))
def verify(data_dir: Path, database: str | None, max_problems: int) -> None:
    """Check the whole trail: hash chain, MACs, lookup columns, signed digests.

    Exit status 0 when intact; 1 naming the first altered, inserted, deleted or
    reordered event (seq, eventID, what is wrong) otherwise.
    """
    with _services(data_dir, database) as services:
        report = services.audit.reads.verify(max_problems=max_problems)
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
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="jsonl", show_default=True)
@click.option("--since", default=None, help="ISO 8601 time: events at or after it.")
@click.option("--until", default=None, help="ISO 8601 time: events before it.")
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
    with _services(data_dir, database) as services:
        try:
            summary = export_trail(
                services.audit.reads, services.storage, output, fmt=fmt, since=start, until=end
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
    with _services(data_dir, database) as services:
        pem = services.audit.signing.public_key_pem()
    if pem is None:
        click.echo("cofre: no digest has been signed yet, so there is no key", err=True)
        sys.exit(1)
    click.echo(pem, nl=False)
