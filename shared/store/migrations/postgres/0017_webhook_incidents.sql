-- Webhooks choose how they are sent: mode `incident` (one delivery when a
-- burst of a series' anomalies opens, one when it closes; the default of
-- new webhooks) or `anomaly` (one per anomaly, what every webhook did
-- before, so existing ones keep it); format `json` (signed JSON) or
-- `slack` (Slack's incoming-webhook message).
ALTER TABLE webhooks ADD COLUMN mode TEXT NOT NULL DEFAULT 'anomaly';
ALTER TABLE webhooks ADD COLUMN format TEXT NOT NULL DEFAULT 'json';

-- The incident each webhook has open per series (at most one): closed, and
-- removed, once ALERT_GROUP_SECONDS pass without another anomaly.
-- last_entry: the feed entry of its latest anomaly (a page read again
-- counts nothing twice).
CREATE TABLE webhook_incidents (
    webhook_id        TEXT NOT NULL,
    series_id         TEXT NOT NULL,
    first_anomaly     TEXT NOT NULL,
    opened_at_ms      BIGINT NOT NULL,
    last_at_ms        BIGINT NOT NULL,
    anomalies         BIGINT NOT NULL,
    max_anomaly_score DOUBLE PRECISION,
    last_anomaly      TEXT NOT NULL,
    last_entry        TEXT NOT NULL,
    PRIMARY KEY (webhook_id, series_id)
);
