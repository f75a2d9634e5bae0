"""Risk bands: thirds of the customers by churn risk, checked on history — on a shop simulated from BG/NBD the share
of each band that really bought nothing in the window matches what the model said."""
import numpy as np
import pandas as pd

from clv.churn import BANDS, backtest_bands, risk_bands
from clv.models import BGNBD
from clv.simulate import simulate_bgnbd, simulate_future_purchases


def test_bands_are_thirds_in_risk_order():
    risk = np.random.default_rng(0).random(1000)
    bands = risk_bands(risk)
    counts = pd.Series(bands).value_counts()
    assert list(bands.categories) == list(BANDS) and counts.min() >= 333 and counts.max() <= 334
    assert risk[bands == "low"].max() < risk[bands == "medium"].min() < risk[bands == "high"].min()


def test_bands_checked_on_a_simulated_shop_say_what_really_happened():
    T = np.random.default_rng(1).uniform(60, 700, 20_000)
    d = simulate_bgnbd(T, 0.6, 50, 0.7, 2.5, seed=2, return_latent=True)
    model = BGNBD().fit(d["frequency"], d["recency"], d["T"])
    future = simulate_future_purchases(d, 90.0, seed=3)
    customers = pd.DataFrame({"customer_id": np.arange(len(d)), "frequency": d["frequency"],
                              "recency_days": d["recency"], "T_days": d["T"]})
    holdout = pd.DataFrame({"customer_id": np.arange(len(d)), "holdout_purchases": future})
    table = backtest_bands(model, customers, holdout, 90)
    assert list(table.index) == list(BANDS) and table["customers"].sum() == len(d)
    assert table["did_not_buy"].is_monotonic_increasing
    np.testing.assert_allclose(table["did_not_buy"], table["predicted"], atol=0.02)


def test_equal_risks_share_a_band_and_a_missing_risk_has_none():
    bands = risk_bands([0.5] * 6 + [0.9, np.nan])
    assert len(set(bands[:6])) == 1 and pd.isna(bands[7])
