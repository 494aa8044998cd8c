#!/usr/bin/env python3
"""Opens many connections that send half a request and then nothing (the
slow-client attack of hardening #10 defect 3), then checks that the service
still answers a predict, and counts the attackers' connections it closed.

Usage: perf/slow_connections.py HOST:PORT [CONNECTIONS] [WAIT_SECONDS]
(a platform running, e.g. HEADER_READ_TIMEOUT=5 target/release/platform).
Prints how many connections were opened, the predict's status and time
while they are held, and how many the server had closed after WAIT_SECONDS.
"""
import resource
import selectors
import socket
import sys
import time
import urllib.request

target = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:8001"
count = int(sys.argv[2]) if len(sys.argv) > 2 else 20000
wait = float(sys.argv[3]) if len(sys.argv) > 3 else 10.0
host, port = target.split(":")
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, count + 1000), hard))

sockets = []
for _ in range(count):
    s = socket.socket()
    s.setblocking(False)
    s.connect_ex((host, int(port)))
    sockets.append(s)
time.sleep(2)
sent = 0
for s in sockets:
    try:
        s.send(b"POST /predict/x HTTP/1.1\r\nHost: x\r\n")  # headers never finished
        sent += 1
    except OSError:
        pass
print(f"connections opened {count}, half-sent headers on {sent}")


def predict():
    started = time.monotonic()
    request = urllib.request.Request(
        f"http://{target}/predict/x", data=b'{"timestamp": 1, "value": 1}',
        headers={"content-type": "application/json"})
    try:
        urllib.request.urlopen(request, timeout=30)
        status = 200
    except urllib.error.HTTPError as error:
        status = error.code
    except Exception as error:  # noqa: BLE001 - report whatever failed
        status = f"failed: {error}"
    return status, (time.monotonic() - started) * 1000


status, ms = predict()
print(f"predict while they are held: {status} in {ms:.0f} ms")
time.sleep(wait)
selector = selectors.DefaultSelector()
for s in sockets:
    selector.register(s, selectors.EVENT_READ)
closed = 0
for key, _ in selector.select(timeout=1):
    try:
        if key.fileobj.recv(4096) == b"":
            closed += 1
        else:
            closed += 1  # answered (408) before closing
    except OSError:
        closed += 1
print(f"closed by the server after {wait:.0f} s: {closed} of {count}")
status, ms = predict()
print(f"predict afterwards: {status} in {ms:.0f} ms")
