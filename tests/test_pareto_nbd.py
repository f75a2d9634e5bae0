"""Pareto/NBD checked against truth: the published CDNOW fit and lifetimes' on the same table, recovery from
simulation, likelihood and P(alive) by direct integration over (lambda, mu), and predictions by Monte Carlo."""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import gamma_pdf
from scipy import integrate

from clv.models import BGNBD, MBGNBD, ModelError, ParetoNBD, _log_power_integral
from clv.simulate import simulate_future_purchases, simulate_pareto_nbd

TRUE = dict(r=0.6, alpha=60.0, s=0.8, beta=200.0)
CDNOW = Path(__file__).parent / "fixtures" / "cdnow_customers_summary.csv"  # as shipped with lifetimes, in weeks


@pytest.fixture(scope="module")
def sim():
    T = np.random.default_rng(0).uniform(30, 730, 20_000)
    return simulate_pareto_nbd(T, **TRUE, seed=1, return_latent=True)


def _true(**params):
    m = ParetoNBD()
    m.params_ = dict(params or TRUE)
    return m


@pytest.fixture(scope="module")
def cdnow():
    d = pd.read_csv(CDNOW)
    return d["frequency"].to_numpy(float), d["recency"].to_numpy(float), d["T"].to_numpy(float)


# lifetimes 0.11.3 on the same 2,357 customers (ParetoNBDFitter with tol=1e-10, BetaGeoFitter and
# ModifiedBetaGeoFitter with their defaults), and their 39-week predictions for the first three customers
LIFETIMES = {
    ParetoNBD: ({"r": 0.55327554, "alpha": 10.57761296, "s": 0.6062135, "beta": 11.66790926},
                [1.455112989658707, 0.17098052739131944, 0.10705980042972522]),
    BGNBD: ({"r": 0.24259293, "alpha": 4.41353227, "a": 0.79288597, "b": 2.42575238},
            [1.2259104241744019, 0.20325062425618848, 0.19478085793947952]),
    MBGNBD: ({"r": 0.52483773, "alpha": 6.18298848, "a": 0.89135628, "b": 1.61400003},
             [1.2626707787139884, 0.1887892403705034, 0.15395364436667508]),
}


@pytest.mark.parametrize("cls", list(LIFETIMES), ids=lambda c: c.__name__)
def test_cdnow_matches_lifetimes(cdnow, cls):
    x, tx, T = cdnow
    m = cls().fit(x, tx, T)
    params, pred = LIFETIMES[cls]
    for k, v in params.items():
        assert m.params_[k] == pytest.approx(v, rel=1e-4), k
    assert m.expected_purchases(39.0, x[:3], tx[:3], T[:3]) == pytest.approx(pred, rel=1e-4)


def test_cdnow_matches_the_published_fit(cdnow):
    """Fader & Hardie (2005) on the same 2,357 CDNOW customers: r 0.553, alpha 10.578, s 0.606, beta 11.669 (weeks),
    log-likelihood −9,595.0."""
    m = ParetoNBD().fit(*cdnow)
    got = m.params_
    assert (round(got["r"], 3), round(got["alpha"], 2), round(got["s"], 3), round(got["beta"], 2)) \
        == (0.553, 10.58, 0.606, 11.67)
    assert m.log_likelihood_ == pytest.approx(-9595.0, abs=0.1)


def test_recovers_true_parameters(sim):
    m = ParetoNBD().fit(sim["frequency"], np.floor(sim["recency"]), sim["T"])
    for name, truth in TRUE.items():
        est, se = m.summary.loc[name, "estimate"], m.summary.loc[name, "std_error"]
        assert abs(est - truth) < 3.5 * se, (name, est, truth, se)


def test_power_integral_matches_quadrature():
    for lo, hi, A, p, B, q in [(3, 200, 70, 5.5, 80, 1.6), (0, 700, 300, 2, 10, 1.6), (10, 11, 5, 30, 500, 0.5),
                               (0, 90, 800, 12, 900, 0.7), (0, 400, 20, 40.6, 20, 1.8)]:
        want = integrate.quad(lambda y: (A + y) ** -p * (B + y) ** -q, lo, hi, epsabs=0, epsrel=1e-13)[0]
        assert np.exp(_log_power_integral(lo, hi, A, p, B, q)) == pytest.approx(want, rel=1e-10)
    assert _log_power_integral(5.0, 5.0, 1.0, 2.0, 3.0, 1.0) == -np.inf


def test_likelihood_and_p_alive_match_direct_integration():
    """Integrate the individual likelihood over lambda ~ Gamma(r, alpha), mu ~ Gamma(s, beta) numerically."""
    r, alpha, s, beta = 0.9, 40.0, 0.7, 150.0
    m = _true(r=r, alpha=alpha, s=s, beta=beta)
    for x, tx, T in [(0, 0.0, 200.0), (1, 30.0, 200.0), (6, 150.0, 160.0)]:
        def dens(lam, mu):  # Gamma(r, alpha) x Gamma(s, beta)
            return gamma_pdf(lam, r, alpha) * gamma_pdf(mu, s, beta)

        def alive(mu, lam):
            return lam ** x * np.exp(-(lam + mu) * T) * dens(lam, mu)

        def dead(mu, lam):  # dies at some y in (t_x, T] without buying after t_x
            return lam ** x * mu / (lam + mu) * (np.exp(-(lam + mu) * tx) - np.exp(-(lam + mu) * T)) * dens(lam, mu)

        A = integrate.dblquad(alive, 0, 1.5, 0, 0.2, epsabs=1e-15)[0]
        D = integrate.dblquad(dead, 0, 1.5, 0, 0.2, epsabs=1e-15)[0]
        assert np.exp(m.log_likelihood(x, tx, T)) == pytest.approx(A + D, rel=1e-4), (x, tx, T)
        assert m.probability_alive(x, tx, T) == pytest.approx(A / (A + D), rel=1e-4), (x, tx, T)


def test_one_time_buyers_fade_unlike_bgnbd():
    m = _true()
    assert m.probability_alive(0, 0.0, 600.0) < m.probability_alive(0, 0.0, 30.0) < 1
    # a regular buyer whose last purchase was long ago is less likely alive than one who just bought
    assert m.probability_alive(10, 100.0, 400.0) < m.probability_alive(10, 390.0, 400.0)


def test_p_alive_matches_monte_carlo(sim):
    p = _true().probability_alive(sim["frequency"], sim["recency"], sim["T"])
    bins = pd.qcut(p, 8, duplicates="drop")
    got = sim["alive"].groupby(bins, observed=True).mean().to_numpy()
    want = pd.Series(p).groupby(bins, observed=True).mean().to_numpy()
    assert np.abs(got - want).max() < 0.03


def test_expected_and_no_purchase_match_monte_carlo(sim):
    m = _true()
    pred = m.expected_purchases(180.0, sim["frequency"], sim["recency"], sim["T"])
    actual = simulate_future_purchases(sim, 180.0, seed=3)
    assert abs(pred.sum() / actual.sum() - 1) < 0.03
    for lo, hi in [(0, 0), (1, 2), (3, 1000)]:
        sel = sim["frequency"].between(lo, hi).to_numpy()
        assert abs(pred[sel].mean() / actual[sel].mean() - 1) < 0.08, (lo, hi)
    p0 = m.probability_no_purchase(90.0, sim["frequency"], sim["recency"], sim["T"])
    none = simulate_future_purchases(sim, 90.0, seed=7) == 0
    assert abs(p0.mean() - none.mean()) < 0.01
    once = sim["frequency"].to_numpy() == 0
    assert abs(p0[once].mean() - none[once].mean()) < 0.015
    assert np.all((p0 > 0) & (p0 < 1))


def test_new_customer_expectation_matches_monte_carlo():
    d = simulate_pareto_nbd(np.full(40_000, 365.0), **TRUE, seed=9)
    assert _true().expected_purchases_new_customer(365.0) == pytest.approx(d["frequency"].mean(), rel=0.03)
    assert _true(r=0.6, alpha=60.0, s=1.0, beta=200.0).expected_purchases_new_customer(365.0) \
        == pytest.approx(0.6 * 200 / 60 * np.log(565 / 200))  # the s = 1 limit


def test_median_lifetime():
    m = _true()
    tau = m.median_lifetime_days()
    mc = np.random.default_rng(2).exponential(1 / np.random.default_rng(3).gamma(0.8, 1 / 200.0, 200_000))
    assert np.mean(mc > tau) == pytest.approx(0.5, abs=0.005)


def test_weights_equal_repeated_rows():
    d = simulate_pareto_nbd(np.full(600, 300.0), **TRUE, seed=4)
    d["recency"] = np.floor(d["recency"])
    two = pd.concat([d, d])
    a = ParetoNBD().fit(two["frequency"], two["recency"], two["T"])
    b = ParetoNBD().fit(d["frequency"], d["recency"], d["T"], weights=np.full(len(d), 2.0))
    for k in TRUE:
        assert a.params_[k] == pytest.approx(b.params_[k], rel=1e-5)


def test_plain_errors():
    with pytest.raises(ModelError, match="Nobody has bought twice"):
        ParetoNBD().fit([0, 0], [0, 0], [10, 20])
    with pytest.raises(ModelError, match="recency ≤ T"):
        ParetoNBD().fit([1], [30], [10])
    with pytest.raises(ModelError, match="not fitted"):
        ParetoNBD().probability_alive(1, 1, 2)


def test_the_hypergeometric_terms_are_the_same_computed_in_parts_or_per_pair(sim, monkeypatch):
    """What makes the fit fast changes no value: Gauss' function computed in parts on threads equals scipy's value
    by value, and P(alive) from the distinct (x, t_x) and (x, T) pairs equals P(alive) row by row, bit for bit."""
    from scipy import special

    from clv import models
    rng = np.random.default_rng(4)
    n = 3 * models.HYP2F1_SPLIT + 1  # parts of unequal length
    a = rng.uniform(1, 40, n)
    args = (a, rng.uniform(1, 20, n), a + 1, rng.uniform(0.0, 0.97, n))
    assert np.array_equal(models._hyp2f1(*args), special.hyp2f1(*args))
    m = ParetoNBD().fit(sim["frequency"], sim["recency"], sim["T"])
    x, tx, T = (np.asarray(sim[k], float) for k in ("frequency", "recency", "T"))
    by_pair = m.probability_alive(x, tx, T)
    monkeypatch.setattr(models, "HYP2F1_WORKERS", 1)
    by_row = m.probability_alive(x[:, None], tx[:, None], T[:, None])[:, 0]  # 2-D: row by row, one thread
    assert len(x) >= models.HYP2F1_SPLIT and np.array_equal(by_pair, by_row)
