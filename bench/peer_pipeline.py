"""The pipeline a data scientist would write with lifetimes, on the same export `score` reads: the peer figure
bench/pipeline.py --peer-python prints next to `python -m clv score`.

    /tmp/lt/bin/python bench/peer_pipeline.py ORDERS.csv OUT.csv

pandas read_csv, purchases only (the statuses clv excludes: voided, refunded, cancelled), lifetimes'
summary_data_from_transaction_data (daily, monetary value = mean spend of repeat purchase days), BetaGeoFitter,
GammaGammaFitter on repeat customers, 12-month customer_lifetime_value at 10 % a year (as clv's defaults), P(alive),
one CSV out. Run it with a Python that has lifetimes (its own virtual environment, never the app's), at the
releases a user installs today (no pins: bench/pipeline.py --peer-env makes and upgrades that environment):
    python -m venv /tmp/lt && /tmp/lt/bin/pip install --upgrade lifetimes pandas numpy scipy
Prints one JSON line: customers, seconds per step, the versions it ran with.
"""
import json
import sys
import time

import lifetimes
import numpy as np
import pandas as pd
import scipy
from lifetimes import BetaGeoFitter, GammaGammaFitter
from lifetimes.utils import summary_data_from_transaction_data

laps, t = {}, time.perf_counter()


def lap(name):
    global t
    laps[name] = round(time.perf_counter() - t, 2)
    t = time.perf_counter()


orders = pd.read_csv(sys.argv[1], dtype={"customer_id": str}, parse_dates=["order_date"])
orders = orders[~orders["status"].isin(["voided", "refunded", "cancelled"])]
lap("read_csv")
rfm = summary_data_from_transaction_data(orders, "customer_id", "order_date", monetary_value_col="amount",
                                         observation_period_end=orders["order_date"].max(), freq="D")
lap("summary_data_from_transaction_data")
bgf = BetaGeoFitter(penalizer_coef=0.0).fit(rfm["frequency"], rfm["recency"], rfm["T"])
lap("BetaGeoFitter")
repeat = rfm[(rfm["frequency"] > 0) & (rfm["monetary_value"] > 0)]
ggf = GammaGammaFitter(penalizer_coef=0.0).fit(repeat["frequency"], repeat["monetary_value"])
lap("GammaGammaFitter")
monthly = (1.10 ** (1 / 12)) - 1  # clv's 10 % a year, as lifetimes' monthly discount rate
rfm["clv"] = ggf.customer_lifetime_value(bgf, rfm["frequency"], rfm["recency"], rfm["T"], rfm["monetary_value"],
                                         time=12, discount_rate=monthly, freq="D")
rfm["p_alive"] = bgf.conditional_probability_alive(rfm["frequency"], rfm["recency"], rfm["T"])
lap("customer_lifetime_value + P(alive)")
rfm.to_csv(sys.argv[2])
lap("CSV out")
print(json.dumps({"customers": len(rfm), "laps": laps,
                  "versions": {"lifetimes": lifetimes.__version__, "pandas": pd.__version__, "numpy": np.__version__,
                               "scipy": scipy.__version__, "python": sys.version.split()[0]}}))
