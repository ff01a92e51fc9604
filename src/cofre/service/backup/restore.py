"""``cofre restore``: a backup into an empty store, of either backend.

The backup must be of the schema version this Cofre's migrations reach (a backup made by
an older Cofre is restored by that version, then upgraded by starting the newer one); the
store must be empty. Its tables are made by the migrations and compared with the
backup's, column by column, before any row is loaded; everything happens in one
transaction, committed only once the whole file has been read and checked.
"""

from __future__ import annotations

from collections.abc import Callable

from cofre.core.backup.rows import Row, TableShape
from cofre.errors import RestoreError
from cofre.service.backup.ports import Progress, StoreLoader
from cofre.service.backup.read import BackupHeader, read_backup
from cofre.service.backup.write import BackupSummary

META_TABLE = "meta"  # name -> value; what the root of trust left to check itself by

CheckMeta = Callable[[dict[str, str]], None]


def _compare(header: BackupHeader, made: list[TableShape]) -> None:
    here = {t.name: t for t in made}
    there = {t.name: t for t in header.tables}
    problems = [f"table {n} is not in the backup" for n in sorted(set(here) - set(there))]
    problems += [f"table {n} is not in this schema" for n in sorted(set(there) - set(here))]
    for name in sorted(set(here) & set(there)):
        problems += [f"table {name}: {p}" for p in here[name].differences(there[name])]
    if problems:
        raise RestoreError(
            f"the backup's tables do not match schema version {header.schema_version} here: "
            + "; ".join(problems[:5])
        )


def restore_backup(
    read: Callable[[int], bytes],
    loader: StoreLoader,
    *,
    progress: Progress | None = None,
    check_meta: CheckMeta | None = None,
) -> BackupSummary:
    """Load the backup read through ``read`` into ``loader``'s empty store and commit;
    what was loaded. ``check_meta`` sees the backup's ``meta`` table before the commit
    (the root key given for the restored store must open it)."""
    meta: dict[str, str] = {}

    def on_header(header: BackupHeader) -> None:
        latest = loader.latest_version()
        if header.schema_version != latest:
            raise RestoreError(
                f"the backup is of schema version {header.schema_version} (Cofre"
                f" {header.cofre_version or 'unknown'}); this Cofre's schema is version"
                f" {latest}: restore it with the Cofre that made it, then start this one"
                " on the restored store to upgrade it"
                if header.schema_version < latest
                else f"the backup is of schema version {header.schema_version}, newer than"
                f" this Cofre's ({latest}): restore it with a newer Cofre"
            )
        _compare(header, loader.create_schema(header.schema_version))

    def on_rows(table: TableShape, rows: list[Row]) -> None:
        if table.name == META_TABLE and {"name", "value"} <= set(table.columns):
            at_name, at_value = table.columns.index("name"), table.columns.index("value")
            meta.update((str(row[at_name]), str(row[at_value])) for row in rows)
        loader.insert(table, rows)

    summary = read_backup(read, on_header=on_header, on_rows=on_rows, progress=progress)
    if check_meta is not None:
        check_meta(meta)
    loader.commit()
    return summary
