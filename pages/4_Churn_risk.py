"""Who is slipping away? Churn risk per customer and the value at stake."""
import streamlit as st

from clv import charts
from clv.models import ModelError
from ui.common import count, download_csv, money, page_setup, plain
from ui import fallback
from ui.model import churn_model, customers_table, readiness, scored, value_model

settings = page_setup("Churn risk")
st.title("Who is slipping away?")
W = settings.churn_window_days
ready = readiness(settings)
if not ready.ok:
    st.caption("Churn risk comes from the purchase model, which this history cannot support yet; the customers "
               "silent for longer than their own rhythm are the ones to watch meanwhile.")
    fallback.show(ready, customers_table(settings), settings.margin, None, "churn")
    st.stop()
try:
    data = scored(settings)
    vm = value_model(settings)
except ModelError as exc:
    st.error(plain(str(exc)), icon="⚠️")
    st.stop()
choice = churn_model(settings)
cm = choice.model
if cm is not None:
    st.info(cm.why)
else:
    st.info("Churn risk is the purchase model's chance of no purchase in the window, from each customer's purchase "
            f"history. The model that also reads interactions was not used: {plain(choice.error)}")

high = data["churn_risk"] >= 0.5
c = st.columns(4)
c[0].metric(f"Likely not to buy in {W} days", count(high.sum()))
c[1].metric("Value at stake", money(data["value_at_stake"].sum()))
c[2].metric("Value at stake, high-risk", money(data.loc[high, "value_at_stake"].sum()))
c[3].metric("Average churn risk", f"{data['churn_risk'].mean():.0%}")
st.caption(f"Churn risk is the chance a customer makes **no purchase in the next {W} days**"
           f"{' (from the churn model)' if data['churn_source'].iloc[0] == 'churn model' else ' (from the purchase history)'}. "
           f"Value at stake = projected {settings.horizon_months}-month value × churn risk: what slipping customers "
           f"would take with them. Over the last {W} days {cm.eval_churn_rate if cm else data['churn_risk'].mean():.0%} "
           f"of customers did not buy — normal when customers buy a few times a year — so the list below ranks by "
           "value at stake, not by risk alone.")

c1, c2 = st.columns(2)
c1.plotly_chart(charts.churn_histogram(data), width="stretch")
by_seg = data.groupby("rfm_segment").agg(value_at_stake=("value_at_stake", "sum"), customers=("customer_id", "size"),
                                         churn_risk=("churn_risk", "mean")).sort_values("value_at_stake", ascending=False)
c2.plotly_chart(charts.at_stake_by_segment(data), width="stretch")
c2.caption(f"Most value at stake sits with **{by_seg.index[0]}** ({money(by_seg['value_at_stake'].iloc[0])}).")

st.subheader("At-risk customers worth saving")
ranked = data[data["churn_risk"] >= 0.3].sort_values("value_at_stake", ascending=False)
cols = ["customer_id", "email", "churn_risk", "clv", "value_at_stake", "orders", "revenue", "last_order",
        "rfm_segment", "reason"]
if data["email"].isna().all():  # ids are not e-mails: no empty column of "None"
    cols.remove("email")
if len(ranked):
    r0 = ranked.iloc[0]
    st.caption(f"Top of the list: {plain(r0['customer_id'])} — {plain(r0['reason'])}; {r0['churn_risk']:.0%} risk, "
               f"{money(r0['value_at_stake'])} at stake.")
st.dataframe(ranked[cols].head(500).style.format({"churn_risk": "{:.0%}", "clv": money, "value_at_stake": money,
                                                  "revenue": money}), hide_index=True, height=360, width="stretch")
download_csv(ranked[cols], "customers_at_risk.csv", f"Download all {count(len(ranked))} at-risk customers (CSV)")

c1, c2 = st.columns(2)
c1.plotly_chart(charts.p_alive_grid(vm.purchases, 365.0), width="stretch")
c1.caption("Frequent buyers who have been silent (top-left) are the most likely to be gone; "
           + ("a customer who bought once is assumed active until a repeat purchase shows their rhythm (BG/NBD)."
              if vm.purchases.label == "BG/NBD" else
              f"with {vm.purchases.label}, a customer who bought once may be gone too (bottom row)."))
if cm is not None:
    c2.caption(("What the churn model looks at most" if cm.chosen == "model" else
                "What the model that reads interactions (not used here: see above) looked at most")
               + ", from the most telling down: "
               + ", ".join(plain(str(f).replace("_", " ")) for f in cm.drivers["feature"].head(5)) + ".")
    with c2.expander("How this is computed"):
        st.caption(f"Importance = how much worse the model ranks who left (drop in ROC AUC) when that feature's "
                   f"values are shuffled; trained at {cm.train_cutoff:%d %b %Y}, tested at {cm.eval_cutoff:%d %b %Y} "
                   f"on {count(cm.eval_customers)} customers.")
        st.dataframe(cm.drivers.head(10).style.format({"importance": "{:.3f}"}), hide_index=True, width="stretch")
