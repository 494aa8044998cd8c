#!/usr/bin/env bash
# User-space instructions per predict, counted by valgrind's callgrind: no
# noise from the machine, so two builds or settings compare exactly (the
# kernel's share, loopback TCP and task switches, is not counted; see
# cpu_per_predict.sh for the CPU time). Each target runs twice under
# callgrind, seeded with 1,000 series, once without load and once with
# SECONDS of wrk (1 thread, 8 connections): the difference over the
# requests served is the cost of one predict, start-up and seeding left
# out. Prints instructions per request and a budget by part; with two
# targets, the functions where the second spends most over the first.
# Usage: perf/instructions_per_predict.sh TARGET [TARGET...]
#   TARGET: baseline | baseline-our-server | platform[:VAR=value,VAR=value]
#   e.g.    perf/instructions_per_predict.sh baseline platform:PREDICTION_HISTORY_MAX_ROWS=0
# Env: SECONDS_OF_LOAD (default 15), PLATFORM_BINARY (default target/release/platform).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq valgrind >&2; }
command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >&2; }
cargo build --release -q -p platform -p perf
out=target/bench-instructions && rm -rf "$out" && mkdir -p "$out"
# A step that fails (a seeding refused, say) leaves no target running.
trap 'jobs -p | xargs -r kill 2>/dev/null || true' EXIT

# One callgrind run of TARGET with SECONDS of load; writes $out/NAME.{requests,functions}.
run() {
  local target=$1 seconds=$2 name=$3 pid seed=(--host http://127.0.0.1:18001)
  local callgrind=(valgrind --tool=callgrind --callgrind-out-file="$out/$name.callgrind")
  case $target in
    baseline) "${callgrind[@]}" target/release/baseline 18001 >"$out/$name.log" 2>&1 & ;;
    baseline-our-server) "${callgrind[@]}" target/release/baseline 18001 --our-server >"$out/$name.log" 2>&1 & ;;
    platform*)
      local settings=() && [[ $target == platform:* ]] && IFS=, read -ra settings <<<"${target#platform:}"
      env "${settings[@]}" SQLITE_PATH="$out/$name.db" TRAIN_PORT=18000 INFER_PORT=18001 MONITOR_PORT=18002 \
        RUST_LOG=warn "${callgrind[@]}" "${PLATFORM_BINARY:-target/release/platform}" >"$out/$name.log" 2>&1 &
      seed+=(--fit-host http://127.0.0.1:18000) ;;
    *) echo "unknown target $target" >&2; exit 2 ;;
  esac
  pid=$!
  for _ in $(seq 300); do curl -s -o /dev/null -X POST http://127.0.0.1:18001/predict/x -d '{}' && break; sleep 0.2; done
  target/release/loadtest --scenario predict_hot --seed-only "${seed[@]}" --series 1000 >/dev/null 2>&1
  local requests=0
  if [ "$seconds" -gt 0 ]; then
    requests=$(SERIES=1000 wrk -t1 -c8 -d"${seconds}s" -s perf/wrk/predict.lua http://127.0.0.1:18001 |
      awk '/requests in/ {print $1}')
  fi
  kill -TERM $pid && wait $pid || true
  echo "$requests" >"$out/$name.requests"
  callgrind_annotate --threshold=100 "$out/$name.callgrind" >"$out/$name.functions"
}

names=()
for target in "$@"; do
  name=t${#names[@]}
  run "$target" 0 "$name.idle"
  run "$target" "${SECONDS_OF_LOAD:-15}" "$name.load"
  names+=("$target=$out/$name")
done
python3 perf/callgrind_budget.py "${names[@]}"
