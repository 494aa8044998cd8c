-- One row per series: the version counter that makes versions gapless.
-- Concurrent fits of one series serialise on this row's lock.
CREATE TABLE series (
    series_id      TEXT PRIMARY KEY,
    latest_version INTEGER NOT NULL
);

-- One row per fitted model version: the source of truth for predictions.
CREATE TABLE models (
    series_id     TEXT NOT NULL REFERENCES series (series_id),
    version       INTEGER NOT NULL,
    mean          REAL NOT NULL,
    std           REAL NOT NULL,
    threshold     REAL NOT NULL,
    direction     TEXT NOT NULL,
    points_used   INTEGER NOT NULL,
    trained_at_ms INTEGER NOT NULL,
    PRIMARY KEY (series_id, version)
);

-- The training points of each version (for plots), kept apart so that a
-- model lookup never reads them. Packed little-endian (i64 ts, f64 value).
CREATE TABLE training_data (
    series_id TEXT NOT NULL,
    version   INTEGER NOT NULL,
    points    BLOB NOT NULL,
    PRIMARY KEY (series_id, version),
    FOREIGN KEY (series_id, version) REFERENCES models (series_id, version)
);
