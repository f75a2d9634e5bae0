"""`python -m clv summary` on generated 1M- and 10M-order exports, next to DuckDB's bare load of the same CSV.

    python bench/ingest.py [--orders 1000000 10000000]

Prints rows/s and peak memory of each, in the same run. Target: summary (the whole process: sniffing, parsing,
de-duplication, validation report, customer table written to CSV) within 2x the bare load, under 2 GB at 10M.
The "floor" line is one fused DuckDB query computing only the purchase columns of the customer table straight from
the CSV: what no summary that also validates and reports can beat.
"""
import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _run import BARE_LOAD, FUSED_CUSTOMERS, FUSED_CUSTOMERS_ONE_SCAN, export, measure, rows_in  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--orders", type=int, nargs="*", default=[1_000_000, 10_000_000])
    a = ap.parse_args()
    for n in a.orders:
        path = export(n)
        rows = rows_in(path)
        size = path.stat().st_size / 1e6
        bare = measure([sys.executable, "-c", BARE_LOAD, str(path)])
        out = Path("/tmp/clv-bench") / f"customers_{n}.csv"
        summ = measure([sys.executable, "-m", "clv", "summary", "--orders", str(path), "--out", str(out)])
        fused = measure([sys.executable, "-c", FUSED_CUSTOMERS, str(path)])
        one_scan = measure([sys.executable, "-c", FUSED_CUSTOMERS_ONE_SCAN, str(path)])
        customers = rows_in(out)
        print(f"{rows:>11,} orders ({size:,.0f} MB CSV, {customers:,} customers)")
        print(f"    DuckDB bare load        {bare['seconds']:6.2f} s  {rows / bare['seconds']:>12,.0f} rows/s  "
              f"peak {bare['peak_mb']:6.0f} MB")
        print(f"    python -m clv summary   {summ['seconds']:6.2f} s  {rows / summ['seconds']:>12,.0f} rows/s  "
              f"peak {summ['peak_mb']:6.0f} MB   = {summ['seconds'] / bare['seconds']:.2f}x the bare load", flush=True)
        print(f"    floor: one fused query  {fused['seconds']:6.2f} s  {rows / fused['seconds']:>12,.0f} rows/s  "
              f"peak {fused['peak_mb']:6.0f} MB   = {fused['seconds'] / bare['seconds']:.2f}x the bare load "
              f"(purchase columns of the customer table only, CSV to CSV, no validation)", flush=True)
        print(f"    floor, from one scan    {one_scan['seconds']:6.2f} s  {rows / one_scan['seconds']:>12,.0f} rows/s  "
              f"peak {one_scan['peak_mb']:6.0f} MB   = {one_scan['seconds'] / bare['seconds']:.2f}x the bare load "
              f"(the same table: one GROUP BY customer and day, rolled up)", flush=True)


if __name__ == "__main__":
    main()
