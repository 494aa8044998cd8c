-- Mute windows (POST /mutes): while one holds, anomalies of its series (or
-- of every series when series_id is NULL) judged between from_s and to_s
-- (Unix seconds, inclusive) are stored and shown, marked muted, and fire
-- no webhook.
CREATE TABLE mutes (
    id            TEXT PRIMARY KEY,
    series_id     TEXT,
    from_s        BIGINT NOT NULL,
    to_s          BIGINT NOT NULL,
    reason        TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL
);
