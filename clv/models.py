"""Purchase models (BG/NBD, MBG/NBD, Pareto/NBD) and spend models (Gamma-Gamma, shrunk mean), fitted by maximum
likelihood. Time is in days.

References
- Fader, Hardie & Lee (2005a), "Counting Your Customers the Easy Way: An Alternative to the Pareto/NBD Model",
  Marketing Science 24(2) — BG/NBD: likelihood eq. (6), P(alive) eq. (12) [Fader-Hardie note 2008 form],
  conditional expectation eq. (10), E[X(t)] eq. (9).
- Fader & Hardie (2005), "A Note on Deriving the Pareto/NBD Model and Related Expressions" — Pareto/NBD:
  likelihood eq. (18)-(20), P(alive) eq. (36)-(37), conditional expectation eq. (41), E[X(t)] eq. (27).
- Fader, Hardie & Lee (2005b), "RFM and CLV: Using Iso-value Curves for Customer Base Analysis",
  Journal of Marketing Research 42(4) — Gamma-Gamma spend model and its conditional expectation.

Both classes follow scikit-learn habits: ``__init__`` stores settings, ``fit`` returns self and sets ``params_``,
``summary`` is a DataFrame a page can show as it is. Customers with identical (frequency, recency, T) are
fitted once, with a weight, and the gradient is analytic: that is what makes a 10M-customer fit take seconds.
"""
from __future__ import annotations

import threading

import numpy as np
import pandas as pd
from scipy import optimize, special

from .errors import ModelError

__all__ = ["BGNBD", "MBGNBD", "ParetoNBD", "GammaGamma", "ShrunkMeanSpend", "ModelError"]


def _compress(*cols) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unique rows of the stacked columns, their counts, and the index of each input row's unique row.

    Hash-based (no sort): whole-day inputs are packed into one int64 key; anything else is grouped by pandas.
    """
    cols = [np.asarray(c, float) for c in cols]
    ints = all(np.all((c >= 0) & (c < 2 ** 20) & (c == np.floor(c))) for c in cols) and len(cols) <= 3
    if ints:
        key = np.zeros(len(cols[0]), np.int64)
        for c in cols:
            key = (key << 21) | c.astype(np.int64)
        codes, _ = pd.factorize(key)
    else:
        codes = pd.DataFrame({i: c for i, c in enumerate(cols)}).groupby(list(range(len(cols))), sort=False).ngroup()
        codes = codes.to_numpy()
    counts = np.bincount(codes).astype(float)
    first = np.full(len(counts), -1)
    first[codes[::-1]] = np.arange(len(codes))[::-1]  # first row of each group
    uniq = np.column_stack([c[first] for c in cols])
    return uniq, counts, codes


def _hessian(grad, x: np.ndarray, rel: float = 1e-6) -> np.ndarray:
    """Symmetrised forward-difference Hessian of a function whose gradient is known analytically."""
    n = len(x)
    g0 = grad(x)
    H = np.empty((n, n))
    for i in range(n):
        h = rel * max(abs(x[i]), 1e-3)
        e = np.zeros(n)
        e[i] = h
        H[:, i] = (grad(x + e) - g0) / h
    return (H + H.T) / 2


WARM_START_ROWS = 50_000


def _minimise(fun, start_log, tol: float, maxiter: int, warm=None):
    """Minimise a mean negative log-likelihood over log-parameters.

    ``warm`` = a model of the same kind fitted on a WARM_START_ROWS-row subsample: BFGS then starts at its
    estimate with its curvature (inverse Hessian of the mean objective in log-parameters), takes Newton-like
    steps and converges on the full data in a handful of evaluations. It stops at a mean gradient of 1e-7 (in
    log-parameters): at 1e-8 the decrease left to find is below double precision on a million customers, and the
    line search spent ~90 evaluations failing to see it (9 s of a 10M-order `score`) to move the parameters by
    less than 1e-7 of themselves (bench/pipeline.py --stages; tests/test_models.py).
    """
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # trial steps may overflow: rejected anyway
        return _minimise_quietly(fun, start_log, tol, maxiter, warm)


def _minimise_quietly(fun, start_log, tol: float, maxiter: int, warm=None):
    if warm is not None and warm.covariance_ is not None:
        p0 = np.array(list(warm.params_.values()))
        h = WARM_START_ROWS * warm.covariance_ / np.outer(p0, p0)
        try:
            return optimize.minimize(fun, np.log(p0), jac=True, method="BFGS",
                                     options={"maxiter": maxiter, "gtol": 1e-7, "hess_inv0": (h + h.T) / 2})
        except ValueError:  # curvature not positive definite: start plainly from the warm estimate
            start_log = np.log(p0)
    return optimize.minimize(fun, start_log, jac=True, method="L-BFGS-B",
                             options={"maxiter": maxiter, "ftol": tol, "gtol": 1e-10})


def _subsample(weights: np.ndarray) -> np.ndarray:
    """WARM_START_ROWS customers drawn without replacement, as rows of the distinct table whose row i stands for
    ``weights[i]`` customers (a row may come up several times). A function of the distinct table alone, so a fit
    from customers and a fit from their distinct rows with counts start from the same subsample."""
    rng = np.random.default_rng(0)
    total = weights.sum()
    if np.all(weights == np.floor(weights)) and total < 2 ** 53:
        return np.searchsorted(np.cumsum(weights), rng.choice(int(total), WARM_START_ROWS, replace=False),
                               side="right")
    return rng.choice(len(weights), WARM_START_ROWS, replace=True, p=weights / total)


def _distinct_sorted(*cols) -> tuple[np.ndarray, np.ndarray]:
    """The distinct rows of the stacked columns in sorted order, and the total weight of each (``cols`` ends
    with the weights). The order is canonical: the optimiser then sees the same sums in the same order whether
    it is given every customer or the distinct rows with their counts (the Spark engine), so both fits are
    identical to the last bit."""
    *values, weights = cols
    uniq, _, inverse = _compress(*values)
    w = np.bincount(inverse, weights=weights)
    order = np.lexsort(uniq.T[::-1])
    return uniq[order], w[order]


def _check_fitted(model, name: str) -> None:
    if not hasattr(model, "params_"):
        raise ModelError(f"{name} is not fitted yet: call fit() first.")


def _summary(names, values, cov) -> pd.DataFrame:
    se = np.sqrt(np.clip(np.diag(cov), 0, None)) if cov is not None else np.full(len(values), np.nan)
    return pd.DataFrame({"estimate": values, "std_error": se, "lower_95": values - 1.96 * se,
                         "upper_95": values + 1.96 * se}, index=pd.Index(names, name="parameter"))


class _MaximumLikelihood:
    """What both models share once the optimiser has finished: parameters, log-likelihood, standard errors."""

    param_names: tuple = ()
    label = ""

    def _store_fit(self, res, n_total: float, total_neg_ll_and_grad, advice: str = "") -> None:
        """``total_neg_ll_and_grad(log_params)``: the un-averaged objective, for the Hessian (None: the model sets
        ``covariance_`` itself)."""
        if not np.all(np.isfinite(res.x)) or (not res.success and np.max(np.abs(res.jac)) > 1e-5):
            raise ModelError(f"The {self.label} fit did not converge ({res.message}). {advice}".strip())
        self._opt = res
        params = np.exp(res.x)
        self.params_ = dict(zip(self.param_names, params))
        self.log_likelihood_ = float(-res.fun * n_total + self._penalty(params)[0] * n_total)
        self.n_customers_ = int(n_total)

        if total_neg_ll_and_grad is None:
            return

        def total_grad(p):  # gradient of the total log-likelihood in natural parameters
            if np.any(p <= 0):
                return np.full(len(p), np.nan)
            return -total_neg_ll_and_grad(np.log(p))[1] / p

        try:
            self.covariance_ = np.linalg.inv(-_hessian(total_grad, params))
        except np.linalg.LinAlgError:
            self.covariance_ = None

    def _purchase_inputs(self, frequency, recency, T, weights):
        """Checked purchase-model inputs: (x, t_x, T, weights, distinct (x, t_x, T) rows, their total weights)."""
        x, tx, T_ = (np.asarray(v, float) for v in (frequency, recency, T))
        if not (len(x) == len(tx) == len(T_)) or len(x) == 0:
            raise ModelError(f"{self.label} needs frequency, recency and T of the same, non-zero length.")
        if np.any(x < 0) or np.any(tx < 0) or np.any(T_ < tx) or np.any(~np.isfinite(x + tx + T_)):
            raise ModelError(f"{self.label} needs frequency ≥ 0 and 0 ≤ recency ≤ T for every customer.")
        if np.any((x == 0) & (tx > 0)):
            raise ModelError("A customer with no repeat purchase must have recency 0.")
        if x.sum() == 0:  # (in every model: with no repeat purchase the drop-out and the rate cannot be told apart)
            raise ModelError("Nobody has bought twice yet, so repeat buying cannot be modelled. "
                             "Projected value needs customers with at least one repeat purchase.")
        w_in = np.ones_like(x) if weights is None else np.asarray(weights, float)
        uniq, w = _distinct_sorted(x, tx, T_, w_in)
        return x, tx, T_, w_in, uniq.T, w

    def _warm_start(self, ux, utx, uT, w):
        """The same model fitted on a WARM_START_ROWS subsample when the data is large (see _minimise), or None."""
        if len(ux) <= 2 * WARM_START_ROWS:
            return None
        pick = _subsample(w)
        if ux[pick].sum() == 0:
            return None
        try:
            return type(self)(self.penalizer, tol=1e-9).fit(ux[pick], utx[pick], uT[pick])
        except ModelError:  # the subsample alone may sit at an edge: start plainly instead
            return None

    def _penalty(self, params: np.ndarray) -> tuple[float, np.ndarray]:
        """The L2 penalty and its gradient, on scale-free parameters (``_scale`` divides those that carry a unit:
        BG/NBD's alpha in days, Gamma-Gamma's v in money), so a penalizer means the same whatever the units."""
        scale = getattr(self, "_scale", np.ones(len(params)))
        return self.penalizer * np.sum((params / scale) ** 2), 2 * self.penalizer * params / scale ** 2

    #: a scale-free parameter beyond these bounds is an estimate at the edge of the model (the likelihood keeps
    #: rising as it runs off to 0 or infinity): its predictions are limits, not estimates, and often NaN
    SANE = (1e-5, 1e5)

    def _check_boundary(self, scale_free: dict, advice: str) -> None:
        """ModelError when a scale-free parameter left SANE or a standard error is exactly 0 (a flat likelihood)."""
        lo, hi = self.SANE
        edge = {k: v for k, v in scale_free.items() if not (lo < v < hi)}
        se = self.summary["std_error"] if self.covariance_ is not None else None
        if edge or (se is not None and (se == 0).any()):
            shown = ", ".join(f"{k} = {v:.3g}" for k, v in (edge or scale_free).items())
            raise ModelError(f"The {self.label} estimate is at the edge of the model ({shown}): {advice}")

    @property
    def summary(self) -> pd.DataFrame:
        """Estimate, standard error and 95 % interval per parameter."""
        _check_fitted(self, self.label)
        return _summary(self.param_names, np.array(list(self.params_.values())), self.covariance_)

    def _p(self):
        _check_fitted(self, self.label)
        return (self.params_[k] for k in self.param_names)


class BGNBD(_MaximumLikelihood):
    """Beta-geometric/negative-binomial model of repeat purchasing (time unit: days).

    A customer buys at rate lambda ~ Gamma(r, alpha) while alive and, after each repeat purchase, drops out with
    probability p ~ Beta(a, b).

    Parameters
    ----------
    penalizer : float
        Optional L2 penalty, added to the mean negative log-likelihood as ``penalizer * sum(q**2)`` over the
        scale-free parameters q = (r, alpha / mean T, a, b): lifetimes' form, but the same in days or weeks (on
        alpha itself a penalty in days would pull 7 times harder than in weeks). 0 gives plain maximum likelihood.
    """

    param_names = ("r", "alpha", "a", "b")
    label = "BG/NBD"
    #: 0 for BG/NBD (drop-out only after a repeat purchase); 1 for MBG/NBD (also right after the first), which
    #: shifts b + x − 1 to b + x in the formulas and lets one-time buyers be gone
    _shift = 0

    def __init__(self, penalizer: float = 0.0, tol: float = 1e-12, maxiter: int = 500):
        self.penalizer = penalizer
        self.tol = tol
        self.maxiter = maxiter

    # -- likelihood (eq. 6) ----------------------------------------------------------------------------
    def _loglik_terms(self, params, x, tx, T):
        r, alpha, a, b = params
        s = self._shift
        A1 = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
        A2 = special.gammaln(a + b) + special.gammaln(b + x + s) - special.gammaln(b) - special.gammaln(a + b + x + s)
        A3 = -(r + x) * np.log(alpha + T)
        has = (x > 0) | (s == 1)
        A4 = np.where(has, np.log(a) - np.log(np.where(has, b + x - 1 + s, 1.0)) - (r + x) * np.log(alpha + tx),
                      -np.inf)
        L34 = np.logaddexp(A3, A4)
        return A1, A2, A3, A4, L34, has

    def _neg_ll_and_grad(self, log_params, x, tx, T, w, n_total, by_x=None):
        """Mean negative log-likelihood and its gradient in log-parameters.

        ``by_x`` = (distinct frequencies, index of each row's frequency, total weight per frequency): the
        gamma-function terms depend on x alone, so they are computed once per distinct x.
        """
        params = np.exp(log_params)
        r, alpha, a, b = params
        if by_x is None:
            xv, xi = np.unique(x, return_inverse=True)
            by_x = (xv, xi, np.bincount(xi, weights=w, minlength=len(xv)))
        xv, xi, wx = by_x
        psi_ab = special.digamma(a + b)
        # terms of x alone (A1 + A2 of eq. 6 and their derivatives), weighted by how many rows have that x
        s = self._shift
        ll_x = special.gammaln(r + xv) - special.gammaln(r) + r * np.log(alpha) + special.gammaln(a + b) \
            + special.gammaln(b + xv + s) - special.gammaln(b) - special.gammaln(a + b + xv + s)
        dr_x = special.digamma(r + xv) - special.digamma(r) + np.log(alpha)
        psi_abx = special.digamma(a + b + xv + s)
        da_x = psi_ab - psi_abx
        db_x = psi_ab + special.digamma(b + xv + s) - special.digamma(b) - psi_abx
        # terms of each (x, t_x, T)
        has = (x > 0) | (s == 1)
        bx1 = np.where(has, b + x - 1 + s, 1.0)
        log_aT, log_atx = np.log(alpha + T), np.log(alpha + tx)
        A3 = -(r + x) * log_aT
        # log(e^A3 + e^A4) = A3 + softplus(A4 - A3); customers without a repeat purchase have no A4 term
        d = np.where(has, np.log(a) - np.log(bx1) + (r + x) * (log_aT - log_atx), -np.inf)
        w4 = special.expit(d)
        ww4 = w * w4
        ww3 = w - ww4
        ll = wx @ ll_x + w @ A3 + w @ np.logaddexp(0.0, d)
        grad = np.array([
            wx @ dr_x - ww3 @ log_aT - ww4 @ log_atx,
            r / alpha * wx.sum() - (ww3 @ ((r + x) / (alpha + T)) + ww4 @ ((r + x) / (alpha + tx))),
            wx @ da_x + ww4.sum() / a,
            wx @ db_x - ww4 @ (1 / bx1),
        ])
        pen, dpen = self._penalty(params)
        return -ll / n_total + pen, (-grad / n_total + dpen) * params  # chain rule to log-parameters

    def fit(self, frequency, recency, T, weights=None, initial_params=None) -> "BGNBD":
        """Fit on repeat-purchase days ``frequency``, ``recency`` (last − first purchase) and age ``T``, in days."""
        x, tx, T_, w_in, (ux, utx, uT), w = self._purchase_inputs(frequency, recency, T, weights)
        n_total = w.sum()
        xv, xi = np.unique(ux, return_inverse=True)
        by_x = (xv, xi, np.bincount(xi, weights=w, minlength=len(xv)))
        mean_T = float(np.average(uT, weights=w))
        self._scale = np.array([1.0, max(mean_T, 1e-9), 1.0, 1.0])
        fun = lambda lp: self._neg_ll_and_grad(lp, ux, utx, uT, w, n_total, by_x)  # noqa: E731
        warm = self._warm_start(ux, utx, uT, w) if initial_params is None else None
        if initial_params is None:
            initial_params = (1.0, max(1.0, mean_T / max(1.0, float(np.average(ux, weights=w)) + 1)), 1.0, 1.0)
        res = _minimise(fun, np.log(np.asarray(initial_params, float)), self.tol, self.maxiter, warm)
        self._store_fit(res, n_total, lambda lp: self._neg_ll_and_grad(lp, ux, utx, uT, w, 1.0, by_x),
                        "This happens with very few repeat buyers or a very short history; try a longer period "
                        "or a small penalizer.")
        self.n_unique_ = len(ux)
        r, alpha, a, b = self._p()
        self._check_boundary(
            {"r": r, "alpha / mean age": alpha / max(mean_T, 1.0), "a": a, "b": b},
            "customers barely differ in how often they buy, or none seems to stop — typical of subscriptions, "
            "regular daily or weekly buyers, or a very short history. Projections from it would not mean anything, "
            "so none are made; historic value, segments and cohorts still hold.")
        return self

    def log_likelihood(self, frequency, recency, T) -> np.ndarray:
        """Per-customer log-likelihood at the fitted parameters (eq. 6)."""
        x, tx, T_ = (np.asarray(v, float) for v in (frequency, recency, T))
        A1, A2, _, _, L34, _ = self._loglik_terms(tuple(self._p()), x, tx, T_)
        return A1 + A2 + L34

    # -- predictions -----------------------------------------------------------------------------------
    def probability_alive(self, frequency, recency, T) -> np.ndarray:
        """P(still active | x, t_x, T). A customer with no repeat purchase is alive with probability 1 (the
        model lets customers drop out only after a repeat purchase)."""
        r, alpha, a, b = self._p()
        x, tx, T_ = (np.asarray(v, float) for v in (frequency, recency, T))
        s = self._shift
        has = (x > 0) | (s == 1)
        log_ratio = np.log(a) - np.log(np.where(has, b + x - 1 + s, 1.0)) \
            + (r + x) * (np.log(alpha + T_) - np.log(alpha + tx))
        return np.where(has, special.expit(-log_ratio), 1.0)

    def expected_purchases(self, t, frequency, recency, T) -> np.ndarray:
        """Expected number of purchases in the next ``t`` days, given the history (eq. 10).

        Eq. 10 factors into P(alive | x, t_x, T) × E[purchases in t | alive, x, T]; the second factor does not
        depend on recency, which lets callers tabulate it once per distinct (x, T).
        """
        x, tx, T_ = (np.asarray(v, float) for v in (frequency, recency, T))
        return self.expected_purchases_if_alive(t, x, T_) * self.probability_alive(x, tx, T_)

    def expected_purchases_if_alive(self, t, frequency, T) -> np.ndarray:
        """Expected purchases in the next ``t`` days for a customer who is still active (the numerator of eq. 10)."""
        r, alpha, a, b = self._p()
        x, T_, t = np.asarray(frequency, float), np.asarray(T, float), np.asarray(t, float)
        s = self._shift
        hyp = special.hyp2f1(r + x, b + x + s, a + b + x - 1 + s, t / (alpha + T_ + t))
        return (a + b + x - 1 + s) / (a - 1) * (1 - np.exp((r + x) * (np.log(alpha + T_) - np.log(alpha + T_ + t))) * hyp)

    def expected_purchases_new_customer(self, t) -> np.ndarray:
        """E[X(t)]: purchases a newly acquired customer makes in their first ``t`` days after the first (eq. 9)."""
        r, alpha, a, b = self._p()
        t = np.asarray(t, float)
        hyp = special.hyp2f1(r, b, a + b - 1, t / (alpha + t))
        return (a + b - 1) / (a - 1) * (1 - (alpha / (alpha + t)) ** r * hyp)

    def probability_no_purchase(self, t, frequency, recency, T) -> np.ndarray:
        """P(no purchase in the next ``t`` days | x, t_x, T): the purchase model's own churn probability.

        Dead customers buy nothing; a customer alive at T (who, in BG/NBD, can only drop out right after a
        purchase) makes none in t with E[e^(−λt)] = ((alpha + T) / (alpha + T + t)) ** (r + x) under the posterior
        Gamma(r + x, alpha + T) of the rate. So 1 − P(alive) (1 − that): unlike 1 − P(alive), it is above 0 for a
        one-time buyer who has been silent for long.
        """
        r, alpha, _, _ = self._p()
        x, tx, T_ = (np.asarray(v, float) for v in (frequency, recency, T))
        none_if_alive = np.exp((r + x) * (np.log(alpha + T_) - np.log(alpha + T_ + np.asarray(t, float))))
        return 1 - self.probability_alive(x, tx, T_) * (1 - none_if_alive)

    def days_to_next_purchase(self, frequency, recency, T, prob: float = 0.5) -> np.ndarray:
        """Days from the as-of date until a still-active customer has bought again with probability ``prob``.

        Given alive, the rate has posterior Gamma(r + x, alpha + T), so P(next purchase within s) =
        1 − ((alpha + T) / (alpha + T + s)) ** (r + x); this solves it for s. Combine with P(alive) to time
        messages: a customer unlikely to be alive will probably not buy at all.
        """
        r, alpha, _, _ = self._p()
        return _median_days_if_alive(r, alpha, frequency, T, prob)


class MBGNBD(BGNBD):
    """Modified BG/NBD (Batislam, Denizel & Filiztekin 2007; time unit: days): as BG/NBD, but a customer may also
    drop out right after the first purchase, so a one-time buyer silent for long has P(alive) below 1.

    The same interface and parameters (r, alpha, a, b); the likelihood and predictions are BG/NBD's with b + x − 1
    shifted to b + x (eq. 3 and 8 of the paper), which is how lifetimes' ModifiedBetaGeoFitter writes them.
    """

    label = "MBG/NBD"
    _shift = 1

    def expected_purchases_new_customer(self, t) -> np.ndarray:
        """E[X(t)] for a newly acquired customer, who may be gone right away (Batislam et al. 2007, eq. 5)."""
        r, alpha, a, b = self._p()
        t = np.asarray(t, float)
        hyp = special.hyp2f1(r, b + 1, a + b, t / (alpha + t))
        return b / (a - 1) * (1 - (alpha / (alpha + t)) ** r * hyp)


def _log_power_integral(lo, hi, A, p, B, q):
    """log of the integral from ``lo`` to ``hi`` of (A + y)^(−p) (B + y)^(−q) dy, for A, B, q > 0, p + q > 1, lo ≤ hi.

    With a = p + q − 1 and (for A ≥ B) F(y) = 2F1(a, q; a + 1; (A − B) / (A + y)) / (A + y)^a, the integral is
    (F(lo) − F(hi)) / a (Fader & Hardie 2005, eq. 19-20; for A < B swap the roles). Computed in logs; −inf where
    lo == hi.
    """
    return _log_difference(_log_F(lo, A, p, B, q), _log_F(hi, A, p, B, q), lo, hi, p + q - 1)


def _log_F(y, A, p, B, q):
    """log F(y) of _log_power_integral: the antiderivative's value at y (up to sign and the factor 1 / a)."""
    y, A, B, p, q = np.broadcast_arrays(*(np.asarray(v, float) for v in (y, A, B, p, q)))
    big_a = A >= B
    top, bottom = np.where(big_a, A, B), np.where(big_a, B, A)
    a = p + q - 1
    return np.log(_hyp2f1(a, np.where(big_a, q, p), a + 1, (top - bottom) / (top + y))) - a * np.log(top + y)


#: Gauss' hypergeometric function is most of a Pareto/NBD fit's time (0.3-0.5 µs a value where z is near 1, which
#: is where shops are) and scipy lets go of the GIL while computing it: arrays of at least HYP2F1_SPLIT values are
#: computed in this many parts at once (1.6x faster per call on two cores; the values are the same, one by one).
#: Plain threads that sleep while they wait, unlike the BLAS and OpenMP pools MODEL_THREADS caps, which spin
HYP2F1_WORKERS = 2
HYP2F1_SPLIT = 4_000
_pool = None
_pool_made = threading.Lock()


def _hyp2f1(a, b, c, z) -> np.ndarray:
    """scipy.special.hyp2f1 over equal-shaped arrays, in HYP2F1_WORKERS parts on threads when they are long."""
    global _pool
    n = np.size(z)
    if HYP2F1_WORKERS < 2 or n < HYP2F1_SPLIT:
        return special.hyp2f1(a, b, c, z)
    with _pool_made:  # slices scored on two threads may both be first here
        if _pool is None:
            from concurrent.futures import ThreadPoolExecutor
            _pool = ThreadPoolExecutor(HYP2F1_WORKERS - 1, thread_name_prefix="clv-hyp2f1")
    args = [np.ravel(v) for v in (a, b, c, z)]
    k = HYP2F1_WORKERS  # every k-th value to a part: the costly values (large x, z near 1) come in runs
    parts = [_pool.submit(special.hyp2f1, *(v[i::k] for v in args)) for i in range(1, k)]
    out = np.empty(n)
    out[0::k] = special.hyp2f1(*(v[0::k] for v in args))
    for i, part in enumerate(parts, 1):
        out[i::k] = part.result()
    return out.reshape(np.shape(z))


def _log_difference(f_lo, f_hi, lo, hi, a):
    """log((F(lo) − F(hi)) / a) from log F(lo), log F(hi); −inf where lo == hi."""
    gap = np.where(f_hi < f_lo, f_hi - f_lo, 0.0)  # F is decreasing in y: f_hi ≤ f_lo up to rounding
    with np.errstate(divide="ignore"):
        return np.where(hi > lo, f_lo + np.log(-np.expm1(gap)) - np.log(a), -np.inf)


def _median_days_if_alive(r, alpha, frequency, T, prob):
    """Days until a customer still active at T has bought again with probability ``prob`` (the rate's posterior
    given alive is Gamma(r + x, alpha + T) in all three purchase models), ignoring a drop-out in between."""
    x, T_ = np.asarray(frequency, float), np.asarray(T, float)
    return (alpha + T_) * ((1 - prob) ** (-1 / (r + x)) - 1)


class ParetoNBD(_MaximumLikelihood):
    """Pareto/NBD model of repeat purchasing (Schmittlein, Morrison & Colombo 1987; time unit: days).

    A customer buys at rate lambda ~ Gamma(r, alpha) while alive and stays alive for an exponential lifetime with
    rate mu ~ Gamma(s, beta), which may end at any time — not only right after a purchase, as in BG/NBD. So a
    one-time buyer silent for long has P(alive) below 1, and customers who buy regularly are not held alive by a
    purchase that happened to be recent.

    Same interface as BGNBD (fit, params_, summary, probability_alive, expected_purchases,
    expected_purchases_if_alive, expected_purchases_new_customer, probability_no_purchase, days_to_next_purchase).
    The likelihood uses Gauss' hypergeometric function (eq. 18-20 of Fader & Hardie's note, as lifetimes'
    ParetoNBDFitter), evaluated once per distinct (x, t_x, T); its gradient is by central differences in
    log-parameters, so BFGS (warm-started from a subsample fit for large shops) needs a few dozen evaluations.

    Parameters
    ----------
    penalizer : float
        L2 penalty on the scale-free parameters (r, alpha / mean T, s, beta / mean T); 0 = maximum likelihood.
    """

    param_names = ("r", "alpha", "s", "beta")
    label = "Pareto/NBD"

    def __init__(self, penalizer: float = 0.0, tol: float = 1e-12, maxiter: int = 500):
        self.penalizer = penalizer
        self.tol = tol
        self.maxiter = maxiter

    @staticmethod
    def _loglik(params, x, tx, T, pairs=None):
        """Per-customer log-likelihood (eq. 18): Γ(r+x) α^r β^s / Γ(r) × [(α+T)^−(r+x) (β+T)^−s + s I], where
        I = ∫ from t_x to T of (α+y)^−(r+x) (β+y)^−(s+1) dy (the customer dies at y, unseen, after the last purchase).

        ``pairs`` (from ``_pairs``): the hypergeometric terms depend on (x, t_x) and on (x, T) alone, of which there
        are far fewer than (x, t_x, T) rows; they are then computed once per distinct pair.
        """
        r, alpha, s, beta = params

        def head_and_alive(x, T):
            return (special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha) + s * np.log(beta),
                    -(r + x) * np.log(alpha + T) - s * np.log(beta + T))

        if pairs is None:
            head, alive = head_and_alive(x, T)
        else:
            x_hi, y_hi, i_hi = pairs[1]
            head, alive = (v[i_hi] for v in head_and_alive(x_hi, y_hi))
        return head + np.logaddexp(alive, np.log(s) + ParetoNBD._log_integral(params, x, tx, T, pairs))

    @staticmethod
    def _log_integral(params, x, tx, T, pairs=None):
        """log I of eq. 18 per customer, I = ∫ from t_x to T of (α+y)^−(r+x) (β+y)^−(s+1) dy: from the
        antiderivative at the distinct (x, t_x) and (x, T) pairs when given (``_pairs``), else row by row."""
        r, alpha, s, beta = params
        if pairs is None:
            return _log_power_integral(tx, T, alpha, r + x, beta, s + 1)
        (x_lo, y_lo, i_lo), (x_hi, y_hi, i_hi) = pairs
        f_lo = _log_F(y_lo, alpha, r + x_lo, beta, s + 1)[i_lo]
        f_hi = _log_F(y_hi, alpha, r + x_hi, beta, s + 1)[i_hi]
        return _log_difference(f_lo, f_hi, tx, T, (r + x) + (s + 1) - 1)  # as _log_power_integral: the same bits

    @staticmethod
    def _pairs(x, tx, T):
        """Distinct (x, t_x) and (x, T) pairs and each row's index into them, for ``_loglik``."""
        out = []
        for y in (tx, T):
            uniq, _, inverse = _compress(x, y)
            out.append((uniq[:, 0], uniq[:, 1], inverse))
        return tuple(out)

    def _neg_ll(self, log_params, x, tx, T, w, n_total, pairs=None) -> float:
        params = np.exp(log_params)
        with np.errstate(all="ignore"):
            ll = w @ self._loglik(params, x, tx, T, pairs)
        value = -ll / n_total + self._penalty(params)[0]
        return value if np.isfinite(value) else np.inf

    def _neg_ll_and_grad(self, log_params, x, tx, T, w, n_total, pairs=None, step: float = 1e-5):
        """Mean negative log-likelihood and its central-difference gradient in log-parameters."""
        f0 = self._neg_ll(log_params, x, tx, T, w, n_total, pairs)
        grad = np.empty(4)
        for i in range(4):
            e = np.zeros(4)
            e[i] = step
            grad[i] = (self._neg_ll(log_params + e, x, tx, T, w, n_total, pairs)
                       - self._neg_ll(log_params - e, x, tx, T, w, n_total, pairs)) / (2 * step)
        if not np.all(np.isfinite(grad)):
            return np.inf, np.zeros(4)
        return f0, grad

    def fit(self, frequency, recency, T, weights=None, initial_params=None) -> "ParetoNBD":
        """Fit on repeat-purchase days ``frequency``, ``recency`` (last − first purchase) and age ``T``, in days."""
        x, tx, T_, w_in, (ux, utx, uT), w = self._purchase_inputs(frequency, recency, T, weights)
        n_total = w.sum()
        mean_T = max(float(np.average(uT, weights=w)), 1e-9)
        self._scale = np.array([1.0, mean_T, 1.0, mean_T])
        pairs = self._pairs(ux, utx, uT)
        fun = lambda lp: self._neg_ll_and_grad(lp, ux, utx, uT, w, n_total, pairs)  # noqa: E731
        warm = self._warm_start(ux, utx, uT, w) if initial_params is None else None
        if initial_params is None:
            rate = max(1.0, mean_T / max(1.0, float(np.average(ux, weights=w)) + 1))
            initial_params = (1.0, rate, 1.0, mean_T)
        res = _minimise(fun, np.log(np.asarray(initial_params, float)), self.tol, self.maxiter, warm)
        # no Hessian from the gradient here: it is itself a finite difference, so differencing it again amplifies
        # rounding; second differences of the log-likelihood with a wider step are far steadier
        self._store_fit(res, n_total, None, "This happens with very few repeat buyers or a very short history; try a "
                        "longer period or a small penalizer.")
        self.covariance_ = self._covariance(lambda lp: self._neg_ll(lp, ux, utx, uT, w, 1.0, pairs), res.x)
        self.n_unique_ = len(ux)
        r, alpha, s, beta = self._p()
        self._check_boundary(
            {"r": r, "alpha / mean age": alpha / mean_T, "s": s, "beta / mean age": beta / mean_T},
            "customers barely differ in how often they buy, or none seems to stop — typical of subscriptions, "
            "regular daily or weekly buyers, or a very short history. Projections from it would not mean anything, "
            "so none are made; historic value, segments and cohorts still hold.")
        return self

    @staticmethod
    def _covariance(total_neg_ll, log_params, h: float = 1e-3):
        """Inverse observed information in natural parameters, from central second differences of the total
        negative log-likelihood in log-parameters: H = D⁻¹ (H_log − diag(g_log)) D⁻¹ with D = diag(params)."""
        n = len(log_params)
        f0 = total_neg_ll(log_params)
        f = {}

        def at(*steps):
            if steps not in f:
                x = np.array(log_params, float)
                for i, sgn in steps:
                    x[i] += sgn * h
                f[steps] = total_neg_ll(x)
            return f[steps]

        H = np.empty((n, n))
        g = np.empty(n)
        for i in range(n):
            H[i, i] = (at((i, 1)) - 2 * f0 + at((i, -1))) / h ** 2
            g[i] = (at((i, 1)) - at((i, -1))) / (2 * h)
            for j in range(i):
                H[i, j] = H[j, i] = (at((i, 1), (j, 1)) - at((i, 1), (j, -1)) - at((i, -1), (j, 1))
                                     + at((i, -1), (j, -1))) / (4 * h * h)
        p = np.exp(log_params)
        try:
            return np.linalg.inv((H - np.diag(g)) / np.outer(p, p))
        except np.linalg.LinAlgError:
            return None

    def log_likelihood(self, frequency, recency, T) -> np.ndarray:
        """Per-customer log-likelihood at the fitted parameters (eq. 18)."""
        x, tx, T_ = (np.asarray(v, float) for v in (frequency, recency, T))
        return self._loglik(tuple(self._p()), x, tx, T_)

    def probability_alive(self, frequency, recency, T) -> np.ndarray:
        """P(still active | x, t_x, T) = 1 / (1 + s I (α+T)^(r+x) (β+T)^s) (eq. 36-37 in integral form)."""
        r, alpha, s, beta = params = tuple(self._p())
        x, tx, T_ = (np.asarray(v, float) for v in (frequency, recency, T))
        # per distinct (x, t_x) and (x, T) pair when there are many customers (the hypergeometric terms are the cost)
        pairs = self._pairs(x, tx, T_) if x.ndim == tx.ndim == T_.ndim == 1 and len(x) == len(tx) == len(T_) \
            and len(x) >= HYP2F1_SPLIT and np.isfinite(x + tx + T_).all() else None
        log_odds_dead = np.log(s) + self._log_integral(params, x, tx, T_, pairs) \
            + (r + x) * np.log(alpha + T_) + s * np.log(beta + T_)
        return special.expit(-log_odds_dead)

    def expected_purchases_if_alive(self, t, frequency, T) -> np.ndarray:
        """Expected purchases in the next ``t`` days for a customer alive at T (eq. 41 without P(alive)):
        (r+x)(β+T) / ((α+T)(s−1)) × (1 − ((β+T)/(β+T+t))^(s−1)), with its limit at s = 1."""
        r, alpha, s, beta = self._p()
        x, T_, t = np.asarray(frequency, float), np.asarray(T, float), np.asarray(t, float)
        log_q = np.log(beta + T_) - np.log(beta + T_ + t)
        lifetime = -np.expm1((s - 1) * log_q) / (s - 1) if abs(s - 1) > 1e-12 else -log_q
        return (r + x) * (beta + T_) / (alpha + T_) * lifetime

    def expected_purchases(self, t, frequency, recency, T) -> np.ndarray:
        """Expected number of purchases in the next ``t`` days, given the history (eq. 41)."""
        x, tx, T_ = (np.asarray(v, float) for v in (frequency, recency, T))
        return self.expected_purchases_if_alive(t, x, T_) * self.probability_alive(x, tx, T_)

    def expected_purchases_new_customer(self, t) -> np.ndarray:
        """E[X(t)] for a newly acquired customer (eq. 27): r β / (α (s − 1)) × (1 − (β / (β + t))^(s − 1))."""
        r, alpha, s, beta = self._p()
        t = np.asarray(t, float)
        log_q = np.log(beta) - np.log(beta + t)
        lifetime = -np.expm1((s - 1) * log_q) / (s - 1) if abs(s - 1) > 1e-12 else -log_q
        return r * beta / alpha * lifetime

    def probability_no_purchase(self, t, frequency, recency, T) -> np.ndarray:
        """P(no purchase in the next ``t`` days | x, t_x, T).

        Given alive at T, lambda ~ Gamma(r + x, α + T) and mu ~ Gamma(s, β + T) independently; the next purchase
        comes at v before death with density E[λ e^−(λ+μ)v] = (r+x)(α+T)^(r+x)(β+T)^s (α+T+v)^−(r+x+1) (β+T+v)^−s,
        whose integral over [0, t] is one more power integral. Dead customers buy nothing.
        """
        r, alpha, s, beta = self._p()
        x, tx, T_ = (np.asarray(v, float) for v in (frequency, recency, T))
        t = np.asarray(t, float)
        log_buy = np.log(r + x) + (r + x) * np.log(alpha + T_) + s * np.log(beta + T_) \
            + _log_power_integral(0.0, t, alpha + T_, r + x + 1, beta + T_, s)
        return 1 - self.probability_alive(x, tx, T_) * np.exp(log_buy)

    def days_to_next_purchase(self, frequency, recency, T, prob: float = 0.5) -> np.ndarray:
        """Days until a customer still active has bought again with probability ``prob`` (if they stay active)."""
        r, alpha, _, _ = self._p()
        return _median_days_if_alive(r, alpha, frequency, T, prob)

    def median_lifetime_days(self) -> float:
        """Half of new customers stay active at least this long: P(lifetime > τ) = (β / (β + τ))^s = 1/2."""
        _, _, s, beta = self._p()
        return beta * (2 ** (1 / s) - 1)


class GammaGamma(_MaximumLikelihood):
    """Gamma-Gamma model of the value of a customer's repeat purchases (Fader, Hardie & Lee 2005b).

    Each customer's purchase values are Gamma(p, nu) with nu ~ Gamma(q, v). Fitted on customers with at least
    one repeat purchase and a positive mean value; assumes spend is independent of purchase frequency (the fit
    reports that correlation in ``frequency_monetary_correlation_`` and warns when it is strong).
    """

    param_names = ("p", "q", "v")
    label = "Gamma-Gamma"

    def __init__(self, penalizer: float = 0.0, tol: float = 1e-12, maxiter: int = 500,
                 correlation_warning: float = 0.3):
        self.penalizer = penalizer
        self.tol = tol
        self.maxiter = maxiter
        self.correlation_warning = correlation_warning

    def _neg_ll_and_grad(self, log_params, x, m, w, n_total):
        params = np.exp(log_params)
        p, q, v = params
        px = p * x
        lxm = np.log(x * m + v)
        ll = special.gammaln(px + q) - special.gammaln(px) - special.gammaln(q) + q * np.log(v) \
            + (px - 1) * np.log(m) + px * np.log(x) - (px + q) * lxm
        psi = special.digamma(px + q)
        dp = x * (psi - special.digamma(px) + np.log(m) + np.log(x) - lxm)
        dq = psi - special.digamma(q) + np.log(v) - lxm
        dv = q / v - (px + q) / (x * m + v)
        grad = np.array([w @ dp, w @ dq, w @ dv])
        pen, dpen = self._penalty(params)
        return -(w @ ll) / n_total + pen, (-grad / n_total + dpen) * params

    def fit(self, frequency, monetary_value, weights=None) -> "GammaGamma":
        x, m = np.asarray(frequency, float), np.asarray(monetary_value, float)
        keep = (x > 0) & (m > 0) & np.isfinite(m)
        if keep.sum() < 3:
            raise ModelError("Gamma-Gamma needs at least a few customers with a repeat purchase of positive value.")
        x, m = x[keep], m[keep]
        w_in = np.ones_like(x) if weights is None else np.asarray(weights, float)[keep]
        uniq, w = _distinct_sorted(x, m, w_in)
        ux, um = uniq.T
        n_total = w.sum()
        self.frequency_monetary_correlation_ = _weighted_correlation(ux, um, w)
        self.warnings_ = []
        if abs(self.frequency_monetary_correlation_) > self.correlation_warning:
            self.warnings_.append(
                f"Spend per order and number of orders are correlated ({self.frequency_monetary_correlation_:+.2f}); "
                "the Gamma-Gamma model assumes they are independent, so projected spend is less reliable.")
        mean_m = float(np.average(um, weights=w))
        self._scale = np.array([1.0, 1.0, max(mean_m, 1e-9)])
        start = np.log([2.0, 3.0, max(mean_m, 1e-3)])
        fun = lambda lp: self._neg_ll_and_grad(lp, ux, um, w, n_total)  # noqa: E731
        warm = None
        if len(ux) > 2 * WARM_START_ROWS:
            pick = _subsample(w)
            try:
                warm = GammaGamma(self.penalizer, tol=1e-9).fit(ux[pick], um[pick])
            except ModelError:
                warm = None
        res = _minimise(fun, start, self.tol, self.maxiter, warm)
        self._store_fit(res, n_total, lambda lp: self._neg_ll_and_grad(lp, ux, um, w, 1.0))
        p, q, v = self._p()
        self._check_boundary({"p": p, "q": q, "v / mean spend": v / max(mean_m, 1e-9)},
                             "customers' spend per order barely varies, or varies without pattern.")
        return self

    @property
    def population_mean_value(self) -> float:
        """Mean purchase value of a customer we know nothing about: p v / (q − 1)."""
        _check_fitted(self, "Gamma-Gamma")
        p, q, v = (self.params_[k] for k in self.param_names)
        return p * v / (q - 1) if q > 1 else float("nan")

    def expected_average_value(self, frequency, monetary_value) -> np.ndarray:
        """E[M | x, m̄]: a weighted mix of the population mean and the customer's own mean (x = 0 → population)."""
        _check_fitted(self, "Gamma-Gamma")
        p, q, v = (self.params_[k] for k in self.param_names)
        x = np.asarray(frequency, float)
        m = np.nan_to_num(np.asarray(monetary_value, float))
        m = np.where(x > 0, np.maximum(m, 0), 0)
        return p * (v + x * m) / (p * x + q - 1)


def _weighted_correlation(x: np.ndarray, m: np.ndarray, w: np.ndarray) -> float:
    """Pearson correlation of x and m with ``w`` customers per row (0 when either does not vary)."""
    mx, mm = np.average(x, weights=w), np.average(m, weights=w)
    vx, vm = np.average((x - mx) ** 2, weights=w), np.average((m - mm) ** 2, weights=w)
    if vx <= 0 or vm <= 0:
        return 0.0
    return float(np.clip(np.average((x - mx) * (m - mm), weights=w) / np.sqrt(vx * vm), -1.0, 1.0))


class ShrunkMeanSpend:
    """Spend per order when Gamma-Gamma cannot be fitted: each customer's own mean, shrunk towards the shop's.

    Bühlmann credibility: E[M | x, m̄] = (k μ + x m̄) / (k + x), where μ is the mean order value of repeat purchases
    and k = s² / τ² (within-customer variance of one order over the variance of customers' true means), both by
    the method of moments from (m̄_i − μ)² = τ² + s² / x_i. It has the same shape as Gamma-Gamma's predictor
    (Gamma-Gamma's k is (q − 1) / p) and makes no distributional assumption, so it cannot fail to converge.
    """

    param_names = ("population_mean", "k")
    label = "average spend shrunk towards the shop's (Gamma-Gamma could not be fitted)"

    def fit(self, frequency, monetary_value, weights=None) -> "ShrunkMeanSpend":
        x, m = np.asarray(frequency, float), np.asarray(monetary_value, float)
        keep = (x > 0) & (m > 0) & np.isfinite(m)
        if keep.sum() < 1:
            raise ModelError("No customer has a repeat purchase of positive value, so spend cannot be estimated.")
        w_in = np.ones(keep.sum()) if weights is None else np.asarray(weights, float)[keep]
        uniq, w = _distinct_sorted(x[keep], m[keep], w_in)
        x, m = uniq.T
        mu = float(np.average(m, weights=x * w))
        dev = (m - mu) ** 2
        design = np.column_stack([np.ones_like(x), 1 / x])
        root = np.sqrt(x * w)
        tau2, s2 = np.linalg.lstsq(design * root[:, None], dev * root, rcond=None)[0] \
            if w.sum() > 2 else (np.nan, np.nan)
        k = float(np.clip(s2 / tau2, 0.0, 1e6)) if np.isfinite(tau2) and tau2 > 0 and s2 > 0 else 1.0
        self.params_ = {"population_mean": mu, "k": k}
        self.frequency_monetary_correlation_ = _weighted_correlation(x, m, w)
        self.warnings_ = []
        return self

    @property
    def summary(self) -> pd.DataFrame:
        _check_fitted(self, "Spend model")
        return _summary(self.param_names, np.array(list(self.params_.values())), None)

    @property
    def population_mean_value(self) -> float:
        _check_fitted(self, "Spend model")
        return self.params_["population_mean"]

    def expected_average_value(self, frequency, monetary_value) -> np.ndarray:
        _check_fitted(self, "Spend model")
        x = np.asarray(frequency, float)
        m = np.where(x > 0, np.maximum(np.nan_to_num(np.asarray(monetary_value, float)), 0), 0)
        mu, k = self.params_["population_mean"], self.params_["k"]
        return (k * mu + x * m) / (k + x)
