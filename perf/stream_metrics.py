"""What the perf scripts read of a running infer's /metrics."""
import urllib.request


def judged(url):
    """Points the stream worker has judged: its verdicts and its late points."""
    text = urllib.request.urlopen(f"{url}/metrics").read().decode()
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("anomaly_stream_verdicts_total") or line.startswith("anomaly_stream_late_points_total"))
