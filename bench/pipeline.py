"""`python -m clv score` end to end on 1M- and 10M-order exports, next to DuckDB's bare per-customer aggregate
query on the same file, in the same run.

    python bench/pipeline.py [--orders 1000000 10000000]

score = read and validate the export, customer table, BG/NBD + Gamma-Gamma fit, 12-month CLTV, P(alive) churn
risk (no interactions file here), RFM + KMeans (k by silhouette) + behavioural segments, CSV out.
Target: <= 2.5x the bare query at 10M orders, peak memory < 2 GB.
"""
import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _run import BARE_AGGREGATE, export, measure, rows_in  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--orders", type=int, nargs="*", default=[1_000_000, 10_000_000])
    a = ap.parse_args()
    for n in a.orders:
        path = export(n)
        bare = measure([sys.executable, "-c", BARE_AGGREGATE, str(path)])
        out = Path("/tmp/clv-bench") / f"scores_{n}.csv"
        score = measure([sys.executable, "-m", "clv", "score", "--orders", str(path), "--margin", "0.4",
                         "--out", str(out)])
        customers = rows_in(out)
        print(f"{n:>11,} orders, {customers:,} customers scored")
        print(f"    DuckDB bare per-customer aggregate  {bare['seconds']:6.2f} s  peak {bare['peak_mb']:6.0f} MB")
        print(f"    python -m clv score                 {score['seconds']:6.2f} s  peak {score['peak_mb']:6.0f} MB"
              f"   = {score['seconds'] / bare['seconds']:.2f}x the bare query", flush=True)


if __name__ == "__main__":
    main()
