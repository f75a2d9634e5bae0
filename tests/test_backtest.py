"""The backtest's views: decile calibration, the cumulative predicted-vs-actual curve, and the three-model comparison
(each view reconciles with the backtest's own totals and with the orders)."""
import numpy as np
import pandas as pd
import pytest

from clv.value import PURCHASE_MODELS, backtest, compare_purchase_models


@pytest.fixture(scope="module")
def comparison(sample_shop):
    cal, end = sample_shop.default_calibration_end(), sample_shop.purchase_span()[1]
    return compare_purchase_models(sample_shop.customers(calibration_end=cal), sample_shop.holdout(cal, end), cal,
                                   end, weekly=sample_shop.holdout_weekly(cal, end))


def test_every_model_is_backtested_side_by_side(comparison):
    assert set(comparison.backtests) == set(PURCHASE_MODELS)
    assert set(comparison.table.index) == set(PURCHASE_MODELS) | {"own_rate", "hiatus", "shop_average"}
    rules = comparison.table[comparison.table["kind"] == "simple rule"]
    # every rule is scored on the same customers and the same holdout as the models
    assert (rules["actual repeat orders"] == comparison.table.loc["bgnbd", "actual repeat orders"]).all()
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


def test_halving_every_prediction_wins_on_mae_but_not_on_the_proper_score():
    """The counter-example of the old choice: many customers buy nothing in the holdout, so the median of a count is
    0 and halving any model's predictions lowers its MAE; the Poisson deviance is lowest for the true mean."""
    from clv.models import BGNBD
    from clv.simulate import simulate_bgnbd, simulate_future_purchases
    from clv.value import choose_model, poisson_deviance
    T = np.random.default_rng(0).uniform(30, 700, 8000)
    d = simulate_bgnbd(T, 0.5, 60, 0.9, 3.0, seed=4, return_latent=True)
    m = BGNBD().fit(d["frequency"], d["recency"], d["T"])
    pred = m.expected_purchases(180.0, d["frequency"], d["recency"], d["T"])
    actual = simulate_future_purchases(d, 180.0, seed=5)
    assert np.abs(pred / 2 - actual).mean() < np.abs(pred - actual).mean()  # MAE prefers the halved predictions
    assert poisson_deviance(pred, actual).mean() < poisson_deviance(pred / 2, actual).mean()
    chosen, why, _, _ = choose_model({"mbgnbd": pred / 2, "bgnbd": pred}, actual)
    assert chosen == "bgnbd" and "off by more than" in why  # and its total (−50 %) sets it aside anyway
    chosen, _, _, _ = choose_model({"bgnbd": pred / 2, "pareto_nbd": pred}, actual)
    assert chosen == "pareto_nbd"


@pytest.mark.parametrize("truth", ["bgnbd", "pareto_nbd"])
def test_the_proper_score_picks_the_generating_model_or_one_within_noise(truth):
    """Shops simulated from each model: the choice is the generating model, or a model whose score is within the
    paired noise of it — and never one whose total is beyond the bound."""
    from clv.models import BGNBD, MBGNBD, ParetoNBD
    from clv.simulate import simulate_bgnbd, simulate_future_purchases, simulate_pareto_nbd
    from clv.value import AGGREGATE_BOUND, choose_model, poisson_deviance
    for seed in range(3):
        T = np.random.default_rng(seed).uniform(60, 700, 6000)
        d = (simulate_bgnbd(T, 0.6, 50, 0.6, 2.0, seed=seed, return_latent=True) if truth == "bgnbd" else
             simulate_pareto_nbd(T, 0.6, 50, 0.5, 120, seed=seed, return_latent=True))
        actual = simulate_future_purchases(d, 240.0, seed=seed + 50)
        preds = {k: M().fit(d["frequency"], d["recency"], d["T"]).expected_purchases(
            240.0, d["frequency"], d["recency"], d["T"]) for k, M in
            (("bgnbd", BGNBD), ("mbgnbd", MBGNBD), ("pareto_nbd", ParetoNBD))}
        chosen, why, tie, _ = choose_model(preds, actual)
        assert abs(preds[chosen].sum() / actual.sum() - 1) <= AGGREGATE_BOUND, why
        diff = poisson_deviance(preds[chosen], actual) - poisson_deviance(preds[truth], actual)
        assert chosen == truth or diff.mean() <= 2 * diff.std(ddof=1) / np.sqrt(len(diff)), why


def test_simple_rules_are_said_when_they_predict_as_well():
    from clv.value import baseline_predictions, choose_model
    cal = pd.DataFrame({"frequency": [0.0, 2, 5, 1], "recency_days": [0.0, 100, 300, 50], "T_days": [200.0, 150, 320, 400]})
    rules = baseline_predictions(cal, 100.0)
    assert set(rules) == {"own_rate", "hiatus", "shop_average"}
    np.testing.assert_allclose(rules["own_rate"][1], [0, 200 / 150, 500 / 320, 0.25])
    np.testing.assert_allclose(rules["shop_average"][1], 8 / 1070 * 100)
    # hiatus: the 90th percentile of the repeaters' average gaps (50, 60, 50) is 58 days, so the customer silent for
    # 350 days is inactive and those silent for 50 and 20 are not
    np.testing.assert_allclose(rules["hiatus"][1], [0, 200 / 150, 500 / 320, 0])
    actual = np.array([0.0, 1, 3, 0])
    _, why, _, as_good = choose_model({"bgnbd": np.array([0.5, 0.5, 0.5, 0.5])}, actual, baselines=rules)
    assert as_good is not None and "A simple rule predicts as well here" in why


def test_the_why_says_when_the_standard_model_was_set_aside():
    from clv.value import choose_model
    actual = np.array([0.0, 1, 2, 0, 1] * 40)
    good = actual * 0.9 + 0.05
    chosen, why, tie, _ = choose_model({"bgnbd": good * 0.4, "pareto_nbd": good, "mbgnbd": good * 1.02}, actual)
    assert chosen in ("pareto_nbd", "mbgnbd") and "was set aside" in why and "standard model stays" not in why


def test_the_why_says_clearly_better_not_a_tie_when_the_standard_model_wins():
    """The standard model scoring clearly better than both others is no tie (the words said "a tie … differ by
    less than chance" whenever the standard model stayed, even 10 standard errors ahead); a challenger better by
    less than the noise is one."""
    from clv.value import choose_model
    rng = np.random.default_rng(3)
    actual = rng.poisson(1.0, 4000).astype(float)
    good = np.clip(actual + rng.normal(0, 0.3, 4000), 0.05, None)
    chosen, why, tie, _ = choose_model({"bgnbd": good, "mbgnbd": good * 1.2, "pareto_nbd": good * 0.8}, actual)
    assert chosen == "bgnbd" and not tie and "clearly better than the other models" in why and "tie" not in why
    close = good * (1 + rng.normal(0, 0.001, 4000))
    chosen, why, tie, _ = choose_model({"bgnbd": good, "mbgnbd": close, "pareto_nbd": good * 0.8}, actual)
    assert chosen == "bgnbd" and tie and "a tie" in why
    # the standard model could not be fitted: a tie between the others keeps no "standard model"
    chosen, why, tie, _ = choose_model({"mbgnbd": good, "pareto_nbd": close}, actual)
    assert tie and "could not be fitted" in why and "standard model stays" not in why


def test_a_big_shops_comparison_reads_a_seeded_sample_computed_for_those_customers_only(sample_shop):
    """Above the comparison's size the tables are built for a hash-seeded sample of the customers only (issue 28):
    the same customers in both tables, their rows equal to the full tables', the same sample on every run, and the
    weekly curve counted for the sample's customers."""
    cal, end = sample_shop.default_calibration_end(), sample_shop.purchase_span()[1]
    full_cal, full_hold, weekly, n = sample_shop.backtest_tables(cal, end)
    assert n == len(full_cal) == len(full_hold)
    cal_s, hold_s, weekly_s, n_s = sample_shop.backtest_tables(cal, end, max_customers=n // 4)
    assert abs(n_s / n - 1) < 0.05  # estimated well above the sample's size (HyperLogLog), counted near it
    assert weekly_s["repeat_purchases"].sum() == hold_s["holdout_purchases"].sum() \
        < weekly["repeat_purchases"].sum() == full_hold["holdout_purchases"].sum()
    # binomial around n/4: 5 standard deviations either way
    sd = (n * 0.25 * 0.75) ** 0.5
    assert abs(len(cal_s) - n / 4) < 5 * sd
    assert list(cal_s["customer_id"]) == list(hold_s["customer_id"])
    pd.testing.assert_frame_equal(cal_s.reset_index(drop=True),
                                  full_cal[full_cal["customer_id"].isin(cal_s["customer_id"])].reset_index(drop=True))
    pd.testing.assert_frame_equal(hold_s.reset_index(drop=True),
                                  full_hold[full_hold["customer_id"].isin(hold_s["customer_id"])].reset_index(drop=True))
    again = sample_shop.backtest_tables(cal, end, max_customers=n // 4)[0]
    assert list(again["customer_id"]) == list(cal_s["customer_id"])
    mc = compare_purchase_models(cal_s, hold_s, cal, end, weekly=weekly_s, population=n_s)
    assert mc.sampled and mc.best in PURCHASE_MODELS
    # the curve's actual total is the sample's own holdout purchases
    assert mc.backtests[mc.best].cumulative["actual"].iloc[-1] == pytest.approx(hold_s["holdout_purchases"].sum())
