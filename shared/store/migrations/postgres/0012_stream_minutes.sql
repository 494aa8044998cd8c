-- Per minute and partition: points the stream took in and anomalies it
-- found (written in the batch's commit, so a retried batch never counts
-- twice), and the most entries the partition was behind (written by the
-- lease rounds while it lags). Partition rows, so that workers never wait
-- on each other's counters. Kept two hours.
CREATE TABLE stream_minutes (
    minute      BIGINT NOT NULL,
    log         TEXT NOT NULL,
    partition   BIGINT NOT NULL,
    points      BIGINT NOT NULL DEFAULT 0,
    anomalies   BIGINT NOT NULL DEFAULT 0,
    lag_entries BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (minute, log, partition)
);
