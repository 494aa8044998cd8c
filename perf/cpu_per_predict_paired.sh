#!/usr/bin/env bash
# CPU per predict of the bare handler and of one or more platform builds,
# measured in turns: all are started at once on their own ports and seeded,
# then each round loads each in turn for SECONDS_PER_TURN (wrk -t2 -c64),
# each round starting one later in the list than the round before,
# so every figure of a round is taken within seconds of the others and a
# noisy machine moves them together. Prints µs of CPU per request
# (/proc/<pid>/stat) per round, then the means and each one's ratio to the
# bare handler.
# Usage: perf/cpu_per_predict_paired.sh BINARY[:VAR=value,VAR=value] ...
#   e.g. perf/cpu_per_predict_paired.sh /tmp/platform_before target/release/platform
#        perf/cpu_per_predict_paired.sh target/release/platform target/release/platform:PREDICTION_HISTORY_MAX_ROWS=0
# Env: ROUNDS (default 9: a multiple of the builds' count, bare included,
# gives each the same positions), SECONDS_PER_TURN (default 3).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >&2; }
cargo build --release -q -p platform -p perf
out=target/bench-cpu-paired && rm -rf "$out" && mkdir -p "$out"
target/release/baseline 19001 >"$out/bare.log" 2>&1 &
pids=($!) ports=(19001) names=(bare)
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
for spec in "$@"; do
  binary=${spec%%:*} settings=() && [[ $spec == *:* ]] && IFS=, read -ra settings <<<"${spec#*:}"
  port=$((19000 + 10 * ${#pids[@]}))
  env "${settings[@]}" SQLITE_PATH="$out/${#pids[@]}.db" TRAIN_PORT=$port INFER_PORT=$((port + 1)) \
    MONITOR_PORT=$((port + 2)) RUST_LOG=warn "$binary" >"$out/${#pids[@]}.log" 2>&1 &
  pids+=($!) ports+=($((port + 1))) names+=("$spec")
done
for k in "${!ports[@]}"; do
  url=http://127.0.0.1:${ports[$k]} seed=(--host "$url")
  for _ in $(seq 100); do curl -s -o /dev/null -X POST "$url/predict/x" -d '{}' && break; sleep 0.1; done
  [ "$k" -gt 0 ] && seed+=(--fit-host "http://127.0.0.1:$((ports[k] - 1))")
  target/release/loadtest --scenario predict_hot --seed-only "${seed[@]}" --series 1000 >/dev/null 2>&1
done
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
seconds=${SECONDS_PER_TURN:-3}
for round in $(seq "${ROUNDS:-9}"); do
  # Each round starts one later in the list: every build takes every
  # position equally often over a multiple of the builds' count of rounds
  # (a build measured right after another reads differently).
  for step in "${!ports[@]}"; do
    k=$(((round + step) % ${#ports[@]}))
    before=$(ticks "${pids[$k]}")
    rps=$(SERIES=1000 wrk -t2 -c64 -d"${seconds}s" -s perf/wrk/predict.lua "http://127.0.0.1:${ports[$k]}" |
      awk '$1=="Requests/sec:" {print $2}')
    sleep 0.3
    after=$(ticks "${pids[$k]}")
    awk -v r="$round" -v n="${names[$k]}" -v t=$((after - before)) -v hz="$(getconf CLK_TCK)" -v rps="$rps" -v s="$seconds" \
      'BEGIN {printf "round %s\t%s\t%.2f\n", r, n, t / hz * 1e6 / (rps * s)}'
  done
done | tee "$out/rounds.tsv"
awk -F'\t' '{sum[$2] += $3; count[$2]++; if (!($2 in seen)) {seen[$2] = 1; order[++n] = $2}}
  END {bare = sum["bare"] / count["bare"];
       for (i = 1; i <= n; i++) {m = sum[order[i]] / count[order[i]];
       printf "mean %s: %.2f µs/request (%.2f × bare)\n", order[i], m, m / bare}}' "$out/rounds.tsv"
