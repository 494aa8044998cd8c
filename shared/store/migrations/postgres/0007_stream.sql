-- The streaming half. stream_log: the partitioned log of ingested points
-- when Redis is not configured (one row per append and partition, JSON
-- points). stream_partitions: each partition's position in its log and
-- the epoch of the owner that wrote it (fencing). stream_series: each
-- series' detector state and counters. anomalies: what the stream found,
-- once per series, point time, detector and version (version 0: the
-- platform's default detector).
CREATE TABLE stream_log (
    id        BIGSERIAL PRIMARY KEY,
    partition INTEGER NOT NULL,
    points    TEXT NOT NULL
);
CREATE INDEX stream_log_by_partition ON stream_log (partition, id);

CREATE TABLE stream_partitions (
    partition  INTEGER PRIMARY KEY,
    last_entry TEXT NOT NULL,
    epoch      BIGINT NOT NULL
);

CREATE TABLE stream_series (
    series_id  TEXT COLLATE "C" PRIMARY KEY,
    version    BIGINT NOT NULL,
    state      TEXT NOT NULL,
    last_ts    BIGINT,
    last_value DOUBLE PRECISION,
    points     BIGINT NOT NULL,
    anomalies  BIGINT NOT NULL,
    late       BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL
);

CREATE TABLE anomalies (
    id             BIGSERIAL PRIMARY KEY,
    series_id      TEXT COLLATE "C" NOT NULL,
    ts             BIGINT NOT NULL,
    value          DOUBLE PRECISION NOT NULL,
    score          DOUBLE PRECISION,
    detector       TEXT NOT NULL,
    version        BIGINT NOT NULL,
    recorded_at_ms BIGINT NOT NULL,
    UNIQUE (series_id, ts, detector, version)
);
CREATE INDEX stream_anomalies_by_ts ON anomalies (ts);
