-- What the series list sorts on, kept on the series row (set by each fit)
-- so that sorting 100,000 series by last training or size uses an index.
ALTER TABLE series ADD COLUMN trained_at_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE series ADD COLUMN points_used INTEGER NOT NULL DEFAULT 0;
UPDATE series SET
    trained_at_ms = (SELECT m.trained_at_ms FROM models m
                     WHERE m.series_id = series.series_id AND m.version = series.latest_version),
    points_used = (SELECT m.points_used FROM models m
                   WHERE m.series_id = series.series_id AND m.version = series.latest_version);
CREATE INDEX series_by_trained_at ON series (trained_at_ms, series_id);
CREATE INDEX series_by_points ON series (points_used, series_id);
CREATE INDEX series_by_version ON series (latest_version, series_id);

-- Recent predictions, written by infer in batches; the oldest rows are
-- pruned beyond PREDICTION_HISTORY_MAX_ROWS.
CREATE TABLE predictions (
    id             INTEGER PRIMARY KEY,
    series_id      TEXT NOT NULL,
    version        INTEGER NOT NULL,
    ts             INTEGER NOT NULL,
    value          REAL NOT NULL,
    score          REAL,
    anomaly        BOOLEAN NOT NULL,
    recorded_at_ms INTEGER NOT NULL
);
CREATE INDEX predictions_by_series_ts ON predictions (series_id, ts);
CREATE INDEX anomalies_by_ts ON predictions (ts) WHERE anomaly;

-- Counters that outlive the pruned rows: per series and per minute.
CREATE TABLE series_activity (
    series_id         TEXT PRIMARY KEY,
    predictions       INTEGER NOT NULL,
    anomalies         INTEGER NOT NULL,
    last_predicted_ms INTEGER NOT NULL
);
CREATE TABLE activity_minutes (
    minute      INTEGER PRIMARY KEY,
    predictions INTEGER NOT NULL,
    anomalies   INTEGER NOT NULL
);
