"""Plotly figures shared by the pages and the HTML report (the models never draw)."""
from __future__ import annotations

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

__all__ = ["revenue_by_month", "cohort_heatmap", "segment_sizes", "value_by_segment", "at_stake_by_segment",
           "tactic_gains"]


def revenue_by_month(monthly: pd.DataFrame) -> go.Figure:
    fig = px.bar(monthly, x="month", y="revenue", hover_data=["orders", "customers", "new_customers"],
                 title="Revenue by month")
    fig.update_layout(xaxis_title="", yaxis_title="revenue")
    return fig


def cohort_heatmap(cohorts: pd.DataFrame, max_months: int = 12) -> go.Figure:
    """Share of each monthly cohort buying again 1..max_months months after their first purchase."""
    c = cohorts[(cohorts["months_since"] >= 1) & (cohorts["months_since"] <= max_months)]
    grid = c.pivot_table(index="cohort_month", columns="months_since", values="retention").sort_index()
    grid.index = [f"{pd.Timestamp(m):%b %Y} ({n:,})" for m, n in
                  zip(grid.index, cohorts.groupby("cohort_month")["cohort_size"].first().reindex(grid.index))]
    fig = px.imshow(grid, color_continuous_scale="Blues", aspect="auto", text_auto=".0%" if len(grid) <= 12 else False,
                    labels={"x": "months after first purchase", "y": "first purchase in (customers)",
                            "color": "bought again"},
                    title="Monthly cohorts: share who bought again N months later")
    fig.update_layout(height=max(350, 22 * len(grid) + 120))
    return fig


def segment_sizes(data: pd.DataFrame, order: list[str]) -> go.Figure:
    by = data.groupby("rfm_segment").agg(customers=("customer_id", "size"), revenue=("revenue", "sum"))
    by["revenue_share"] = by["revenue"] / max(by["revenue"].sum(), 1e-9)
    by = by.reindex([s for s in order if s in by.index]).reset_index()
    return px.bar(by, x="rfm_segment", y="customers", color="revenue_share", color_continuous_scale="Blues",
                  labels={"rfm_segment": "", "revenue_share": "share of revenue"},
                  title="Customers per RFM segment (colour: share of revenue)")


def value_by_segment(data: pd.DataFrame, horizon_months: int) -> go.Figure:
    by = data.groupby("rfm_segment")["clv"].sum().sort_values(ascending=False).reset_index()
    return px.bar(by, x="rfm_segment", y="clv", labels={"rfm_segment": "", "clv": "projected CLTV"},
                  title=f"Projected {horizon_months}-month value by RFM segment")


def at_stake_by_segment(data: pd.DataFrame) -> go.Figure:
    by = data.groupby("rfm_segment").agg(value_at_stake=("value_at_stake", "sum"), churn_risk=("churn_risk", "mean"))
    by = by.sort_values("value_at_stake", ascending=False).reset_index()
    return px.bar(by, x="rfm_segment", y="value_at_stake", color="churn_risk", color_continuous_scale="Reds",
                  labels={"rfm_segment": "", "value_at_stake": "value at stake", "churn_risk": "mean risk"},
                  title="Value at stake (CLTV × churn risk) by RFM segment")


def tactic_gains(ranked: pd.DataFrame) -> go.Figure:
    r = ranked.sort_values("expected_gain")
    fig = px.bar(r, x="expected_gain", y="name", orientation="h", color="kind",
                 hover_data=["customers", "cost", "roi"], title="Expected net gain by tactic",
                 labels={"expected_gain": "expected net gain (after contact costs)", "name": ""})
    fig.update_layout(height=120 + 34 * len(r))
    fig.update_yaxes(categoryorder="array", categoryarray=list(r["name"]))  # best at the top, whatever the colour
    return fig
