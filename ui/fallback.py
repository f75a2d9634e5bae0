"""What a page shows when the data cannot support a projection (clv.readiness): the reason in words, and what the
data does support — value so far, how customers come back, each customer's usual rhythm. Never a model's parameters
in an error box."""
from __future__ import annotations

import streamlit as st

from clv import charts
from clv.readiness import MAX_PARAMETER_SD, MIN_HISTORY_DAYS, MIN_REPEAT_CUSTOMERS, habits
from ui.common import count, download_csv, money, money_column, pct, plain


def rules_in_words(ready) -> str:
    text = (f"Projections are shown when at least about {MIN_REPEAT_CUSTOMERS} customers bought more than once, the "
            f"history covers at least {MIN_HISTORY_DAYS} days and twice the customers' usual gap between orders, the "
            f"purchase model can be fitted, and the projected total's own uncertainty from the model's parameters is "
            f"under {MAX_PARAMETER_SD:.0%}. These limits come from simulated shops (bench/min_data.py): below them a "
            "projection was off by more than a third in one shop out of ten or more. This shop: "
            f"{count(ready.customers)} customers, {count(ready.repeat_customers)} bought more than once, "
            f"{ready.history_days} days of history"
            + (f", usual gap between orders {ready.typical_gap_days:,.0f} days" if ready.typical_gap_days else "")
            + (f", uncertainty {ready.parameter_sd:.0%}" if ready.parameter_sd is not None else "") + ".")
    if ready.model_problem:
        text += f" The purchase model said: {plain(ready.model_problem)}"
    return text


def show_gaps(ready) -> None:
    if ready.gaps:
        st.warning(ready.gaps_in_words(), icon=":material/event_busy:")


def show(ready, customers, margin: float, cohorts, key: str) -> None:
    """The fallback: the reason, then what the data supports. ``key`` keeps each page's download apart."""
    st.info(ready.in_words(), icon=":material/info:")
    show_gaps(ready)
    repeat = customers["orders"] >= 2
    c = st.columns(3)
    c[0].metric("Average value so far (margin)", money(customers["revenue"].mean() * margin))
    c[1].metric("Customers who came back", pct(repeat.mean()))
    if ready.typical_gap_days:
        c[2].metric("Usual days between orders", f"{ready.typical_gap_days:,.0f}")
    st.caption(f"Value so far is the margin ({margin:.0%}) on what customers already spent, net of refunds. "
               "The usual gap is the median repeat customer's average days between orders.")
    if cohorts is not None and len(cohorts):
        st.plotly_chart(charts.cohort_heatmap(cohorts), width="stretch")
        st.caption("Each row is the customers who first bought in that month; each cell, the share who bought again "
                   "that many months later.")
    h = habits(customers).sort_values(["silence_in_usual_gaps", "revenue"], ascending=[False, False],
                                      na_position="last")
    overdue = h[h["silence_in_usual_gaps"] >= 2]
    st.markdown(f"**Customers silent for more than twice their usual gap**: {count(len(overdue))} of "
                f"{count(repeat.sum())} repeat customers.")
    st.dataframe(overdue.head(200), hide_index=True, width="stretch",
                 column_config={"customer_id": st.column_config.Column("customer"), "revenue": money_column(),
                                "usual_days_between_orders": st.column_config.Column("usually buys every … days"),
                                "days_since_last_order": st.column_config.Column("days since the last order"),
                                "silence_in_usual_gaps": st.column_config.Column("silence ÷ usual gap")})
    download_csv(h, "customer_habits.csv", "Download every customer's rhythm (CSV)", key=f"habits-{key}")
    with st.expander("How this is computed"):
        st.caption(rules_in_words(ready))
