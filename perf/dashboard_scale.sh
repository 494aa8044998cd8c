#!/usr/bin/env bash
# Times the dashboard with 100,000 series (200,000 versions) on PostgreSQL.
# Usage: BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres perf/dashboard_scale.sh
# (an admin URL: a database `dashboard_scale` is created there and dropped after).
# Prints the answer time of each page (curl, best of three).
set -euo pipefail
cd "$(dirname "$0")/.."
admin=${BENCH_DATABASE_URL:?set BENCH_DATABASE_URL to an admin PostgreSQL URL}
db="${admin%/*}/dashboard_scale"
cargo build --release -q -p platform
psql "$admin" -qc "DROP DATABASE IF EXISTS dashboard_scale" -c "CREATE DATABASE dashboard_scale"
DATABASE_URL=$db TRAIN_PORT=18000 INFER_PORT=18001 MONITOR_PORT=18002 RUST_LOG=warn target/release/platform \
  >/dev/null 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; sleep 0.5; psql "$admin" -qc "DROP DATABASE IF EXISTS dashboard_scale"' EXIT
for _ in $(seq 100); do curl -s -o /dev/null http://127.0.0.1:18002/healthcheck && break; sleep 0.1; done
# The rows a fit would write (versions 1 to 3 per series), without the training blobs.
psql "$db" -q <<'SQL'
INSERT INTO series (series_id, latest_version, trained_at_ms, points_used)
  SELECT 'host-' || lpad(i::text, 6, '0') || '.cpu', 1 + i % 3, 1795000000000 - i * 1000, 100 + (i * 7919) % 5000
  FROM generate_series(1, 100000) i;
INSERT INTO models (series_id, version, mean, std, threshold, direction, points_used, trained_at_ms)
  SELECT series_id, v, 10, 1, 3, 'two_sided', points_used, trained_at_ms FROM series, generate_series(1, latest_version) v;
INSERT INTO series_activity SELECT series_id, 100, 3, 1795000000000 FROM series WHERE latest_version = 2;
ANALYZE;
SQL
for path in /dashboard "/dashboard/series" "/dashboard/series?sort=trained_at&order=desc" \
  "/dashboard/series?sort=points_used&order=desc&page=1000" "/dashboard/series?page=2000" \
  "/dashboard/series?filter=0421" "/dashboard/series?filter=0421&sort=version&order=desc" \
  "/models?limit=100&after=host-050000.cpu"; do
  best=$(for _ in 1 2 3; do curl -s -o /dev/null -w "%{time_total}\n" "http://127.0.0.1:18002$path"; done | sort -n | head -1)
  printf "%8.1f ms  %s\n" "$(awk -v t="$best" 'BEGIN {print t * 1000}')" "$path"
done
