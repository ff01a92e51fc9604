-- Cofre schema 12 (PostgreSQL): external key stores, Cofre as an XKS proxy
-- (docs/adr/0022-external-key-stores.md). Times are microseconds since the Unix epoch.
-- xks_stores: logical key stores per account and Region, each served under its own path
-- prefix (/xks/<store_id>/kms/xks/v1) with its own SigV4 credential; the secrets are
-- wrapped by the keyring key (associated data names the store and the access key id).
-- The previous credential stays valid after a rotation until the next one.
CREATE TABLE xks_stores (
    store_id                TEXT PRIMARY KEY,
    account_id              TEXT NOT NULL,
    region                  TEXT NOT NULL,
    name                    TEXT NOT NULL,
    access_key_id           TEXT NOT NULL UNIQUE,
    secret_wrapped          BYTEA NOT NULL,
    previous_access_key_id  TEXT UNIQUE,
    previous_secret_wrapped BYTEA,
    created_at              BIGINT NOT NULL,
    UNIQUE (account_id, region, name)
);
-- The Cofre keys (of the store's account and Region) a store may use: none by default.
CREATE TABLE xks_store_keys (
    store_id TEXT NOT NULL REFERENCES xks_stores (store_id) ON DELETE CASCADE,
    key_id   TEXT NOT NULL,
    added_at BIGINT NOT NULL,
    PRIMARY KEY (store_id, key_id)
);
-- Custom key stores of Cofre's KMS (EXTERNAL_KEY_STORE): the XKS proxy a store reaches,
-- its SigV4 credential (the secret wrapped by the keyring key) and connection state.
CREATE TABLE custom_key_stores (
    store_id       TEXT PRIMARY KEY,
    account_id     TEXT NOT NULL,
    region         TEXT NOT NULL,
    name           TEXT NOT NULL,
    uri_endpoint   TEXT NOT NULL,
    uri_path       TEXT NOT NULL,
    connectivity   TEXT NOT NULL,
    access_key_id  TEXT NOT NULL,
    secret_wrapped BYTEA NOT NULL,
    state          TEXT NOT NULL,
    error_code     TEXT,
    created_at     BIGINT NOT NULL,
    UNIQUE (account_id, region, name)
);
-- The external key of each KMS key of a custom key store (by the key's row id); the
-- row outlives a deleted key, whose external key may then be used again.
CREATE TABLE xks_keys (
    key_id     TEXT PRIMARY KEY,
    store_id   TEXT NOT NULL REFERENCES custom_key_stores (store_id),
    xks_key_id TEXT NOT NULL
);
CREATE INDEX xks_keys_by_store ON xks_keys (store_id, xks_key_id);
