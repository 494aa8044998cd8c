#!/usr/bin/env bash
# Query latency of the stream's history on a large table: fills a fresh
# PostgreSQL database with ROWS stored points (in blocks of BLOCK, 200 by
# default, per series) over the last 7 days (one
# busy series of BUSY points, the rest spread over 4,000 series), starts the
# release platform on it and times, through monitor's HTTP API, a 100-row
# page of the busy series at a random point of the week and an 800-bucket
# summary of its whole week. Prints p50 and p99 of each.
# Usage: perf/points_query.sh [ROWS] [BUSY] [CALLS]   (default 50000000 10000000 200)
set -eu
rows=${1:-50000000}; busy=${2:-10000000}; calls=${3:-200}
db=perf_points_query
url=postgres://postgres@127.0.0.1:5432
psql $url/postgres -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db" >/dev/null
binary="$(dirname "$0")/../target/release/platform"
start_platform() {
  env DATABASE_URL=$url/$db RUST_LOG=warn TRAIN_PORT=18000 INFER_PORT=18001 MONITOR_PORT=18002 "$binary" >/tmp/points_query.log 2>&1 &
  pid=$!
  for _ in $(seq 100); do curl -fs localhost:18002/healthcheck >/dev/null && break; sleep 0.2; done
}
start_platform   # applies the migrations and creates today's partitions
kill -TERM $pid; wait $pid || true
now_ms=$(($(date +%s) * 1000)); week=$((7 * 86400))
for day in $(seq 0 7); do
  d=$((now_ms / 86400000 - day))
  psql $url/$db -qc "CREATE TABLE IF NOT EXISTS stream_points_d$d PARTITION OF stream_points FOR VALUES FROM ($((d * 86400000))) TO ($(((d + 1) * 86400000)))"
done
t0=$(($(date +%s) - week))
# Blocks of BLOCK points per series, as the stream writes them (one per
# series and batch): the rows of a point each, grouped.
block=${BLOCK:-200}
blocks_of() {  # $1: a query of (series_id, ts, value, score, anomaly, judged_at_ms, grp) rows
  echo "INSERT INTO stream_points SELECT series_id, MIN(ts), MAX(ts), COUNT(*), 'novelty', 0, MIN(judged_at_ms), \
    array_agg(ts ORDER BY ts), array_agg(value ORDER BY ts), array_agg(score ORDER BY ts), \
    array_agg(score ORDER BY ts), array_agg(anomaly ORDER BY ts), array_agg(false) FROM ($1) q GROUP BY series_id, grp"
}
time psql $url/$db -qc "$(blocks_of "SELECT 'busy' AS series_id, $t0 + i * $week / $busy AS ts, 10 + (i % 97) / 10.0 AS value, \
  0.5 AS score, i % 50000 = 0 AS anomaly, $now_ms - ($busy - i) * $week * 1000 / $busy AS judged_at_ms, i / $block AS grp \
  FROM generate_series(CAST(1 AS BIGINT), $busy) i")"
rest=$((rows - busy)); per=$((rest / 4000))
time psql $url/$db -qc "$(blocks_of "SELECT 's' || (i % 4000) AS series_id, $t0 + (i / 4000) * $week / $per AS ts, (i % 31) / 3.0 AS value, \
  0.1 AS score, false AS anomaly, $now_ms - ($per - i / 4000) * $week * 1000 / $per AS judged_at_ms, i / 4000 / $block AS grp \
  FROM generate_series(CAST(0 AS BIGINT), $rest - 1) i")"
psql $url/$db -qc "ANALYZE stream_points"
psql -At $url/$db -c "SELECT sum(points), count(*) FROM stream_points"
start_platform
python3 - "$calls" "$t0" "$week" <<'PY'
import random, sys, time, urllib.request
calls, t0, week = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
def timed(path):
    start = time.perf_counter()
    body = urllib.request.urlopen("http://127.0.0.1:18002" + path).read()
    return (time.perf_counter() - start) * 1000, len(body)
def report(name, paths):
    times = sorted(timed(p)[0] for p in paths)
    print(f"{name}: p50 {times[len(times) // 2]:.1f} ms, p99 {times[int(len(times) * 0.99) - 1]:.1f} ms ({len(times)} calls)")
report("100-row page", [f"/series/busy/points?limit=100&after={t0 + random.randrange(week)}" for _ in range(calls)])
report("800-bucket summary of 7 days", [f"/series/busy/points/summary?buckets=800&from={t0}&to={t0 + week}" for _ in range(max(10, calls // 10))])
PY
kill -TERM $pid; wait $pid || true
