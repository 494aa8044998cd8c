-- Webhooks and their deliveries. A delivery is one anomaly for one webhook
-- (unique: an anomaly published twice is delivered once), retried with
-- backoff until delivered or failed; a replica owns it while its lease
-- (lease_owner, lease_until_ms) lasts. webhook_feed_position: how far the
-- anomaly feed has been turned into deliveries.
CREATE TABLE webhooks (
    id            TEXT PRIMARY KEY,
    url           TEXT NOT NULL,
    secret        TEXT NOT NULL,
    series_id     TEXT,
    min_score     DOUBLE PRECISION,
    created_at_ms BIGINT NOT NULL
);

CREATE TABLE webhook_deliveries (
    id               TEXT PRIMARY KEY,
    webhook_id       TEXT NOT NULL,
    anomaly_key      TEXT NOT NULL,
    payload          TEXT NOT NULL,
    status           TEXT NOT NULL,
    attempts         BIGINT NOT NULL,
    next_attempt_ms  BIGINT NOT NULL,
    lease_owner      TEXT,
    lease_until_ms   BIGINT,
    last_error       TEXT,
    last_status_code BIGINT,
    found_at_ms      BIGINT NOT NULL,
    created_at_ms    BIGINT NOT NULL,
    finished_at_ms   BIGINT,
    UNIQUE (webhook_id, anomaly_key)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_ms);
CREATE INDEX webhook_deliveries_by_webhook ON webhook_deliveries (webhook_id, status, created_at_ms);
CREATE INDEX webhook_deliveries_due_by_webhook ON webhook_deliveries (webhook_id, status, next_attempt_ms);

CREATE TABLE webhook_feed_position (
    id         BIGINT PRIMARY KEY,
    last_entry TEXT NOT NULL
);
