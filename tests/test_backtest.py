"""The backtest's views: decile calibration, the cumulative predicted-vs-actual curve, and the three-model comparison
(each view reconciles with the backtest's own totals and with the orders)."""
import numpy as np
import pytest

from clv.value import PURCHASE_MODELS, backtest, compare_purchase_models


@pytest.fixture(scope="module")
def comparison(sample_shop):
    cal, end = sample_shop.default_calibration_end(), sample_shop.purchase_span()[1]
    return compare_purchase_models(sample_shop.customers(calibration_end=cal), sample_shop.holdout(cal, end), cal,
                                   end, weekly=sample_shop.holdout_weekly(cal, end))


def test_every_model_is_backtested_side_by_side(comparison):
    assert set(comparison.backtests) == set(PURCHASE_MODELS) == set(comparison.table.index)
    assert comparison.best in PURCHASE_MODELS and comparison.why
    for name, bt in comparison.backtests.items():
        assert comparison.table.loc[name, "MAE per customer"] == pytest.approx(bt.totals["mae"])


def test_deciles_partition_the_customers(comparison):
    for bt in comparison.backtests.values():
        d, t = bt.by_decile, bt.totals
        assert list(d.index) == list(range(1, 11)) and d["customers"].sum() == t["customers"]
        assert d["customers"].max() - d["customers"].min() <= 1
        assert (d["customers"] * d["predicted"]).sum() == pytest.approx(t["predicted_repeat_purchases"])
        assert (d["customers"] * d["actual"]).sum() == pytest.approx(t["actual_repeat_purchases"])
        assert d["predicted"].is_monotonic_increasing
        # the sample shop follows BG/NBD: the busiest tenth is predicted within 25 %
        assert d["predicted"].iloc[-1] == pytest.approx(d["actual"].iloc[-1], rel=0.25)


def test_cumulative_curve_ends_at_the_totals(comparison, sample_shop):
    for bt in comparison.backtests.values():
        c, t = bt.cumulative, bt.totals
        assert c["day"].iloc[-1] == bt.holdout_days and (np.diff(c["day"]) > 0).all()
        assert c["actual"].iloc[-1] == t["actual_repeat_purchases"]
        assert c["predicted"].iloc[-1] == pytest.approx(t["predicted_repeat_purchases"], rel=1e-9)
        assert (np.diff(c["actual"]) >= 0).all() and (np.diff(c["predicted"]) > 0).all()
        # each weekly point equals the per-customer prediction at that day, summed
        cal = sample_shop.customers(calibration_end=bt.calibration_end)
        x, tx, T = (cal[k].to_numpy(float) for k in ("frequency", "recency_days", "T_days"))
        day = float(c["day"].iloc[3])
        assert c["predicted"].iloc[3] == pytest.approx(bt.model.purchases.expected_purchases(day, x, tx, T).sum())


def test_weekly_actuals_count_what_happened(sample_shop):
    cal, end = sample_shop.default_calibration_end(), sample_shop.purchase_span()[1]
    week = sample_shop.holdout_weekly(cal, end)
    assert week["repeat_purchases"].sum() == sample_shop.holdout(cal, end)["holdout_purchases"].sum()
    assert week["week"].min() >= 1 and week["week"].max() == ((end - cal).days - 1) // 7 + 1


def test_backtest_without_weekly_has_no_curve(sample_shop):
    cal, end = sample_shop.default_calibration_end(), sample_shop.purchase_span()[1]
    bt = backtest(sample_shop.customers(calibration_end=cal), sample_shop.holdout(cal, end), cal, end)
    assert bt.cumulative is None and len(bt.by_decile) == 10
