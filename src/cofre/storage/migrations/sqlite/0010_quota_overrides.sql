-- Cofre schema 10 (sqlite): request quotas set for one account (ADR 20), over AWS's
-- defaults. The rate is requests per second, written as a decimal (some AWS quotas are
-- below one a second); updated_at is microseconds since the epoch. An override holds in
-- every Region of its account.
CREATE TABLE quota_overrides (
    account_id TEXT NOT NULL,
    quota      TEXT NOT NULL,
    rate       TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (account_id, quota)
);
