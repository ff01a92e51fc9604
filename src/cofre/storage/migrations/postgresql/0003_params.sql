-- Cofre schema 3 (PostgreSQL): Parameter Store.
-- Times are microseconds since the Unix epoch (UTC). A parameter is keyed by account,
-- Region and canonical name (single-level names without their leading slash); names,
-- labels and tags compare byte by byte (COLLATE "C"), as in SQLite. params is the head row
-- writers lock (SELECT ... FOR UPDATE); it holds a copy of the current version, so that
-- GetParameter, GetParametersByPath and DescribeParameters read one table with no join
-- (their plans cannot go wrong before the planner has statistics). param_versions holds
-- every version kept (at most 100), the current one included. A value is UTF-8 text or,
-- for SecureString, ciphertext (value_format: 0 text, 1 KMS blob, 2 envelope). parent is
-- the level a name sits at ("/app/prod/" for "/app/prod/db", "/" for single-level names).
CREATE TABLE params (
    account_id      TEXT NOT NULL,
    region          TEXT NOT NULL,
    name            TEXT COLLATE "C" NOT NULL,
    parent          TEXT COLLATE "C" NOT NULL,
    created_at      BIGINT NOT NULL,
    version         BIGINT NOT NULL,
    type            TEXT NOT NULL,
    value           BYTEA NOT NULL,
    value_format    BIGINT NOT NULL,
    key_id          TEXT COLLATE "C",
    description     TEXT,
    allowed_pattern TEXT,
    tier            TEXT NOT NULL,
    data_type       TEXT NOT NULL,
    policies        TEXT,
    modified_at     BIGINT NOT NULL,
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
    name            TEXT COLLATE "C" NOT NULL,
    version         BIGINT NOT NULL,
    type            TEXT NOT NULL,
    value           BYTEA NOT NULL,
    value_format    BIGINT NOT NULL,
    key_id          TEXT COLLATE "C",
    description     TEXT,
    allowed_pattern TEXT,
    tier            TEXT NOT NULL,
    data_type       TEXT NOT NULL,
    policies        TEXT,
    modified_at     BIGINT NOT NULL,
    modified_by     TEXT NOT NULL,
    PRIMARY KEY (account_id, region, name, version),
    FOREIGN KEY (account_id, region, name)
        REFERENCES params (account_id, region, name) ON DELETE CASCADE
);
-- A label names one version of a parameter; moving it updates the row.
CREATE TABLE param_labels (
    account_id TEXT NOT NULL,
    region     TEXT NOT NULL,
    name       TEXT COLLATE "C" NOT NULL,
    label      TEXT COLLATE "C" NOT NULL,
    version    BIGINT NOT NULL,
    PRIMARY KEY (account_id, region, name, label),
    FOREIGN KEY (account_id, region, name, version)
        REFERENCES param_versions (account_id, region, name, version) ON DELETE CASCADE
);
CREATE INDEX param_labels_by_version ON param_labels (version, account_id, region, name);
CREATE TABLE param_tags (
    account_id TEXT NOT NULL,
    region     TEXT NOT NULL,
    name       TEXT COLLATE "C" NOT NULL,
    tag_key    TEXT COLLATE "C" NOT NULL,
    tag_value  TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (account_id, region, name, tag_key),
    FOREIGN KEY (account_id, region, name)
        REFERENCES params (account_id, region, name) ON DELETE CASCADE
);
