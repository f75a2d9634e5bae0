"""Every Plotly figure of the pages and the HTML report, from frames (the models never draw; the pages only place
these figures and write the words around them)."""
from __future__ import annotations

import html

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

__all__ = ["revenue_by_month", "cohort_heatmap", "MIN_COHORT_CUSTOMERS", "segment_sizes", "rf_grid", "cluster_scatter",
           "segment_overlap",
           "value_histogram", "value_by_segment", "backtest_by_frequency", "weekly_orders_with_cutoff",
           "calibration_by_decile", "cumulative_repeat_purchases", "churn_histogram", "at_stake_by_segment",
           "p_alive_grid", "tactic_gains", "campaign_uplifts", "cohort_ltv_curves", "ltv_by_group"]


#: light blue to navy: the lowest value is still visible on a white page (plotly's "Blues" starts at white)
BLUES = [[0.0, "#c6dbef"], [0.5, "#4a8fd0"], [1.0, "#08306b"]]
REDS = [[0.0, "#fcbba1"], [0.5, "#ef3b2c"], [1.0, "#67000d"]]


def as_text(values) -> list[str]:
    """Values from the shop's files (countries, products, codes, ids) as chart labels: plotly renders HTML in labels
    and hover text (an <a href> in a country name became a live link), so < > & are written as entities, which
    plotly shows as the characters themselves."""
    return [html.escape(str(v), quote=False) for v in values]


def revenue_by_month(monthly: pd.DataFrame, period: tuple | None = None, comparison: tuple | None = None) -> go.Figure:
    """Revenue per month; ``period`` and ``comparison`` (start, end) are shaded, the comparison lighter."""
    fig = px.bar(monthly, x="month", y="revenue", hover_data=["orders", "customers", "new_customers"],
                 title="Revenue by month")
    fig.update_layout(xaxis_title="", yaxis_title="revenue")
    for bounds, label, opacity in ((comparison, "compared with", 0.07), (period, "period", 0.15)):
        if bounds:
            fig.add_vrect(x0=pd.Timestamp(bounds[0]) - pd.Timedelta(days=15), x1=pd.Timestamp(bounds[1]),
                          fillcolor="#2f6fdf", opacity=opacity, line_width=0, annotation_text=label,
                          annotation_position="top left")
    return fig


#: a cohort of fewer customers is left blank on the heat map: a share of a handful says little (1 of 4 is "25 %")
MIN_COHORT_CUSTOMERS = 20


def cohort_heatmap(cohorts: pd.DataFrame, max_months: int = 12, max_cohorts: int = 24, through=None) -> go.Figure:
    """Share of each monthly cohort buying again 1..max_months months after their first purchase: the latest
    ``max_cohorts`` cohorts (two years; a long history's older rows would push the chart off the page), said in
    the title when there are more. A month already past (up to ``through``, the data's last month: by default the
    latest month in ``cohorts``) in which nobody bought again is a 0; a month still to come is blank, and so is every
    cell of a cohort of fewer than MIN_COHORT_CUSTOMERS customers (said in the title)."""
    c = cohorts[(cohorts["months_since"] >= 1) & (cohorts["months_since"] <= max_months)]
    index = sorted(cohorts["cohort_month"].unique())  # (a cohort nobody in which bought again is a row of 0s)
    grid = c.pivot_table(index="cohort_month", columns="months_since", values="retention").reindex(index=index)
    month = pd.to_datetime(cohorts["cohort_month"]).dt.to_period("M")
    last = pd.Timestamp(through).to_period("M") if through is not None else (month + cohorts["months_since"]).max()
    elapsed = np.array([(last - m).n for m in pd.to_datetime(pd.Index(index)).to_period("M")], int)
    grid = grid.reindex(columns=range(1, min(max_months, max(1, int(elapsed.max(initial=1)))) + 1))
    grid = grid.mask(grid.isna() & (grid.columns.to_numpy()[None, :] <= elapsed[:, None]), 0.0)
    sizes = cohorts.groupby("cohort_month")["cohort_size"].first().reindex(grid.index)
    small = (sizes < MIN_COHORT_CUSTOMERS).to_numpy()
    grid.loc[small, :] = np.nan
    total = len(grid)
    grid, sizes, small = grid.iloc[-max_cohorts:], sizes.iloc[-max_cohorts:], small[-max_cohorts:]
    grid.index = [f"{pd.Timestamp(m):%b %Y} ({n:,})" for m, n in zip(grid.index, sizes)]
    notes = ([f"the latest {len(grid)} of {total} cohorts"] if total > len(grid) else []) \
        + ([f"cohorts of fewer than {MIN_COHORT_CUSTOMERS} customers left blank"] if small.any() else [])
    fig = px.imshow(grid, color_continuous_scale=BLUES, aspect="auto", text_auto=".0%" if len(grid) <= 12 else False,
                    labels={"x": "months after first purchase", "y": "first purchase in (customers)",
                            "color": "bought again"},
                    title="Monthly cohorts: share who bought again N months later"
                    + (f"<br><sup>{'; '.join(notes)}</sup>" if notes else ""))  # (a second line: not cut off)
    fig.update_layout(height=max(350, 22 * len(grid) + 120))
    fig.update_coloraxes(colorbar_tickformat=".0%")  # 25 %, as every share on the pages, not 0.25
    fig.update_traces(hovertemplate="%{y}<br>%{x} months later: %{z:.0%} bought again<extra></extra>")
    return fig


def segment_sizes(data: pd.DataFrame, order: list[str]) -> go.Figure:
    by = data.groupby("rfm_segment").agg(customers=("customer_id", "size"), revenue=("revenue", "sum"))
    by["revenue_share"] = by["revenue"] / max(by["revenue"].sum(), 1e-9)
    by = by.reindex([s for s in order if s in by.index]).reset_index()
    fig = px.bar(by, x="rfm_segment", y="customers", color="revenue_share", color_continuous_scale=BLUES,
                 range_color=(0, max(float(by["revenue_share"].max()), 1e-9)),
                 labels={"rfm_segment": "", "revenue_share": "share of revenue"},
                 hover_data={"revenue_share": ":.0%", "customers": ":,"},
                 title="Customers per RFM segment (colour: share of revenue)")
    fig.update_coloraxes(colorbar_tickformat=".0%")
    return fig


def rf_grid(data: pd.DataFrame, metric: str) -> go.Figure:
    """Customers (``metric`` "customers") or revenue per recency × frequency score."""
    grid = data.pivot_table(index="r_score", columns="f_score", values="revenue",
                            aggfunc="size" if metric == "customers" else "sum").reindex(index=range(5, 0, -1),
                                                                                        columns=range(1, 6)).fillna(0)
    empty = [f"F{c}" for c in grid.columns if not grid[c].any()]
    grid.index, grid.columns = [f"R{i}" for i in grid.index], [f"F{i}" for i in grid.columns]
    # a frequency score nobody has (many customers share an order count, so a quintile edge falls inside the tie and
    # the score is skipped) is left out of the grid and said, not drawn as a column of zeros
    grid = grid.drop(columns=empty)
    title = f"{metric.capitalize()} by recency and frequency score"
    if empty:
        title += f"<br><sup>{', '.join(empty)} skipped: many customers share an order count</sup>"
    return px.imshow(grid, text_auto=",d" if metric == "customers" else ".3s", color_continuous_scale=BLUES,
                     aspect="auto", labels={"x": "Frequency score", "y": "Recency score", "color": metric},
                     title=title)


def cluster_scatter(plot: pd.DataFrame, order: list[str]) -> go.Figure:
    """Customers by days since the last order and revenue (both log), coloured by cluster (``order``: legend)."""
    plot = plot.assign(customer_id=as_text(plot["customer_id"]))
    fig = px.scatter(plot, x="days_since_last", y="revenue_plot", color="cluster_name", log_x=True, log_y=True,
                     category_orders={"cluster_name": order}, opacity=0.6, hover_data=["customer_id", "orders"],
                     labels={"days_since_last": "days since last order (log)", "revenue_plot": "revenue (log)",
                             "cluster_name": "cluster"}, title="Customers by recency and spend")
    fig.update_xaxes(dtick=1)  # ticks at 1, 10, 100, … only (plotly's default labels 2 and 5 between them too)
    fig.update_yaxes(dtick=1, tickformat=",")
    return fig


def segment_overlap(overlap: pd.DataFrame) -> go.Figure:
    return px.imshow(overlap, text_auto=",d", color_continuous_scale=BLUES, aspect="auto",  # 67,491, not 67.491k
                     title="Overlap: customers in both segments", labels={"color": "customers"})


def _binned(values, bins: int, title: str, x_title: str, value_format: str) -> go.Figure:
    """A histogram counted here, not in the browser: ``bins`` equal-width bars over the values' range. (Plotly's own
    histogram ships every value to the page: a million customers made each redraw of the page seconds slower.)"""
    v = np.asarray(values, float)
    v = v[np.isfinite(v)]
    lo, hi = (float(v.min()), float(v.max())) if len(v) else (0.0, 1.0)
    counts, edges = np.histogram(v, bins=bins, range=(lo, hi if hi > lo else lo + 1.0))
    fig = go.Figure(go.Bar(x=(edges[:-1] + edges[1:]) / 2, y=counts, width=np.diff(edges), marker_line_width=0,
                           customdata=np.column_stack([edges[:-1], edges[1:]]),
                           hovertemplate=f"{x_title}: %{{customdata[0]:{value_format}}} to "
                                         f"%{{customdata[1]:{value_format}}}<br>customers: %{{y:,}}<extra></extra>"))
    fig.update_layout(title=title, bargap=0, xaxis_title=x_title)
    return fig


def value_histogram(data: pd.DataFrame, horizon_months: int) -> go.Figure:
    fig = _binned(data["clv"], 60, f"How projected {horizon_months}-month value is spread",
                  f"projected CLTV ({horizon_months} months)", ",.2f")
    fig.update_yaxes(type="log", dtick=1, title="customers (log scale)")  # ticks at 1, 10, 100, … only
    return fig


def value_by_segment(data: pd.DataFrame, horizon_months: int) -> go.Figure:
    by = data.groupby("rfm_segment").agg(customers=("customer_id", "size"), projected=("clv", "sum"),
                                         average=("clv", "mean")).sort_values("projected", ascending=False)
    return px.bar(by.reset_index(), x="rfm_segment", y="projected", hover_data=["customers", "average"],
                  labels={"rfm_segment": "", "projected": "projected CLTV"},
                  title=f"Projected {horizon_months}-month value by RFM segment")


def backtest_by_frequency(by_frequency: pd.DataFrame) -> go.Figure:
    """Backtest.by_frequency: mean actual (bars) and predicted (line) holdout purchases by calibration frequency."""
    bf = by_frequency.reset_index()
    fig = go.Figure([go.Bar(x=bf.iloc[:, 0], y=bf["actual"], name="actual"),
                     go.Scatter(x=bf.iloc[:, 0], y=bf["predicted"], name="predicted", mode="lines+markers")])
    fig.update_layout(title="Repeat orders after the cut-off, by repeat orders before it",
                      xaxis_title="repeat purchase days before the cut-off", yaxis_title="average repeat orders")
    return fig


def weekly_orders_with_cutoff(weekly: pd.DataFrame, cutoff) -> go.Figure:
    """Orders per whole week (clv/sql/weekly_orders.sql's ``complete``: a week cut by the data's first or last day
    would read as a drop), with the backtest's cut-off; all weeks when none is whole."""
    if "complete" in weekly and weekly["complete"].any():
        weekly = weekly[weekly["complete"].astype(bool)]
    fig = px.line(weekly, x="week", y="orders", title="Orders per week, with the backtest cut-off")
    fig.add_vline(x=pd.Timestamp(cutoff).timestamp() * 1000, line_dash="dash", annotation_text="cut-off")
    return fig


def calibration_by_decile(deciles: dict[str, pd.DataFrame]) -> go.Figure:
    """Per model (name -> Backtest.by_decile): mean predicted vs mean actual holdout purchases in each tenth of
    customers ranked by prediction; points on the dashed diagonal are well calibrated."""
    fig = go.Figure()
    top = 0.0
    for name, d in deciles.items():
        fig.add_scatter(x=d["predicted"], y=d["actual"], mode="lines+markers", name=name,
                        text=[f"decile {i}: {n:,} customers" for i, n in zip(d.index, d["customers"])])
        top = max(top, float(d["predicted"].max()), float(d["actual"].max()))
    fig.add_scatter(x=[0, top], y=[0, top], mode="lines", name="perfect", line={"dash": "dash", "color": "#888"})
    fig.update_layout(title="Predicted vs actual, customers in tenths by prediction",
                      xaxis_title="predicted repeat orders per customer", yaxis_title="actual repeat orders per customer")
    return fig


def cumulative_repeat_purchases(curves: dict[str, pd.DataFrame]) -> go.Figure:
    """Per model (name -> Backtest.cumulative): cumulative predicted repeat purchases after the cut-off, and the
    actual curve (the same for every model) in black."""
    fig = go.Figure()
    first = next(iter(curves.values()))
    fig.add_scatter(x=first["day"], y=first["actual"], mode="lines", name="actual", line={"color": "black", "width": 3})
    for name, c in curves.items():
        fig.add_scatter(x=c["day"], y=c["predicted"], mode="lines", name=name, line={"dash": "dot"})
    fig.update_layout(title="Repeat orders after the cut-off, added up",
                      xaxis_title="days after the cut-off", yaxis_title="repeat orders (cumulative)")
    return fig


def churn_histogram(data: pd.DataFrame) -> go.Figure:
    fig = _binned(data["churn_risk"], 40, "How churn risk is spread", "churn risk", ".0%")
    fig.update_yaxes(title="customers")
    fig.update_xaxes(tickformat=".0%")
    return fig


def at_stake_by_segment(data: pd.DataFrame) -> go.Figure:
    by = data.groupby("rfm_segment").agg(value_at_stake=("value_at_stake", "sum"), customers=("customer_id", "size"),
                                         churn_risk=("churn_risk", "mean"))
    by = by.sort_values("value_at_stake", ascending=False).reset_index()
    fig = px.bar(by, x="rfm_segment", y="value_at_stake", color="churn_risk", color_continuous_scale=REDS,
                 range_color=(0, 1), hover_data={"customers": ":,", "churn_risk": ":.0%"},
                 labels={"rfm_segment": "", "value_at_stake": "value at stake", "churn_risk": "mean risk"},
                 title="Value at stake (CLTV × churn risk) by RFM segment")
    fig.update_coloraxes(colorbar_tickformat=".0%")
    return fig


def p_alive_grid(purchases, age_days: float = 365.0) -> go.Figure:
    """A fitted purchase model's P(alive) over repeat purchase days 0..20 and recency 0..age, at age ``age_days``."""
    freq = np.arange(0, 21)
    rec = np.linspace(0, age_days, 53)
    F, R = np.meshgrid(freq, rec, indexing="ij")
    P = purchases.probability_alive(F, np.where(F > 0, R, 0), age_days)
    fig = px.imshow(P, x=rec.round(), y=freq, origin="lower", color_continuous_scale="RdYlGn", zmin=0, zmax=1,
                    aspect="auto", labels={"x": "days between first and last purchase (recency)",
                                           "y": "repeat purchase days", "color": "chance active"},
                    title=f"Chance still active, first bought {age_days:.0f} days ago ({purchases.label})")
    fig.update_coloraxes(colorbar_tickformat=".0%")
    fig.update_traces(hovertemplate="%{y} repeat purchase days, last one %{x:.0f} days after the first: "
                                    "%{z:.0%} chance still active<extra></extra>")
    return fig


def tactic_gains(ranked: pd.DataFrame) -> go.Figure:
    r = ranked.sort_values("expected_gain")
    fig = px.bar(r, x="expected_gain", y="name", orientation="h", color="kind",
                 hover_data=["customers", "cost", "roi"], title="Expected net gain by tactic",
                 labels={"expected_gain": "expected net gain (after contact costs)", "name": ""})
    fig.update_layout(height=120 + 34 * len(r))
    fig.update_yaxes(categoryorder="array", categoryarray=list(r["name"]))  # best at the top, whatever the colour
    return fig


def campaign_uplifts(results: pd.DataFrame) -> go.Figure:
    """Measured conversion uplift per campaign (clv.campaigns.measure results) with its 95 % interval; the zero
    line is "no effect": an interval crossing it cannot tell the campaign from chance."""
    r = results.dropna(subset=["uplift"]).sort_values("uplift")
    colour = np.where(r["uplift_low"] > 0, "#1a7f37", np.where(r["uplift_high"] < 0, "#cf222e", "#6e7781"))
    fig = go.Figure(go.Scatter(
        x=100 * r["uplift"], y=as_text(r["campaign_id"]), mode="markers", marker={"size": 11, "color": colour},
        error_x={"type": "data", "symmetric": False, "array": 100 * (r["uplift_high"] - r["uplift"]),
                 "arrayminus": 100 * (r["uplift"] - r["uplift_low"]), "color": "#57606a"},
        hovertemplate="%{y}: %{x:.1f} points<extra></extra>"))
    fig.add_vline(x=0, line_dash="dash", line_color="#888")
    fig.update_layout(title="Extra buyers per 100 customers contacted (95 % interval)",
                      xaxis_title="treatment − control buying rate, percentage points", yaxis_title="",
                      height=160 + 40 * len(r), showlegend=False)
    return fig


def cohort_ltv_curves(curves: pd.DataFrame, value: str = "revenue", max_cohorts: int = 12) -> go.Figure:
    """Cumulative revenue (or margin) per customer by months since the first order, one line per acquisition cohort
    (the latest ``max_cohorts``; months not yet over are left out, so a young cohort's line is short)."""
    col = f"cumulative_{value}_per_customer"
    c = curves[curves["complete"]]
    keep = sorted(c["cohort"].unique())[-max_cohorts:]
    c = c[c["cohort"].isin(keep)].sort_values(["cohort", "months_since_first"])
    c = c.assign(first_bought=[f"{pd.Timestamp(m):%b %Y} ({n:,})" for m, n in zip(c["cohort"], c["customers"])])
    fig = px.line(c, x="months_since_first", y=col, color="first_bought", markers=True,
                  color_discrete_sequence=px.colors.sequential.Viridis_r[1:] + px.colors.qualitative.Dark24,
                  labels={"months_since_first": "months since first order", col: f"{value} per customer so far",
                          "first_bought": "first order in (customers)"},
                  title=f"Cumulative {value} per customer, by month of first order")
    fig.update_layout(legend_title_text="first order in (customers)")
    fig.update_xaxes(dtick=1)  # whole months: no "0.5 months" tick on a young shop
    return fig


def ltv_by_group(groups: pd.DataFrame, label: str) -> go.Figure:
    """Historic revenue per customer per group with its 95 % interval; small groups drawn pale."""
    g = groups.sort_values("revenue_per_customer")
    colour = np.where(g["small"], "#9db7e6", "#2f6fdf")
    fig = go.Figure(go.Bar(
        x=g["revenue_per_customer"], y=as_text(g["group"]), orientation="h", marker_color=colour,
        error_x=dict(type="data", symmetric=False, array=(g["revenue_ci_high"] - g["revenue_per_customer"]).fillna(0),
                     arrayminus=(g["revenue_per_customer"] - g["revenue_ci_low"]).fillna(0), color="#1c2333"),
        customdata=np.stack([g["customers"], g["repeat_rate"]], axis=1),
        hovertemplate="%{y}<br>revenue per customer %{x:,.2f}<br>customers %{customdata[0]:,}"
                      "<br>bought again %{customdata[1]:.0%}<extra></extra>"))
    fig.update_layout(title=f"Revenue per customer by {label} (bars: 95 % interval; pale: fewer than 30 customers)",
                      xaxis_title="revenue per customer so far", yaxis_title="", height=max(320, 28 * len(g) + 140),
                      yaxis=dict(automargin=True))
    return fig
