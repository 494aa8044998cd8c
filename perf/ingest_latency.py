#!/usr/bin/env python3
"""The answer time of each POST /ingest, one body after the other: shows
whether ingest slows once the stream worker starts judging (through Kafka
it does; perf/README.md, "Kafka: the broker slows produce once the worker
consumes"). Start the platform as perf/stream_kafka_vs_redis.sh does, then:

    perf/ingest_latency.py [INFER_URL] [BODIES] [SERIES]

Each body holds one point of every series. Prints points/s and each
body's milliseconds, in order.
"""
import json, sys, time, urllib.request

url = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:18001"
count = int(sys.argv[2]) if len(sys.argv) > 2 else 60
series = int(sys.argv[3]) if len(sys.argv) > 3 else 10_000

bodies = [json.dumps({"points": [{"series_id": f"s{s}", "timestamp": 1_700_000_000 + 60 * b,
                                  "value": 1.0 + (s * 7 + b * 13) % 17 / 5} for s in range(series)]}).encode()
          for b in range(count)]
times = []
start = time.perf_counter()
for body in bodies:
    sent = time.perf_counter()
    request = urllib.request.Request(f"{url}/ingest", data=body, headers={"content-type": "application/json"})
    assert urllib.request.urlopen(request).status == 202
    times.append((time.perf_counter() - sent) * 1000)
elapsed = time.perf_counter() - start
print(f"{count * series:,} points in {count} bodies: {count * series / elapsed:,.0f} points/s")
print("ms per body, in order:", " ".join(f"{t:.0f}" for t in times))
