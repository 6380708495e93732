#!/usr/bin/env python3
"""Write test/data/portfolio_sample.csv: a small deterministic multi-symbol
sample for portfolio backtests (README, "Portfolio backtests").

Four stocks (AAA, BBB, CCC, DDD) and an index (IDX, the benchmark), 300
weekday bars each from 2024-01-01, as geometric random walks from a fixed
linear congruential generator (no library randomness: the file is the same
on every machine).  Each stock follows the index (beta 0.5 to 1.4) plus its
own noise and drift; CCC has no bars on every 7th weekday (missing bars) and
DDD starts 40 weekdays late.  Prices are rounded to 4 decimals."""
import datetime

state = 20260101


def rnd():
    global state
    state = (state * 6364136223846793005 + 1442695040888963407) % (1 << 64)
    return (state >> 11) / float(1 << 53)


def gauss():
    # Irwin-Hall: sum of 12 uniforms less 6
    return sum(rnd() for _ in range(12)) - 6.0


days = []
d = datetime.date(2024, 1, 1)
while len(days) < 300:
    if d.weekday() < 5:
        days.append(d)
    d += datetime.timedelta(days=1)

stocks = {"AAA": (1.2, 0.0008, 50.0), "BBB": (0.5, 0.0002, 20.0),
          "CCC": (1.4, -0.0003, 80.0), "DDD": (0.9, 0.0010, 10.0)}
idx = 100.0
px = {s: v[2] for s, v in stocks.items()}
rows = []
for i, day in enumerate(days):
    m = 0.0003 + 0.01 * gauss()
    o = idx
    idx = idx * (1 + m)
    rows.append(("IDX", day, o, idx))
    for s, (beta, drift, _) in stocks.items():
        r = drift + beta * m + 0.012 * gauss()
        o = px[s] * (1 + 0.003 * gauss())
        px[s] = px[s] * (1 + r)
        if s == "CCC" and i % 7 == 3:
            continue
        if s == "DDD" and i < 40:
            continue
        rows.append((s, day, o, px[s]))

with open("test/data/portfolio_sample.csv", "w") as f:
    f.write("symbol,ts,open,high,low,close,volume\n")
    for s, day, o, c in rows:
        hi = max(o, c) * (1 + 0.004 * rnd())
        lo = min(o, c) * (1 - 0.004 * rnd())
        f.write("%s,%s,%.4f,%.4f,%.4f,%.4f,%d\n" % (s, day, o, hi, lo, c, 1000 + int(9000 * rnd())))
