#!/usr/bin/env python3
"""Stream recovery times on PostgreSQL + Redis (streaming issue #7):

1. `kill -9` of the only worker, restarted at once: time until verdicts
   flow again (first verdict of the new process) and until it has judged the
   backlog (GET /ready: at most one entry per partition behind); once with
   a new worker name per start (the default), once under the same
   STREAM_WORKER_ID.
2. `kill -9` of one of two workers: time until the survivor owns every
   partition, and until it has judged the backlog.

A producer thread writes points straight into the Redis Streams log (the
entry format of the README's "Streaming" section) the whole time, so the
log keeps growing while a worker is down, as it does in production. Each
run uses its own Redis key prefix and its own PostgreSQL database
(created, then dropped). Usage:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379 \\
        perf/stream_recovery.py target/release/infer [SERIES] [POINTS_PER_SECOND]
"""
import json, os, random, signal, socket, subprocess, sys, threading, time, urllib.parse, urllib.request

binary = sys.argv[1]
series = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000
rate = float(sys.argv[3]) if len(sys.argv) > 3 else 20_000
partitions = 16
lease_ms = int(os.environ.get("STREAM_LEASE_MS", "5000"))
prefix = f"recovery{os.getpid()}:"
server_url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
database = f"stream_recovery_{os.getpid()}"
database_url = server_url.rsplit("/", 1)[0] + "/" + database
redis_url = urllib.parse.urlparse(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379"))


class Redis:
    """Just enough RESP to pipeline commands (the standard library has no client)."""

    def __init__(self):
        self.sock = socket.create_connection((redis_url.hostname, redis_url.port or 6379))
        self.file = self.sock.makefile("rb")

    def pipeline(self, commands):
        out = bytearray()
        for command in commands:
            out += b"*%d\r\n" % len(command)
            for arg in command:
                arg = arg if isinstance(arg, bytes) else str(arg).encode()
                out += b"$%d\r\n%s\r\n" % (len(arg), arg)
        self.sock.sendall(out)
        return [self.reply() for _ in commands]

    def reply(self):
        line = self.file.readline()[:-2]
        kind, rest = line[:1], line[1:]
        if kind == b"-":
            raise RuntimeError(rest.decode())
        if kind == b"$":
            return None if int(rest) < 0 else self.file.read(int(rest) + 2)[:-2]
        if kind == b"*":
            return [self.reply() for _ in range(max(0, int(rest)))]
        return rest


def fnv1a(text):
    h = 0xCBF29CE484222325
    for byte in text.encode():
        h = ((h ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


ids = [f"r{s}" for s in range(series)]
by_partition = [[i for i in ids if fnv1a(i) % partitions == p] for p in range(partitions)]
stop_producing = threading.Event()
produced = {"points": 0, "seconds": 0.0}


def produce():
    """Writes one entry per partition and tick, `rate` points/s in all."""
    redis, tick, start = Redis(), 0, time.time()
    ticks_per_second = rate / series
    while not stop_producing.is_set():
        time.sleep(max(0.0, start + tick / ticks_per_second - time.time()))
        timestamp = 1_700_000_000 + 60 * tick
        redis.pipeline([
            ["XADD", f"{prefix}points:{p}", "*", "points",
             json.dumps([[i, timestamp, 10 + random.random()] for i in members])]
            for p, members in enumerate(by_partition) if members
        ])
        tick += 1
        produced.update(points=tick * series, seconds=time.time() - start)


def start_infer(port, worker_id=""):
    env = dict(os.environ, STREAM_WORKER_ID=worker_id, DATABASE_URL=database_url, REDIS_URL=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379"),
               REDIS_KEY_PREFIX=prefix, INFER_PORT=str(port), STREAM_PARTITIONS=str(partitions),
               STREAM_LEASE_MS=str(lease_ms), RUST_LOG="warn")
    process = subprocess.Popen([binary], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return process, f"http://127.0.0.1:{port}"


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()
    except OSError:
        return None, ""


def verdicts(url):
    _, text = get(f"{url}/metrics")
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("anomaly_stream_verdicts_total"))


def readiness(url):
    status, body = get(f"{url}/ready")
    return status, (json.loads(body) if body.startswith("{") else {})


def caught_up(url, owning=None):
    """The backlog judged: at most about one entry per partition behind."""
    status, body = readiness(url)
    return status == 200 and body.get("lag_entries", partitions + 1) <= partitions and \
        (owning is None or body.get("partitions_owned") == owning)


def wait_until(condition, what, limit=120):
    start = time.time()
    while not condition():
        if time.time() - start > limit:
            sys.exit(f"gave up waiting for {what}")
        time.sleep(0.02)
    return time.time()


def only_worker(worker_id=""):
    a, url = start_infer(18101, worker_id)
    wait_until(lambda: caught_up(url) and verdicts(url) > 0, "the worker to catch up")
    time.sleep(3)
    a.send_signal(signal.SIGKILL)
    a.wait()
    killed = time.time()
    b, url = start_infer(18101, worker_id)
    listening = wait_until(lambda: get(f"{url}/healthcheck")[0] is not None, "the restart to listen")
    flowing = wait_until(lambda: verdicts(url) > 0, "verdicts after the restart")
    backlog_judged = wait_until(lambda: caught_up(url), "the restart to catch up")
    b.terminate()
    b.wait()
    named = f"under the same STREAM_WORKER_ID, " if worker_id else ""
    print(f"kill -9 of the only worker, restarted at once ({named}{lease_ms} ms leases, {rate:,.0f} points/s into "
          f"{series} series): listening after {listening - killed:.2f} s, verdicts flow again after "
          f"{flowing - killed:.2f} s, backlog judged after {backlog_judged - killed:.2f} s")


def survivor():
    a, url_a = start_infer(18101)
    b, url_b = start_infer(18102)
    wait_until(lambda: all(caught_up(u, partitions // 2) for u in (url_a, url_b)), "two workers sharing the partitions")
    time.sleep(3)
    a.send_signal(signal.SIGKILL)
    a.wait()
    killed = time.time()
    owns_all = wait_until(lambda: readiness(url_b)[1].get("partitions_owned") == partitions, "the takeover")
    backlog_judged = wait_until(lambda: caught_up(url_b, partitions), "the survivor to catch up")
    b.terminate()
    b.wait()
    print(f"kill -9 of one of two workers ({lease_ms} ms leases, {rate:,.0f} points/s into {series} series): "
          f"the survivor owns all {partitions} partitions after {owns_all - killed:.2f} s, "
          f"backlog judged after {backlog_judged - killed:.2f} s")


def psql(statement):
    subprocess.run(["psql", server_url, "-qc", statement], check=True, stdout=subprocess.DEVNULL)


psql(f"CREATE DATABASE {database}")
producer = threading.Thread(target=produce, daemon=True)
producer.start()
try:
    only_worker()
    only_worker(worker_id="infer-0")
    survivor()
finally:
    stop_producing.set()
    producer.join()
    print(f"the producer wrote {produced['points'] / max(produced['seconds'], 1e-9):,.0f} points/s on average")
    keys = Redis().pipeline([["KEYS", f"{prefix}*"]])[0]
    if keys:
        Redis().pipeline([["DEL", *keys]])
    psql(f"DROP DATABASE {database} WITH (FORCE)")
