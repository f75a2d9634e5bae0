"""Who are my customers? RFM segments, clusters and behavioural segments."""
import pandas as pd
import plotly.express as px
import streamlit as st

from clv.segments import RFM_SEGMENT_RULES, days_since_last, describe_rules
from ui.common import count, download_csv, page_setup
from ui.model import customers_table, segments_table, segment_params, clusters

settings = page_setup("Segments")
st.title("Who are my customers?")

cust = customers_table()
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
fig = px.bar(by_seg.reset_index(), x="rfm_segment", y="customers", color="revenue_share",
             color_continuous_scale="Blues", labels={"rfm_segment": "", "revenue_share": "share of revenue"},
             title="Customers per segment (colour: share of revenue)")
c1.plotly_chart(fig, width="stretch")
top = by_seg["revenue_share"].idxmax()
c1.caption(f"**{top}** bring in {by_seg.loc[top, 'revenue_share']:.0%} of revenue with "
           f"{by_seg.loc[top, 'customers'] / len(cust):.0%} of customers.")
metric = c2.radio("Colour the R × F grid by", ["customers", "revenue"], horizontal=True, key="grid_metric")
grid = data.pivot_table(index="r_score", columns="f_score", values="revenue",
                        aggfunc="size" if metric == "customers" else "sum").reindex(index=range(5, 0, -1),
                                                                                    columns=range(1, 6)).fillna(0)
grid.index, grid.columns = [f"R{i}" for i in grid.index], [f"F{i}" for i in grid.columns]
fig = px.imshow(grid, text_auto=True if metric == "customers" else ".3s", color_continuous_scale="Blues", aspect="auto",
                labels={"x": "Frequency score", "y": "Recency score", "color": metric},
                title=f"{metric.capitalize()} by recency and frequency score")
c2.plotly_chart(fig, width="stretch")
c2.caption("Top-right: recent and frequent. Bottom-right: used to buy often, now silent — worth a call.")
with st.expander("What each segment means"):
    st.dataframe(RFM_SEGMENT_RULES, hide_index=True, width="stretch")

# --- clusters ---------------------------------------------------------------------------------------------
st.subheader("Clusters")
if cl.auto_k:
    how = f"k = {cl.k} chosen automatically (best silhouette among 2–8)"
elif settings.k is None:
    how = f"{cl.k} group{'s' if cl.k > 1 else ''} only: the customers' recency, frequency and spend are too alike to split"
else:
    how = f"k = {cl.k} as set in the sidebar"
st.caption(f"KMeans groups customers with similar log-scaled recency, frequency and spend"
           f"{' plus behaviour' if settings.cluster_features != 'rfm' else ''}; {how}. "
           "Clusters are numbered by value: 0 has the highest average revenue.")
plot = data.assign(days_since_last=days_since_last(cust).clip(lower=1), revenue_plot=cust["revenue"].clip(lower=1))
if len(plot) > 5000:
    plot = plot.sample(5000, random_state=0)
order = [cl.names[i] for i in sorted(cl.names)]
fig = px.scatter(plot, x="days_since_last", y="revenue_plot", color="cluster_name", log_x=True, log_y=True,
                 category_orders={"cluster_name": order}, opacity=0.6, hover_data=["customer_id", "orders"],
                 labels={"days_since_last": "days since last order (log)", "revenue_plot": "revenue (log)",
                         "cluster_name": "cluster"}, title="Customers by recency and spend")
c1, c2 = st.columns([3, 2])
c1.plotly_chart(fig, width="stretch")
prof = cl.profile.copy()
c2.dataframe(prof.style.format({"revenue_share": "{:.0%}", "mean_days_since_last": "{:.0f}", "mean_orders": "{:.1f}",
                                "mean_revenue": "{:,.0f}", "aov": "{:,.0f}"}), width="stretch")
c2.caption(f"Cluster 0, *{cl.names[0]}*: {prof.loc[0, 'customers']:,} customers, "
           f"{prof.loc[0, 'revenue_share']:.0%} of revenue, about {prof.loc[0, 'mean_orders']:.1f} orders each.")
download_csv(prof.reset_index(), "cluster_profiles.csv", "Download cluster profiles")

# --- behavioural segments --------------------------------------------------------------------------------
st.subheader("Behavioural segments")
rules = describe_rules(segment_params(settings))
flags = seg[list(rules)]
sizes = pd.DataFrame({"segment": list(rules), "rule": list(rules.values()), "customers": flags.sum().to_numpy(),
                      "revenue_share": [cust.loc[flags[c] == 1, "revenue"].sum() / total_rev for c in rules]})
c1, c2 = st.columns(2)
c1.dataframe(sizes.style.format({"revenue_share": "{:.0%}"}), hide_index=True, width="stretch")
c1.caption("A customer can be in several behavioural segments. Thresholds are in the sidebar.")
overlap = flags.T.dot(flags)
fig = px.imshow(overlap, text_auto=True, color_continuous_scale="Blues", aspect="auto",
                title="Overlap: customers in both segments")
c2.plotly_chart(fig, width="stretch")

# --- the customer list -------------------------------------------------------------------------------------
st.subheader("Find customers")
choices = (["everyone"] + [f"RFM: {s}" for s in by_seg.index] + [f"Cluster: {cl.names[i]}" for i in sorted(cl.names)]
           + [f"Segment: {c}" for c in rules])
pick = st.selectbox("Show", choices, key="segment_filter")
if pick.startswith("RFM: "):
    rows = data[data["rfm_segment"] == pick[5:]]
elif pick.startswith("Cluster: "):
    rows = data[data["cluster_name"] == pick[9:]]
elif pick.startswith("Segment: "):
    rows = data[data[pick[9:]] == 1]
else:
    rows = data
st.caption(f"{count(len(rows))} customers, {rows['revenue'].sum() / total_rev:.0%} of revenue.")
show = ["customer_id", "orders", "revenue", "aov", "last_order", "r_score", "f_score", "m_score", "rfm_segment",
        "cluster_name", *rules]
st.dataframe(rows[show].sort_values("revenue", ascending=False), hide_index=True, height=360, width="stretch")
download_csv(rows[show], "customers_selection.csv", "Download this selection (CSV)")
