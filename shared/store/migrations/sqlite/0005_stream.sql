-- The streaming half (AUTOINCREMENT: log ids never go back, even once
-- the log was trimmed empty). stream_log: the partitioned log of ingested points
-- when Redis is not configured (one row per append and partition, JSON
-- points). stream_partitions: each partition's position in its log and
-- the epoch of the owner that wrote it (fencing). stream_series: each
-- series' detector state and counters. anomalies: what the stream found,
-- once per series, point time, detector and version (version 0: the
-- platform's default detector).
CREATE TABLE stream_log (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    partition INTEGER NOT NULL,
    points    TEXT NOT NULL
);
CREATE INDEX stream_log_by_partition ON stream_log (partition, id);

CREATE TABLE stream_partitions (
    partition  INTEGER PRIMARY KEY,
    last_entry TEXT NOT NULL,
    epoch      INTEGER NOT NULL
);

CREATE TABLE stream_series (
    series_id  TEXT PRIMARY KEY,
    version    INTEGER NOT NULL,
    state      TEXT NOT NULL,
    last_ts    INTEGER,
    last_value REAL,
    points     INTEGER NOT NULL,
    anomalies  INTEGER NOT NULL,
    late       INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL
);

CREATE TABLE anomalies (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    series_id      TEXT NOT NULL,
    ts             INTEGER NOT NULL,
    value          REAL NOT NULL,
    score          REAL,
    detector       TEXT NOT NULL,
    version        INTEGER NOT NULL,
    recorded_at_ms INTEGER NOT NULL,
    UNIQUE (series_id, ts, detector, version)
);
CREATE INDEX stream_anomalies_by_ts ON anomalies (ts);
