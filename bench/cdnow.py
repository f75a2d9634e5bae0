"""CDNOW (the copy the lifetimes wheel ships): clv's BG/NBD, MBG/NBD and Pareto/NBD next to lifetimes' fitters.

    python bench/cdnow.py --lifetimes-python /tmp/lt/bin/python

lifetimes lives only in its own virtual environment (never a dependency of the app):
    python -m venv /tmp/lt && /tmp/lt/bin/pip install lifetimes "numpy<2" "pandas<2.2" "scipy<1.12"
The transaction log is read by clv's own loader (aligned columns, YYYYMMDD dates, identical rows kept); the
calibration period ends 1997-09-30 and the holdout 1998-06-30 (the usual split), time in days. Both libraries fit
the same calibration table (lifetimes in weeks: in days its optimiser does not converge on CDNOW; the maximum
only rescales alpha and beta, so they are shown x 7); the script prints each model's parameters from both, their largest relative
difference, lifetimes' own summary of the same log against clv's, and each model's holdout aggregate error and MAE.
"""
import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

WORKER = r"""
import json, sys
import numpy as np, pandas as pd
from lifetimes import BetaGeoFitter, ModifiedBetaGeoFitter, ParetoNBDFitter
from lifetimes.utils import summary_data_from_transaction_data
d = np.load(sys.argv[1])
# lifetimes fits in weeks (in days its optimiser does not converge on CDNOW); the likelihood's maximum only
# rescales alpha and beta (days = 7 x weeks), so both are compared in days
x, tx, T, t = d["frequency"], d["recency"] / 7, d["T"] / 7, float(d["holdout_days"]) / 7
out = {}
for name, cls in (("bgnbd", BetaGeoFitter), ("mbgnbd", ModifiedBetaGeoFitter), ("pareto_nbd", ParetoNBDFitter)):
    # Pareto/NBD with a tighter tolerance than its default 1e-7 (Nelder-Mead stops early): compare maxima, not stops
    m = cls(penalizer_coef=0.0).fit(x, tx, T, **({"tol": 1e-10} if name == "pareto_nbd" else {}))
    names = ("r", "alpha", "s", "beta") if name == "pareto_nbd" else ("r", "alpha", "a", "b")
    out[name] = {"params": {k: float(m.params_[k]) * (7 if k in ("alpha", "beta") else 1) for k in names},
                 "pred": m.conditional_expected_number_of_purchases_up_to_time(t, x, tx, T).tolist()}
log = pd.read_csv(sys.argv[2], sep=r"\s+", dtype={"customer_id": str})
log["date"] = pd.to_datetime(log["date"].astype(str), format="%Y%m%d")
s = summary_data_from_transaction_data(log[log["date"] <= "1997-09-30"], "customer_id", "date",
                                       observation_period_end="1997-09-30", freq="D")
out["summary"] = {"customers": int(len(s)), "frequency": float(s["frequency"].sum()),
                  "recency": float(s["recency"].sum()), "T": float(s["T"].sum())}
print(json.dumps(out))
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lifetimes-python", required=True)
    a = ap.parse_args()
    where = subprocess.run([a.lifetimes_python, "-c", "import lifetimes, os; print(os.path.dirname(lifetimes.__file__))"],
                           capture_output=True, text=True, check=True).stdout.strip()
    log = Path(where) / "datasets" / "CDNOW_master.txt"
    from clv.store import Shop
    from clv.value import PURCHASE_MODELS, backtest, compare_purchase_models
    shop = Shop()
    report = shop.load_orders(log)
    cal, end = "1997-09-30", "1998-06-30"
    table = shop.customers(calibration_end=cal)
    holdout = shop.holdout(cal, end)
    x, tx, T = (table[c].to_numpy(float) for c in ("frequency", "recency_days", "T_days"))
    days = (np.datetime64(end) - np.datetime64(cal)).astype(int)
    with tempfile.TemporaryDirectory() as tmp:
        npz = Path(tmp) / "cdnow.npz"
        np.savez(npz, frequency=x, recency=tx, T=T, holdout_days=days)
        run = subprocess.run([a.lifetimes_python, "-c", WORKER, str(npz), str(log)], capture_output=True, text=True)
        if run.returncode:
            sys.exit(f"lifetimes failed:\n{run.stderr[-3000:]}")
        lt = json.loads(run.stdout.strip().splitlines()[-1])
    print(f"CDNOW: {report.rows_read:,} rows, {report.identical_rows_kept} identical rows kept, "
          f"{len(table):,} customers in the calibration period (to {cal}), holdout to {end} ({days} days)")
    s = lt["summary"]
    print(f"    lifetimes' own summary: {s['customers']:,} customers, sum frequency {s['frequency']:,.0f}, "
          f"recency {s['recency']:,.0f}, T {s['T']:,.0f}; clv: {len(table):,}, {x.sum():,.0f}, {tx.sum():,.0f}, "
          f"{T.sum():,.0f}")
    for name in PURCHASE_MODELS:
        bt = backtest(table, holdout, cal, end, model=name)
        ours = bt.model.purchases.params_
        theirs = lt[name]["params"]
        rel = max(abs(ours[k] / theirs[k] - 1) for k in ours)
        pred = bt.model.purchases.expected_purchases(days, x, tx, T)
        pred_rel = float(np.max(np.abs(pred - np.array(lt[name]["pred"])) / np.maximum(np.array(lt[name]["pred"]), 1e-12)))
        t = bt.totals
        print(f"    {bt.model.purchases.label:8s} clv     " + ", ".join(f"{k}={v:.6g}" for k, v in ours.items()))
        print(f"    {'':8s} lifetimes " + ", ".join(f"{k}={v:.6g}" for k, v in theirs.items())
              + f"   largest relative difference {rel:.2e}; holdout predictions {pred_rel:.2e}")
        print(f"    {'':8s} holdout: predicted {t['predicted_repeat_purchases']:,.0f} repeat purchases, actual "
              f"{t['actual_repeat_purchases']:,.0f} ({t['predicted_repeat_purchases'] / t['actual_repeat_purchases'] - 1:+.1%}); "
              f"MAE per customer {t['mae']:.3f}")
        iv = bt.interval
        print(f"    {'':8s} its own 80 % interval {iv.low[0.8]:,.0f}–{iv.high[0.8]:,.0f}, 95 % {iv.low[0.95]:,.0f}–"
              f"{iv.high[0.95]:,.0f}: the actual {'falls outside' if bt.missed_beyond_interval else 'is inside'}")

    # the app's own choice on the same split, beside three simple rules (issue 25): does a model beat them?
    mc = compare_purchase_models(table, holdout, cal, end)
    cols = ["predicted repeat orders", "actual repeat orders", "aggregate error", "score (Poisson deviance)",
            "MAE per customer"]
    print("    the comparison the app shows (score = mean Poisson deviance per customer, lower is better):")
    with pd.option_context("display.width", 200, "display.max_columns", 10):
        print(mc.table[cols].round(4).to_string().replace("\n", "\n    "))
    print(f"    {mc.why}")


if __name__ == "__main__":
    main()
