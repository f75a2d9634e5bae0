"""What is each customer worth? CLTV from BG/NBD + Gamma-Gamma, and a backtest on the shop's own history.

Fitting (slow-ish, once per data set) is separate from pricing (instant): ``fit_value_model`` computes the
expected purchases month by month for 24 months; ``price`` turns them into money for any horizon, margin and
discount rate without refitting.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .errors import ModelError
from .models import BGNBD, GammaGamma, ShrunkMeanSpend, _compress

__all__ = ["MONTH_DAYS", "ValueModel", "fit_value_model", "fit_spend", "price", "Backtest", "backtest", "monthly_discount_factors",
           "payback_months", "new_customer_value"]

MONTH_DAYS = 365.25 / 12
MAX_MONTHS = 24


@dataclass
class ValueModel:
    bgnbd: BGNBD
    spend: GammaGamma | ShrunkMeanSpend  # Gamma-Gamma, or the simpler estimate when it cannot be fitted
    customer_id: pd.Series
    p_alive: np.ndarray
    cumulative_purchases: np.ndarray     # (customers × 24): expected purchases by the end of each month
    expected_average_value: np.ndarray   # Gamma-Gamma expected value of a future purchase
    days_to_next_purchase: np.ndarray    # median days to the next purchase if still active


def _expected_by_month(bg: BGNBD, x, tx, T, months: int = MAX_MONTHS) -> np.ndarray:
    """Cumulative expected purchases at the end of months 1..months.

    The costly hypergeometric part depends only on (x, T), so it is computed once per distinct pair and then
    scaled by each customer's P(alive)."""
    uniq, _, inverse = _compress(x, T)
    ux, uT = uniq.T
    t = np.arange(1, months + 1) * MONTH_DAYS
    if_alive = bg.expected_purchases_if_alive(t[None, :], ux[:, None], uT[:, None])
    return if_alive[inverse] * bg.probability_alive(x, tx, T)[:, None]


def fit_value_model(customers: pd.DataFrame, penalizer: float = 0.0, months: int = MAX_MONTHS) -> ValueModel:
    """Fit BG/NBD on (frequency, recency_days, T_days) and Gamma-Gamma on repeat customers' monetary_value.

    Expected purchases are tabulated for ``months`` months ahead (24 lets the app switch horizons freely)."""
    x, tx, T = (customers[c].to_numpy(float) for c in ("frequency", "recency_days", "T_days"))
    bg = BGNBD(penalizer=penalizer).fit(x, tx, T)
    gg = fit_spend(x, customers["monetary_value"].to_numpy(float), penalizer)
    return ValueModel(
        bgnbd=bg, spend=gg, customer_id=customers["customer_id"].reset_index(drop=True),
        p_alive=bg.probability_alive(x, tx, T),
        cumulative_purchases=_expected_by_month(bg, x, tx, T, months),
        expected_average_value=gg.expected_average_value(x, customers["monetary_value"].to_numpy(float)),
        days_to_next_purchase=bg.days_to_next_purchase(x, tx, T))


def fit_spend(frequency: np.ndarray, monetary_value: np.ndarray, penalizer: float = 0.0):
    """Gamma-Gamma, or — when it does not converge or gives no finite prediction (q ≤ 1) — ShrunkMeanSpend, with
    the reason in ``warnings_``: the pages then still show values, and say which estimate they rest on."""
    try:
        gg = GammaGamma(penalizer=penalizer).fit(frequency, monetary_value)
        predicted = gg.expected_average_value(frequency, monetary_value)
        if np.isfinite(gg.population_mean_value) and np.all(np.isfinite(predicted)):
            return gg
        reason = "its estimate has no finite average spend (q ≤ 1)"
    except ModelError as exc:
        reason = str(exc).rstrip(".")
    fallback = ShrunkMeanSpend().fit(frequency, monetary_value)
    fallback.warnings_.append(
        f"The Gamma-Gamma spend model could not be used on this shop ({reason}). Spend per order is estimated "
        f"instead as each customer's own average, pulled towards the shop's average of "
        f"{fallback.population_mean_value:,.2f} (as much as {fallback.params_['k']:.1f} orders at the shop's average "
        "would pull it).")
    return fallback


def monthly_discount_factors(months: int, yearly_rate: float) -> np.ndarray:
    """1 / (1 + d)^m for m = 1..months, with d the monthly rate equivalent to ``yearly_rate``."""
    d = (1 + yearly_rate) ** (1 / 12) - 1
    return 1 / (1 + d) ** np.arange(1, months + 1)


def price(vm: ValueModel, horizon_months: int = 12, margin: float = 1.0, discount_rate: float = 0.1) -> pd.DataFrame:
    """Per customer: p_alive, expected purchases and CLTV over the horizon (margin × spend, discounted monthly)."""
    if not 1 <= horizon_months <= vm.cumulative_purchases.shape[1]:
        raise ValueError(f"horizon_months must be between 1 and {vm.cumulative_purchases.shape[1]}")
    cum = vm.cumulative_purchases[:, :horizon_months]
    per_month = np.diff(cum, axis=1, prepend=0.0)
    discounted = per_month @ monthly_discount_factors(horizon_months, discount_rate)
    return pd.DataFrame({
        "customer_id": vm.customer_id,
        "p_alive": vm.p_alive,
        "expected_purchases": cum[:, -1],
        "expected_order_value": vm.expected_average_value,
        "days_to_next_purchase": vm.days_to_next_purchase,
        "clv": margin * vm.expected_average_value * discounted,
    })


def new_customer_value(vm: ValueModel, margin: float, discount_rate: float = 0.0, months: int = 60) -> np.ndarray:
    """Cumulative discounted margin of a newly acquired customer at the end of months 0..months: the first
    order at month 0, then the repeat purchases BG/NBD expects for a new customer (eq. 9)."""
    repeats = vm.bgnbd.expected_purchases_new_customer(np.arange(0, months + 1) * MONTH_DAYS)
    factors = np.concatenate([[1.0], monthly_discount_factors(months, discount_rate)])
    return margin * vm.spend.population_mean_value * (1 + np.cumsum(np.diff(repeats, prepend=0.0) * factors))


def payback_months(vm: ValueModel, margin: float, cac: float, discount_rate: float = 0.0,
                   max_months: int = 60) -> int | None:
    """Months until a typical new customer's discounted margin covers ``cac`` (None: not within max_months)."""
    hit = np.flatnonzero(new_customer_value(vm, margin, discount_rate, max_months) >= cac)
    return int(hit[0]) if hit.size else None


@dataclass
class Backtest:
    calibration_end: dt.date
    holdout_end: dt.date
    holdout_days: int
    per_customer: pd.DataFrame      # customer_id, frequency, predicted/actual purchases and revenue
    by_frequency: pd.DataFrame      # frequency bucket -> mean predicted, mean actual, customers
    model: ValueModel

    @property
    def totals(self) -> dict:
        pc = self.per_customer
        err = pc["predicted_purchases"] - pc["actual_purchases"]
        return {"customers": int(len(pc)),
                "predicted_repeat_purchases": float(pc["predicted_purchases"].sum()),
                "actual_repeat_purchases": float(pc["actual_purchases"].sum()),
                "mae": float(err.abs().mean()), "rmse": float(np.sqrt((err ** 2).mean())),
                "predicted_holdout_revenue": float(pc["predicted_revenue"].sum()),
                "actual_holdout_revenue": float(pc["actual_revenue"].sum())}

    def in_words(self) -> str:
        t = self.totals
        months = self.holdout_days / MONTH_DAYS
        gap = t["predicted_repeat_purchases"] / max(t["actual_repeat_purchases"], 1e-9) - 1
        return (f"Fitted on orders up to {self.calibration_end:%d %b %Y}, the model predicted "
                f"{t['predicted_repeat_purchases']:,.0f} repeat orders in the following {months:.0f} months; "
                f"there were {t['actual_repeat_purchases']:,.0f} ({gap:+.0%}).")


def backtest(calibration: pd.DataFrame, holdout: pd.DataFrame, calibration_end, holdout_end) -> Backtest:
    """Fit on the calibration customer table, predict the holdout, compare with what happened.

    ``calibration`` is the customer table at ``calibration_end``; ``holdout`` has per customer the repeat
    purchase days and revenue after it (clv/sql/holdout.sql).
    """
    days = (pd.Timestamp(holdout_end) - pd.Timestamp(calibration_end)).days
    vm = fit_value_model(calibration)
    x, tx, T = (calibration[c].to_numpy(float) for c in ("frequency", "recency_days", "T_days"))
    pred = vm.bgnbd.expected_purchases(days, x, tx, T)
    per = pd.DataFrame({"customer_id": calibration["customer_id"].to_numpy(), "frequency": x,
                        "predicted_purchases": pred, "predicted_revenue": pred * vm.expected_average_value})
    per = per.merge(holdout.rename(columns={"holdout_purchases": "actual_purchases",
                                            "holdout_revenue": "actual_revenue"}), on="customer_id", how="left")
    per[["actual_purchases", "actual_revenue"]] = per[["actual_purchases", "actual_revenue"]].fillna(0)
    bucket = np.minimum(per["frequency"], 7).astype(int)
    by = per.groupby(bucket).agg(customers=("customer_id", "size"), predicted=("predicted_purchases", "mean"),
                                 actual=("actual_purchases", "mean"))
    by.index = [f"{i}" if i < 7 else "7+" for i in by.index]
    by.index.name = "repeat purchases in calibration"
    return Backtest(pd.Timestamp(calibration_end).date(), pd.Timestamp(holdout_end).date(), days, per, by, vm)
