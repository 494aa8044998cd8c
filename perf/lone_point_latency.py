#!/usr/bin/env python3
"""Ingest to verdict of lone points: POST /ingest one point, then poll
/metrics every 2 ms until the stream worker has judged it (the sum of
anomaly_stream_verdicts_total and late points), COUNT times, 0.1 s apart.
Prints the answer time of the ingest and the ingest-to-judged quantiles in
ms: the latency floor of the path, which a loaded run's histogram hides.
Usage (a platform running; or LONE_POINTS=COUNT perf/stream_kafka_vs_redis.sh):

    perf/lone_point_latency.py [INFER_URL] [COUNT]
"""
import json, sys, time, urllib.request
import stream_metrics

url = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8001"
count = int(sys.argv[2]) if len(sys.argv) > 2 else 40

answers, latencies = [], []
for i in range(count):
    before = stream_metrics.judged(url)
    point = {"series_id": f"lone{i % 7}", "timestamp": 1_700_000_000 + 60 * i, "value": 1.0 + i % 3}
    request = urllib.request.Request(f"{url}/ingest", data=json.dumps({"points": [point]}).encode(),
                                     headers={"content-type": "application/json"})
    start = time.time()
    assert urllib.request.urlopen(request).status == 202
    answers.append(time.time() - start)
    while stream_metrics.judged(url) <= before:
        time.sleep(0.002)
    latencies.append(time.time() - start)
    time.sleep(0.1)
answers.sort(); latencies.sort()
ms = lambda q: latencies[min(count - 1, int(q * count))] * 1000
print(f"{count} lone points: ingest answered in {answers[count // 2] * 1000:.1f} ms (p50); "
      f"ingest to judged p50 {ms(0.5):.1f} ms, p90 {ms(0.9):.1f} ms, max {latencies[-1] * 1000:.1f} ms")
