"""MBG/NBD checked against truth: recovery from simulation, P(alive) by numerical integration and Monte Carlo
(one-time buyers included), expected purchases by Monte Carlo, and its analytic gradient."""
import numpy as np
import pandas as pd
import pytest
from conftest import beta_pdf, gamma_pdf
from scipy import integrate, optimize

from clv.models import BGNBD, MBGNBD
from clv.simulate import simulate_bgnbd, simulate_future_purchases

TRUE = dict(r=0.6, alpha=120.0, a=0.8, b=2.5)


@pytest.fixture(scope="module")
def sim():
    T = np.random.default_rng(0).uniform(30, 730, 20_000)
    return simulate_bgnbd(T, **TRUE, seed=1, return_latent=True, modified=True)


def _true():
    m = MBGNBD()
    m.params_ = dict(TRUE)
    return m


def test_recovers_true_parameters(sim):
    m = MBGNBD().fit(sim["frequency"], sim["recency"], sim["T"])
    for name, truth in TRUE.items():
        est, se = m.summary.loc[name, "estimate"], m.summary.loc[name, "std_error"]
        assert abs(est - truth) < 3.5 * se, (name, est, truth, se)
    # on data where customers can leave after their first purchase, MBG/NBD fits better than BG/NBD
    assert m.log_likelihood_ > BGNBD().fit(sim["frequency"], sim["recency"], sim["T"]).log_likelihood_


def test_p_alive_and_likelihood_match_numerical_integration():
    m = MBGNBD()
    m.params_ = dict(r=0.9, alpha=40.0, a=1.3, b=2.2)
    r, alpha, a, b = m.params_.values()
    for x, tx, T in [(0, 0.0, 200.0), (1, 30.0, 200.0), (4, 150.0, 160.0)]:
        lam_pdf = lambda lam: gamma_pdf(lam, r, alpha)  # noqa: E731
        p_pdf = lambda p: beta_pdf(p, a, b)  # noqa: E731
        alive = lambda lam, p: (1 - p) ** (x + 1) * lam ** x * np.exp(-lam * T)  # noqa: E731
        dead = lambda lam, p: p * (1 - p) ** x * lam ** x * np.exp(-lam * tx)  # noqa: E731
        A = integrate.dblquad(lambda p, lam: alive(lam, p) * lam_pdf(lam) * p_pdf(p), 0, 2, 0, 1, epsabs=1e-14)[0]
        D = integrate.dblquad(lambda p, lam: dead(lam, p) * lam_pdf(lam) * p_pdf(p), 0, 2, 0, 1, epsabs=1e-14)[0]
        assert m.probability_alive(x, tx, T) == pytest.approx(A / (A + D), rel=1e-4)
        assert np.exp(m.log_likelihood(x, tx, T)) == pytest.approx(A + D, rel=1e-4)
    assert m.probability_alive(0, 0.0, 400.0) < m.probability_alive(0, 0.0, 10.0) < 1


def test_p_alive_matches_monte_carlo_one_time_buyers_included(sim):
    p = _true().probability_alive(sim["frequency"], sim["recency"], sim["T"])
    bins = pd.qcut(p, 8, duplicates="drop")
    got = sim["alive"].groupby(bins, observed=True).mean().to_numpy()
    want = pd.Series(p).groupby(bins, observed=True).mean().to_numpy()
    assert np.abs(got - want).max() < 0.03
    once = sim["frequency"].to_numpy() == 0
    assert abs(p[once].mean() - sim["alive"][once].mean()) < 0.02


def test_expected_purchases_match_monte_carlo(sim):
    m = _true()
    pred = m.expected_purchases(180.0, sim["frequency"], sim["recency"], sim["T"])
    actual = simulate_future_purchases(sim, 180.0, seed=3)
    assert abs(pred.sum() / actual.sum() - 1) < 0.03
    for lo, hi in [(0, 0), (1, 2), (3, 100)]:
        sel = sim["frequency"].between(lo, hi).to_numpy()
        assert abs(pred[sel].mean() / actual[sel].mean() - 1) < 0.08, (lo, hi)
    p0 = m.probability_no_purchase(90.0, sim["frequency"], sim["recency"], sim["T"])
    none = simulate_future_purchases(sim, 90.0, seed=7) == 0
    assert abs(p0.mean() - none.mean()) < 0.01


def test_new_customer_expectation_matches_monte_carlo():
    sim = simulate_bgnbd(np.full(40_000, 365.0), **TRUE, seed=9, modified=True)
    assert _true().expected_purchases_new_customer(365.0) == pytest.approx(sim["frequency"].mean(), rel=0.03)


def test_gradient_is_the_likelihoods():
    d = simulate_bgnbd(np.full(300, 300.0), **TRUE, seed=4, modified=True)
    x, tx, T = (d[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    m = MBGNBD()
    w = np.ones_like(x)
    for point in ([0.1, 4.0, -0.3, 0.5], [-0.5, 5.0, 0.2, 1.2]):
        err = optimize.check_grad(lambda lp: m._neg_ll_and_grad(lp, x, tx, T, w, len(x))[0],
                                  lambda lp: m._neg_ll_and_grad(lp, x, tx, T, w, len(x))[1], np.array(point))
        assert err < 1e-5
