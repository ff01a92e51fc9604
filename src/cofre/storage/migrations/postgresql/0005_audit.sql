-- Cofre schema 5 (PostgreSQL): the audit trail (docs/adr/0011-audit-trail.md).
-- Times are microseconds since the Unix epoch (UTC). audit_events holds one CloudTrail
-- record per row: body is its canonical JSON, exactly the bytes the chain hashes
-- (docs/formats/audit-chain.md); the other columns are derived from the body so that
-- LookupEvents can search them, and verification checks that they still match it.
-- seq is assigned by the writer while it holds the audit_chain row, so the chain is
-- gapless across processes and nodes. Few indexes, because every call pays for each:
-- lookups by account and time (then any attribute, filtered while scanning newest first;
-- CloudTrail rate-limits LookupEvents anyway), by event id, and by resource name.
CREATE TABLE audit_events (
    seq           BIGINT PRIMARY KEY,
    event_id      TEXT NOT NULL,
    account_id    TEXT NOT NULL,
    region        TEXT NOT NULL,
    event_time    BIGINT NOT NULL,
    event_source  TEXT NOT NULL,
    event_name    TEXT NOT NULL,
    read_only     BIGINT NOT NULL,
    username      TEXT NOT NULL,
    access_key_id TEXT NOT NULL,
    body          TEXT NOT NULL,
    hash          BYTEA NOT NULL,
    mac           BYTEA NOT NULL
);
CREATE INDEX audit_events_by_time ON audit_events (account_id, region, event_time, seq);
CREATE INDEX audit_events_by_id ON audit_events (event_id);
-- The resources of each record (position: their order in the record), for lookups by
-- ResourceName (the ARN; indexed) and ResourceType (checked per event while scanning).
CREATE TABLE audit_resources (
    seq           BIGINT NOT NULL,
    position      BIGINT NOT NULL,
    account_id    TEXT NOT NULL,
    event_time    BIGINT NOT NULL,
    resource_name TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    PRIMARY KEY (seq, position)
);
CREATE INDEX audit_resources_by_name ON audit_resources (account_id, resource_name, event_time, seq);
-- Signed digests of the chain head (Ed25519; the key is in meta, wrapped by the root key).
CREATE TABLE audit_digests (
    last_seq  BIGINT PRIMARY KEY,
    first_seq BIGINT NOT NULL,
    head_hash BYTEA NOT NULL,
    signed_at BIGINT NOT NULL,
    signature BYTEA NOT NULL
);
-- The one row writers lock: the head of the chain, the signed anchor pruning leaves
-- (seq 0 and the genesis hash until then), and the last seq a digest covers.
CREATE TABLE audit_chain (
    id               BIGINT PRIMARY KEY CHECK (id = 1),
    head_seq         BIGINT NOT NULL,
    head_hash        BYTEA NOT NULL,
    anchor_seq       BIGINT NOT NULL,
    anchor_hash      BYTEA NOT NULL,
    anchor_time      BIGINT,
    anchor_signature BYTEA,
    digest_seq       BIGINT NOT NULL
);
INSERT INTO audit_chain (id, head_seq, head_hash, anchor_seq, anchor_hash, digest_seq)
    VALUES (1, 0, decode(repeat('00', 32), 'hex'), 0, decode(repeat('00', 32), 'hex'), 0);
-- GetKeyLastUsage: the last successful cryptographic use of each key, kept when events
-- are pruned.
CREATE TABLE audit_key_usage (
    key_arn    TEXT PRIMARY KEY,
    operation  TEXT NOT NULL,
    used_at    BIGINT NOT NULL,
    event_id   TEXT NOT NULL,
    request_id TEXT NOT NULL
);
