"""How sure: the distribution of each customer's future purchases, and intervals on them and on the shop's totals.

A projection is uncertain for three reasons, and each is counted:
- **the purchases' own randomness** — a customer expected to buy 0.8 times buys 0, 1 or 3 times. Each purchase
  model gives the whole distribution of a customer's purchases in the next t days (``purchase_survival``), not
  only its mean;
- **the parameters** — estimated from a finite shop: drawn from the fit's covariance (in log-parameters);
- **the model itself** — measured by the shop's own backtest: when the model missed the holdout's total by more
  than its own interval allowed, the intervals are widened to that miss (``calibrate``).

Per customer the interval is the purchase count's own quantiles (parameter uncertainty is negligible beside it for
one customer); the CLTV interval scales the customer's projected value by them. For the shop's total, customers'
randomness mostly cancels and the parameters matter more: ``total_interval`` combines both, on a seeded sample of
customers for the costly parts so it stays a second or two at any size.

Formulas (time in days; a customer with x repeat purchases, age T, still active):
- BG/NBD / MBG/NBD: rate λ ~ Gamma(r + x, α + T), drop-out chance p ~ Beta(a, b + x + shift) (shift 1 for MBG/NBD),
  independent. Purchases K ~ Poisson(λ t) happen until the drop-out after purchase G ~ Geometric(p), so
  N = min(K, G) and P(N ≥ n) = P(K ≥ n) · E[(1 − p)^(n−1)] = I_{t/(α+T+t)}(n, r + x) · B(a, b+x+shift+n−1) / B(a, b+x+shift).
- Pareto/NBD: λ as above, remaining lifetime τ with P(τ > u) = ((β + T) / (β + T + u))^s, N ~ Poisson(λ min(τ, t)):
  P(N ≥ n) is the NB survival above averaged over τ (Gauss-Legendre on τ's distribution function).
Summing P(N ≥ n) over n gives each model's own expected purchases (tests/test_uncertainty.py checks it, and checks
the distribution against simulation).
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field

import numpy as np
from scipy import special, stats

from .models import ParetoNBD, _compress

__all__ = ["LEVELS", "PROBS", "IntervalParts", "interval_parts", "intervals_from", "customer_quantiles", "interval_columns", "purchase_survival", "purchase_quantiles", "simulate_purchases", "TotalInterval",
           "total_interval", "calibrate"]

#: the intervals shown: 80 % ("likely") and 95 % ("almost surely")
LEVELS = (0.8, 0.95)
#: the quantiles that bound them: 2.5 %, 10 %, 90 %, 97.5 %
PROBS = tuple(sorted({(1 - lv) / 2 for lv in LEVELS} | {(1 + lv) / 2 for lv in LEVELS}))
_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(24)


def _posterior(model, x, T):
    """(shape, rate) of the purchase rate and the drop-out part's parameters for customers still active."""
    if isinstance(model, ParetoNBD):
        r, alpha, s, beta = model._p()
        return r + x, alpha + T, (s, beta + T)
    r, alpha, a, b = model._p()
    return r + x, alpha + T, (a, b + x + model._shift)


def purchase_survival(model, n, t: float, frequency, T) -> np.ndarray:
    """P(N ≥ n | still active) for purchases N in the next ``t`` days, n ≥ 1 (arrays broadcast)."""
    n = np.asarray(n, float)
    shape, rate, (u, v) = _posterior(model, np.asarray(frequency, float), np.asarray(T, float))
    if not isinstance(model, ParetoNBD):
        beta_ratio = np.exp(special.gammaln(v + n - 1) - special.gammaln(v) + special.gammaln(u + v)
                            - special.gammaln(u + v + n - 1))
        return special.betainc(n, shape, t / (rate + t)) * beta_ratio
    s, scale = u, v  # remaining lifetime: Lomax(s, β + T)
    alive_at_t = (scale / (scale + t)) ** s
    F_t = 1 - alive_at_t
    total = alive_at_t * special.betainc(n, shape, t / (rate + t))
    for node, weight in zip(_NODES, _WEIGHTS):  # ∫ over τ < t, on τ's distribution function F ∈ [0, F(t)]
        F = F_t * (node + 1) / 2
        tau = scale * ((1 - F) ** (-1 / s) - 1)
        total = total + weight * F_t / 2 * special.betainc(n, shape, tau / (rate + tau))
    return total


def _table_length(model, t: float, x, T) -> np.ndarray:
    """How far each (x, T)'s table of P(N ≥ n) must go: 8 standard deviations past the mean of the purchases
    without drop-out (a negative binomial, which N never exceeds), at least 5."""
    shape, rate, _ = _posterior(model, x, T)
    mean = shape * t / rate
    sd = np.sqrt(mean + mean ** 2 / shape)
    return np.clip(np.ceil(mean + 8 * sd + 5), 5, 5000).astype(np.int64)


#: customers searched at once in purchase_quantiles (its temporaries stay a few MB at any size)
_CHUNK = 500_000


def purchase_quantiles(model, t: float, frequency, recency, T, probs, p_alive=None) -> dict:
    """The ``probs`` quantiles of each customer's purchases in the next ``t`` days: {prob: int32 array}.

    The table of P(N ≥ n | active) is built once per distinct (frequency, T) — a few thousand even for millions of
    customers — and each customer's quantile is a binary search in it against (1 − prob) / P(alive): the q-quantile
    is the number of n ≥ 1 with P(N ≥ n) > 1 − q. ``recency`` is read only when ``p_alive`` is not given."""
    alive = (model.probability_alive(*(np.asarray(c, float) for c in (frequency, recency, T))) if p_alive is None
             else np.asarray(p_alive, float))
    uniq, _, pair = _compress(frequency, T)
    pair = pair.astype(np.int32)
    ux, uT = uniq.T
    length = _table_length(model, t, ux, uT)
    start = np.concatenate([[0], np.cumsum(length)[:-1]])
    owner = np.repeat(np.arange(len(ux)), length)
    n = np.arange(len(owner)) - start[owner] + 1
    surv = np.clip(purchase_survival(model, n, t, ux[owner], uT[owner]), 0.0, 1.0)
    key = 2.0 * owner + (1.0 - surv)  # increasing: pairs apart, and within a pair P(N ≥ n) falls with n
    out = {q: np.empty(len(pair), np.int32) for q in probs}
    with np.errstate(divide="ignore"):
        for lo in range(0, len(pair), _CHUNK):
            k, a = pair[lo:lo + _CHUNK], alive[lo:lo + _CHUNK]
            for q in probs:
                threshold = np.minimum(np.where(a > 0, (1 - q) / a, np.inf), 1.0)
                needles = 2.0 * k + 1.0 - threshold
                # searched in increasing order: twice as fast as in customer order (0.027 s against 0.062 s per
                # 500,000 customers and probability, sort included)
                order = np.argsort(needles)
                found = np.empty(len(needles), np.int64)
                found[order] = np.searchsorted(key, needles[order], side="left")
                below = found - start[k]
                out[q][lo:lo + _CHUNK] = np.minimum(below, length[k])
    return out


def simulate_purchases(model, t: float, frequency, recency, T, rng: np.random.Generator) -> np.ndarray:
    """One draw of each customer's purchases in the next ``t`` days from the fitted model (given their history)."""
    x, tx, T_ = (np.asarray(c, float) for c in (frequency, recency, T))
    alive = rng.random(len(x)) < model.probability_alive(x, tx, T_)
    shape, rate, (u, v) = _posterior(model, x, T_)
    lam = rng.gamma(shape, 1.0 / rate)
    if isinstance(model, ParetoNBD):
        with np.errstate(divide="ignore", over="ignore"):  # a drop-out rate of 0: a lifetime without end
            tau = rng.exponential(1.0 / rng.gamma(u, 1.0 / v))
        return np.where(alive, rng.poisson(lam * np.minimum(tau, t)), 0).astype(float)
    p = rng.beta(u, v)
    return np.where(alive, np.minimum(rng.poisson(lam * t), rng.geometric(np.clip(p, 1e-12, 1))), 0).astype(float)


def _spend_draw(spend, frequency, monetary, purchases, rng) -> np.ndarray:
    """Money spent on ``purchases`` orders per customer: Gamma-Gamma's order values (a customer's value scale ν
    drawn from its posterior Gamma(q + p x, v + x m̄), then the sum of the orders ~ Gamma(p N, ν)); the shrunk-mean
    spend has no distribution, so its orders are worth its expected value."""
    expected = spend.expected_average_value(frequency, monetary)
    if "q" not in getattr(spend, "params_", {}):
        return purchases * expected
    p, q, v = (spend.params_[k] for k in ("p", "q", "v"))
    x = np.asarray(frequency, float)
    m = np.where(x > 0, np.maximum(np.nan_to_num(np.asarray(monetary, float)), 0), 0)
    nu = rng.gamma(q + p * x, 1.0 / (v + x * m))
    return np.where(purchases > 0, rng.gamma(np.maximum(p * purchases, 1e-300), 1.0 / nu), 0.0)


def _log_gradient(model, total_of) -> tuple[np.ndarray, np.ndarray] | None:
    """(gradient of log total_of(model) in log-parameters by central differences, covariance of the
    log-parameters), or None when the fit has no usable covariance."""
    cov = getattr(model, "covariance_", None)
    if cov is None or not np.all(np.isfinite(cov)):
        return None
    names = list(model.params_)
    est = np.array([model.params_[k] for k in names], float)
    grad = np.empty(len(names))
    h = 1e-4
    for i in range(len(names)):
        ends = []
        for sign in (1, -1):
            moved = copy.copy(model)
            moved.params_ = dict(zip(names, est * np.exp(sign * h * (np.arange(len(names)) == i))))
            with np.errstate(all="ignore"):
                ends.append(np.log(max(total_of(moved), 1e-300)))
        grad[i] = (ends[0] - ends[1]) / (2 * h)
    if not np.all(np.isfinite(grad)):
        return None
    return grad, cov / np.outer(est, est)


@dataclass
class TotalInterval:
    """A projected total with its 80 % and 95 % intervals, and what they rest on."""
    what: str
    expected: float
    low: dict                     # level -> lower bound
    high: dict                    # level -> upper bound
    relative_sd: dict = field(default_factory=dict)  # "parameters", "purchases" (randomness), "model" (backtest)
    parameters_known: bool = True  # False: the fit had no usable covariance; the interval is randomness alone

    def as_dict(self) -> dict:
        return {"expected": self.expected,
                **{f"low_{int(lv * 100)}": self.low[lv] for lv in LEVELS},
                **{f"high_{int(lv * 100)}": self.high[lv] for lv in LEVELS},
                "relative_sd": dict(self.relative_sd), "parameter_uncertainty_included": self.parameters_known}

    def scaled(self, what: str, expected: float) -> "TotalInterval":
        """The same relative interval around another expected total (revenue → discounted margin)."""
        f = expected / self.expected if self.expected else 0.0
        return TotalInterval(what, expected, {k: v * f for k, v in self.low.items()},
                             {k: v * f for k, v in self.high.items()}, dict(self.relative_sd), self.parameters_known)


def total_interval(purchases, spend, customers, t: float, p_alive=None, seed: int = 0, draws: int = 4000,
                   sample: int = 5000, expected=None, value=None) -> dict:
    """Intervals on the shop's total purchases and revenue in the next ``t`` days: {"purchases", "revenue"}.

    The expected totals are exact sums over every customer (``p_alive``, ``expected`` purchases in t and ``value``
    of one purchase per customer: the value model's, when known — then nothing customer-sized is computed). Their
    spread adds two independent parts:
    - the parameters, by the delta method on the log of the total: its gradient in the log-parameters (central
      differences, on a seeded ``sample`` of customers — the shop's total moves by the same factor) against the
      fits' covariances; a log-normal factor, so the total stays positive;
    - the purchases' randomness: the variance of one customer's purchases (and spend), estimated on the sample
      from two independent simulated futures per customer, E[(A − B)²] / 2, times the number of customers.
    ``draws`` Monte Carlo draws of the two combined give the quantiles.
    """
    rng = np.random.default_rng(seed)
    n_all = len(customers)
    if expected is None:
        x, tx, T = (customers[c].to_numpy(float) for c in ("frequency", "recency_days", "T_days"))
        alive = purchases.probability_alive(x, tx, T) if p_alive is None else np.asarray(p_alive, float)
        uniq, _, pair = _compress(x, T)
        expected = purchases.expected_purchases_if_alive(t, *uniq.T)[pair] * alive
    if value is None:
        value = spend.expected_average_value(customers["frequency"].to_numpy(float),
                                             customers["monetary_value"].to_numpy(float))
    expected_n, value = np.asarray(expected, float), np.asarray(value, float)
    total_n, total_rev = float(expected_n.sum()), float(expected_n @ value)
    pick = np.sort(rng.choice(n_all, sample, replace=False)) if n_all > sample else np.arange(n_all)
    rows = customers if n_all <= sample else customers.iloc[pick]
    parts = interval_parts(purchases, spend, rows, n_all, t, rng, expected_n[pick], value[pick])
    return intervals_from(parts, total_n, total_rev, rng, draws)


@dataclass
class IntervalParts:
    """The spread of a shop's projected totals, per unit of the totals: what ``intervals_from`` needs besides
    the totals themselves (which a streamed score sums slice by slice, clv.streamed)."""
    sd_log_n: float       # of the total purchases, from the parameters (log scale)
    sd_log_rev: float     # of the total revenue, from the parameters (and the spend model's)
    var_n: float          # of the total purchases, from the purchases' randomness
    var_rev: float
    known: bool           # False: the fit had no usable covariance; the interval is randomness alone

    @property
    def parameter_sd(self) -> float:
        """The relative standard error of the projected purchases from the parameters (clv.readiness reads it)."""
        return self.sd_log_n if self.known else float("nan")


def interval_parts(purchases, spend, rows, n_all: int, t: float, rng, s_expected,
                   s_value) -> IntervalParts:
    """``total_interval``'s spread from a sample of the shop's customers: ``rows`` (frequency, recency_days,
    T_days, monetary_value) with their ``s_expected`` purchases in t and ``s_value`` of one purchase, among
    ``n_all`` customers; ``rng`` continues the stream that drew the sample."""
    sx, stx, sT, sm = (rows[c].to_numpy(float) for c in ("frequency", "recency_days", "T_days", "monetary_value"))
    s_expected, s_value = np.asarray(s_expected, float), np.asarray(s_value, float)
    # randomness: Var(one customer's total) from two independent futures
    a, b = (simulate_purchases(purchases, t, sx, stx, sT, rng) for _ in range(2))
    var_n = n_all * float(np.mean((a - b) ** 2) / 2)
    ra, rb = _spend_draw(spend, sx, sm, a, rng), _spend_draw(spend, sx, sm, b, rng)
    var_rev = n_all * float(np.mean((ra - rb) ** 2) / 2)
    # parameters: the log of the sample's totals, differentiated in each model's log-parameters
    s_uniq, _, s_inv = _compress(sx, stx, sT)
    s_weights = np.bincount(s_inv, minlength=len(s_uniq)).astype(float)

    def n_of(pm):
        return s_weights @ pm.expected_purchases(t, *s_uniq.T)

    def rev_of(pm):
        return pm.expected_purchases(t, *s_uniq.T)[s_inv] @ s_value

    def rev_of_spend(sp):
        return s_expected @ sp.expected_average_value(sx, sm)

    g_n, g_rev = _log_gradient(purchases, n_of), _log_gradient(purchases, rev_of)
    g_spend = _log_gradient(spend, rev_of_spend) if "q" in getattr(spend, "params_", {}) else None
    known = g_n is not None and g_rev is not None
    sd_log_n = float(np.sqrt(max(g_n[0] @ g_n[1] @ g_n[0], 0))) if known else 0.0
    var_log_rev = float(g_rev[0] @ g_rev[1] @ g_rev[0]) if known else 0.0
    if g_spend is not None:
        var_log_rev += float(g_spend[0] @ g_spend[1] @ g_spend[0])
    return IntervalParts(sd_log_n, float(np.sqrt(max(var_log_rev, 0))), var_n, var_rev, known)


def intervals_from(parts: IntervalParts, total_n: float, total_rev: float, rng, draws: int = 4000) -> dict:
    """{"purchases", "revenue"}: ``draws`` Monte Carlo draws of the parameters' and the randomness' parts combined
    around the expected totals give the quantiles."""
    z_param, z_noise = rng.standard_normal(draws), rng.standard_normal(draws)
    out = {}
    for what, total, sd_log, var in (("purchases", total_n, parts.sd_log_n, parts.var_n),
                                     ("revenue", total_rev, parts.sd_log_rev, parts.var_rev)):
        spread = np.maximum(total * np.exp(sd_log * z_param - sd_log ** 2 / 2) + np.sqrt(var) * z_noise, 0.0)
        low = {lv: float(np.quantile(spread, (1 - lv) / 2)) for lv in LEVELS}
        high = {lv: float(np.quantile(spread, (1 + lv) / 2)) for lv in LEVELS}
        sd = {"parameters": sd_log if parts.known else float("nan"),
              "purchases": float(np.sqrt(var) / total) if total > 0 else float("nan")}
        out[what] = TotalInterval(what, float(total), low, high, sd, parts.known)
    return out


def calibrate(interval: TotalInterval, backtest_interval: TotalInterval | None, actual: float | None) -> TotalInterval:
    """Widen ``interval`` to the model's miss on the shop's own backtest, where that miss is larger than the
    backtest's own 95 % interval allowed (inside it, the miss is the randomness already counted).

    The miss m = |log(predicted / actual)| becomes a floor on the interval's width on the log scale: × / ÷ e^m for
    95 %, the exponent scaled by the normal quantiles for 80 % — so a model that predicted half of what happened, or
    twice, is allowed that miss again in either direction."""
    if backtest_interval is None or actual is None or actual <= 0:
        return interval
    top = LEVELS[-1]
    if backtest_interval.low[top] <= actual <= backtest_interval.high[top]:
        return interval
    miss = abs(np.log(max(backtest_interval.expected, 1e-300) / actual))
    z_top = stats.norm.ppf((1 + top) / 2)
    low, high = dict(interval.low), dict(interval.high)
    for lv in LEVELS:
        factor = np.exp(miss * stats.norm.ppf((1 + lv) / 2) / z_top)
        low[lv] = min(low[lv], interval.expected / factor)
        high[lv] = max(high[lv], interval.expected * factor)
    sd = dict(interval.relative_sd, model=miss / z_top)
    return TotalInterval(interval.what, interval.expected, low, high, sd, interval.parameters_known)


def customer_quantiles(purchases, customers, t: float, p_alive=None) -> dict:
    """``purchase_quantiles`` at PROBS for a customer table (frequency, recency_days, T_days)."""
    return purchase_quantiles(purchases, t, customers["frequency"].to_numpy(),
                              customers["recency_days"].to_numpy() if p_alive is None else None,
                              customers["T_days"].to_numpy(), PROBS, p_alive)


def interval_columns(quantiles: dict, expected_purchases, clv) -> dict:
    """Per customer, from their purchase quantiles (``purchase_quantiles`` at PROBS): purchases_low/high (80 %),
    clv_low/clv_high (80 %) and clv_low_95/clv_high_95, as float32 columns.

    The CLTV bounds scale the customer's projected value by their purchase quantiles over their expected purchases
    (the value of one purchase, its margin and its discounting kept at their expected values)."""
    e = np.asarray(expected_purchases, float)
    per_purchase = np.divide(np.asarray(clv, float), e, out=np.zeros(len(e)), where=e > 0)
    lo95, lo80, hi80, hi95 = PROBS
    return {"purchases_low": quantiles[lo80].astype(np.float32), "purchases_high": quantiles[hi80].astype(np.float32),
            "clv_low": (quantiles[lo80] * per_purchase).astype(np.float32),
            "clv_high": (quantiles[hi80] * per_purchase).astype(np.float32),
            "clv_low_95": (quantiles[lo95] * per_purchase).astype(np.float32),
            "clv_high_95": (quantiles[hi95] * per_purchase).astype(np.float32)}
