-- What the series list sorts on, kept on the series row (set by each fit)
-- so that sorting 100,000 series by last training or size uses an index.
ALTER TABLE series ADD COLUMN trained_at_ms BIGINT NOT NULL DEFAULT 0;
ALTER TABLE series ADD COLUMN points_used BIGINT NOT NULL DEFAULT 0;
UPDATE series SET
    trained_at_ms = m.trained_at_ms,
    points_used = m.points_used
FROM models m
WHERE m.series_id = series.series_id AND m.version = series.latest_version;
-- The model tables in byte order too: a join of series to models can then
-- use the models' primary key (mixed collations cannot).
ALTER TABLE models ALTER COLUMN series_id TYPE TEXT COLLATE "C";
ALTER TABLE training_data ALTER COLUMN series_id TYPE TEXT COLLATE "C";
CREATE INDEX series_by_trained_at ON series (trained_at_ms, series_id);
CREATE INDEX series_by_points ON series (points_used, series_id);
CREATE INDEX series_by_version ON series (latest_version, series_id);

-- Recent predictions, written by infer in batches; the oldest rows are
-- pruned beyond PREDICTION_HISTORY_MAX_ROWS.
CREATE TABLE predictions (
    id             BIGSERIAL PRIMARY KEY,
    series_id      TEXT COLLATE "C" NOT NULL,
    version        BIGINT NOT NULL,
    ts             BIGINT NOT NULL,
    value          DOUBLE PRECISION NOT NULL,
    score          DOUBLE PRECISION,
    anomaly        BOOLEAN NOT NULL,
    recorded_at_ms BIGINT NOT NULL
);
CREATE INDEX predictions_by_series_ts ON predictions (series_id, ts);
CREATE INDEX anomalies_by_ts ON predictions (ts) WHERE anomaly;

-- Counters that outlive the pruned rows: per series and per minute.
CREATE TABLE series_activity (
    series_id         TEXT COLLATE "C" PRIMARY KEY,
    predictions       BIGINT NOT NULL,
    anomalies         BIGINT NOT NULL,
    last_predicted_ms BIGINT NOT NULL
);
CREATE TABLE activity_minutes (
    minute      BIGINT PRIMARY KEY,
    predictions BIGINT NOT NULL,
    anomalies   BIGINT NOT NULL
);
