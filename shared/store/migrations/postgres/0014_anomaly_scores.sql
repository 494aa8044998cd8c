-- The graded anomaly score in [0, 1] of every verdict (0.5 at the edge of
-- normal, flagged from 0.5), the same scale for every detector. NULL on
-- rows written before it existed.
ALTER TABLE anomalies ADD COLUMN anomaly_score DOUBLE PRECISION;
ALTER TABLE predictions ADD COLUMN anomaly_score DOUBLE PRECISION;
ALTER TABLE stream_points ADD COLUMN anomaly_score DOUBLE PRECISION;
