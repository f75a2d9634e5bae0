"""A one-file HTML report a founder can email: overview, segments, value, churn and the playbook.

Plotly charts stay interactive (plotly.js is embedded once, so the file opens offline).
"""
from __future__ import annotations

import datetime as dt
import html

import pandas as pd

from . import charts
from .segments import RFM_SEGMENT_RULES

__all__ = ["build_report"]

_CSS = """body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;max-width:1100px;margin:2rem auto;color:#1c2333}
h1{margin-bottom:.2rem} h2{margin-top:2.5rem;border-bottom:1px solid #dde3ee;padding-bottom:.3rem}
.kpis{display:flex;flex-wrap:wrap;gap:1rem}.kpi{background:#f3f5f9;border-radius:8px;padding:.8rem 1.1rem;min-width:150px}
.kpi b{display:block;font-size:1.5rem}.note{color:#5a6478;font-size:.9rem}
table{border-collapse:collapse;font-size:.85rem;margin:.5rem 0}td,th{border-bottom:1px solid #e5e9f0;padding:.3rem .6rem;text-align:right}
th{background:#f3f5f9}td:first-child,th:first-child{text-align:left}"""


def _kpis(items: list[tuple[str, str]]) -> str:
    return '<div class="kpis">' + "".join(f'<div class="kpi">{html.escape(k)}<b>{html.escape(v)}</b></div>'
                                          for k, v in items) + "</div>"


def _table(df: pd.DataFrame, floats: str = "{:,.2f}") -> str:
    return df.to_html(index=False, float_format=lambda x: floats.format(x), border=0, escape=True)


def build_report(monthly: pd.DataFrame, cohorts: pd.DataFrame, scored: pd.DataFrame, ranked: pd.DataFrame,
                 horizon_months: int, margin: float, discount_rate: float, source: str = "") -> str:
    """The report as one HTML string, from frames: ``monthly`` and ``cohorts`` as ``Shop.monthly()`` and
    ``Shop.cohorts()`` give them, ``scored`` from clv.scoring, ``ranked`` from clv.tactics.rank_tactics."""
    figs = [charts.revenue_by_month(monthly), charts.cohort_heatmap(cohorts),
            charts.segment_sizes(scored, list(RFM_SEGMENT_RULES["segment"])),
            charts.value_by_segment(scored, horizon_months), charts.at_stake_by_segment(scored),
            charts.tactic_gains(ranked)]
    div = [f.to_html(full_html=False, include_plotlyjs=(i == 0)) for i, f in enumerate(figs)]
    orders, revenue = int(scored["orders"].sum()), float(scored["revenue"].sum())
    repeat = scored["orders"] >= 2
    at_risk = scored.sort_values("value_at_stake", ascending=False).head(20)
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>Customer report</title><style>{_CSS}</style></head><body>",
        "<h1>Customer value &amp; retention report</h1>",
        f"<p class='note'>{html.escape(source)} — made {dt.date.today():%d %b %Y}. Assumptions: {horizon_months}-month "
        f"horizon, {margin:.0%} gross margin, {discount_rate:.0%} yearly discount rate.</p>",
        "<h2>Overview</h2>",
        _kpis([("Customers", f"{len(scored):,}"), ("Orders", f"{orders:,}"), ("Revenue", f"{revenue:,.0f}"),
               ("Average order value", f"{revenue / max(orders, 1):,.2f}"), ("Repeat customers", f"{repeat.mean():.0%}"),
               (f"Projected value, {horizon_months} months", f"{scored['clv'].sum():,.0f}")]),
        div[0], div[1],
        "<h2>Who are my customers?</h2>", div[2],
        _table(scored.groupby("rfm_segment").agg(customers=("customer_id", "size"), revenue=("revenue", "sum"),
                                                 projected=("clv", "sum")).reset_index()),
        "<h2>What is each worth?</h2>",
        f"<p>The average customer is expected to buy {scored['expected_purchases'].mean():.1f} more times in the next "
        f"{horizon_months} months, worth {scored['clv'].mean():,.2f} in margin today.</p>", div[3],
        "<h2>Who is slipping away?</h2>",
        f"<p>Value at stake (projected value × churn risk): {scored['value_at_stake'].sum():,.0f}.</p>", div[4],
        _table(at_risk[["customer_id", "churn_risk", "clv", "value_at_stake", "reason"]]),
        "<h2>What should I do first?</h2>", div[5],
        _table(ranked[["name", "kind", "customers", "value_at_stake", "gross_gain", "cost", "expected_gain"]]),
        "<p class='note'>Expected gain per customer: save tactics uplift × churn risk × CLTV; other tactics uplift × "
        "expected order value × margin; minus the cost per contact. Uplifts and costs are assumptions.</p>",
        "</body></html>"]
    return "\n".join(parts)
