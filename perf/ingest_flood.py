"""Floods a running platform's POST /ingest and prints the platform's RSS
(sampled every 50 ms for the peak), then 0, 10, 30 and 60 s after.

usage: perf/ingest_flood.py PID URL MODE
  MODE one-body: one body of 1,000,000 single-point series (about 56 MB)
  MODE many:     100 bodies of 10,000 single-point series each (1,000,000 series in all)
"""
import json, sys, time, urllib.request, urllib.error

pid, url, mode = int(sys.argv[1]), sys.argv[2], sys.argv[3]

def rss_mb():
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return -1

def post(points):
    body = json.dumps({"points": points}).encode()
    req = urllib.request.Request(url + "/ingest", data=body, headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=600) as r:
            return r.status, len(body)
    except urllib.error.HTTPError as e:
        return e.code, len(body)

import threading
peak = 0
def sample():
    global peak
    while True:
        peak = max(peak, rss_mb())
        time.sleep(0.05)
threading.Thread(target=sample, daemon=True).start()
print(f"RSS before: {rss_mb():.0f} MB")
if mode == "one-body":
    status, size = post([{"series_id": f"f{i}", "timestamp": 60, "value": 1.0} for i in range(1_000_000)])
    print(f"one body of {size/1e6:.0f} MB: {status}")
else:
    for r in range(100):
        status, size = post([{"series_id": f"f{r}_{i}", "timestamp": 60, "value": 1.0} for i in range(10_000)])
        if status != 202:
            print("request", r, status)
    print(f"100 bodies of {size/1e6:.1f} MB: last {status}")
for wait in (0, 10, 30, 60):
    time.sleep(wait - (0 if wait == 0 else [0, 10, 30][[10, 30, 60].index(wait)]))
    print(f"RSS {wait} s after: {rss_mb():.0f} MB (peak seen {peak:.0f} MB)")
