"""Who are my customers? RFM segments, clusters and behavioural segments."""
import pandas as pd
import streamlit as st

from clv import charts
from clv.segments import (BEHAVIOURAL_SEGMENTS, RECENT_NAME_SHARE, RFM_SEGMENT_RULES, days_since_last, describe_rules,
                          segment_overlap)
from ui.common import count, download_csv, money, money_column, page_setup
from clv.pipeline import segment_params
from ui.model import customers_table, segments_table, clusters

settings = page_setup("Segments")
st.title("Who are my customers?")

cust = customers_table(settings)
seg = segments_table(settings)
cl = clusters(settings)
data = cust.join(seg.drop(columns=["customer_id"]))
total_rev = max(cust["revenue"].sum(), 1e-9)

# --- RFM segments ---------------------------------------------------------------------------------------
st.subheader("RFM segments")
st.caption("Every customer gets three scores from 1 (low) to 5 (high): **R**ecency — how recently they bought, "
           "**F**requency — how many orders, **M**onetary — how much they spent "
           f"({'quintiles of your own customers' if settings.rfm_method == 'quantiles' else 'your cut-offs in the sidebar'}). "
           "The scores place each customer in exactly one named segment.")
by_seg = data.groupby("rfm_segment").agg(customers=("customer_id", "size"), revenue=("revenue", "sum"))
by_seg["revenue_share"] = by_seg["revenue"] / total_rev
by_seg = by_seg.reindex([s for s in RFM_SEGMENT_RULES["segment"] if s in by_seg.index])
c1, c2 = st.columns([3, 2])
c1.plotly_chart(charts.segment_sizes(data, list(RFM_SEGMENT_RULES["segment"])), width="stretch")
top = by_seg["revenue_share"].idxmax()
c1.caption(f"**{top}** bring in {by_seg.loc[top, 'revenue_share']:.0%} of revenue with "
           f"{by_seg.loc[top, 'customers'] / len(cust):.0%} of customers.")
metric = c2.radio("Colour the R × F grid by", ["customers", "revenue"], horizontal=True, key="grid_metric")
c2.plotly_chart(charts.rf_grid(data, metric), width="stretch")
c2.caption("Top-right: recent and frequent. Bottom-right: used to buy often, now silent — worth a call.")
with st.expander("What each segment means"):
    def _span(lo, hi):
        return f"{lo}" if lo == hi else f"{lo} to {hi}"
    st.dataframe(pd.DataFrame({
        "segment": RFM_SEGMENT_RULES["segment"], "what it means": RFM_SEGMENT_RULES["meaning"],
        "recency score (R)": [_span(a, b) for a, b in zip(RFM_SEGMENT_RULES["r_min"], RFM_SEGMENT_RULES["r_max"])],
        "frequency and spend score (mean of F and M)": [
            _span(a, b) for a, b in zip(RFM_SEGMENT_RULES["fm_min"], RFM_SEGMENT_RULES["fm_max"])]}),
        hide_index=True, width="stretch")

# --- clusters ---------------------------------------------------------------------------------------------
st.subheader("Clusters")
if cl.auto_k:
    how = f"{cl.k} groups, the number (from 2 to 8) whose groups are most clearly apart"
elif settings.k is None:
    how = f"{cl.k} group{'s' if cl.k > 1 else ''} only: the customers' recency, frequency and spend are too alike to split"
else:
    how = f"{cl.k} groups, as set in the sidebar"
st.caption(f"Customers who look alike in how recently, how often and how much they buy"
           f"{' and in how they behave (discounts, carts, e-mail, support)' if settings.cluster_features != 'rfm' else ''}"
           f" are put together: {how}. Clusters are numbered by value: 0 has the highest average revenue.",
           help="KMeans on log-scaled recency, frequency and spend (standardised); with automatic k, the k with the "
                "best silhouette score among 2–8.")
plot = data.assign(days_since_last=days_since_last(cust).clip(lower=1), revenue_plot=cust["revenue"].clip(lower=1))
if len(plot) > 5000:
    plot = plot.sample(5000, random_state=0)
order = [cl.names[i] for i in sorted(cl.names)]
c1, c2 = st.columns([3, 2])
c1.plotly_chart(charts.cluster_scatter(plot, order), width="stretch")
prof = cl.profile.copy()
within = cl.recent_within
headers = {"name": "name", "customers": "customers", "revenue_share": "share of revenue",
           "mean_days_since_last": "days since last order (mean)",
           "recent_share": f"bought in the last {within:,.0f} days", "mean_orders": "orders each",
           "mean_revenue": "revenue each", "aov": "average order"}
shown = prof.rename(columns=headers).rename_axis("cluster")
c2.dataframe(shown.style.format({"customers": "{:,}", "share of revenue": "{:.0%}",
                                 "days since last order (mean)": "{:,.0f}", headers["recent_share"]: "{:.0%}",
                                 "orders each": "{:.1f}", "revenue each": money, "average order": money}),
             width="stretch")
c2.caption(f"Cluster 0, *{cl.names[0]}*: {prof.loc[0, 'customers']:,} customers, "
           f"{prof.loc[0, 'revenue_share']:.0%} of revenue, about {prof.loc[0, 'mean_orders']:.1f} orders each. "
           f"Half of all customers bought in the last {within:,.0f} days: a cluster is called *recent* when at least "
           f"{RECENT_NAME_SHARE:.0%} of its customers did, *lapsed* when at most {1 - RECENT_NAME_SHARE:.0%} did, "
           "*steady* otherwise.")
download_csv(shown.reset_index(), "cluster_profiles.csv", "Download cluster profiles")

# --- behavioural segments --------------------------------------------------------------------------------
st.subheader("Behavioural segments")
rules = describe_rules(segment_params(settings))
flags = seg[list(rules)]
names = {key: BEHAVIOURAL_SEGMENTS[key].label for key in rules}  # "Big spenders", never big_spender
# the figures before the rule: in a half-width column the rule's words would push them out of sight
sizes = pd.DataFrame({"segment": [names[k] for k in rules], "customers": flags.sum().to_numpy(),
                      "share of revenue": [cust.loc[flags[c] == 1, "revenue"].sum() / total_rev for c in rules],
                      "rule": [r.split(": ", 1)[-1] for r in rules.values()]})
c1, c2 = st.columns(2)
c1.dataframe(sizes.style.format({"customers": "{:,}", "share of revenue": "{:.0%}"}), hide_index=True,
             width="stretch")
c1.caption("A customer can be in several behavioural segments. Thresholds are in the sidebar.")
overlap = segment_overlap(flags).rename(index=names, columns=names)
c2.plotly_chart(charts.segment_overlap(overlap), width="stretch")

# --- the customer list -------------------------------------------------------------------------------------
st.subheader("Find customers")
choices = (["everyone"] + [f"RFM: {s}" for s in by_seg.index] + [f"Cluster: {cl.names[i]}" for i in sorted(cl.names)]
           + [f"Segment: {names[c]}" for c in rules])
pick = st.selectbox("Show", choices, key="segment_filter")
if pick.startswith("RFM: "):
    rows = data[data["rfm_segment"] == pick[5:]]
elif pick.startswith("Cluster: "):
    rows = data[data["cluster_name"] == pick[9:]]
elif pick.startswith("Segment: "):
    rows = data[data[next(k for k, v in names.items() if v == pick[9:])] == 1]
else:
    rows = data
st.caption(f"{count(len(rows))} customers, {rows['revenue'].sum() / total_rev:.0%} of revenue.")
show = ["customer_id", "orders", "revenue", "aov", "last_order", "r_score", "f_score", "m_score", "rfm_segment",
        "cluster_name", *rules]
st.dataframe(rows[show].sort_values("revenue", ascending=False), hide_index=True, height=360, width="stretch",
             column_config={"customer_id": "customer", "revenue": money_column(), "aov": money_column("average order"),
                            "last_order": st.column_config.DatetimeColumn("last order", format="D MMM YYYY"),
                            "r_score": "R", "f_score": "F", "m_score": "M", "rfm_segment": "RFM segment",
                            "cluster_name": "cluster",
                            **{k: st.column_config.CheckboxColumn(names[k]) for k in rules}})
download_csv(rows[show].rename(columns=names), "customers_selection.csv", "Download this selection (CSV)")
