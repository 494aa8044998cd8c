#!/usr/bin/env python3
"""End-to-end stream throughput: POST /ingest bodies of many series (JSON),
then wait until the stream worker has judged every point (the sum of
anomaly_stream_verdicts_total and late points in /metrics). Prints points/s
of ingest alone and of ingest-to-judged. With RATE (points/s), the bodies
are sent at that pace instead, and the ingest-to-verdict quantiles of
anomaly_stream_ingest_to_verdict_seconds are printed (a fresh process
measures only this run). Works the same with infer on Redis Streams or on
Kafka (KAFKA_BROKERS: POST /ingest produces to the topic). With CLIENTS=K
in the environment (default 1), K clients post at once, each the bodies of
its own series (series s goes to client s % K), in order, as K gateways
would; with RATE, each client paces at RATE / K. Usage:

    perf/stream_throughput.py [INFER_URL] [SERIES] [POINTS_PER_SERIES] [POINTS_PER_REQUEST] [RATE]
"""
import json, os, sys, time, urllib.request
import stream_metrics
from concurrent.futures import ThreadPoolExecutor

url = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8001"
series = int(sys.argv[2]) if len(sys.argv) > 2 else 10_000
per_series = int(sys.argv[3]) if len(sys.argv) > 3 else 50
per_request = int(sys.argv[4]) if len(sys.argv) > 4 else 10_000
rate = float(sys.argv[5]) if len(sys.argv) > 5 else None
clients = int(os.environ.get("CLIENTS", "1"))

before = stream_metrics.judged(url)
def points_of(client):
    return [{"series_id": f"s{s}", "timestamp": 1_700_000_000 + 60 * t, "value": 10 + (s * 7 + t * 13) % 17 / 5}
            for t in range(per_series) for s in range(client, series, clients)]

def bodies_of(own):
    return [json.dumps({"points": own[i:i + per_request]}).encode() for i in range(0, len(own), per_request)]

def post_all(bodies):
    for i, body in enumerate(bodies):
        if rate:
            time.sleep(max(0.0, start + i * per_request * clients / rate - time.time()))
        request = urllib.request.Request(f"{url}/ingest", data=body, headers={"content-type": "application/json"})
        assert urllib.request.urlopen(request).status == 202

each = [bodies_of(points_of(client)) for client in range(clients)]
bodies = [body for own in each for body in own]
point_count = series * per_series
start = time.time()
with ThreadPoolExecutor(clients) as pool:
    list(pool.map(post_all, each))
ingested = time.time()
while stream_metrics.judged(url) - before < point_count:
    time.sleep(0.05)
done = time.time()
print(f"{point_count} points of {series} series in {len(bodies)} requests: "
      f"ingest {point_count / (ingested - start):,.0f} points/s, "
      f"ingest to judged {point_count / (done - start):,.0f} points/s ({done - start:.2f} s)")
if rate:
    # The histogram's buckets: a quantile is reported as the bucket bound it falls under.
    text = urllib.request.urlopen(f"{url}/metrics").read().decode()
    buckets = []
    for line in text.splitlines():
        if line.startswith("anomaly_stream_ingest_to_verdict_seconds_bucket{"):
            bound = line.split('le="', 1)[1].split('"', 1)[0]
            buckets.append((float(bound), float(line.rsplit(" ", 1)[1])))
    buckets.sort()
    total = buckets[-1][1] if buckets else 0
    def quantile(q):
        return next((bound for bound, count in buckets if count >= q * total), float("nan"))
    print(f"paced at {rate:,.0f} points/s; ingest to verdict over {total:,.0f} samples: "
          f"p50 <= {quantile(0.5)} s, p99 <= {quantile(0.99)} s")
