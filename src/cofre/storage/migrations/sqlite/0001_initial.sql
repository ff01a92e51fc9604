-- Cofre schema 1 (SQLite). Times are microseconds since the Unix epoch (UTC).
CREATE TABLE meta (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE accounts (
    account_id TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE credentials (
    access_key_id  TEXT PRIMARY KEY,
    account_id     TEXT NOT NULL REFERENCES accounts(account_id),
    principal_arn  TEXT NOT NULL,
    user_name      TEXT,
    secret_wrapped BLOB NOT NULL,
    status         TEXT NOT NULL,
    created_at     INTEGER NOT NULL
);
CREATE TABLE keys (
    key_id                        TEXT PRIMARY KEY,
    account_id                    TEXT NOT NULL,
    region                        TEXT NOT NULL,
    arn                           TEXT NOT NULL,
    created_at                    INTEGER NOT NULL,
    description                   TEXT NOT NULL,
    key_spec                      TEXT NOT NULL,
    key_usage                     TEXT NOT NULL,
    origin                        TEXT NOT NULL,
    key_manager                   TEXT NOT NULL,
    state                         TEXT NOT NULL,
    policy                        TEXT NOT NULL,
    current_version_id            BLOB NOT NULL,
    deletion_date                 INTEGER,
    pending_window_days           INTEGER,
    rotation_enabled              INTEGER NOT NULL,
    rotation_period_days          INTEGER,
    next_rotation_at              INTEGER,
    on_demand_rotation_started_at INTEGER,
    revision                      INTEGER NOT NULL
);
CREATE INDEX keys_by_owner ON keys (account_id, region, key_id);
CREATE INDEX keys_by_deletion ON keys (deletion_date) WHERE deletion_date IS NOT NULL;
CREATE INDEX keys_by_rotation ON keys (next_rotation_at) WHERE next_rotation_at IS NOT NULL;
CREATE TABLE key_versions (
    key_id           TEXT NOT NULL REFERENCES keys(key_id) ON DELETE CASCADE,
    version_id       BLOB NOT NULL,
    wrapped_material BLOB NOT NULL,
    created_at       INTEGER NOT NULL,
    rotation_type    TEXT,
    PRIMARY KEY (key_id, version_id)
);
CREATE TABLE aliases (
    account_id TEXT NOT NULL,
    region     TEXT NOT NULL,
    alias_name TEXT NOT NULL,
    key_id     TEXT NOT NULL REFERENCES keys(key_id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (account_id, region, alias_name)
);
CREATE INDEX aliases_by_key ON aliases (key_id);
CREATE TABLE key_tags (
    key_id    TEXT NOT NULL REFERENCES keys(key_id) ON DELETE CASCADE,
    tag_key   TEXT NOT NULL,
    tag_value TEXT NOT NULL,
    PRIMARY KEY (key_id, tag_key)
);
CREATE TABLE changes (
    seq  INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    ref  TEXT NOT NULL,
    at   INTEGER NOT NULL
);
CREATE INDEX changes_by_time ON changes (at);
