"""Which margin the numbers use: measured from the shop's product costs, or the one the founder gives.

When the orders carry a cost (a cost column, a cost per unit, or a products file matched by SKU;
clv.ingest.costs), every past order's margin is its own: net − cost. Orders without a cost, and every projection
(future orders' costs are not known), use one rate: the measured margin, Σ(net − cost) / Σ net over the purchases
that carry a cost up to the as-of date — once at least ``MIN_ORDERS_WITH_COST`` purchases do. Otherwise, or when the
founder turns it off, the given margin (the app's slider, the command line's --margin) is used everywhere, as
before. ``Margin.words`` says which, for the pages' captions.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from . import formatting
from .ingest.orders import cost_totals

__all__ = ["Margin", "shop_margin", "margin_from_totals", "MIN_ORDERS_WITH_COST"]

#: fewer purchases with a cost than this and the measured rate is too noisy to stand for the shop's margin
MIN_ORDERS_WITH_COST = 30


@dataclass(frozen=True)
class Margin:
    rate: float                  # the margin share used for projections and for orders without a cost
    source: str                  # "costs": measured from product costs; "given": the founder's figure
    purchases: int = 0           # purchases up to the as-of date
    with_cost: int = 0           # of which carry a cost
    revenue_share: float = 0.0   # their share of the purchases' revenue
    given: float = 0.0           # the founder's figure (used when source == "given")

    @property
    def from_costs(self) -> bool:
        return self.source == "costs"

    def words(self) -> str:
        if self.from_costs:
            return (f"Margin {formatting.percent(self.rate)}, measured from your product costs on "
                    f"{self.with_cost:,} of {self.purchases:,} orders ({formatting.percent(self.revenue_share)} of "
                    "revenue): past orders with a cost count their own margin, the others and every projection "
                    f"{formatting.percent(self.rate)}.")
        if self.with_cost and self.with_cost < MIN_ORDERS_WITH_COST:
            return (f"Margin {formatting.percent(self.rate)}, as you set it: only {self.with_cost:,} orders carry a "
                    f"product cost, too few to measure it (at least {MIN_ORDERS_WITH_COST}).")
        if self.with_cost:
            return f"Margin {formatting.percent(self.rate)}, as you set it (your product costs are not used)."
        return (f"Margin {formatting.percent(self.rate)}, as you set it: the orders carry no product cost (add a cost "
                "column or a products file with cost per SKU on Your data to measure it).")


def shop_margin(shop, given: float, use_costs: bool = True, as_of: dt.date | None = None) -> Margin:
    """The margin the numbers use for ``shop`` (a clv.store.Shop) up to ``as_of``; ``given``: the founder's."""
    report = shop.orders_report
    if report is not None and not report.costs:  # no cost column: the given margin, without a scan of the orders
        return Margin(float(given), "given", given=float(given))
    return margin_from_totals(cost_totals(shop.con, as_of or shop.last_date()), given, use_costs)


def margin_from_totals(t: dict, given: float, use_costs: bool = True) -> Margin:
    """The margin from the purchases' cost totals (clv.ingest.orders.cost_totals, or clv.spark.ingest.cost_totals
    on Spark: both engines decide the same way)."""
    n, k, revenue, covered, cost = (t[c] for c in ("purchases", "with_cost", "revenue", "revenue_with_cost", "cost"))
    share = float(covered) / float(revenue) if revenue else 0.0
    if use_costs and k >= MIN_ORDERS_WITH_COST and covered > 0:
        return Margin((float(covered) - float(cost)) / float(covered), "costs", int(n), int(k), share, given)
    return Margin(float(given), "given", int(n), int(k), share, given)
