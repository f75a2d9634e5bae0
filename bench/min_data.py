"""Where do projections stop meaning anything? The minimum-data rules of clv.readiness, found by simulation.

Shops are drawn from known BG/NBD and Pareto/NBD parameters (CDNOW-like: most customers buy once or twice) with a
given number of customers, acquired evenly over a given history; the chosen purchase model is fitted and its
projection of the next 12 months' repeat purchases is compared with what the simulated customers really did.
Printed per (history, repeat customers): how often the fit fails outright, the median relative standard error of
the projected total from the parameters alone, and the median and 90th percentile of the projection's real error.

    .venv/bin/python bench/min_data.py [--reps 40]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from clv.errors import ModelError  # noqa: E402
from clv.models import BGNBD, ParetoNBD, ShrunkMeanSpend  # noqa: E402
from clv.simulate import simulate_bgnbd, simulate_future_purchases, simulate_pareto_nbd  # noqa: E402
from clv.uncertainty import total_interval  # noqa: E402

HORIZON = 365.0


def one(kind: str, customers: int, history: float, seed: int):
    rng = np.random.default_rng(seed)
    T = rng.uniform(1, history, customers)
    if kind == "bgnbd":
        d = simulate_bgnbd(T, 0.25, 34, 0.72, 2.2, seed=seed, return_latent=True)  # CDNOW's estimates, in days
        model = BGNBD
    else:
        d = simulate_pareto_nbd(T, 0.6, 81, 0.52, 62, seed=seed, return_latent=True)
        model = ParetoNBD
    repeaters = int((d["frequency"] > 0).sum())
    truth = simulate_future_purchases(d, HORIZON, seed=seed + 1).sum()
    try:
        m = model().fit(d["frequency"], d["recency"], d["T"])
    except ModelError:
        return repeaters, None, None
    cust = pd.DataFrame({"frequency": d["frequency"], "recency_days": d["recency"], "T_days": d["T"],
                         "monetary_value": np.where(d["frequency"] > 0, 1.0, 0.0)})
    ti = total_interval(m, ShrunkMeanSpend().fit(cust["frequency"], cust["monetary_value"]), cust, HORIZON,
                        seed=seed)["purchases"]
    return repeaters, ti.relative_sd["parameters"], ti.expected / max(truth, 1) - 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=40)
    a = ap.parse_args()
    print(f"{'model':10s} {'history':>8s} {'customers':>9s} {'repeaters':>9s} {'fails':>6s} {'param sd':>9s} "
          f"{'|error| median':>14s} {'|error| p90':>11s}")
    for kind in ("bgnbd", "pareto"):
        for history in (45, 90, 180, 365, 730):
            for customers in (30, 100, 300, 1000, 3000):
                res = [one(kind, customers, history, s) for s in range(a.reps)]
                reps = np.median([r[0] for r in res])
                fitted = [r for r in res if r[1] is not None and np.isfinite(r[1])]
                fails = 1 - len(fitted) / len(res)
                sd = np.median([r[1] for r in fitted]) if fitted else float("nan")
                err = np.abs([r[2] for r in fitted]) if fitted else np.array([np.nan])
                print(f"{kind:10s} {history:8d} {customers:9d} {reps:9.0f} {fails:6.0%} {sd:9.1%} "
                      f"{np.median(err):14.1%} {np.quantile(err, 0.9):11.1%}", flush=True)


if __name__ == "__main__":
    main()
