"""``cofre usage report``: what each account's keys and requests cost, from the audit
trail (docs/usage.md). Reads the store as it is, while servers serve, and writes nothing
(as ``cofre audit verify``): calls journaled but not yet chained are reported, not counted."""

from __future__ import annotations

import csv
import io
import sys
from datetime import UTC, datetime
from pathlib import Path

import click
import orjson

from cofre.config import Settings
from cofre.core.usage.bill import UsageReport
from cofre.core.usage.prices import AWS_LIST_PRICE, PriceTable
from cofre.errors import CofreError
from cofre.service.clock import OffsetClock, SystemClock
from cofre.service.ports import Clock
from cofre.service.usage.report import usage_report
from cofre.stores import journal_backlog, open_existing_storage

FORMATS = ("table", "json", "csv")


def _moment(value: str, option: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter(
            "give a date (2026-12-01) or an ISO 8601 time", param_hint=option
        ) from exc
    moment = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    if moment.minute or moment.second or moment.microsecond:
        raise click.BadParameter(
            "give a whole hour: keys are billed by the hour", param_hint=option
        )
    return moment.astimezone(UTC)


def _prices(path: Path | None) -> PriceTable:
    if path is None:
        return AWS_LIST_PRICE
    try:
        return PriceTable.from_json(orjson.loads(path.read_bytes()))
    except (orjson.JSONDecodeError, ValueError) as exc:
        raise click.BadParameter(str(exc), param_hint="--price-table") from exc


@click.group()
def usage() -> None:
    """Usage and cost of keys and requests, per account."""


@usage.command()
@click.option(
    "--data-dir",
    default="./data",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="The server's data directory.",
)
@click.option("--database", default=None, help="postgresql://... (default: SQLite in data dir).")
@click.option("--from", "start", required=True, help="Start (inclusive): 2026-12-01, UTC.")
@click.option("--to", "end", required=True, help="End (exclusive): 2027-01-01, UTC.")
@click.option("--account-id", default=None, help="One account only (default: every account).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="table",
    show_default=True,
    help="table for a terminal; json or csv for a machine.",
)
@click.option(
    "--price-table",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="JSON prices in USD replacing AWS's list price, for internal chargeback"
    " (docs/usage.md; default: AWS's list price).",
)
def report(
    data_dir: Path,
    database: str | None,
    start: str,
    end: str,
    account_id: str | None,
    fmt: str,
    price_table: Path | None,
) -> None:
    """Key-months held, requests by operation and price class, and their cost."""
    window = _moment(start, "--from"), _moment(end, "--to")
    if window[1] <= window[0]:
        raise click.BadParameter("must be after --from", param_hint="--to")
    prices = _prices(price_table)
    settings = Settings.with_environment(data_dir=data_dir.resolve(), database=database)
    offset = settings.clock_offset_file
    clock: Clock = OffsetClock(offset) if offset is not None else SystemClock()
    try:
        storage = open_existing_storage(settings, clock, read_only=True, current=True)
        try:
            backlog = journal_backlog(settings, storage)
            result = usage_report(storage, *window, prices, clock.now(), account_id=account_id)
        finally:
            storage.close()
    except CofreError as error:
        click.echo(f"cofre: cannot report: {error.message}", err=True)
        sys.exit(1)
    if backlog:
        result.notes.append(
            f"{backlog} bytes of calls are journaled but not yet in the audit trail (a running"
            " server appends them within a second; a stopped one on its next start): not"
            " counted here"
        )
    for line in result.notes:
        click.echo(f"note: {line}", err=True)
    if fmt == "json":
        sys.stdout.buffer.write(orjson.dumps(result.report.to_json(), option=orjson.OPT_INDENT_2))
        sys.stdout.buffer.write(b"\n")
    elif fmt == "csv":
        click.echo(_csv(result.report), nl=False)
    else:
        click.echo(_table(result.report))


def _csv(report: UsageReport) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["account_id", "item", "key_id", "key_manager", "origin", "key_spec",
                     "operation", "price_class", "quantity", "cost"])  # fmt: skip
    for account in report.accounts:
        a = account.account_id
        for k in account.keys:
            writer.writerow([a, "key", k.key_id, k.key_manager, k.origin, k.key_spec, "", "",
                             k.key_months, k.cost])  # fmt: skip
        for r in account.requests:
            writer.writerow([a, "requests", "", "", "", "", r.operation, r.price_class,
                             r.count, r.cost])  # fmt: skip
        writer.writerow([a, "free_tier_requests", "", "", "", "", "", "",
                         account.free_tier_requests, ""])  # fmt: skip
        writer.writerow([a, "total", "", "", "", "", "", "", "", account.total])
    return out.getvalue()


def _table(report: UsageReport) -> str:
    lines = [
        f"usage from {report.start:%Y-%m-%d %H:%M} to {report.end:%Y-%m-%d %H:%M} UTC"
        f" ({report.currency})"
    ]
    if not report.accounts:
        lines.append("no usage in that period")
    for account in report.accounts:
        lines += ["", f"account {account.account_id}"]
        if account.keys:
            lines.append(
                f"  {'key':<38} {'manager':<9} {'spec':<18} {'key-months':>12} {'cost':>14}"
            )
            for k in account.keys:
                lines.append(
                    f"  {k.key_id:<38} {k.key_manager:<9} {k.key_spec:<18}"
                    f" {k.key_months:>12} {k.cost:>14}"
                )
        if account.requests:
            lines.append(f"  {'operation':<38} {'price class':<28} {'requests':>12} {'cost':>14}")
            for r in account.requests:
                lines.append(f"  {r.operation:<38} {r.price_class:<28} {r.count:>12} {r.cost:>14}")
        lines.append(f"  free tier requests: {account.free_tier_requests}")
        lines.append(f"  total: {account.total} {report.currency}")
    return "\n".join(lines)
