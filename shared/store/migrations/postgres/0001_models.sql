-- One row per series: the version counter that makes versions gapless.
-- Concurrent fits of one series serialise on this row's lock.
CREATE TABLE series (
    series_id      TEXT PRIMARY KEY,
    latest_version BIGINT NOT NULL
);

-- One row per fitted model version: the source of truth for predictions.
CREATE TABLE models (
    series_id     TEXT NOT NULL REFERENCES series (series_id),
    version       BIGINT NOT NULL,
    mean          DOUBLE PRECISION NOT NULL,
    std           DOUBLE PRECISION NOT NULL,
    threshold     DOUBLE PRECISION NOT NULL,
    direction     TEXT NOT NULL,
    points_used   BIGINT NOT NULL,
    trained_at_ms BIGINT NOT NULL,
    PRIMARY KEY (series_id, version)
);

-- The training points of each version (for plots), kept apart so that a
-- model lookup never reads them. Packed little-endian (i64 ts, f64 value).
CREATE TABLE training_data (
    series_id TEXT NOT NULL,
    version   BIGINT NOT NULL,
    points    BYTEA NOT NULL,
    PRIMARY KEY (series_id, version),
    FOREIGN KEY (series_id, version) REFERENCES models (series_id, version)
);
