#!/usr/bin/env bash
# Peak and resident memory of the platform under 12 concurrent 60 MB fits
# (2.85M points each), the scenario that peaked at 1.17 GB before fits had a
# memory budget. Usage: perf/fit_memory.sh [VAR=value ...] (platform settings)
# e.g.   perf/fit_memory.sh FIT_MAX_BYTES_IN_FLIGHT=4294967296   (no budget in effect)
#        PLATFORM_BINARY=/tmp/platform_before perf/fit_memory.sh   (another build)
# Prints the statuses of the fits, peak RSS (VmHWM) and RSS 5 s after.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p platform
out=target/bench-fit-memory && rm -rf "$out" && mkdir -p "$out"
python3 - "$out/body.json" <<'PY'
import json, sys
n = 2_850_000
with open(sys.argv[1], "w") as f:
    f.write('{"timestamps": [')
    f.write(",".join(str(1_600_000_000 + 60 * i) for i in range(n)))
    f.write('], "values": [')
    f.write(",".join(f"{10 + (i % 97) * 0.137:.6f}" for i in range(n)))
    f.write("]}")
PY
echo "body: $(stat -c %s "$out/body.json") bytes"
env MAX_BODY_BYTES=67108864 "$@" SQLITE_PATH="$out/fit.db" TRAIN_PORT=18100 INFER_PORT=18101 MONITOR_PORT=18102 \
  RUST_LOG=warn "${PLATFORM_BINARY:-target/release/platform}" >"$out/platform.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -s -o /dev/null http://127.0.0.1:18100/healthcheck && break; sleep 0.1; done
for i in $(seq 12); do
  curl -s -o /dev/null -w '%{http_code} ' -X POST "http://127.0.0.1:18100/fit/big$i" \
    -H 'content-type: application/json' --data-binary @"$out/body.json" &
done
wait_fits() { for job in $(jobs -p); do [ "$job" = "$pid" ] || wait "$job"; done; }
wait_fits
echo
sleep 5
grep -E 'VmHWM|VmRSS' "/proc/$pid/status"
