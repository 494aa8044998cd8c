#!/usr/bin/env python3
"""The budget printed by instructions_per_predict.sh: for each target, the
instructions of a loaded run minus those of an idle one, per request served,
by part (functions grouped by the library or module in their name); with
two targets, the functions where the second spends most over the first.
Usage: callgrind_budget.py LABEL=PREFIX [LABEL=PREFIX]  (PREFIX.idle.*, PREFIX.load.*)"""
import re, sys

PARTS = [  # the first pattern a function's name matches names its part
    ("SQLite (history and counters)", r"sqlite3|^wal|vdbe|^yy_|^token|balance_|Btree|[Pp]ager|pcache|sqlx"),
    ("prediction history", r"prediction_history|history::|keep_within"),
    ("malloc and free", r"malloc|free|^_int_|__rdl_|realloc|consolidate"),
    ("memcpy, memcmp, memset", r"^__mem"),
    ("JSON (serde_json)", r"serde|zmij|ryu|itoa"),
    ("HTTP (hyper, httparse)", r"hyper|httparse|http_body|^<http::|h1::"),
    ("tokio", r"tokio"),
    ("tower and axum", r"tower|axum"),
    ("the platform's own code", r"anomaly_|infer::|monitor::|train::"),
    ("metrics", r"metrics|quanta"),
    ("locks", r"pthread|futex|lll_"),
]


def functions(path):
    """Instructions by function name from a callgrind_annotate listing."""
    found, listing = {}, False
    for line in open(path):
        if line.startswith("Ir"):
            listing = True
            continue
        match = re.match(r"\s*([\d,]+)\s+(?:\(\s*[\d.]+%\)\s+)?(\S.*)$", line) if listing else None
        if match and "PROGRAM TOTALS" not in line:
            name = re.sub(r"^(\?\?\?|\./[^:]*|/[^:]*):", "", match.group(2)).split(" [")[0]
            found[name] = found.get(name, 0) + int(match.group(1).replace(",", ""))
    return found


def per_request(prefix):
    idle, load = functions(f"{prefix}.idle.functions"), functions(f"{prefix}.load.functions")
    requests = int(open(f"{prefix}.load.requests").read().strip() or 0)
    return {name: (load.get(name, 0) - idle.get(name, 0)) / requests for name in set(idle) | set(load)}, requests


def parts(costs):
    totals = {label: 0.0 for label, _ in PARTS}
    totals["other"] = 0.0
    for name, cost in costs.items():
        label = next((label for label, pattern in PARTS if re.search(pattern, name)), "other")
        totals[label] += cost
    return totals


targets = [(arg.rsplit("=", 1)[0], *per_request(arg.rsplit("=", 1)[1])) for arg in sys.argv[1:]]
budgets = [parts(costs) for _, costs, _ in targets]
print("instructions per predict (user space, callgrind)\n")
print(f"| part | {' | '.join(label for label, _, _ in targets)} |")
print(f"|---|{'---:|' * len(targets)}")
for part in budgets[0]:
    print(f"| {part} | {' | '.join(f'{b[part]:,.0f}' for b in budgets)} |")
print(f"| **total** | {' | '.join(f'**{sum(b.values()):,.0f}**' for b in budgets)} |")
print(f"| requests served | {' | '.join(f'{n:,}' for _, _, n in targets)} |")
if len(targets) == 2:
    (first, a, _), (second, b, _) = targets
    print(f"\nwhere {second} spends most over {first} (instructions per request):")
    for name in sorted(set(a) | set(b), key=lambda n: a.get(n, 0) - b.get(n, 0))[:25]:
        print(f"{b.get(name, 0) - a.get(name, 0):8,.0f}  {name[:120]}")
