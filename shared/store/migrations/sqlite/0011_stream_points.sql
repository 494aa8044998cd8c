-- Every point the stream judged, with its verdict, written in the same
-- transaction as the batch's states, anomalies and log position (version
-- 0: the platform's default detector). Retention deletes rows judged
-- before the cut in small chunks, off the stream's path.
CREATE TABLE stream_points (
    series_id    TEXT NOT NULL,
    ts           INTEGER NOT NULL,
    value        REAL NOT NULL,
    score        REAL,
    anomaly      BOOLEAN NOT NULL,
    warming_up   BOOLEAN NOT NULL,
    detector     TEXT NOT NULL,
    version      INTEGER NOT NULL,
    judged_at_ms INTEGER NOT NULL
);
CREATE INDEX stream_points_by_series ON stream_points (series_id, ts);
CREATE INDEX stream_points_by_judged_at ON stream_points (judged_at_ms);
