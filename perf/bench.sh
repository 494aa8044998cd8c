#!/usr/bin/env bash
# make bench: compares predict on the real infer service with the bare axum
# baseline (perf/src/bin/baseline.rs), same load generator, same settings,
# same run; then measures the open-loop p99, fits and the other scenarios.
#
# Settings (environment): USERS (goose users, 64), CONNECTIONS (wrk, 64),
# DURATION (seconds per run, 15), SERIES (hot series, 1000), COLD_SERIES
# (20000), BENCH_DATABASE_URL / BENCH_REDIS_URL (run the platform on
# PostgreSQL and Redis instead of the embedded default).
# Output: the tables on stdout, goose reports and raw logs in target/bench/.
set -euo pipefail
cd "$(dirname "$0")/.."

USERS=${USERS:-64} CONNECTIONS=${CONNECTIONS:-64} DURATION=${DURATION:-15}
SERIES=${SERIES:-1000} COLD_SERIES=${COLD_SERIES:-20000}
out=target/bench && rm -rf "$out" && mkdir -p "$out"
bin=target/release
base_url=http://127.0.0.1:19001 train_url=http://127.0.0.1:18000 infer_url=http://127.0.0.1:18001

need() { command -v "$1" >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >&2; }; }
need wrk wrk
need python3 python3
cargo build --release -q -p platform -p perf

pids=()
cleanup() {
  kill "${pids[@]}" 2>/dev/null || true
  if [ -n "${BENCH_REDIS_URL:-}" ]; then # the platform's keys of this run
    redis-cli -u "$BENCH_REDIS_URL" --scan --pattern "bench$$:*" | xargs -r -n 500 redis-cli -u "$BENCH_REDIS_URL" del >/dev/null
  fi
}
trap cleanup EXIT
"$bin/baseline" 19001 2>"$out/baseline.log" & pids+=($!)
if [ -n "${BENCH_DATABASE_URL:-}" ]; then export DATABASE_URL=$BENCH_DATABASE_URL; fi
if [ -n "${BENCH_REDIS_URL:-}" ]; then export REDIS_URL=$BENCH_REDIS_URL REDIS_KEY_PREFIX="bench$$:"; fi
SQLITE_PATH="$out/bench.db" TRAIN_PORT=18000 INFER_PORT=18001 MONITOR_PORT=18002 RUST_LOG=warn \
  "$bin/platform" >"$out/platform.log" 2>&1 & pids+=($!)
for url in "$base_url/predict/x" "$infer_url/healthcheck"; do
  for _ in $(seq 100); do curl -s -o /dev/null -X POST "$url" -d '{}' 2>/dev/null && break; sleep 0.1; done
done
storage=$( [ -n "${DATABASE_URL:-}" ] && echo "PostgreSQL + Redis" || echo "embedded (SQLite, in-process cache)")

loadtest() { "$bin/loadtest" "$@" 2>>"$out/goose.log" | tee -a "$out/goose.log" | grep '^SUMMARY' || true; }
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2" | head -n 1; }
wrk_run() { # url -> "rps p50_us p99_us"
  SERIES=$SERIES wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s perf/wrk/predict.lua "$1" >"$out/wrk-$2.txt"
  awk 'function us(v) { if (v ~ /us$/) return v+0; if (v ~ /ms$/) return v*1000; if (v ~ /s$/) return v*1000000; return v }
       $1=="50%" {p50=us($2)} $1=="99%" {p99=us($2)} $1=="Requests/sec:" {rps=$2}
       END {printf "%.0f %.0f %.0f\n", rps, p50, p99}' "$out/wrk-$2.txt"
}

echo "== seeding $SERIES series on both" >&2
"$bin/loadtest" --scenario predict_hot --seed-only --host "$base_url" --series "$SERIES"
"$bin/loadtest" --scenario predict_hot --seed-only --host "$infer_url" --fit-host "$train_url" --series "$SERIES"

echo "== predict_hot: goose ($USERS users), then wrk ($CONNECTIONS connections), ${DURATION}s each" >&2
g_base=$(loadtest --scenario predict_hot --skip-seed --host "$base_url" --series "$SERIES" --users "$USERS" --duration "$DURATION" --label baseline --report-file "$out/goose-baseline.html")
g_infer=$(loadtest --scenario predict_hot --skip-seed --host "$infer_url" --series "$SERIES" --users "$USERS" --duration "$DURATION" --label infer --report-file "$out/goose-infer.html")
read -r w_base_rps w_base_p50 w_base_p99 <<<"$(wrk_run "$base_url" baseline)"
read -r w_infer_rps w_infer_p50 w_infer_p99 <<<"$(wrk_run "$infer_url" infer)"

echo
echo "predict_hot on $(nproc) cores, $(date -u +%Y-%m-%d), infer storage: $storage"
printf '| %-5s | %-8s | %10s | %8s | %8s | %13s |\n' tool target "requests/s" "p50 µs" "p99 µs" "infer/baseline"
printf '|%s|%s|%s|%s|%s|%s|\n' ------- ---------- ------------ ---------- ---------- ---------------
row() { printf '| %-5s | %-8s | %10s | %8s | %8s | %13s |\n' "$@"; }
g_ratio=$(awk -v a="$(field rps "$g_infer")" -v b="$(field rps "$g_base")" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}')
w_ratio=$(awk -v a="$w_infer_rps" -v b="$w_base_rps" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}')
row goose baseline "$(field rps "$g_base")" "$(field p50_us "$g_base")" "$(field p99_us "$g_base")" ""
row goose infer "$(field rps "$g_infer")" "$(field p50_us "$g_infer")" "$(field p99_us "$g_infer")" "$g_ratio"
row wrk baseline "$w_base_rps" "$w_base_p50" "$w_base_p99" ""
row wrk infer "$w_infer_rps" "$w_infer_p50" "$w_infer_p99" "$w_ratio"

echo
if command -v oha >/dev/null || [ -x "$HOME/.cargo/bin/oha" ]; then
  oha_bin=$(command -v oha || echo "$HOME/.cargo/bin/oha")
  rate=$(( w_infer_rps / 2 ))
  echo "open loop: $rate requests/s (half of infer's wrk maximum) for ${DURATION}s, oha, latency corrected"
  echo "| target | achieved requests/s | p50 µs | p99 µs | p99.9 µs | success |"
  echo "|---|---|---|---|---|---|"
  for target in baseline infer; do
    url=$base_url; [ "$target" = infer ] && url=$infer_url
    "$oha_bin" --no-tui --output-format json -z "${DURATION}s" -q "$rate" --latency-correction -c "$CONNECTIONS" \
      -m POST -H 'content-type: application/json' -d '{"timestamp":"1609459500","value":12.5}' \
      "$url/predict/perf-hot-1?version=v1" >"$out/oha-open-loop-$target.json"
    python3 - "$target" "$out/oha-open-loop-$target.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[2]))
p = r["latencyPercentiles"]
s = r["summary"]
print("| %s | %.0f | %.0f | %.0f | %.0f | %.2f%% |" % (sys.argv[1], s["requestsPerSec"], p["p50"] * 1e6, p["p99"] * 1e6, p["p99.9"] * 1e6, s["successRate"] * 100))
PY
  done
else
  echo "open loop: skipped (install oha: cargo install oha)"
fi

echo
echo "fit of 1,000,000 points end to end (JSON parse, validate, fit, store), 3 runs:"
python3 -c 'import json; n=1_000_000; print(json.dumps({"timestamps": list(range(1_600_000_000, 1_600_000_000+60*n, 60)), "values": [10 + (i % 97) * 0.25 for i in range(n)]}))' >"$out/fit-1m.json"
echo "body: $(du -h "$out/fit-1m.json" | cut -f1)"
for i in 1 2 3; do
  curl -s -o "$out/fit-1m-answer.json" -w "  run $i: HTTP %{http_code} in %{time_total} s\n" -X POST "$train_url/fit/perf-1m" --data-binary @"$out/fit-1m.json"
done

echo
echo "other scenarios (goose, $USERS users):"
echo "| scenario | request | requests | requests/s | p50 µs | p99 µs | errors |"
echo "|---|---|---|---|---|---|---|"
summary_rows() {
  while read -r line; do
    if [ -n "$line" ]; then
      echo "| $1 | $(field request "$line") | $(field requests "$line") | $(field rps "$line") | $(field p50_us "$line") | $(field p99_us "$line") | $(field errors "$line") |"
    fi
  done <<<"$2"
}
summary_rows fit_1k "$(loadtest --scenario fit_1k --host "$train_url" --users 16 --duration "$DURATION")"
summary_rows fit_100k "$(loadtest --scenario fit_100k --host "$train_url" --users 4 --duration "$DURATION")"
summary_rows predict_cold "$(loadtest --scenario predict_cold --host "$infer_url" --fit-host "$train_url" --series "$COLD_SERIES" --users "$USERS")"
summary_rows mixed "$(loadtest --scenario mixed --host "$infer_url" --fit-host "$train_url" --series 100 --users "$USERS" --duration "$DURATION")"
echo
echo "raw output: $out/"
