#!/usr/bin/env python3
"""Synthetic anomalies in series that have no period, in the UCR layout.

ucr-dev's recordings are nearly all regular (a heartbeat, a gait), and
`scripts/ucr_synthetic.py` puts its anomalies in those same recordings.
Much of what users stream has no period: a sensor's noise around a level,
a slowly wandering load. This script writes such series, one anomaly
each, as files `NNN_UCR_Anomaly_<kind>_<train>_<begin>_<end>.txt` that
`anomaly eval --corpus OUT` scores like ucr-dev:

- the series is autoregressive noise, x[i] = phi * x[i-1] + e[i], with
  phi of 0 (white noise), 0.5, 0.8, 0.95 or 0.999 (close to a random
  walk), scaled to a spread of 10 around 100, rounded to 0.1 in half the
  files (a quantised sensor);
- 6,000 rows, the first 2,500 the training part; the anomaly (80 to 249
  rows) lies after row 3,000;
- the kinds: a flat stretch (a stuck sensor holds its value), a noisier
  stretch (noise of 1.5 times the usual step added), a quieter stretch
  (a quarter of the deviation from its mean; smoothed over 21 rows when
  phi is 0.95 or more) and a drift (a ramp up to 0.75 of the spread).

It is a DEV set of our own making, not the archive's. Plain Python, no
packages.

    python3 scripts/nonperiodic_synthetic.py /tmp/nonperiodic --seed 1
"""

import argparse
import os
import random
import statistics

ROWS = 6000
TRAIN = 2500
PHIS = [0.0, 0.5, 0.8, 0.95, 0.999]
KINDS = ["flat", "noisier", "quieter", "drift"]


def series(rng, phi):
    """Autoregressive noise with a spread of 10 around 100."""
    x = [0.0]
    for _ in range(ROWS - 1):
        x.append(phi * x[-1] + rng.gauss(0.0, 1.0))
    spread = statistics.pstdev(x)
    return [100.0 + 10.0 * v / spread for v in x]


def smoothed(values, width):
    """A moving mean over `width` rows (the ends padded with their value)."""
    half = width // 2
    padded = [values[0]] * half + values + [values[-1]] * half
    return [sum(padded[i : i + width]) / width for i in range(len(values))]


def with_anomaly(rng, x, kind, phi, begin, end):
    stretch = x[begin:end]
    mean = statistics.fmean(stretch)
    if kind == "flat":
        return [x[begin]] * len(stretch)
    if kind == "noisier":
        train = x[:TRAIN]
        step = statistics.pstdev([b - a for a, b in zip(train, train[1:])])
        return [v + 1.5 * step * rng.gauss(0.0, 1.0) for v in stretch]
    if kind == "quieter":
        if phi >= 0.95:
            return smoothed(stretch, 21)
        return [mean + (v - mean) * 0.25 for v in stretch]
    rise = 0.75 * statistics.pstdev(x[:TRAIN])
    return [v + rise * i / (len(stretch) - 1) for i, v in enumerate(stretch)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", help="directory to write the files to (emptied of .txt files first)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    os.makedirs(args.out, exist_ok=True)
    for name in os.listdir(args.out):
        if name.endswith(".txt"):
            os.remove(os.path.join(args.out, name))
    number = 0
    for phi in PHIS:
        for kind in KINDS:
            x = series(rng, phi)
            length = rng.randrange(80, 250)
            begin = rng.randrange(3000, ROWS - length - 50)
            end = begin + length
            x[begin:end] = with_anomaly(rng, x, kind, phi, begin, end)
            if rng.random() < 0.5:
                x = [round(v, 1) for v in x]
            number += 1
            name = f"{number:03d}_UCR_Anomaly_{kind}phi{phi}_{TRAIN}_{begin + 1}_{end}.txt"
            with open(os.path.join(args.out, name), "w") as file:
                file.writelines(f"{v:.4f}\n" for v in x)
    print(f"{number} files in {args.out}")


if __name__ == "__main__":
    main()
