"""`python -m clv score` with its default settings on 10M, 30M and 100M orders: wall time, peak memory and where
the time goes (the stages score prints), in a fresh process each.

    python bench/scale.py [--orders 10000000 30000000 100000000] [--batch-customers N] [--memory-limit 1GB]
                          [--floor 1GB 2GB 4GB]

The shops are BG/NBD-simulated (the "realistic" preset: about 3 orders per customer, so 100M orders are about 33M
customers), generated once into /tmp/clv-bench, seeded, a million customers at a time appended to one CSV (never
the whole shop in memory), then sorted by DuckDB into time order, as a platform exports orders (session 19 measured
both orders at 100M in the same hour: 309.4 s in time order, 312.5 s in customer order). score writes Parquet (33M customers as CSV would be an 11 GB file; the writer is the
same streamed one). Target (issue 28): 100M orders in under 5 minutes and under 4 GB peak, memory bounded by
--batch-customers and --memory-limit rather than by the number of customers.

``--floor LIMIT …``: instead of score, the floor of its customer table — bench/_score_floor.py's one fused DuckDB
query straight from the CSV to a table of customers (no validation, no report, no table of orders) — in a fresh
process under each DuckDB memory limit, its time or the error that stopped it.
"""
import argparse
import re
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT / "data"))
from _run import BIG, ORDERS_PER_CUSTOMER, measure  # noqa: E402

CHUNK = 1_000_000  # customers generated at once

#: the fused customer query of bench/_score_floor.py into a DuckDB table, under a memory limit (argv: CSV, limit)
FLOOR = """
import shutil, sys, tempfile, time, duckdb
sys.path.insert(0, "bench")
from _score_floor import CUSTOMERS
spill = tempfile.mkdtemp(prefix="clv-floor-")  # tens of GB at 100M orders: removed at the end
con = duckdb.connect()
con.execute("SET enable_progress_bar = false")
con.execute("SET memory_limit = ?", [sys.argv[2]])
con.execute("SET temp_directory = ?", [spill])
started = time.perf_counter()
try:
    con.execute("CREATE TABLE c AS " + CUSTOMERS, {"p": sys.argv[1]})
    print(f"{time.perf_counter() - started:.1f} s, {con.sql('SELECT count(*) FROM c').fetchall()[0][0]:,} customers")
except duckdb.OutOfMemoryException as exc:
    print(f"out of memory after {time.perf_counter() - started:.1f} s: {str(exc).splitlines()[0]}")
finally:
    con.close()
    shutil.rmtree(spill, True)
"""


def shop(orders: int, seed: int = 28) -> Path:
    """A realistic shop of about ``orders`` orders as one generic CSV, made once, a million customers at a time
    (each chunk its own seeded stream, ids and order numbers continuing)."""
    import duckdb
    from generate import PRESETS, _ts, build_orders, simulate_purchases
    path = BIG / f"scale_{orders}_orders_by_time.csv"
    if path.exists():
        return path
    BIG.mkdir(parents=True, exist_ok=True)
    customers = int(orders / ORDERS_PER_CUSTOMER["realistic"])
    partial, part, by_time = path.with_suffix(".partial"), path.with_suffix(".part"), path.with_suffix(".sorting")
    con = duckdb.connect()
    con.execute("SET temp_directory = ?", [str(BIG / "sort-spill")])
    con.execute("SET memory_limit = '8GB'")
    written, started = 0, time.perf_counter()
    with open(partial, "wb") as out:
        for i, first in enumerate(range(0, customers, CHUNK)):
            n = min(CHUNK, customers - first)
            rng = np.random.default_rng([seed, i])
            cust, purchases, _ = simulate_purchases(n, PRESETS["realistic"], rng)
            o = build_orders(cust, purchases, PRESETS["realistic"], rng, 0.0)
            frame = pd.DataFrame({"order_id": np.arange(written + 1, written + len(o) + 1),
                                  "customer_id": o["customer"].to_numpy() + first + 100000,
                                  "order_date": _ts(o["day"].to_numpy()),
                                  "amount": o["total"].to_numpy() - o["refunded"].to_numpy(),
                                  "discount": o["discount"].to_numpy(), "status": o["status"].to_numpy()})
            con.register("frame", frame)
            con.sql("SELECT order_id, customer_id, strftime(order_date, '%Y-%m-%d %H:%M:%S') AS order_date, "
                    "round(amount, 2) AS amount, round(discount, 2) AS discount, status FROM frame"
                    ).write_csv(str(part), header=i == 0)
            con.unregister("frame")
            with open(part, "rb") as src:
                shutil.copyfileobj(src, out, 1 << 24)
            written += len(o)
            print(f"  generated {first + n:,} of {customers:,} customers ({written:,} orders, "
                  f"{time.perf_counter() - started:.0f} s)", flush=True)
    part.unlink(missing_ok=True)
    # in time order, as a shop's export is (an order id breaks ties: the same file on every run); 107 s at 100M
    con.execute("COPY (SELECT * FROM read_csv(?, all_varchar = true) ORDER BY order_date, order_id::BIGINT) "
                "TO ? (HEADER)", [str(partial), str(by_time)])
    partial.unlink()
    shutil.rmtree(BIG / "sort-spill", ignore_errors=True)
    by_time.rename(path)
    print(f"  sorted into time order ({time.perf_counter() - started:.0f} s)", flush=True)
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--orders", type=int, nargs="*", default=[10_000_000, 30_000_000, 100_000_000])
    ap.add_argument("--batch-customers", type=int, help="score's --batch-customers (default: score's own)")
    ap.add_argument("--memory-limit", help="score's --memory-limit (default: score's own)")
    ap.add_argument("--floor", nargs="+", metavar="LIMIT", help="time the fused customer query under these DuckDB "
                                                                "memory limits instead of score")
    a = ap.parse_args()
    rows = []
    for orders in a.orders:
        path = shop(orders)
        size = path.stat().st_size / 2 ** 30
        if a.floor:
            for limit in a.floor:
                res = measure([sys.executable, "-c", FLOOR, str(path), limit])
                print(f"{orders:>12,} orders ({size:.1f} GB CSV), the fused customer query under {limit}: "
                      f"{res['stdout'].strip()} (process peak {res['peak_mb'] / 1024:.2f} GB)", flush=True)
            continue
        out = BIG / f"scale_{orders}_scores.parquet"
        cmd = [sys.executable, "-m", "clv", "score", "--orders", str(path), "--out", str(out)]
        if a.batch_customers is not None:
            cmd += ["--batch-customers", str(a.batch_customers)]
        if a.memory_limit:
            cmd += ["--memory-limit", a.memory_limit]
        res = measure(cmd)
        wrote = re.search(r"wrote .*\(([\d,]+) customers", res["stderr"])
        stages = re.search(r"stages: (.*)", res["stderr"])
        rows.append((orders, size, wrote.group(1) if wrote else "?", res["seconds"], res["peak_mb"]))
        print(f"{orders:>12,} orders ({size:.1f} GB CSV), {rows[-1][2]} customers: {res['seconds']:7.1f} s, "
              f"peak {res['peak_mb'] / 1024:.2f} GB", flush=True)
        if stages:
            print(f"    stages: {stages.group(1)}", flush=True)
        out.unlink(missing_ok=True)
    if not rows:
        return
    print("\n| orders | CSV | customers | score (defaults) | peak memory |\n|---|---|---|---|---|")
    for orders, size, customers, seconds, peak in rows:
        print(f"| {orders / 1e6:.0f}M | {size:.1f} GB | {customers} | {seconds:.0f} s | {peak / 1024:.2f} GB |")
    print("target: 100M orders under 300 s and under 4 GB peak")


if __name__ == "__main__":
    main()
