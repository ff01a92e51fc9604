-- Cofre schema 3 (SQLite): Parameter Store.
-- Times are microseconds since the Unix epoch (UTC). A parameter is keyed by account,
-- Region and canonical name (single-level names without their leading slash); names
-- compare byte by byte. params is the head row writers lock; it holds a copy of the
-- current version, so that GetParameter, GetParametersByPath and DescribeParameters read
-- one table with no join. param_versions holds every version kept (at most 100), the
-- current one included. A value is UTF-8 text or, for SecureString, ciphertext
-- (value_format: 0 text, 1 KMS blob, 2 envelope). parent is the level a name sits at
-- ("/app/prod/" for "/app/prod/db", "/" for single-level names).
CREATE TABLE params (
    account_id      TEXT NOT NULL,
    region          TEXT NOT NULL,
    name            TEXT NOT NULL,
    parent          TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    version         INTEGER NOT NULL,
    type            TEXT NOT NULL,
    value           BLOB NOT NULL,
    value_format    INTEGER NOT NULL,
    key_id          TEXT,
    description     TEXT,
    allowed_pattern TEXT,
    tier            TEXT NOT NULL,
    data_type       TEXT NOT NULL,
    policies        TEXT,
    modified_at     INTEGER NOT NULL,
    modified_by     TEXT NOT NULL,
    PRIMARY KEY (account_id, region, name)
);
-- The secondary indexes do not start with (account_id, region): a planner without
-- statistics would otherwise take one of them for a lookup by name and filter.
CREATE INDEX params_by_parent ON params (parent, account_id, region, name);
CREATE INDEX params_by_tier ON params (tier, account_id, region);
CREATE TABLE param_versions (
    account_id      TEXT NOT NULL,
    region          TEXT NOT NULL,
    name            TEXT NOT NULL,
    version         INTEGER NOT NULL,
    type            TEXT NOT NULL,
    value           BLOB NOT NULL,
    value_format    INTEGER NOT NULL,
    key_id          TEXT,
    description     TEXT,
    allowed_pattern TEXT,
    tier            TEXT NOT NULL,
    data_type       TEXT NOT NULL,
    policies        TEXT,
    modified_at     INTEGER NOT NULL,
    modified_by     TEXT NOT NULL,
    PRIMARY KEY (account_id, region, name, version),
    FOREIGN KEY (account_id, region, name)
        REFERENCES params (account_id, region, name) ON DELETE CASCADE
);
-- A label names one version of a parameter; moving it updates the row.
CREATE TABLE param_labels (
    account_id TEXT NOT NULL,
    region     TEXT NOT NULL,
    name       TEXT NOT NULL,
    label      TEXT NOT NULL,
    version    INTEGER NOT NULL,
    PRIMARY KEY (account_id, region, name, label),
    FOREIGN KEY (account_id, region, name, version)
        REFERENCES param_versions (account_id, region, name, version) ON DELETE CASCADE
);
CREATE INDEX param_labels_by_version ON param_labels (version, account_id, region, name);
CREATE TABLE param_tags (
    account_id TEXT NOT NULL,
    region     TEXT NOT NULL,
    name       TEXT NOT NULL,
    tag_key    TEXT NOT NULL,
    tag_value  TEXT NOT NULL,
    PRIMARY KEY (account_id, region, name, tag_key),
    FOREIGN KEY (account_id, region, name)
        REFERENCES params (account_id, region, name) ON DELETE CASCADE
);
