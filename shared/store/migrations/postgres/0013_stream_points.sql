-- Every point the stream judged, with its verdict, written in the same
-- transaction as the batch's states, anomalies and log position. Version
-- 0: the platform's default detector. Partitioned by the day the point was
-- judged (its arrival, judged_at_ms), not by its own timestamp: a replay
-- of old data or a device with a wrong clock lands in today's partition.
-- The stream worker creates each day's partition ahead
-- (stream_points_d<Unix day>); retention drops whole partitions.
CREATE TABLE stream_points (
    series_id    TEXT COLLATE "C" NOT NULL,
    ts           BIGINT NOT NULL,
    value        DOUBLE PRECISION NOT NULL,
    score        DOUBLE PRECISION,
    anomaly      BOOLEAN NOT NULL,
    warming_up   BOOLEAN NOT NULL,
    detector     TEXT NOT NULL,
    version      BIGINT NOT NULL,
    judged_at_ms BIGINT NOT NULL
) PARTITION BY RANGE (judged_at_ms);
CREATE INDEX stream_points_by_series ON stream_points (series_id, ts);
