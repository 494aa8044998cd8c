#!/usr/bin/env bash
# The cost of keeping every judged point: one end-to-end stream run of
# perf/stream_throughput.py (2,000 series x 1,000 points, the default
# detector) against the release platform on PostgreSQL + Redis, on a fresh
# database and key prefix, with the stream's history on (POINTS_RETENTION_DAYS=7)
# or off (0). Prints points/s, then the bytes the stored points take.
# Usage: perf/stream_history.sh on|off TAG [PLATFORM_BINARY]
set -u
mode=$1; tag=$2; binary=${3:-"$(dirname "$0")/../target/release/platform"}
days=7; [ "$mode" = off ] && days=0
db=perf_$tag
psql postgres://postgres@127.0.0.1:5432/postgres -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db" >/dev/null
redis-cli --scan --pattern "perf$tag:*" | xargs -r redis-cli del >/dev/null
env DATABASE_URL=postgres://postgres@127.0.0.1:5432/$db REDIS_URL=redis://127.0.0.1:6379 REDIS_KEY_PREFIX=perf$tag: \
  POINTS_RETENTION_DAYS=$days RUST_LOG=warn TRAIN_PORT=18000 INFER_PORT=18001 MONITOR_PORT=18002 \
  "$binary" > /tmp/perf_$tag.log 2>&1 &
pid=$!
for _ in $(seq 100); do curl -fs localhost:18001/ready >/dev/null && break; sleep 0.2; done
python3 "$(dirname "$0")/stream_throughput.py" http://127.0.0.1:18001 2000 1000 10000
kill -TERM $pid; wait $pid
psql -At postgres://postgres@127.0.0.1:5432/$db -c "SELECT sum(points), \
  pg_total_relation_size('stream_points') + coalesce((SELECT sum(pg_total_relation_size(inhrelid)) FROM pg_inherits \
  WHERE inhparent = 'stream_points'::regclass), 0) FROM stream_points" 2>/dev/null \
  | awk -F'|' '$1 > 0 {printf "stored points %d, %.1f bytes per point (table and index)\n", $1, $2 / $1}'
