"""Do the campaign money intervals keep their promise? Coverage of the 95 % interval for the margin uplift per
customer, Welch's t (the textbook interval clv used before) against clv.campaigns.money_interval, by simulation.

Scenarios (issue 26): buyers make 1 + Poisson(0.3) orders; the true margin uplift is margin × uplift × orders per
buyer × mean order value; 200 treated / 50 control and 2,000 / 500; base buying rate 0.10 and 0.03; true uplift 0
and 5 points; order values Gamma(2, 25), lognormal(3.5, 1.0), (3.5, 1.5), (3.5, 2.0); then tiny controls (5 and 20),
a group with no buyer, a discount that lowers what treated buyers spend, and the benign setting of
tests/test_campaigns.py. Printed per scenario: Welch's coverage and where it missed (interval above / below the
truth), then how often clv shows a money figure at all (the rest gets "a control group of about N would do") and the
coverage of the figures it shows.

    .venv/bin/python bench/money_coverage.py [--repeats 2000]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from clv.campaigns import measure, welch  # noqa: E402
from clv.simulate import simulate_campaigns  # noqa: E402

MARGIN = 0.3
SPENDS = {"Gamma(2, 25)": ("gamma", 2.0, 25.0), "LN(3.5, 1.0)": ("lognormal", 3.5, 1.0),
          "LN(3.5, 1.5)": ("lognormal", 3.5, 1.5), "LN(3.5, 2.0)": ("lognormal", 3.5, 2.0)}


def scenarios():
    for treated, control in ((200, 50), (2000, 500)):
        for base in (0.10, 0.03):
            for uplift in (0.0, 0.05):
                for name, spend in SPENDS.items():
                    yield f"{treated}/{control} base {base:.2f} uplift {uplift:.2f} {name}", \
                        dict(treated=treated, control=control, base_rate=base, uplift=uplift, spend=spend)
    for control in (5, 20):
        for uplift in (0.0, 0.05):
            yield f"200/{control} base 0.10 uplift {uplift:.2f} LN(3.5, 1.0)", \
                dict(treated=200, control=control, base_rate=0.10, uplift=uplift, spend=SPENDS["LN(3.5, 1.0)"])
    yield "2000/500 base 0.00 uplift 0.02 (no control buyer)", \
        dict(treated=2000, control=500, base_rate=0.0, uplift=0.02, spend=SPENDS["Gamma(2, 25)"])
    yield "2000/500 base 0.10 uplift 0.05, treated spend 20 % less", \
        dict(treated=2000, control=500, base_rate=0.10, uplift=0.05, spend=SPENDS["LN(3.5, 1.0)"],
             treated_spend_factor=0.8)
    yield "2000/500 base 0.10 uplift 0.05, 10 % of customers return something", \
        dict(treated=2000, control=500, base_rate=0.10, uplift=0.05, spend=SPENDS["LN(3.5, 1.0)"], returns=0.10)
    yield "1200/300 base 0.15 uplift 0.03 one order Gamma(2, 30) (benign)", \
        dict(treated=1200, control=300, base_rate=0.15, uplift=0.03, spend=("gamma", 2.0, 30.0), extra_orders=0.0)


def welch_coverage(rows, outcomes, truth):
    m = rows.merge(outcomes, on=["campaign_id", "customer_id"], how="left").fillna({"revenue": 0.0})
    m["margin"] = MARGIN * m["revenue"]
    g = m.groupby(["campaign_id", "group"])["margin"].agg(["mean", "var", "size"]).unstack("group")
    _, lo, hi = welch(g[("mean", "treatment")], g[("var", "treatment")], g[("size", "treatment")],
                      g[("mean", "control")], g[("var", "control")], g[("size", "control")])
    lo, hi = np.asarray(lo), np.asarray(hi)
    return np.mean((lo <= truth) & (truth <= hi)), np.mean(lo > truth), np.mean(hi < truth)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=2000)
    args = ap.parse_args(argv)
    print(f"{args.repeats:,} simulated campaigns per scenario; margin {MARGIN:.0%}; 95 % intervals")
    print(f"{'scenario':<62} {'Welch':>6} {'above':>6} {'below':>6} | {'shown':>6} {'clv':>6} {'above':>6} {'below':>6}")
    for i, (label, kw) in enumerate(scenarios()):
        rows, outcomes, truth = simulate_campaigns(args.repeats, margin=MARGIN, seed=1000 + i, **kw)
        w, w_above, w_below = welch_coverage(rows, outcomes, truth)
        r = measure(rows, outcomes, rows["created"].iloc[0].replace(month=3), margin=MARGIN).results
        shown = r["money_measurable"].to_numpy()
        lo, hi = r["margin_uplift_low"].to_numpy()[shown], r["margin_uplift_high"].to_numpy()[shown]
        cov = f"{np.mean((lo <= truth) & (truth <= hi)):6.1%} {np.mean(lo > truth):6.1%} {np.mean(hi < truth):6.1%}" \
            if shown.any() else f"{'—':>6} {'':>6} {'':>6}"
        print(f"{label:<62} {w:6.1%} {w_above:6.1%} {w_below:6.1%} | {shown.mean():6.0%} {cov}", flush=True)


if __name__ == "__main__":
    main()
