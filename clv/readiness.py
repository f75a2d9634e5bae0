"""Can this shop's data support a projection? The minimum-data rules, and what to show instead when it cannot.

The rules were found by simulation (bench/min_data.py: shops drawn from CDNOW-like BG/NBD and Pareto/NBD parameters,
30 to 3,000 customers, 45 to 730 days of history, the 12-month projection compared with what the simulated
customers really did):
- under about 100 repeat customers the fit often fails (10–90 % of shops) and, where it does not, the projection
  is off by more than a third in one shop out of ten or more, at any length of history;
- under 180 days of history it is off by more than 40 % in one shop out of ten even with hundreds of repeat
  customers (90 days, 565 repeat customers, Pareto/NBD: median error 27 %, 90th percentile 48 %);
- above both, the projection was off by at most 26–36 % in nine shops out of ten (BG/NBD and Pareto/NBD alike), and
  the parameters' own uncertainty tells the rest: a projected total whose relative standard error from the
  parameters alone exceeds 25 % is not shown.
A history shorter than twice the shop's typical gap between a customer's orders has not yet seen most customers
come back, so it counts as short too. Gaps in trading (calendar months without an order) are found and said.

Below the rules no projection is shown as a number; the pages show what the data does support instead: historic
value, repeat rate by cohort, and each customer's habit ("usually buys every N days; N days since the last order").
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = ["MIN_REPEAT_CUSTOMERS", "MIN_HISTORY_DAYS", "MAX_PARAMETER_SD", "Readiness", "assess", "trading_gaps",
           "habits"]

MIN_REPEAT_CUSTOMERS = 100
MIN_HISTORY_DAYS = 180
MAX_PARAMETER_SD = 0.25


def _months(days: float) -> str:
    m = days / (365.25 / 12)
    return f"{m:.0f} month{'s' if round(m) != 1 else ''}" if m >= 1.5 else f"{days:.0f} days"


def trading_gaps(monthly: pd.DataFrame) -> list[tuple[dt.date, dt.date]]:
    """Runs of calendar months with no purchase between the first and the last month with one: [(first, last)]."""
    if monthly is None or monthly.empty:
        return []
    months = pd.to_datetime(monthly.loc[monthly["orders"] > 0, "month"]).dt.to_period("M")
    if months.empty:
        return []
    have = set(months)
    out, run = [], []
    for p in pd.period_range(months.min(), months.max(), freq="M"):
        if p in have:
            if run:
                out.append((run[0].to_timestamp().date(), run[-1].to_timestamp().date()))
            run = []
        else:
            run.append(p)
    return out


def gaps_in_words(gaps: list) -> str:
    def span(a, b):
        return f"{a:%b %Y}" if a == b else f"{a:%b %Y} to {b:%b %Y}"
    return "; ".join(span(a, b) for a, b in gaps)


@dataclass
class Readiness:
    """Whether projections are shown, and why not, in words a founder reads."""
    customers: int
    repeat_customers: int
    history_days: int
    typical_gap_days: float | None         # the median repeat customer's average days between orders
    gaps: list = field(default_factory=list)  # [(first month, last month)] without an order
    parameter_sd: float | None = None      # relative standard error of the projected total from the parameters
    model_problem: str | None = None       # the purchase model's own message when it could not be fitted

    @property
    def needed_history_days(self) -> int:
        return int(max(MIN_HISTORY_DAYS, 2 * (self.typical_gap_days or 0)))

    @property
    def reasons(self) -> list[str]:
        out = []
        if self.repeat_customers < MIN_REPEAT_CUSTOMERS:
            out.append(f"{self.repeat_customers:,} customer{'s' if self.repeat_customers != 1 else ''} bought more than "
                       f"once (projections need about {MIN_REPEAT_CUSTOMERS})")
        if self.history_days < self.needed_history_days:
            why = (f" — twice your customers' usual {self.typical_gap_days:,.0f} days between orders"
                   if self.needed_history_days > MIN_HISTORY_DAYS else "")
            out.append(f"the history covers {_months(self.history_days)} (projections need about "
                       f"{_months(self.needed_history_days)}{why})")
        if not out and self.model_problem:
            out.append("the purchase model cannot tell from this history how often customers buy and when they stop "
                       "(typical of subscriptions, very regular buyers, or very few repeat orders)")
        if not out and self.parameter_sd is not None and not np.isfinite(self.parameter_sd):
            out.append("the model's own uncertainty could not be measured on this history (its fit has no usable "
                       "standard errors), so how far off a projection could be is unknown")
        if not out and self.parameter_sd is not None and self.parameter_sd > MAX_PARAMETER_SD:
            out.append(f"the projection would be too uncertain: the model's own estimate could be off by about "
                       f"{self.parameter_sd:.0%} either way (projections are shown up to {MAX_PARAMETER_SD:.0%})")
        return out

    @property
    def ok(self) -> bool:
        return not self.reasons

    def in_words(self) -> str:
        """The fallback sentence: what projections need, what the shop has, and what it would take."""
        if self.ok:
            return ""
        more = []
        if self.repeat_customers < MIN_REPEAT_CUSTOMERS:
            more.append(f"about {MIN_REPEAT_CUSTOMERS - self.repeat_customers:,} more customers who come back")
        if self.history_days < self.needed_history_days:
            more.append(f"about {_months(self.needed_history_days - self.history_days)} more of history")
        need = f" You need {' and '.join(more)}." if more else ""
        return ("Projected values are not shown: " + "; ".join(self.reasons) + "." + need
                + " What your data does support is below: value so far, how customers come back, and each customer's "
                "usual rhythm.")

    def gaps_in_words(self) -> str:
        if not self.gaps:
            return ""
        months = sum((b.year - a.year) * 12 + b.month - a.month + 1 for a, b in self.gaps)
        return (f"Your history has {months} month{'s' if months != 1 else ''} without any order "
                f"({gaps_in_words(self.gaps)}). Models read a quiet stretch as customers drifting away; if the shop "
                "was closed then, projections are lower than they should be.")


def assess(customers: pd.DataFrame, monthly: pd.DataFrame | None = None, parameter_sd: float | None = None,
           model_problem: str | None = None, gaps: list | None = None) -> Readiness:
    """The readiness of a customer table (clv/sql/customers.sql) at its as-of date; the months without orders from
    ``monthly`` (Shop.monthly()) or given as ``gaps``."""
    x = customers["frequency"].to_numpy(float)
    repeat = x > 0
    usual = customers["recency_days"].to_numpy(float)[repeat] / x[repeat]  # each repeat customer's mean gap
    history = int(np.ceil(customers["T_days"].max())) + 1 if len(customers) else 0
    return Readiness(customers=len(customers), repeat_customers=int(repeat.sum()), history_days=history,
                     typical_gap_days=float(np.median(usual)) if len(usual) else None,
                     gaps=trading_gaps(monthly) if gaps is None else gaps, parameter_sd=parameter_sd,
                     model_problem=model_problem)


def habits(customers: pd.DataFrame) -> pd.DataFrame:
    """What the data supports about each customer without a model: their usual days between orders (repeat
    customers), days since their last order, and how many usual gaps that silence is ("overdue" from 2)."""
    x = customers["frequency"].to_numpy(float)
    usual = np.where(x > 0, customers["recency_days"].to_numpy(float) / np.maximum(x, 1), np.nan)
    since = customers["T_days"].to_numpy(float) - customers["recency_days"].to_numpy(float)
    out = customers[["customer_id", "orders", "revenue"]].copy()
    out["usual_days_between_orders"] = np.round(usual, 0)
    out["days_since_last_order"] = since
    out["silence_in_usual_gaps"] = np.round(since / np.where(usual > 0, usual, np.nan), 1)
    return out
