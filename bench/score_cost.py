"""What issue 25 (intervals, readiness, simple rules) costs `score`: the same 10M-order export scored by two
checkouts of clv, alternately, each in a fresh process.

    python bench/score_cost.py --before /path/to/old/checkout [--orders 10000000] [--preset realistic] [--runs 2]

Target: score within +20 % of the time before.
"""
import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _run import export, measure  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--before", required=True, help="a checkout of clv before the change (git worktree add …)")
ap.add_argument("--orders", type=int, default=10_000_000)
ap.add_argument("--preset", choices=["bench", "realistic"], default="realistic")
ap.add_argument("--runs", type=int, default=2)
a = ap.parse_args()
path = export(a.orders, a.preset)
here = str(Path(__file__).resolve().parent.parent)
times = {"before": [], "after": []}
peaks = {"before": [], "after": []}
for _ in range(a.runs):
    for name, root in (("before", a.before), ("after", here)):
        r = measure([sys.executable, "-m", "clv", "score", "--orders", str(path), "--out", f"/tmp/clv-bench/cost_{name}.csv"],
                    cwd=root)
        times[name].append(r["seconds"])
        peaks[name].append(r["peak_mb"])
        print(f"  {name:6s} {r['seconds']:7.2f} s  peak {r['peak_mb']:6.0f} MB", flush=True)
b, c = statistics.median(times["before"]), statistics.median(times["after"])
print(f"{a.orders:,} orders ({a.preset}): before {b:.2f} s, after {c:.2f} s = {c / b - 1:+.1%} "
      f"(peak {max(peaks['before']):.0f} → {max(peaks['after']):.0f} MB)")
