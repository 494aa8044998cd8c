#!/usr/bin/env python3
"""Delivery latency of anomalies: ingest to SSE event and ingest to webhook
POST, at a steady rate of anomalies. Every 100 ms it ingests (POST /ingest)
SERIES series x 25 points, the last of each a spike, so SERIES*10 anomalies
per second once the detector has warmed up; an SSE client follows
GET /events and a webhook receiver of its own (in a process of its own, so
that it does not share an interpreter lock with the load; HTTP/1.1 with
keep-alive, as real receivers answer) notes each POST. Prints the
percentiles of both latencies over the anomalies matched. Run it against a
platform whose stream detector is rolling_zscore (warms up in 50 points):

    STREAM_DETECTOR=rolling_zscore SQLITE_PATH=/tmp/latency.db cargo run --release -p platform &
    perf/delivery_latency.py [BASE_HOST] [SERIES] [SECONDS]
"""
import http.client, http.server, json, multiprocessing, sys, threading, time, urllib.request

host = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1"
series = int(sys.argv[2]) if len(sys.argv) > 2 else 100
seconds = int(sys.argv[3]) if len(sys.argv) > 3 else 20
infer, monitor = f"http://{host}:8001", f"http://{host}:8002"
run = f"{time.time_ns()}"[-6:]
sent, over_sse, over_webhook = {}, {}, {}


def key(anomaly):
    return (anomaly["series_id"], anomaly["timestamp"])


class Receiver(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    received = {}

    def do_POST(self):
        body = self.rfile.read(int(self.headers["content-length"]))
        anomaly = json.loads(body)
        Receiver.received.setdefault(f"{anomaly['series_id']} {anomaly['timestamp']}", time.time())
        self.send_response(204)
        self.send_header("content-length", "0")
        self.end_headers()

    def do_GET(self):  # GET /report: what was received, and when
        body = json.dumps(Receiver.received).encode()
        self.send_response(200)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def serve(port):
    http.server.ThreadingHTTPServer(("127.0.0.1", port), Receiver).serve_forever()


receiver_port = 18999
multiprocessing.Process(target=serve, args=(receiver_port,), daemon=True).start()
time.sleep(0.5)
hook = json.dumps({"url": f"http://127.0.0.1:{receiver_port}/hook"}).encode()
created = json.load(urllib.request.urlopen(urllib.request.Request(f"{monitor}/webhooks", data=hook, headers={"content-type": "application/json"})))


def follow_events():
    connection = http.client.HTTPConnection(host, 8002)
    connection.request("GET", "/events", headers={"accept": "text/event-stream"})
    response = connection.getresponse()
    for line in response:
        if line.startswith(b"data: "):
            over_sse.setdefault(key(json.loads(line[6:])), time.time())


threading.Thread(target=follow_events, daemon=True).start()
time.sleep(0.5)

start = 1_700_000_000
for tick in range(seconds * 10):
    points = []
    for s in range(series):
        for i in range(25):
            t = start + 60 * (tick * 25 + i)
            points.append({"series_id": f"lat{run}-{s}", "timestamp": t, "value": 100.0 if i == 24 else 10 + (i % 4) / 4})
    began = time.time()
    body = json.dumps({"points": points}).encode()
    urllib.request.urlopen(urllib.request.Request(f"{infer}/ingest", data=body, headers={"content-type": "application/json"}))
    for s in range(series):
        sent[(f"lat{run}-{s}", start + 60 * (tick * 25 + 24))] = began
    time.sleep(max(0.0, 0.1 - (time.time() - began)))
time.sleep(5)


def report(name, received):
    received = dict(received)  # a copy: the receivers may still be adding
    latencies = sorted((received[k] - sent[k]) * 1000 for k in received if k in sent)
    if not latencies:
        print(f"{name}: nothing received")
        return
    pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))]
    print(f"{name}: {len(latencies)} anomalies, p50 {pick(0.5):.0f} ms, p95 {pick(0.95):.0f} ms, "
          f"p99 {pick(0.99):.0f} ms, max {latencies[-1]:.0f} ms")


flagged = sum(1 for k in over_sse if k in sent)
print(f"{series} series, {series * 250} points/s, {len(sent) / seconds:.0f} spikes/s sent for {seconds} s; "
      f"{flagged / seconds:.0f} anomalies/s seen")
report("ingest to SSE event", over_sse)
report_body = json.load(urllib.request.urlopen(f"http://127.0.0.1:{receiver_port}/report"))
for text, at in report_body.items():
    series_id, timestamp = text.split(" ")
    over_webhook[(series_id, int(timestamp))] = at
report("ingest to webhook POST", over_webhook)
urllib.request.urlopen(urllib.request.Request(f"{monitor}/webhooks/{created['id']}", method="DELETE"))
