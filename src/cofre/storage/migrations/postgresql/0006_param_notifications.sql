-- Cofre schema 6 (PostgreSQL): Parameter Store notifications
-- (docs/adr/0013-parameter-notifications.md). Times are microseconds since the Unix epoch.
-- param_webhooks: subscriptions per account and Region; the HMAC secret is wrapped by the
-- root key (docs/formats/wrapped-secret.md, associated data names the webhook).
CREATE TABLE param_webhooks (
    webhook_id     TEXT PRIMARY KEY,
    account_id     TEXT NOT NULL,
    region         TEXT NOT NULL,
    url            TEXT NOT NULL,
    path_prefix    TEXT COLLATE "C" NOT NULL,
    secret_wrapped BYTEA NOT NULL,
    created_at     BIGINT NOT NULL
);
CREATE INDEX param_webhooks_by_account ON param_webhooks (account_id, region, webhook_id);
-- The outbox: one row per event and webhook, written in the transaction of the change.
-- A worker claims a due row by setting claimed_until (its lease) and pushing
-- next_attempt_at to the same moment, so a lease that runs out (a killed process) makes
-- the row due again. A 2xx answer deletes the row; a failure sets the next attempt.
CREATE TABLE param_deliveries (
    delivery_id     BIGSERIAL PRIMARY KEY,
    webhook_id      TEXT NOT NULL REFERENCES param_webhooks (webhook_id) ON DELETE CASCADE,
    event_id        TEXT NOT NULL,
    body            BYTEA NOT NULL,
    created_at      BIGINT NOT NULL,
    attempts        BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    claimed_until   BIGINT NOT NULL,
    last_error      TEXT
);
CREATE INDEX param_deliveries_due ON param_deliveries (next_attempt_at);
CREATE INDEX param_deliveries_by_webhook ON param_deliveries (webhook_id);
-- When each policy of a parameter acts next (one row per parameter and policy type);
-- the row goes when the policy has acted, or with the parameter.
CREATE TABLE param_policy_schedule (
    account_id  TEXT NOT NULL,
    region      TEXT NOT NULL,
    name        TEXT COLLATE "C" NOT NULL,
    policy_type TEXT NOT NULL,
    due_at      BIGINT NOT NULL,
    PRIMARY KEY (account_id, region, name, policy_type),
    FOREIGN KEY (account_id, region, name)
        REFERENCES params (account_id, region, name) ON DELETE CASCADE
);
CREATE INDEX param_policy_schedule_due ON param_policy_schedule (due_at);
