-- Cofre schema 8: the audit trail stored as segments (docs/adr/0011-audit-trail.md,
-- "Storage"). A row per record cost more than building the record, so each group-commit
-- batch is one segment row: its records in seq order, each with its chain hash and MAC,
-- framed and compressed (cofre.core.audit_segment; docs/formats/audit-chain.md). The
-- chain itself is unchanged. Until this version no server wrote audit records, so the
-- per-record tables are dropped, not converted.
DROP TABLE audit_resources;
DROP TABLE audit_events;
CREATE TABLE audit_segments (
    first_seq  INTEGER PRIMARY KEY,
    last_seq   INTEGER NOT NULL,
    first_time INTEGER NOT NULL,
    last_time  INTEGER NOT NULL,
    data       BLOB NOT NULL
);
-- No other index: every page a commit touches costs its share of WAL writes and
-- checkpoints, per audit batch. Reads find segments by first_seq (the primary key).
-- Which accounts (and Regions) have records in which segment, and when: LookupEvents
-- reads only the segments of the caller's account, newest first, then filters records.
CREATE TABLE audit_segment_accounts (
    account_id TEXT NOT NULL,
    region     TEXT NOT NULL,
    first_seq  INTEGER NOT NULL,
    first_time INTEGER NOT NULL,
    last_time  INTEGER NOT NULL,
    PRIMARY KEY (account_id, region, first_seq)
) WITHOUT ROWID;
