"""Simulate customers from known BG/NBD, Pareto/NBD and Gamma-Gamma parameters (time in days) — for tests and benchmarks."""
from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["simulate_bgnbd", "simulate_pareto_nbd", "simulate_gamma_gamma", "simulate_future_purchases",
           "simulate_campaigns"]


def simulate_bgnbd(T, r: float, alpha: float, a: float, b: float, seed: int = 0,
                   return_latent: bool = False, modified: bool = False) -> pd.DataFrame:
    """frequency, recency, T for customers observed for ``T`` days after their first purchase.

    Each customer buys at rate lambda ~ Gamma(r, alpha) and drops out after each repeat purchase with
    probability p ~ Beta(a, b); ``modified`` (MBG/NBD) lets them drop out right after the first purchase too.
    With ``return_latent`` the frame also holds lam, p and alive (at T).
    """
    rng = np.random.default_rng(seed)
    T = np.asarray(T, float)
    n = len(T)
    lam = rng.gamma(r, 1.0 / alpha, n)
    p = rng.beta(a, b, n)
    t = np.zeros(n)
    x = np.zeros(n)
    tx = np.zeros(n)
    alive = np.ones(n, bool)
    active = np.arange(n)
    if modified:
        gone = rng.random(n) < p
        alive[gone] = False
        active = active[~gone]
    while active.size:
        t[active] += rng.exponential(1.0 / lam[active])
        active = active[t[active] < T[active]]
        x[active] += 1
        tx[active] = t[active]
        dies = rng.random(active.size) < p[active]
        alive[active[dies]] = False
        active = active[~dies]
    out = pd.DataFrame({"frequency": x, "recency": tx, "T": T})
    if return_latent:
        out["lam"], out["p"], out["alive"] = lam, p, alive
    return out


def simulate_pareto_nbd(T, r: float, alpha: float, s: float, beta: float, seed: int = 0,
                        return_latent: bool = False) -> pd.DataFrame:
    """frequency, recency, T under Pareto/NBD: rate lambda ~ Gamma(r, alpha), an exponential lifetime with rate
    mu ~ Gamma(s, beta) starting at the first purchase. With ``return_latent``: lam, death (day of drop-out,
    counted from the first purchase) and alive (at T)."""
    rng = np.random.default_rng(seed)
    T = np.asarray(T, float)
    n = len(T)
    lam = rng.gamma(r, 1.0 / alpha, n)
    death = rng.exponential(1.0 / rng.gamma(s, 1.0 / beta, n))
    seen = np.minimum(death, T)
    x = rng.poisson(lam * seen).astype(float)
    # given x purchases of a Poisson process on [0, seen], the last one is the max of x uniforms
    tx = np.where(x > 0, seen * rng.random(n) ** (1 / np.maximum(x, 1)), 0.0)
    out = pd.DataFrame({"frequency": x, "recency": tx, "T": T})
    if return_latent:
        out["lam"], out["death"], out["alive"] = lam, death, death > T
    return out


def simulate_future_purchases(latent: pd.DataFrame, t: float, seed: int = 1) -> np.ndarray:
    """Purchases in the ``t`` days after T for customers simulated with ``return_latent`` (Monte Carlo truth),
    from simulate_bgnbd or simulate_pareto_nbd."""
    rng = np.random.default_rng(seed)
    if "death" in latent:  # Pareto/NBD: a Poisson count over the part of (T, T + t] the customer is alive
        lam, death, T = (latent[c].to_numpy() for c in ("lam", "death", "T"))
        return rng.poisson(lam * np.clip(death - T, 0, t)).astype(float)
    lam, p, alive = (latent[c].to_numpy() for c in ("lam", "p", "alive"))
    n = len(lam)
    count = np.zeros(n)
    clock = np.zeros(n)
    active = np.flatnonzero(alive)
    while active.size:
        clock[active] += rng.exponential(1.0 / lam[active])
        active = active[clock[active] < t]
        count[active] += 1
        active = active[rng.random(active.size) >= p[active]]
    return count


def simulate_gamma_gamma(frequency, p: float, q: float, v: float, seed: int = 0) -> np.ndarray:
    """Mean value of each customer's ``frequency`` repeat purchases (0 where frequency is 0)."""
    rng = np.random.default_rng(seed)
    x = np.asarray(frequency, int)
    nu = rng.gamma(q, 1.0 / v, len(x))
    # the sum of x Gamma(p, nu) draws is Gamma(p x, nu)
    total = np.where(x > 0, rng.gamma(np.maximum(p * x, 1e-12), 1.0 / nu), 0.0)
    return np.where(x > 0, total / np.maximum(x, 1), 0.0)


def simulate_campaigns(repeats: int, treated: int, control: int, base_rate: float, uplift: float,
                       spend: tuple = ("gamma", 2.0, 25.0), extra_orders: float = 0.3, margin: float = 0.3,
                       treated_spend_factor: float = 1.0, returns: float = 0.0, seed: int = 0):
    """``repeats`` randomised campaigns of ``treated`` + ``control`` customers, for clv.campaigns.measure.

    A control customer buys with probability ``base_rate``, a treated one with ``base_rate + uplift``; a buyer makes
    1 + Poisson(``extra_orders``) orders whose values are ``spend``: ("gamma", shape, scale) or ("lognormal", mu,
    sigma); a treated buyer's orders are worth ``treated_spend_factor`` times as much (a discount < 1). With
    ``returns``, that share of every customer (in both groups alike, so the truth is unchanged) also returns an
    earlier purchase in the window: −Gamma(2, 15) of revenue, a buyer's net margin can then be 0 or less. Returns
    (rows, outcomes, truth): campaign rows, purchases and revenue per buyer, and the true difference in margin per
    customer, margin × orders per buyer × mean order value × (treated rate × factor − base rate).
    """
    rng = np.random.default_rng(seed)
    n = treated + control
    group = np.where(np.arange(n) < control, "control", "treatment")
    cid = np.repeat([f"c{i:05d}" for i in range(repeats)], n)
    grp = np.tile(group, repeats)
    is_t = grp == "treatment"
    bought = rng.random(len(grp)) < np.where(is_t, base_rate + uplift, base_rate)
    orders = 1 + rng.poisson(extra_orders, bought.sum())
    kind, a, b = spend
    if kind == "gamma":
        revenue = rng.gamma(a * orders, b)   # a sum of m Gamma(a, b) is Gamma(m a, b)
        mean_value = a * b
    elif kind == "lognormal":
        values = rng.lognormal(a, b, orders.sum())
        revenue = np.add.reduceat(values, np.r_[0, np.cumsum(orders)[:-1]]) if len(orders) else values
        mean_value = float(np.exp(a + b * b / 2))
    else:
        raise ValueError(f"unknown spend distribution {kind!r}")
    revenue = revenue * np.where(is_t[bought], treated_spend_factor, 1.0)
    customers = np.char.add("u", np.arange(len(grp)).astype(str))
    rows = pd.DataFrame({"campaign_id": cid, "tactic": "second_purchase", "created": pd.Timestamp("2026-01-01").date(),
                         "customer_id": customers, "group": grp, "churn_risk": 0.8})
    purchases, net = np.zeros(len(grp)), np.zeros(len(grp))
    purchases[bought], net[bought] = orders, revenue
    if returns:
        net -= np.where(rng.random(len(grp)) < returns, rng.gamma(2.0, 15.0, len(grp)), 0.0)
    keep = net != 0
    outcomes = pd.DataFrame({"campaign_id": cid[keep], "customer_id": customers[keep], "purchases": purchases[keep],
                             "revenue": net[keep]})
    truth = margin * (1 + extra_orders) * mean_value * ((base_rate + uplift) * treated_spend_factor - base_rate)
    return rows, outcomes, truth
