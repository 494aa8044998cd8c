-- The stream's history as blocks: one row per series and batch (the
-- points of one series one batch judged with one detector and version),
-- its points in arrays, instead of one row per point. The index then
-- holds one entry per block, not per point: writing a batch's history
-- costs a few index inserts per series rather than one per point (which
-- was the floor of the row layout, about 4 µs a point). A series' points
-- only move forward (late ones are skipped), so its blocks cover disjoint,
-- ascending ranges [first_ts, last_ts]; reads pick blocks by that range,
-- then unnest them. Partitioned as before by the day the batch was judged.
-- Existing points are carried over, one block per series and batch.
ALTER TABLE stream_points RENAME TO stream_points_rows;
DO $$
DECLARE
    part RECORD;
BEGIN
    FOR part IN
        SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'stream_points_rows'
    LOOP
        EXECUTE format('ALTER TABLE %I RENAME TO %I', part.name, replace(part.name, 'stream_points_d', 'stream_points_rows_d'));
    END LOOP;
END $$;

CREATE TABLE stream_points (
    series_id     TEXT COLLATE "C" NOT NULL,
    first_ts      BIGINT NOT NULL,
    last_ts       BIGINT NOT NULL,
    points        INTEGER NOT NULL,
    detector      TEXT NOT NULL,
    version       BIGINT NOT NULL,
    judged_at_ms  BIGINT NOT NULL,
    ts            BIGINT[] NOT NULL,
    value         DOUBLE PRECISION[] NOT NULL,
    score         DOUBLE PRECISION[] NOT NULL,
    anomaly_score DOUBLE PRECISION[] NOT NULL,
    anomaly       BOOLEAN[] NOT NULL,
    warming_up    BOOLEAN[] NOT NULL
) PARTITION BY RANGE (judged_at_ms);
-- Pages newest first start at an upper bound of time (first_ts); ranges
-- start at a lower bound (last_ts).
CREATE INDEX stream_point_blocks_by_start ON stream_points (series_id, first_ts) INCLUDE (last_ts);
CREATE INDEX stream_point_blocks_by_end ON stream_points (series_id, last_ts) INCLUDE (first_ts);

DO $$
DECLARE
    day BIGINT;
BEGIN
    FOR day IN SELECT DISTINCT judged_at_ms / 86400000 FROM stream_points_rows LOOP
        EXECUTE format('CREATE TABLE IF NOT EXISTS stream_points_d%s PARTITION OF stream_points FOR VALUES FROM (%s) TO (%s)',
                       day, day * 86400000, (day + 1) * 86400000);
    END LOOP;
END $$;
INSERT INTO stream_points (series_id, first_ts, last_ts, points, detector, version, judged_at_ms, ts, value, score,
                           anomaly_score, anomaly, warming_up)
SELECT series_id, MIN(ts), MAX(ts), COUNT(*), detector, version, judged_at_ms, array_agg(ts ORDER BY ts),
       array_agg(value ORDER BY ts), array_agg(score ORDER BY ts), array_agg(anomaly_score ORDER BY ts),
       array_agg(anomaly ORDER BY ts), array_agg(warming_up ORDER BY ts)
FROM stream_points_rows GROUP BY series_id, judged_at_ms, detector, version;
DROP TABLE stream_points_rows;
