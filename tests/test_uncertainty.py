"""Intervals checked against truth: each model's purchase distribution against its own expected purchases (eq. 10 /
eq. 41, independently derived) and against simulation; interval coverage on shops simulated from known parameters.

CLV_COVERAGE_REPS sets the simulated shops per size (default 100; the figures in the issue note used 200, with
Pareto/NBD shops and 20k customers added by CLV_COVERAGE_FULL=1).
"""
import os

import numpy as np
import pandas as pd
import pytest

from clv import uncertainty as u
from clv.errors import ModelError
from clv.models import BGNBD, MBGNBD, GammaGamma, ParetoNBD, ShrunkMeanSpend
from clv.simulate import simulate_bgnbd, simulate_future_purchases, simulate_gamma_gamma, simulate_pareto_nbd

REPS = int(os.environ.get("CLV_COVERAGE_REPS", "100"))
FULL = bool(os.environ.get("CLV_COVERAGE_FULL"))


def _fixed(cls, **params):
    m = cls()
    m.params_ = params
    return m


MODELS = [_fixed(BGNBD, r=0.8, alpha=60.0, a=0.8, b=2.5), _fixed(MBGNBD, r=0.8, alpha=60.0, a=0.8, b=2.5),
          _fixed(ParetoNBD, r=0.8, alpha=60.0, s=0.7, beta=200.0)]


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.label)
def test_distribution_sums_to_the_models_expected_purchases(model):
    x, T = np.array([0.0, 1, 3, 12]), np.array([90.0, 200, 300, 400])
    n = np.arange(1, 4000)[:, None]
    total = u.purchase_survival(model, n, 180.0, x, T).sum(axis=0)  # E[N] = Σ P(N ≥ n)
    np.testing.assert_allclose(total, model.expected_purchases_if_alive(180.0, x, T), rtol=2e-6)


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.label)
def test_distribution_and_quantiles_match_simulation(model):
    rng = np.random.default_rng(3)
    k = 200_000
    x, tx, T = np.full(k, 3.0), np.full(k, 250.0), np.full(k, 300.0)
    sim = u.simulate_purchases(model, 180.0, x, tx, T, rng)
    alive = model.probability_alive(3.0, 250.0, 300.0)
    assert abs(sim.mean() - model.expected_purchases(180.0, 3.0, 250.0, 300.0)) < 4 * sim.std() / np.sqrt(k)
    for n in (1, 2, 3, 5):
        p = alive * u.purchase_survival(model, n, 180.0, 3.0, 300.0)
        assert abs(np.mean(sim >= n) - p) < 4 * np.sqrt(p * (1 - p) / k) + 1e-4, n
    probs = [0.1, 0.5, 0.9, 0.975]
    q = u.purchase_quantiles(model, 180.0, x[:3], tx[:3], T[:3], probs)
    for prob in probs:  # the q-quantile: P(N ≤ quantile) ≥ q > P(N ≤ quantile − 1)
        assert np.mean(sim <= q[prob][0]) >= prob - 3e-3 and np.mean(sim <= q[prob][0] - 1) < prob + 3e-3


def test_quantiles_of_customers_unlikely_to_be_active_are_zero():
    m = MODELS[0]
    q = u.purchase_quantiles(m, 365.0, [10.0, 10.0], [20.0, 390.0], [400.0, 400.0], [0.9])[0.9]
    assert q[0] == 0 and q[1] >= 5  # silent for a year after ten purchases vs. bought last week


def _shop(n, seed, kind):
    rng = np.random.default_rng(seed)
    T = rng.uniform(60, 720, n)
    if kind == "bgnbd":
        d, model = simulate_bgnbd(T, 0.6, 40, 0.9, 3.0, seed=seed, return_latent=True), BGNBD
    else:
        d, model = simulate_pareto_nbd(T, 0.6, 40, 0.8, 300, seed=seed, return_latent=True), ParetoNBD
    spend = simulate_gamma_gamma(d["frequency"], 6.0, 4.0, 15.0, seed=seed)
    customers = pd.DataFrame({"frequency": d["frequency"], "recency_days": d["recency"], "T_days": d["T"],
                              "monetary_value": spend})
    return d, customers, model().fit(d["frequency"], d["recency"], d["T"])


SIZES = [("bgnbd", 500), ("bgnbd", 2000)] + ([("pareto", 500), ("pareto", 2000), ("bgnbd", 20_000)] if FULL else [])


@pytest.mark.parametrize("kind,n", SIZES)
def test_shop_total_interval_covers_the_truth(kind, n):
    """Shops drawn from known parameters: the 95 % interval on next half-year's purchases covers what the simulated
    customers really bought 90–98 % of the time, the 80 % one 72–88 %; each customer's 80 % interval covers their
    own purchases at least 80 % of the time (a count's interval is conservative)."""
    cover95 = cover80 = fitted = 0
    per_customer = []
    for seed in range(REPS):
        try:
            d, customers, model = _shop(n, seed, kind)
        except ModelError:  # an estimate at the edge of the model: the pages show no projection for such a shop
            continue
        fitted += 1
        ti = u.total_interval(model, ShrunkMeanSpend().fit(customers["frequency"], customers["monetary_value"]),
                              customers, 180.0, seed=seed)["purchases"]
        future = simulate_future_purchases(d, 180.0, seed=seed + 10_000)
        truth = future.sum()
        cover95 += ti.low[0.95] <= truth <= ti.high[0.95]
        cover80 += ti.low[0.8] <= truth <= ti.high[0.8]
        if seed < 20:
            q = u.purchase_quantiles(model, 180.0, d["frequency"], d["recency"], d["T"], [0.1, 0.9])
            per_customer.append(np.mean((q[0.1] <= future) & (future <= q[0.9])))
    print(f"coverage {kind} {n}: 95 % {cover95 / fitted:.3f}, 80 % {cover80 / fitted:.3f}, per customer 80 % "
          f"{np.mean(per_customer):.3f} ({fitted} shops fitted of {REPS})")
    assert fitted >= 0.9 * REPS
    assert 0.90 <= cover95 / fitted <= 0.98, cover95 / fitted
    assert 0.72 <= cover80 / fitted <= 0.88, cover80 / fitted
    assert 0.80 <= np.mean(per_customer) <= 0.97, np.mean(per_customer)


def test_revenue_interval_counts_spend_and_its_parameters():
    d, customers, model = _shop(3000, 1, "bgnbd")
    gg = GammaGamma().fit(customers["frequency"], customers["monetary_value"])
    flat = ShrunkMeanSpend().fit(customers["frequency"], customers["monetary_value"])
    with_gg = u.total_interval(model, gg, customers, 180.0)["revenue"]
    with_flat = u.total_interval(model, flat, customers, 180.0)["revenue"]
    purchases = u.total_interval(model, gg, customers, 180.0)["purchases"]
    # order values vary around each customer's mean, and Gamma-Gamma's own parameters are uncertain: wider
    assert with_gg.relative_sd["purchases"] > purchases.relative_sd["purchases"]
    assert with_gg.relative_sd["parameters"] > purchases.relative_sd["parameters"]
    assert with_flat.low[0.95] < with_flat.expected < with_flat.high[0.95]
    assert with_gg.parameters_known and set(with_gg.as_dict()) >= {"low_80", "high_95", "expected"}


def test_calibration_widens_only_beyond_the_backtests_own_interval():
    base = u.TotalInterval("purchases", 100.0, {0.8: 90.0, 0.95: 85.0}, {0.8: 110.0, 0.95: 115.0})
    backtest = u.TotalInterval("purchases", 50.0, {0.8: 45.0, 0.95: 42.0}, {0.8: 55.0, 0.95: 58.0})
    assert u.calibrate(base, backtest, 56.0) is base  # the miss is within the backtest's own randomness
    wide = u.calibrate(base, backtest, 80.0)  # predicted 50 against 80: × 1.6 under
    assert wide.low[0.95] == pytest.approx(100 / 1.6) and wide.high[0.95] == pytest.approx(160.0)
    assert wide.high[0.8] < wide.high[0.95] and wide.relative_sd["model"] > 0
