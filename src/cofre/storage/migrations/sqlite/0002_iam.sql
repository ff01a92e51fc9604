-- Cofre schema 2 (SQLite): IAM users, roles and policies; KMS grants; temporary credentials.
-- Times are microseconds since the Unix epoch (UTC). Users, roles and managed policies are
-- looked up by their exact name, but a name is unique per account whatever its case, as in
-- AWS (the unique indexes on lower(name)).
CREATE TABLE iam_users (
    account_id TEXT NOT NULL,
    name       TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    path       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (account_id, name)
);
CREATE UNIQUE INDEX iam_users_by_folded_name ON iam_users (account_id, lower(name));
CREATE TABLE iam_roles (
    account_id           TEXT NOT NULL,
    name                 TEXT NOT NULL,
    role_id              TEXT NOT NULL,
    path                 TEXT NOT NULL,
    trust_policy         TEXT NOT NULL,
    description          TEXT NOT NULL,
    max_session_duration INTEGER NOT NULL,
    created_at           INTEGER NOT NULL,
    PRIMARY KEY (account_id, name)
);
CREATE UNIQUE INDEX iam_roles_by_folded_name ON iam_roles (account_id, lower(name));
-- arn is derived (policy_arn(account_id, path, name)); attachments join on it.
CREATE TABLE iam_policies (
    account_id         TEXT NOT NULL,
    name               TEXT NOT NULL,
    policy_id          TEXT NOT NULL,
    path               TEXT NOT NULL,
    arn                TEXT NOT NULL UNIQUE,
    description        TEXT NOT NULL,
    default_version_id TEXT NOT NULL,
    next_version       INTEGER NOT NULL,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    PRIMARY KEY (account_id, name)
);
CREATE UNIQUE INDEX iam_policies_by_folded_name ON iam_policies (account_id, lower(name));
CREATE TABLE iam_policy_versions (
    account_id  TEXT NOT NULL,
    policy_name TEXT NOT NULL,
    version_id  TEXT NOT NULL,
    document    TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (account_id, policy_name, version_id),
    FOREIGN KEY (account_id, policy_name)
        REFERENCES iam_policies (account_id, name) ON DELETE CASCADE
);
CREATE TABLE iam_inline_policies (
    account_id TEXT NOT NULL,
    owner_kind TEXT NOT NULL CHECK (owner_kind IN ('user', 'role')),
    owner_name TEXT NOT NULL,
    name       TEXT NOT NULL,
    document   TEXT NOT NULL,
    PRIMARY KEY (account_id, owner_kind, owner_name, name)
);
-- policy_arn may name a policy Cofre does not store (arn:aws:iam::aws:policy/...).
CREATE TABLE iam_attachments (
    account_id TEXT NOT NULL,
    owner_kind TEXT NOT NULL CHECK (owner_kind IN ('user', 'role')),
    owner_name TEXT NOT NULL,
    policy_arn TEXT NOT NULL,
    PRIMARY KEY (account_id, owner_kind, owner_name, policy_arn)
);
CREATE INDEX iam_attachments_by_policy ON iam_attachments (policy_arn);
-- operations: a JSON array; constraints: a JSON object with encryption_context_subset
-- and/or encryption_context_equals, NULL when the grant has none.
CREATE TABLE grants (
    grant_id           TEXT PRIMARY KEY,
    key_id             TEXT NOT NULL REFERENCES keys(key_id) ON DELETE CASCADE,
    key_arn            TEXT NOT NULL,
    account_id         TEXT NOT NULL,
    name               TEXT,
    grantee_principal  TEXT NOT NULL,
    retiring_principal TEXT,
    issuing_account    TEXT NOT NULL,
    operations         TEXT NOT NULL,
    constraints        TEXT,
    created_at         INTEGER
);
CREATE INDEX grants_by_key ON grants (key_id, grant_id);
CREATE INDEX grants_by_retiring_principal ON grants (retiring_principal, grant_id)
    WHERE retiring_principal IS NOT NULL;
CREATE INDEX grants_by_name ON grants (key_id, name) WHERE name IS NOT NULL;
-- Access keys of IAM users and temporary (STS) credentials. principal_id is aws:userid.
ALTER TABLE credentials ADD COLUMN principal_id TEXT NOT NULL DEFAULT '';
ALTER TABLE credentials ADD COLUMN expires_at INTEGER;
ALTER TABLE credentials ADD COLUMN session_token_hash BLOB;
ALTER TABLE credentials ADD COLUMN role_arn TEXT;
-- The account root's aws:userid is the account id.
UPDATE credentials SET principal_id = account_id
    WHERE principal_arn = 'arn:aws:iam::' || account_id || ':root';
CREATE INDEX credentials_by_user ON credentials (account_id, user_name)
    WHERE user_name IS NOT NULL;
CREATE INDEX credentials_by_expiry ON credentials (expires_at) WHERE expires_at IS NOT NULL;
