-- Positions are kept per log: the platform's own log ('points', Redis
-- Streams or stream_log) and each Kafka topic ('kafka:<topic>') number their
-- partitions independently, so a partition number alone is ambiguous.
CREATE TABLE stream_positions (
    log        TEXT COLLATE "C" NOT NULL,
    partition  INTEGER NOT NULL,
    last_entry TEXT NOT NULL,
    epoch      BIGINT NOT NULL,
    PRIMARY KEY (log, partition)
);
INSERT INTO stream_positions (log, partition, last_entry, epoch)
    SELECT 'points', partition, last_entry, epoch FROM stream_partitions;
DROP TABLE stream_partitions;
