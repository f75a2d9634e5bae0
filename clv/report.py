"""A one-file HTML report a founder can email: overview, segments, value, churn and the playbook.

Plotly charts stay interactive (plotly.js is embedded once, so the file opens offline).
"""
from __future__ import annotations

import datetime as dt
import html
import re

import pandas as pd
import plotly.express as px

from . import charts
from .formatting import count, money, percent
from .segments import RFM_SEGMENT_RULES

__all__ = ["build_report", "data_notes", "projection_notes"]

_CSS = """body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;max-width:1100px;margin:2rem auto;color:#1c2333}
h1{margin-bottom:.2rem} h2{margin-top:2.5rem;border-bottom:1px solid #dde3ee;padding-bottom:.3rem}
.kpis{display:flex;flex-wrap:wrap;gap:1rem}.kpi{background:#f3f5f9;border-radius:8px;padding:.8rem 1.1rem;min-width:150px}
.kpi b{display:block;font-size:1.5rem}.note{color:#5a6478;font-size:.9rem}
table{border-collapse:collapse;font-size:.85rem;margin:.5rem 0}td,th{border-bottom:1px solid #e5e9f0;padding:.3rem .6rem;text-align:right}
th{background:#f3f5f9}td:first-child,th:first-child{text-align:left}"""


_PLACEHOLDER = re.compile(r"^#0000(\d\d)$")
#: the app's colours (.streamlit/config.toml's primary blue first), so the report looks like the dashboard
APP_PALETTE = ["#2f6fdf", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#9c755f"]


def _standalone(fig):
    """A figure that draws the same outside Streamlit. Inside a Streamlit process plotly's default template is
    Streamlit's, whose colours are placeholders (#000001, #000002…) the browser app swaps for its theme: written to
    a file they are all near-black (a legend of identical black squares). Swap them for plotly's palette."""
    palette = APP_PALETTE

    def real(colour):
        m = _PLACEHOLDER.match(colour) if isinstance(colour, str) else None
        return palette[(int(m.group(1)) - 1) % len(palette)] if m else colour

    for trace in fig.data:
        for part in ("marker", "line"):
            obj = getattr(trace, part, None)
            if obj is not None and isinstance(getattr(obj, "color", None), str):
                obj.color = real(obj.color)
    fig.update_layout(template="plotly_white", colorway=APP_PALETTE, separators=".,")  # the app's blue; 1,079
    for trace in fig.data:  # a trace plotly coloured itself (no colour set): the app's palette, not plotly's purple
        marker = getattr(trace, "marker", None)
        colour = getattr(marker, "color", None) if marker is not None else None
        if isinstance(colour, str) and colour in px.colors.qualitative.Plotly:
            marker.color = APP_PALETTE[px.colors.qualitative.Plotly.index(marker.color) % len(APP_PALETTE)]
    return fig


def _kpis(items: list[tuple[str, str]]) -> str:
    return '<div class="kpis">' + "".join(f'<div class="kpi">{html.escape(k)}<b>{html.escape(v)}</b></div>'
                                          for k, v in items) + "</div>"


def _table(df: pd.DataFrame, money_columns: tuple = (), percent_columns: tuple = (), currency: str | None = None) -> str:
    """A frame as an HTML table (escaped), money in the shop's currency and shares as percentages."""
    formatters = {c: count for c in df.columns if pd.api.types.is_integer_dtype(df[c])}  # 1,079, not 1079
    formatters.update({c: (lambda x: money(x, currency)) for c in money_columns if c in df})
    formatters.update({c: percent for c in percent_columns if c in df})
    return df.to_html(index=False, formatters=formatters, float_format=lambda x: f"{x:,.2f}", border=0, escape=True)


def data_notes(report) -> tuple:
    """What the orders load decided that every figure depends on, one line each (the report's header): the
    revenue basis, statuses not recognised, currencies converted (``report``: a clv.ingest LoadReport)."""
    notes = [f"Revenue: {report.amount_basis}."]
    if report.unrecognised_statuses:
        shown = ", ".join(f"{s!r} ({n:,})" for s, n in report.unrecognised_statuses.items())
        notes.append(f"Statuses not recognised, counted as purchases: {shown}.")
    if report.converted:
        notes.append(f"Converted to {report.currency}: " + ", ".join(f"1 {c} = {r:g}" for c, r in report.converted.items())
                     + ".")
    return tuple(notes)


def projection_notes(readiness, intervals: dict | None, clv_total: float, horizon_months: int,
                     currency: str | None = None, model_notes: tuple = ()) -> tuple:
    """How sure the projections are, one line each (the report, after the header): the 80/95 % interval on the
    projected value — or, below the minimum-data rules, why there is none — gaps in trading, and every fallback the
    models took (``intervals``: the pipeline's shop_intervals; ``readiness``: clv.readiness.Readiness)."""
    lines = []
    if readiness is not None and not readiness.ok:
        lines.append(readiness.in_words().split(" What your data")[0])
    elif intervals is not None:
        v = intervals["revenue"].scaled("value", clv_total)
        lines.append(f"How sure: the next {horizon_months} months' projected value is likely between "
                     f"{money(v.low[0.8], currency)} and {money(v.high[0.8], currency)} (80 % interval), almost surely "
                     f"between {money(v.low[0.95], currency)} and {money(v.high[0.95], currency)} (95 %), counting "
                     "customers' own randomness and the model's parameters"
                     + (", widened to the model's miss on your own backtest." if "model" in v.relative_sd else "."))
    if readiness is not None and readiness.gaps:
        lines.append(readiness.gaps_in_words())
    return tuple(lines) + tuple(model_notes)


def build_report(monthly: pd.DataFrame, cohorts: pd.DataFrame, scored: pd.DataFrame, ranked: pd.DataFrame | None,
                 horizon_months: int, margin: float, discount_rate: float, source: str = "",
                 currency: str | None = None, data_notes: tuple = (), how_sure: tuple = (),
                 comparison: pd.DataFrame | None = None, supported: bool = True) -> str:
    """The report as one HTML string, from frames: ``monthly`` and ``cohorts`` as ``Shop.monthly()`` and
    ``Shop.cohorts()`` give them, ``scored`` from clv.scoring, ``ranked`` from clv.tactics.rank_tactics. Figures are
    written as on the pages (clv.formatting), money in ``currency``; ``data_notes``: what the data load decided that
    every figure depends on (the revenue basis, statuses not recognised, currencies converted), one line each;
    ``how_sure``: ``projection_notes``' lines; ``comparison``: the models' and simple rules' backtest table
    (clv.value.ModelComparison.table). ``supported`` False (below the minimum-data rules): the value, churn and
    playbook sections are left out, and ``how_sure`` says why."""
    def m(x) -> str:
        return money(x, currency)
    figs = [charts.revenue_by_month(monthly), charts.cohort_heatmap(cohorts),
            charts.segment_sizes(scored, list(RFM_SEGMENT_RULES["segment"]))]
    if supported:
        figs += [charts.value_by_segment(scored, horizon_months), charts.at_stake_by_segment(scored),
                 charts.tactic_gains(ranked)]
    div = [_standalone(f).to_html(full_html=False, include_plotlyjs=(i == 0)) for i, f in enumerate(figs)]
    orders, revenue = int(scored["orders"].sum()), float(scored["revenue"].sum())
    repeat = scored["orders"] >= 2
    kpis = [("Customers", count(len(scored))), ("Purchases", count(orders)), ("Revenue", m(revenue)),
            ("Average order value", m(revenue / max(orders, 1))), ("Repeat-customer rate", percent(repeat.mean()))]
    if supported:
        kpis.append((f"Projected value, next {horizon_months} months", m(scored["clv"].sum())))
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>Customer report</title><style>{_CSS}</style></head><body>",
        "<h1>Customer value &amp; retention report</h1>",
        f"<p class='note'>{html.escape(source)} — made {dt.date.today():%d %b %Y}. Assumptions: {horizon_months}-month "
        f"horizon, {margin:.0%} gross margin, {discount_rate:.0%} yearly discount rate.</p>",
        *(f"<p class='note'>{html.escape(n)}</p>" for n in data_notes),
        *(f"<p>{html.escape(n)}</p>" for n in how_sure),
        "<h2>Overview</h2>", _kpis(kpis), div[0], div[1],
        "<h2>Who are my customers?</h2>", div[2],
        _table(scored.groupby("rfm_segment").agg(customers=("customer_id", "size"), revenue=("revenue", "sum"),
                                                 **({"projected": ("clv", "sum")} if supported else {})).reset_index(),
               ("revenue", "projected"), currency=currency)]
    if not supported:
        parts += ["<p>Projected value, churn risk and the playbook need projections this history cannot support "
                  "yet (see above).</p>", "</body></html>"]
        return "\n".join(parts)
    at_risk = scored.sort_values("value_at_stake", ascending=False).head(20)
    parts += [
        "<h2>What is each worth?</h2>",
        f"<p>The average customer is expected to buy {scored['expected_purchases'].mean():.1f} more times in the next "
        f"{horizon_months} months, worth {m(scored['clv'].mean())} in margin today.</p>", div[3]]
    if comparison is not None:
        cols = [c for c in ("in words", "predicted repeat orders", "actual repeat orders", "aggregate error",
                            "score (Poisson deviance)", "MAE per customer") if c in comparison]
        parts += ["<p>Would the models have been right? Each was fitted on your history up to a cut-off and "
                  "predicted the orders after it, beside three simple rules (score: mean Poisson deviance per "
                  "customer, lower is better).</p>",
                  _table(comparison[cols].reset_index(drop=True), percent_columns=("aggregate error",))]
    parts += [
        "<h2>Who is slipping away?</h2>",
        f"<p>Value at stake (projected value × churn risk): {m(scored['value_at_stake'].sum())}.</p>", div[4],
        _table(at_risk[["customer_id", "churn_risk", "clv", "value_at_stake", "reason"]], ("clv", "value_at_stake"),
               ("churn_risk",), currency),
        "<h2>What should I do first?</h2>", div[5],
        _table(ranked[["name", "kind", "customers", "value_at_stake", "gross_gain", "cost", "expected_gain"]],
               ("value_at_stake", "gross_gain", "cost", "expected_gain"), currency=currency),
        "<p class='note'>Expected gain per customer: save tactics uplift × churn risk × CLTV; other tactics uplift × "
        "expected order value × margin; minus the cost per contact. Uplifts and costs are assumptions.</p>",
        "</body></html>"]
    return "\n".join(parts)
