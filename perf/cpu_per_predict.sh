#!/usr/bin/env bash
# CPU time the platform spends per predict under wrk: steadier than
# requests/s on a shared 2-core box, so it shows the cost of one feature.
# Usage: perf/cpu_per_predict.sh [VAR=value ...]   (settings for the platform)
# e.g.   perf/cpu_per_predict.sh PREDICTION_HISTORY_MAX_ROWS=0   (history off)
#        SEED_DETECTOR=novelty perf/cpu_per_predict.sh   (series fitted with novelty)
#        TARGET=baseline perf/cpu_per_predict.sh          (the bare axum baseline)
#        TARGET=baseline BASELINE_ARGS=--our-server perf/cpu_per_predict.sh
#                                       (the baseline's router on the platform's own server)
#        PLATFORM_BINARY=/tmp/platform_before perf/cpu_per_predict.sh   (another build, side by side)
# Prints requests/s and CPU µs per request for three 6-second wrk runs.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >&2; }
cargo build --release -q -p platform -p perf
out=target/bench-cpu && rm -rf "$out" && mkdir -p "$out"
if [ "${TARGET:-platform}" = baseline ]; then
  target/release/baseline 18001 ${BASELINE_ARGS:-} >"$out/baseline.log" 2>&1 &
  pid=$!
  seed_hosts=(--host http://127.0.0.1:18001)
else
  env "$@" SQLITE_PATH="$out/cpu.db" TRAIN_PORT=18000 INFER_PORT=18001 MONITOR_PORT=18002 RUST_LOG=warn \
    "${PLATFORM_BINARY:-target/release/platform}" >"$out/platform.log" 2>&1 &
  pid=$!
  seed_hosts=(--host http://127.0.0.1:18001 --fit-host http://127.0.0.1:18000)
fi
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -s -o /dev/null -X POST http://127.0.0.1:18001/predict/x -d '{}' && break; sleep 0.1; done
seed_detector=()
[ -n "${SEED_DETECTOR:-}" ] && seed_detector=(--seed-detector "$SEED_DETECTOR")
target/release/loadtest --scenario predict_hot --seed-only "${seed_hosts[@]}" "${seed_detector[@]}" --series 1000 >/dev/null 2>&1
ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
hz=$(getconf CLK_TCK)
for _ in 1 2 3; do
  before=$(ticks)
  rps=$(SERIES=1000 wrk -t2 -c64 -d6s -s perf/wrk/predict.lua http://127.0.0.1:18001 | awk '$1=="Requests/sec:" {print $2}')
  sleep 0.5
  after=$(ticks)
  awk -v rps="$rps" -v t=$((after - before)) -v hz="$hz" \
    'BEGIN {printf "requests/s %.0f  cpu µs/request %.2f\n", rps, t / hz * 1e6 / (rps * 6)}'
done
