"""Simulate customers from known BG/NBD and Gamma-Gamma parameters (time in days) — for tests and benchmarks."""
from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["simulate_bgnbd", "simulate_gamma_gamma", "simulate_future_purchases"]


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


def simulate_future_purchases(latent: pd.DataFrame, t: float, seed: int = 1) -> np.ndarray:
    """Purchases in the ``t`` days after T for customers simulated with ``return_latent`` (Monte Carlo truth)."""
    rng = np.random.default_rng(seed)
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
