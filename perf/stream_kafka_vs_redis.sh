#!/usr/bin/env bash
# One end-to-end stream run of perf/stream_throughput.py against the release
# platform on PostgreSQL + Redis, through Redis Streams or through Kafka
# (the broker at 127.0.0.1:59092, as make test starts: topics of 16
# partitions made with tansu), on a fresh database and key prefix.
# Usage: perf/stream_kafka_vs_redis.sh redis|kafka TAG [RATE] [BINARY]
#   (BINARY: the platform to run, default target/release/platform;
#    POINTS_PER_SERIES: points of each of the 10,000 series, default 50;
#    CLIENTS: clients posting at once, default 1; LONE_POINTS=N: instead,
#    N lone points' ingest to verdict, perf/lone_point_latency.py)
set -u
mode=$1; tag=$2; rate=${3:-}; binary=${4:-$(dirname "$0")/../target/release/platform}
db=perf_$tag
psql postgres://postgres@127.0.0.1:5432/postgres -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db" >/dev/null
redis-cli --scan --pattern "perf$tag:*" | xargs -r redis-cli del >/dev/null
env_kafka=()
if [ "$mode" = kafka ]; then
  T=/root/.cache/anomaly-tansu/bin/tansu
  $T topic create --broker tcp://127.0.0.1:59092 --partitions 16 raw.$tag >/dev/null
  $T topic create --broker tcp://127.0.0.1:59092 --partitions 16 an.$tag >/dev/null
  env_kafka=(KAFKA_BROKERS=127.0.0.1:59092 KAFKA_POINTS_TOPIC=raw.$tag KAFKA_ANOMALIES_TOPIC=an.$tag KAFKA_GROUP_ID=g.$tag)
fi
env DATABASE_URL=postgres://postgres@127.0.0.1:5432/$db REDIS_URL=redis://127.0.0.1:6379 REDIS_KEY_PREFIX=perf$tag: \
  STREAM_DETECTOR=rolling_zscore RUST_LOG=warn TRAIN_PORT=18000 INFER_PORT=18001 MONITOR_PORT=18002 "${env_kafka[@]}" \
  "$binary" > /tmp/perf_$tag.log 2>&1 &
pid=$!
for _ in $(seq 100); do curl -fs localhost:18001/ready >/dev/null && break; sleep 0.2; done
if [ -n "${LONE_POINTS:-}" ]; then
  python3 "$(dirname "$0")/lone_point_latency.py" http://127.0.0.1:18001 "$LONE_POINTS"
else
  python3 "$(dirname "$0")/stream_throughput.py" http://127.0.0.1:18001 10000 "${POINTS_PER_SERIES:-50}" 10000 $rate
fi
kill -TERM $pid; wait $pid
