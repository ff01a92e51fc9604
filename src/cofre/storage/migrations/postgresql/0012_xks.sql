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
