#!/usr/bin/env python3
"""Turns a `timestamp,value` CSV (NAB style, UTC "YYYY-MM-DD HH:MM:SS") into
the JSON body of POST /fit: {"timestamps": [...], "values": [...]}.

Usage: python3 dataset/csv_to_fit_json.py dataset/nyc_taxi.csv > nyc_taxi.json
"""
import csv
import json
import sys
from datetime import datetime, timezone


def main(path: str) -> None:
    timestamps, values = [], []
    with open(path, newline="") as handle:
        for row in csv.DictReader(handle):
            moment = datetime.strptime(row["timestamp"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc)
            timestamps.append(int(moment.timestamp()))
            values.append(float(row["value"]))
    json.dump({"timestamps": timestamps, "values": values}, sys.stdout, separators=(",", ":"))
    sys.stdout.write("\n")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
