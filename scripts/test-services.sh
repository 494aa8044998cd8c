#!/usr/bin/env bash
# Makes sure the tests have a PostgreSQL, a Redis and a Kafka broker, then prints the
# `export` lines that point the tests at them (eval the output).
#
# - PostgreSQL: TEST_DATABASE_URL, else DATABASE_URL, else
#   postgres://postgres@127.0.0.1:5432/postgres, if it answers; otherwise a
#   throwaway cluster on port 55432 under target/test-services/.
# - Redis: TEST_REDIS_URL, else redis://127.0.0.1:6379, if it answers;
#   otherwise a throwaway redis-server on port 56379.
# - Kafka: TEST_KAFKA_BROKERS, else KAFKA_BROKERS, else 127.0.0.1:9092, if
#   it answers; otherwise a tansu broker (Kafka-compatible, in memory) on
#   port 59092. tansu is built once with `cargo install` (about 15 minutes)
#   into $TANSU_ROOT (default ~/.cache/anomaly-tansu) and reused after.
# - Chromium: the browser test drives /usr/bin/chromium (or $CHROMIUM).
# Missing Debian packages (postgresql, redis-server, chromium) are installed; one test
# runs a redis-server of its own, so that binary is always needed. Anything
# that cannot be provided is an error: the tests never skip silently.
set -euo pipefail

say() { echo "test-services: $*" >&2; }
root_dir="$(cd "$(dirname "$0")/.." && pwd)"
work="$root_dir/target/test-services"
mkdir -p "$work"

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
apt_updated=""
install_packages() {
  say "installing Debian packages: $*"
  if [ -z "$apt_updated" ]; then as_root apt-get update -qq >&2; apt_updated=1; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2
}

# --- PostgreSQL -------------------------------------------------------------
pg_url="${TEST_DATABASE_URL:-${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}}"
command -v pg_isready >/dev/null || install_packages postgresql-client
if pg_isready -q -d "$pg_url" -t 3 && psql "$pg_url" -Atqc 'select 1' >/dev/null 2>&1; then
  say "PostgreSQL answers at $pg_url"
else
  pg_bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
  if [ -z "$pg_bin" ] || [ ! -x "$pg_bin/initdb" ]; then
    install_packages postgresql
    pg_bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
  fi
  port=55432
  pg_url="postgres://postgres@127.0.0.1:$port/postgres"
  if ! pg_isready -q -h 127.0.0.1 -p "$port"; then
    data="$work/pg"
    # initdb and postgres refuse to run as root: use the postgres account.
    run_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
    rm -rf "$data" && mkdir -p "$data"
    [ "$(id -u)" = 0 ] && chown postgres "$data" "$work"
    say "starting a throwaway PostgreSQL on port $port"
    run_pg "$pg_bin/initdb" -D "$data" -U postgres --auth=trust -E UTF8 >/dev/null
    run_pg "$pg_bin/pg_ctl" -D "$data" -l "$data/log" -w \
      -o "-p $port -k $data -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300" start >/dev/null
  fi
  say "PostgreSQL answers at $pg_url"
fi

# --- Redis ------------------------------------------------------------------
redis_url="${TEST_REDIS_URL:-redis://127.0.0.1:6379}"
# redis-server is needed even with a running Redis: one test starts its own.
command -v redis-server >/dev/null && command -v redis-cli >/dev/null || install_packages redis-server
if [ "$(redis-cli -u "$redis_url" ping 2>/dev/null)" = "PONG" ]; then
  say "Redis answers at $redis_url"
else
  port=56379
  redis_url="redis://127.0.0.1:$port"
  if [ "$(redis-cli -u "$redis_url" ping 2>/dev/null)" != "PONG" ]; then
    say "starting a throwaway Redis on port $port"
    redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --daemonize yes \
      --dir "$work" --logfile "$work/redis.log" >&2
    for _ in $(seq 50); do [ "$(redis-cli -u "$redis_url" ping 2>/dev/null)" = "PONG" ] && break; sleep 0.1; done
  fi
  [ "$(redis-cli -u "$redis_url" ping 2>/dev/null)" = "PONG" ] || { say "Redis did not start"; exit 1; }
  say "Redis answers at $redis_url"
fi

# --- Kafka (the Kafka tests) -----------------------------------------------------
kafka="${TEST_KAFKA_BROKERS:-${KAFKA_BROKERS:-127.0.0.1:9092}}"
first_broker="${kafka%%,*}"
answers() { timeout 2 bash -c "exec 3<>/dev/tcp/${1%:*}/${1##*:}" 2>/dev/null; }
if answers "$first_broker"; then
  say "Kafka answers at $kafka"
else
  port=59092
  kafka="127.0.0.1:$port"
  if ! answers "$kafka"; then
    tansu_root="${TANSU_ROOT:-$HOME/.cache/anomaly-tansu}"
    tansu="$tansu_root/bin/tansu"
    if [ ! -x "$tansu" ]; then
      say "building the tansu broker once (about 15 minutes; cached in $tansu_root)"
      CARGO_TARGET_DIR="$tansu_root/build" cargo install tansu --version 0.6.0 --locked --features dynostore \
        --root "$tansu_root" >&2
      rm -rf "$tansu_root/build"
    fi
    say "starting a throwaway tansu broker on port $port"
    nohup "$tansu" broker --listener-url "tcp://127.0.0.1:$port" --advertised-listener-url "tcp://127.0.0.1:$port" \
      --storage-engine memory://tansu/ >"$work/tansu.log" 2>&1 &
    for _ in $(seq 50); do answers "$kafka" && break; sleep 0.1; done
  fi
  answers "$kafka" || { say "the Kafka broker did not start (see $work/tansu.log)"; exit 1; }
  say "Kafka answers at $kafka"
fi

# --- Chromium (the dashboard's browser test) ----------------------------------
[ -x "${CHROMIUM:-/usr/bin/chromium}" ] || install_packages chromium

echo "export TEST_DATABASE_URL='$pg_url'"
echo "export TEST_REDIS_URL='$redis_url'"
echo "export TEST_KAFKA_BROKERS='$kafka'"
