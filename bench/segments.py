"""Re-segmenting speed: the interactive path (a threshold change) and the full KMeans + silhouette path.

    python bench/segments.py [--sizes 100000 1000000]

Prints one line per size and path. Target: < 300 ms for a threshold change at 100k customers.
"""
import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from clv.segments import SegmentParams, fit_clusters, segment_table  # noqa: E402


def synthetic_customers(n: int, seed: int = 0) -> pd.DataFrame:
    """A customer table shaped like a real shop's: most bought once, spend log-normal, some carts and discounts."""
    rng = np.random.default_rng(seed)
    T = rng.integers(1, 730, n)
    orders = 1 + rng.negative_binomial(0.6, 0.4, n)
    recency = np.where(orders > 1, (rng.random(n) * T).astype(int), 0)
    aov = np.exp(rng.normal(4, 0.6, n))
    last_order = pd.Timestamp("2026-10-31") - pd.to_timedelta(T - recency, unit="D")
    cart = np.where(rng.random(n) < 0.2, rng.integers(0, 200, n), -1)
    return pd.DataFrame({
        "customer_id": pd.Series(np.arange(n)).astype(str).radd("c"), "orders": orders, "revenue": orders * aov,
        "aov": aov, "T_days": T, "recency_days": recency, "discount_share": rng.choice([0, 0, 0, 0.5, 1], n),
        "last_order": last_order,
        "last_abandoned_cart": pd.Series(pd.Timestamp("2026-10-31") - pd.to_timedelta(cart, unit="D")).where(cart >= 0),
        "views": rng.poisson(5, n), "carts_abandoned": rng.poisson(0.5, n), "support_tickets": rng.poisson(0.3, n),
        "email_opens": rng.poisson(4, n),
    })


def best_of(fn, repeat=3):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="*", default=[100_000, 1_000_000])
    a = ap.parse_args()
    for n in a.sizes:
        c = synthetic_customers(n)
        t0 = time.perf_counter()
        cl = fit_clusters(c)
        full = time.perf_counter() - t0
        print(f"{n:>9,} customers  full KMeans + silhouette (k=2..8 auto, chose k={cl.k}): {full * 1000:8.0f} ms")
        fixed = best_of(lambda: fit_clusters(c, k=cl.k), repeat=1)
        print(f"{n:>9,} customers  KMeans refit at fixed k:                         {fixed * 1000:8.0f} ms")
        params = iter([SegmentParams(big_spender_top_pct=p, cart_days=d) for p, d in [(5, 10), (15, 60), (25, 90)]])
        t = best_of(lambda: segment_table(c, cl, next(params), "thresholds",
                                          dict(recency_cuts=(10, 30, 90, 180), frequency_cuts=(1, 2, 4, 8),
                                               monetary_cuts=(40, 80, 200, 400))))
        print(f"{n:>9,} customers  threshold change (re-score RFM + behavioural):     {t * 1000:8.0f} ms"
              f"{'   target < 300 ms' if n == 100_000 else ''}")
        params = iter([SegmentParams(high_aov_pct=p) for p in (70, 80, 90)])
        t = best_of(lambda: segment_table(c, cl, next(params), "quantiles"))
        print(f"{n:>9,} customers  threshold change with quintile RFM scores:         {t * 1000:8.0f} ms")


if __name__ == "__main__":
    main()
