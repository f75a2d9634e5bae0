"""BG/NBD and Gamma-Gamma checked against truth: parameter recovery, Monte Carlo and numerical integration."""
import numpy as np
import pandas as pd
import pytest
from conftest import beta_pdf, gamma_pdf
from scipy import integrate

from clv.models import BGNBD, GammaGamma, ModelError
from clv.simulate import simulate_bgnbd, simulate_future_purchases, simulate_gamma_gamma
from clv.value import fit_value_model, price

TRUE_BG = dict(r=0.6, alpha=120.0, a=0.8, b=2.5)
TRUE_GG = dict(p=6.0, q=4.0, v=30.0)


@pytest.fixture(scope="module")
def sim():
    T = np.random.default_rng(0).uniform(30, 730, 20_000)
    return simulate_bgnbd(T, **TRUE_BG, seed=1, return_latent=True)


@pytest.fixture(scope="module")
def fitted(sim):
    return BGNBD().fit(sim["frequency"], sim["recency"], sim["T"])


def test_bgnbd_recovers_true_parameters_within_standard_errors(fitted):
    s = fitted.summary
    for name, truth in TRUE_BG.items():
        est, se = s.loc[name, "estimate"], s.loc[name, "std_error"]
        # 3.5 standard errors: four parameters, so a false alarm is rarer than 1 in 500
        assert abs(est - truth) < 3.5 * se, (name, est, truth, se)
        assert se < 0.25 * truth  # and the data pin them down


def test_gamma_gamma_recovers_true_parameters(sim):
    m = simulate_gamma_gamma(sim["frequency"], **TRUE_GG, seed=2)
    gg = GammaGamma().fit(sim["frequency"], m)
    for name, truth in TRUE_GG.items():
        est, se = gg.summary.loc[name, "estimate"], gg.summary.loc[name, "std_error"]
        assert abs(est - truth) < 3.5 * se, (name, est, truth, se)
    assert abs(gg.frequency_monetary_correlation_) < 0.1 and not gg.warnings_


def test_standard_errors_match_the_spread_of_refits():
    """The Hessian's standard errors agree with the spread of estimates over independent samples."""
    T = np.random.default_rng(5).uniform(30, 730, 4_000)
    fits = [BGNBD().fit(*simulate_bgnbd(T, **TRUE_BG, seed=s)[["frequency", "recency", "T"]].T.to_numpy())
            for s in range(12)]
    spread = np.std([f.params_["r"] for f in fits], ddof=1)
    se = np.mean([f.summary.loc["r", "std_error"] for f in fits])
    assert 0.5 < spread / se < 1.6


def test_p_alive_matches_monte_carlo(sim, fitted):
    """Among simulated customers with the same history, the share truly alive matches P(alive) (true params)."""
    true = BGNBD()
    true.params_ = dict(TRUE_BG)
    p = true.probability_alive(sim["frequency"], sim["recency"], sim["T"])
    repeaters = sim["frequency"] > 0
    bins = pd.qcut(p[repeaters], 5, duplicates="drop")
    got = sim.loc[repeaters, "alive"].groupby(bins, observed=True).mean()
    want = pd.Series(p[repeaters]).groupby(bins, observed=True).mean()
    n = pd.Series(p[repeaters]).groupby(bins, observed=True).size()
    assert np.all(np.abs(got.to_numpy() - want.to_numpy()) < 4 * np.sqrt(want * (1 - want) / n).to_numpy() + 0.01)


def test_expected_purchases_match_monte_carlo(sim):
    true = BGNBD()
    true.params_ = dict(TRUE_BG)
    t = 180.0
    pred = true.expected_purchases(t, sim["frequency"], sim["recency"], sim["T"])
    actual = simulate_future_purchases(sim, t, seed=3)
    assert abs(pred.sum() / actual.sum() - 1) < 0.03
    for lo, hi in [(0, 0), (1, 2), (3, 100)]:
        sel = sim["frequency"].between(lo, hi).to_numpy()
        assert abs(pred[sel].mean() / actual[sel].mean() - 1) < 0.08, (lo, hi)


def test_p_alive_matches_numerical_integration():
    """P(alive | x, t_x, T) from Bayes' rule, integrating over lambda and p numerically."""
    m = BGNBD()
    m.params_ = dict(r=0.9, alpha=40.0, a=1.3, b=2.2)
    r, alpha, a, b = m.params_.values()
    for x, tx, T in [(1, 30.0, 200.0), (4, 150.0, 160.0), (2, 20.0, 300.0)]:
        lam_pdf = lambda lam: gamma_pdf(lam, r, alpha)  # noqa: E731
        p_pdf = lambda p: beta_pdf(p, a, b)  # noqa: E731
        alive = lambda lam, p: (1 - p) ** x * lam ** x * np.exp(-lam * T)  # noqa: E731
        dead = lambda lam, p: p * (1 - p) ** (x - 1) * lam ** x * np.exp(-lam * tx)  # noqa: E731
        A = integrate.dblquad(lambda p, lam: alive(lam, p) * lam_pdf(lam) * p_pdf(p), 0, 2, 0, 1, epsabs=1e-14)[0]
        D = integrate.dblquad(lambda p, lam: dead(lam, p) * lam_pdf(lam) * p_pdf(p), 0, 2, 0, 1, epsabs=1e-14)[0]
        assert m.probability_alive(x, tx, T) == pytest.approx(A / (A + D), rel=1e-4)
        # and the likelihood (eq. 6) is the same integral
        assert np.exp(m.log_likelihood(x, tx, T)) == pytest.approx(A + D, rel=1e-4)


def test_expected_purchases_new_customer_matches_monte_carlo():
    m = BGNBD()
    m.params_ = dict(TRUE_BG)
    sim = simulate_bgnbd(np.full(40_000, 365.0), **TRUE_BG, seed=9)
    assert m.expected_purchases_new_customer(365.0) == pytest.approx(sim["frequency"].mean(), rel=0.03)


def test_matches_published_cdnow_example():
    """The classic CDNOW example (time in weeks, parameters r=0.243, alpha=4.414, a=0.793, b=2.426 from Fader,
    Hardie & Lee 2005): customer 1 (x=2, t_x=30.43, T=38.86) is expected to make 1.226 purchases in 39 weeks."""
    m = BGNBD()
    m.params_ = dict(r=0.243, alpha=4.414, a=0.793, b=2.426)
    x, tx, T = 2, 30.43, 38.86                      # customer 1 of CDNOW
    assert m.probability_alive(x, tx, T) == pytest.approx(0.725, abs=0.01)
    assert m.expected_purchases(39, x, tx, T) == pytest.approx(1.226, abs=0.01)  # the paper's eq. (10) example


def test_fit_errors_are_plain_words():
    with pytest.raises(ModelError, match="Nobody has bought twice"):
        BGNBD().fit([0, 0], [0, 0], [10, 20])
    with pytest.raises(ModelError, match="recency ≤ T"):
        BGNBD().fit([1], [30], [10])
    with pytest.raises(ModelError, match="not fitted"):
        BGNBD().probability_alive(1, 1, 2)


def test_penalizer_shrinks_parameters(sim):
    plain = BGNBD().fit(sim["frequency"], sim["recency"], sim["T"])
    pen = BGNBD(penalizer=0.01).fit(sim["frequency"], sim["recency"], sim["T"])
    assert sum(v ** 2 for v in pen.params_.values()) < sum(v ** 2 for v in plain.params_.values())


def test_weights_equal_repeated_rows():
    d = simulate_bgnbd(np.full(500, 300.0), **TRUE_BG, seed=4)
    a = BGNBD().fit(pd.concat([d, d])["frequency"], pd.concat([d, d])["recency"], pd.concat([d, d])["T"])
    b = BGNBD().fit(d["frequency"], d["recency"], d["T"], weights=np.full(len(d), 2.0))
    for k in a.params_:
        assert a.params_[k] == pytest.approx(b.params_[k], rel=1e-5)


def test_gradient_is_the_derivative(sim):
    m = BGNBD()
    x, tx, T = (sim[c].to_numpy()[:2000] for c in ("frequency", "recency", "T"))
    w = np.ones(len(x))
    lp = np.log([0.7, 100.0, 0.9, 2.0])
    f, g = m._neg_ll_and_grad(lp, x, tx, T, w, len(x))
    for i in range(4):
        e = np.zeros(4)
        e[i] = 1e-6
        num = (m._neg_ll_and_grad(lp + e, x, tx, T, w, len(x))[0] - m._neg_ll_and_grad(lp - e, x, tx, T, w, len(x))[0]) / 2e-6
        assert g[i] == pytest.approx(num, rel=1e-5, abs=1e-9)


def customer_table(sim):
    m = simulate_gamma_gamma(sim["frequency"], **TRUE_GG, seed=2)
    return pd.DataFrame({"customer_id": np.arange(len(sim)).astype(str), "frequency": sim["frequency"],
                         "recency_days": sim["recency"], "T_days": sim["T"], "monetary_value": m})


def test_clv_zero_margin_is_zero_and_grows_with_horizon(sim):
    vm = fit_value_model(customer_table(sim))
    assert (price(vm, 12, margin=0.0)["clv"] == 0).all()
    c6, c12, c24 = (price(vm, h, margin=0.5)["clv"] for h in (6, 12, 24))
    assert (c12 >= c6).all() and (c24 >= c12).all() and c24.sum() > c12.sum() > c6.sum()
    # discounting lowers value; margin scales it linearly
    assert price(vm, 12, 0.5, 0.3)["clv"].sum() < price(vm, 12, 0.5, 0.0)["clv"].sum()
    assert price(vm, 12, 1.0)["clv"].sum() == pytest.approx(2 * price(vm, 12, 0.5)["clv"].sum())
    # customers without a repeat purchase still get a projection
    assert (price(vm, 12, 0.5)["clv"][sim["frequency"] == 0] > 0).all()


def test_clv_undiscounted_equals_expected_purchases_times_value(sim):
    vm = fit_value_model(customer_table(sim))
    p = price(vm, 12, margin=1.0, discount_rate=0.0)
    np.testing.assert_allclose(p["clv"], p["expected_purchases"] * p["expected_order_value"], rtol=1e-9)


def test_monthly_tabulation_equals_eq10_per_customer(sim):
    from clv.value import MONTH_DAYS, _expected_by_month
    m = BGNBD()
    m.params_ = dict(TRUE_BG)
    d = sim.iloc[:3000]
    x, tx, T = (d[c].to_numpy() for c in ("frequency", "recency", "T"))
    by_pair, pair_of = _expected_by_month(m, x, np.round(T), months=6)
    assert len(by_pair) == len(np.unique(np.column_stack([x, np.round(T)]), axis=0))  # one row per distinct (x, T)
    table = by_pair[pair_of] * m.probability_alive(x, np.round(tx), np.round(T))[:, None]
    direct = np.column_stack([m.expected_purchases(k * MONTH_DAYS, x, np.round(tx), np.round(T)) for k in range(1, 7)])
    np.testing.assert_allclose(table, direct, rtol=1e-12)


def test_churn_reason_in_words():
    from clv.churn import reason_in_words
    customers = pd.DataFrame({
        "frequency": [0, 3, 2, 1], "recency_days": [0, 120, 80, 10], "T_days": [45, 250, 100, 40],
        "support_tickets": [0, 1, 0, 0], "mean_satisfaction": [np.nan, 1.0, np.nan, np.nan],
        "carts_abandoned": [0, 0, 2, 1],
        "last_abandoned_cart": pd.to_datetime([None, None, "2024-05-03", "2024-01-01"]),
        "last_order": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-05-01", "2024-03-01"]),
    })
    assert reason_in_words(customers).tolist() == [
        "bought once, 45 days ago",
        "usually buys every 40 days, silent for 130; unhappy support ticket",
        "usually buys every 40 days, silent for 20; left a cart since",
        "usually buys every 10 days, silent for 30",  # the abandoned cart was before the last order
    ]
    without_interactions = customers.drop(columns=["support_tickets"])
    assert reason_in_words(without_interactions).iloc[1] == "usually buys every 40 days, silent for 130"


def test_one_unhappy_ticket_rule_for_reasons_and_tactics():
    """The churn reason and the playbook's support follow-up read one rule (clv.churn.unhappy_support): a ticket
    rated 2 or lower, or not rated; a neutral 3 is not unhappy (they disagreed: ≤ 2 against ≤ 3)."""
    from clv.churn import reason_in_words, unhappy_support
    from clv.tactics import tactic_features
    customers = pd.DataFrame({
        "customer_id": list("abcde"), "frequency": [1] * 5, "recency_days": [30] * 5, "T_days": [90] * 5,
        "support_tickets": [1, 1, 1, 1, 0], "mean_satisfaction": [1.0, 2.0, 3.0, np.nan, np.nan],
        "carts_abandoned": [0] * 5, "last_abandoned_cart": pd.NaT, "last_order": pd.Timestamp("2024-01-01"),
        "clv": [1.0] * 5})
    assert unhappy_support(customers).tolist() == [True, True, False, True, False]
    assert tactic_features(customers)["unhappy_support"].tolist() == [1, 1, 0, 1, 0]
    reasons = reason_in_words(customers).tolist()
    assert [("unhappy support ticket" in r, "without a rating" in r) for r in reasons] == [
        (True, False), (True, False), (False, False), (False, True), (False, False)]


def test_spend_falls_back_to_shrunk_means_when_gamma_gamma_fails(sim, monkeypatch):
    """A Gamma-Gamma that cannot be fitted gives a visible note and a credibility estimate, never a blank page."""
    from clv.errors import ModelError
    from clv.models import GammaGamma, ShrunkMeanSpend
    from clv.value import fit_spend
    m = simulate_gamma_gamma(sim["frequency"], **TRUE_GG, seed=2)

    def fail(self, *a, **k):
        raise ModelError("The Gamma-Gamma fit did not converge (ABNORMAL: ).")
    monkeypatch.setattr(GammaGamma, "fit", fail)
    spend = fit_spend(sim["frequency"], m)
    assert isinstance(spend, ShrunkMeanSpend) and "did not converge" in spend.warnings_[0]
    x = np.asarray(sim["frequency"], float)
    own = np.where(x > 0, m, 0)
    pred = spend.expected_average_value(x, m)
    mu = spend.population_mean_value
    repeat = x > 0
    # between the customer's own mean and the shop's, closer to their own the more orders they have
    assert np.all((pred[repeat] - own[repeat]) * (pred[repeat] - mu) <= 1e-9)
    assert np.allclose(pred[~repeat], mu)
    true_mean = TRUE_GG["p"] * TRUE_GG["v"] / (TRUE_GG["q"] - 1)
    assert abs(mu / true_mean - 1) < 0.1
    # credibility k near Gamma-Gamma's own (q - 1) / p for data drawn from it
    assert 0.3 < spend.params_["k"] / ((TRUE_GG["q"] - 1) / TRUE_GG["p"]) < 3


def test_probability_of_no_purchase_matches_monte_carlo(sim):
    """P(no purchase in the next 90 days) against simulated futures, by decile of the prediction (true params):
    one-time buyers included, who get a real churn probability (1 − P(alive) is 0 for them)."""
    true = BGNBD()
    true.params_ = dict(TRUE_BG)
    p0 = true.probability_no_purchase(90, sim["frequency"], sim["recency"], sim["T"])
    future = simulate_future_purchases(sim, 90, seed=7)
    none = future == 0
    bins = pd.qcut(p0, 10, duplicates="drop")
    frame = pd.DataFrame({"pred": p0, "none": none}).groupby(bins, observed=True).mean()
    assert (frame["pred"] - frame["none"]).abs().max() < 0.03
    once = np.asarray(sim["frequency"]) == 0
    assert p0[once].min() > 0 and abs(p0[once].mean() - none[once].mean()) < 0.02


def test_estimates_at_the_edge_of_the_model_are_refused_in_words():
    """Everyone buying daily: the likelihood runs r, alpha to infinity and a to 0; no NaN projections, a reason."""
    x = tx = T = np.full(20, 364.0)  # 20 customers, a purchase every day of the year
    with pytest.raises(ModelError, match="edge of the model.*regular daily or weekly buyers"):
        BGNBD().fit(x, tx, T)


def test_json_outputs_hold_no_nan():
    import json

    from clv.cli import _finite
    out = json.dumps(_finite({"a": float("nan"), "b": [np.float64("inf"), 1.5], "c": np.float64(2.0)}), allow_nan=False)
    assert json.loads(out) == {"a": None, "b": [None, 1.5], "c": 2.0}


def test_penalizer_is_scale_free(sim):
    """The same customers in days and in weeks, penalised: the same r, a, b, and alpha in days = 7 x in weeks."""
    x, tx, T = (np.asarray(sim[c], float) for c in ("frequency", "recency", "T"))
    days = BGNBD(penalizer=0.01).fit(x, tx, T).params_
    weeks = BGNBD(penalizer=0.01).fit(x, tx / 7, T / 7).params_
    for k in ("r", "a", "b"):
        assert days[k] == pytest.approx(weeks[k], rel=1e-4)
    assert days["alpha"] == pytest.approx(7 * weeks["alpha"], rel=1e-4)
    plain = BGNBD().fit(x, tx, T).params_
    assert days["alpha"] != pytest.approx(plain["alpha"], rel=1e-3)  # it does act


def test_fit_from_distinct_rows_with_counts_is_the_fit_from_customers():
    """What the Spark engine relies on: the distinct (x, t_x, T) rows with their counts, in any order, give the
    same parameters as every customer, to the last bit (purchase models and Gamma-Gamma)."""
    from clv.models import BGNBD, MBGNBD, GammaGamma, ParetoNBD, ShrunkMeanSpend
    from clv.simulate import simulate_bgnbd
    d = simulate_bgnbd(np.random.default_rng(3).integers(30, 400, 4000).astype(float), 0.6, 90.0, 0.8, 2.5, seed=4)
    x, tx, T = d["frequency"].to_numpy(), np.floor(d["recency"].to_numpy()), d["T"].to_numpy()
    tx = np.where(x > 0, tx, 0.0)
    rows = pd.DataFrame({"x": x, "tx": tx, "T": T}).value_counts().reset_index().sample(frac=1, random_state=1)
    for model in (BGNBD, MBGNBD, ParetoNBD):
        full = model().fit(x, tx, T)
        grouped = model().fit(rows["x"], rows["tx"], rows["T"], weights=rows["count"])
        assert full.params_ == grouped.params_, model.label
    m = np.where(x > 0, np.round(np.random.default_rng(5).gamma(6.0, 5.0, len(x)), 2), 0.0)
    spend = pd.DataFrame({"x": x, "m": m}).value_counts().reset_index().sample(frac=1, random_state=2)
    for model in (GammaGamma, ShrunkMeanSpend):
        full = model().fit(x, m)
        grouped = model().fit(spend["x"], spend["m"], weights=spend["count"])
        assert full.params_ == grouped.params_, model.__name__


def test_warm_started_fit_on_many_customers_reaches_the_cold_fits_maximum_in_few_evaluations(monkeypatch):
    """Above 2 x WARM_START_ROWS distinct rows the fit starts from a subsample's estimate and curvature; it must land
    on the maximum a plain L-BFGS-B fit from the usual start finds, and stop there instead of searching below
    double precision (issue 12: ~90 evaluations at 10M orders)."""
    import clv.models as models
    rng = np.random.default_rng(7)
    monkeypatch.setattr(models, "WARM_START_ROWS", 20_000)  # warm starts above 40,000 distinct rows
    T = rng.integers(30, 1500, 120_000).astype(float)
    d = simulate_bgnbd(T, 0.5, 80.0, 0.7, 2.0, seed=8)
    x, tx = d["frequency"].to_numpy(), np.where(d["frequency"] > 0, np.floor(d["recency"].to_numpy()), 0.0)
    m = np.where(x > 0, np.round(simulate_gamma_gamma(x, **TRUE_GG, seed=9), 2), 0.0)
    evaluations = []
    real = models.optimize.minimize

    def counting(fun, x0, **kw):
        def counted(p):
            evaluations[-1] += 1
            return fun(p)
        evaluations.append(0)
        return real(counted, x0, **kw)
    monkeypatch.setattr(models.optimize, "minimize", counting)
    for model, args in ((BGNBD, (x, tx, T)), (GammaGamma, (x, m))):
        evaluations.clear()
        warm = model().fit(*args)
        assert len(evaluations) == 2 and evaluations[1] <= 10, (model.label, evaluations)  # subsample, then full
        monkeypatch.setattr(models, "WARM_START_ROWS", 10 ** 9)  # no warm start: L-BFGS-B from the usual start
        cold = model(tol=1e-14).fit(*args)
        monkeypatch.setattr(models, "WARM_START_ROWS", 20_000)
        assert warm.log_likelihood_ >= cold.log_likelihood_ - 1e-6 * abs(cold.log_likelihood_)
        for k, v in cold.params_.items():
            assert warm.params_[k] == pytest.approx(v, rel=1e-4), (model.label, k)


def test_bootstrap_aucs_are_the_resampled_rows_aucs():
    """The weighted bootstrap (no re-ranking) gives each resample's AUC exactly as ranking its rows would."""
    from clv.churn import _auc, _bootstrap_aucs
    rng = np.random.default_rng(5)
    y = rng.integers(0, 2, 700)
    a = np.round(rng.normal(y * 0.4, 1), 1)  # rounded: many ties, counted half as the Mann-Whitney statistic does
    b = rng.integers(0, 4, 700).astype(float)
    fast = _bootstrap_aucs(y, a, b, seed=11, n=30)
    draws = np.random.default_rng(11 + 3)
    slow = []
    for _ in range(30):
        idx = draws.integers(0, len(y), len(y))
        slow.append((_auc(y[idx], a[idx]), _auc(y[idx], b[idx])))
    np.testing.assert_allclose(fast, np.array(slow), rtol=0, atol=1e-12)
