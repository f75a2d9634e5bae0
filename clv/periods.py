"""Periods and comparisons for the dashboard: "last 90 days against the 90 before", "this year to date against the
same days last year" — every period ends on the as-of date (by default the last day in the data, not today: an
export from last month still shows its own last 30 days).

``period_bounds`` turns a choice into dates, ``comparison_bounds`` finds the period to compare with, and
``kpis`` measures both on a loaded shop (clv/sql/period_kpis.sql); ``compare`` says what changed in words, or
why it cannot (a comparison period before the data starts is not compared: a "+100 %" against days the shop has
no orders for would be wrong without a word)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

__all__ = ["PERIODS", "COMPARISONS", "period_bounds", "comparison_bounds", "PeriodKpis", "kpis", "compare"]

PERIODS = {"all": "All history", "30d": "Last 30 days", "90d": "Last 90 days", "365d": "Last 12 months",
           "ytd": "Year to date", "custom": "Custom dates"}
COMPARISONS = {"previous": "the period before", "last_year": "the same period last year", "none": "nothing"}


def period_bounds(kind: str, as_of: dt.date, first: dt.date, custom: tuple | None = None) -> tuple[dt.date, dt.date]:
    """(start, end) of a PERIODS choice ending on ``as_of``; ``first`` is the first day in the data (all history)."""
    if kind == "all":
        return first, as_of
    if kind in ("30d", "90d", "365d"):
        return as_of - dt.timedelta(days=int(kind[:-1]) - 1), as_of
    if kind == "ytd":
        return dt.date(as_of.year, 1, 1), as_of
    if kind == "custom":
        if not custom or len(custom) != 2 or custom[0] is None or custom[1] is None or custom[0] > custom[1]:
            raise ValueError("a custom period needs a start and an end date, the start first")
        return custom[0], custom[1]
    raise ValueError(f"unknown period {kind!r}; one of {', '.join(PERIODS)}")


def comparison_bounds(start: dt.date, end: dt.date, kind: str) -> tuple[dt.date, dt.date] | None:
    """The period to compare (start, end) with: the as-long one just before, or the same days a year earlier
    (29 February moves to the 28th); None for "none"."""
    if kind == "none":
        return None
    if kind == "previous":
        days = (end - start).days + 1
        return start - dt.timedelta(days=days), start - dt.timedelta(days=1)
    if kind == "last_year":
        return ((pd.Timestamp(start) - pd.DateOffset(years=1)).date(),
                (pd.Timestamp(end) - pd.DateOffset(years=1)).date())
    raise ValueError(f"unknown comparison {kind!r}; one of {', '.join(COMPARISONS)}")


@dataclass(frozen=True)
class PeriodKpis:
    start: dt.date
    end: dt.date
    customers: int          # bought in the period
    new_customers: int      # ... for the first time ever
    purchases: int
    revenue: float          # purchases' net revenue minus returns and refunds dated in the period
    returns: float          # those returns (≤ 0)

    @property
    def returning_customers(self) -> int:
        return self.customers - self.new_customers

    @property
    def average_order_value(self) -> float:
        return (self.revenue - self.returns) / self.purchases if self.purchases else float("nan")

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def kpis(shop, start: dt.date, end: dt.date) -> PeriodKpis:
    """The period's figures on a loaded clv.store.Shop."""
    from .store import sql
    row = shop.con.execute(sql("period_kpis"), {"period_start": start, "period_end": end}).fetchone()
    customers, new, purchases, purchase_revenue, returns = row
    return PeriodKpis(start, end, int(customers), int(new), int(purchases), float(purchase_revenue) + float(returns),
                      float(returns))


def compare(now: PeriodKpis, then: PeriodKpis | None, first: dt.date) -> dict:
    """Per figure the relative change from ``then`` to ``now`` (None where it cannot be said), and ``why`` — words
    when the comparison period starts before the data (``first``) or had nothing to compare with."""
    names = ("customers", "new_customers", "returning_customers", "purchases", "revenue", "average_order_value")
    if then is None:
        return {"why": None, **{k: None for k in names}}
    if then.start < first:
        return {"why": f"no comparison: your data starts on {first:%d %b %Y}, after the comparison period's "
                       f"start ({then.start:%d %b %Y})", **{k: None for k in names}}
    out = {"why": None}
    for k in names:
        a, b = getattr(now, k), getattr(then, k)
        out[k] = (a - b) / abs(b) if b and b == b and a == a else None
    return out
