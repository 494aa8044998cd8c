#!/usr/bin/env python3
"""Synthetic anomalies in the normal part of ucr-dev's recordings.

ucr-dev has 12 files, one anomaly each: too few to tell a better detector
from a lucky one, and only the kinds of anomaly those 12 happen to have.
This script writes more files in the archive's layout
(`NNN_UCR_Anomaly_<name>_<train>_<begin>_<end>.txt`), so that
`anomaly eval --corpus OUT` scores them like ucr-dev:

- each file is one recording's training part followed by its normal rows
  after it, cut 300 rows before the recording's real anomaly (which is
  therefore not in the file);
- one synthetic anomaly is put in those normal rows, as long as the
  recording's real one, at a position drawn from the seed;
- the kinds are the archive's own (Wu and Keogh describe them): local
  noise, a smoothed stretch, a flat stretch (a dropout), an amplitude
  change, a time warp, a reversed stretch.

The recordings are still ucr-dev's, so this is a DEV set: it measures how
a detector does on other kinds of anomaly and other positions, not on
other recordings. Plain Python, no packages.

    python3 scripts/ucr_synthetic.py dataset/ucr-dev /tmp/ucr-synth --per-kind 2 [--seed 1]
"""

import argparse
import math
import os
import random
import re
import statistics

NAME = re.compile(r"^(\d+)_UCR_Anomaly_(.+)_(\d+)_(\d+)_(\d+)\.txt$")
# Rows left out before the recording's real anomaly.
MARGIN = 300
# The fewest normal rows after the training part worth a file.
MIN_TEST_ROWS = 1500


def hann(i, length):
    """A window that is 0 at both ends of the stretch and 1 in its middle."""
    return 0.5 - 0.5 * math.cos(2 * math.pi * (i + 0.5) / length)


def blend(original, changed):
    """The change faded in and out, so the stretch joins its neighbours."""
    n = len(original)
    return [o + hann(i, n) * (c - o) for i, (o, c) in enumerate(zip(original, changed))]


def noise(stretch, sd, rng):
    return [v + rng.gauss(0, 0.3 * sd) for v in stretch]


def smooth(stretch, sd, rng):
    half = max(2, len(stretch) // 8)
    out = []
    for i in range(len(stretch)):
        window = stretch[max(0, i - half): i + half + 1]
        out.append(sum(window) / len(window))
    return blend(stretch, out)


def flat(stretch, sd, rng):
    first, last, n = stretch[0], stretch[-1], len(stretch)
    return [first + (last - first) * i / (n - 1) for i in range(n)]


def scale(stretch, sd, rng):
    mean = statistics.fmean(stretch)
    factor = rng.choice([0.5, 1.6])
    return blend(stretch, [mean + (v - mean) * factor for v in stretch])


def warp(stretch, sd, rng):
    n = len(stretch)
    power = rng.choice([0.6, 1.7])
    out = []
    for i in range(n):
        x = (i / (n - 1)) ** power * (n - 1)
        lo = int(x)
        hi = min(lo + 1, n - 1)
        out.append(stretch[lo] + (x - lo) * (stretch[hi] - stretch[lo]))
    return out


def reverse(stretch, sd, rng):
    return blend(stretch, stretch[::-1])


KINDS = {"noise": noise, "smooth": smooth, "flat": flat, "scale": scale, "warp": warp, "reverse": reverse}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source")
    parser.add_argument("out")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--per-kind", type=int, default=1, help="files per recording and kind")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    os.makedirs(args.out, exist_ok=True)
    number = 0
    for file_name in sorted(os.listdir(args.source)):
        match = NAME.match(file_name)
        if not match:
            continue
        _, name, train, begin, end = match.groups()
        train, begin, end = int(train), int(begin), int(end)
        with open(os.path.join(args.source, file_name)) as source:
            values = [float(v) for v in source.read().split()]
        length = end - begin + 1
        cut = begin - 1 - MARGIN
        if cut - train < MIN_TEST_ROWS:
            print(f"skipped {file_name}: {cut - train} normal rows after the training part")
            continue
        values = values[:cut]
        sd = statistics.pstdev(values[:train])
        for kind, change in KINDS.items():
            for copy in range(args.per_kind):
                number += 1
                start = rng.randrange(train + 2 * length, cut - 2 * length)
                changed = list(values)
                changed[start:start + length] = change(values[start:start + length], sd, rng)
                out_name = f"{number:03d}_UCR_Anomaly_{name}-{kind}{copy}_{train}_{start + 1}_{start + length}.txt"
                with open(os.path.join(args.out, out_name), "w") as out:
                    out.write("\n".join(repr(v) for v in changed) + "\n")
    print(f"{number} files in {args.out}")


if __name__ == "__main__":
    main()
