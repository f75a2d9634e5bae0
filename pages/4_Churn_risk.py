"""Who is slipping away? Churn risk per customer and the value at stake."""
import streamlit as st

from clv import charts
from clv.models import ModelError
from ui.common import count, download_csv, money, page_setup, plain
from ui import fallback
from clv.churn import risk_bands, worth_saving
from ui.model import catalogue_in_use, churn_bands, churn_model, customers_table, readiness, scored, value_model

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

data = data.assign(risk_band=risk_bands(data["churn_risk"]))
save = catalogue_in_use().set_index("tactic").loc["winback"]
worth = worth_saving(data, save["uplift"], save["cost_per_customer"])  # the digest's figure too
c = st.columns(3)
c[0].metric("Customers worth saving", count(len(worth)))
c[1].metric("Their value at stake", money(worth["value_at_stake"].sum()))
c[2].metric("Value at stake, all customers", money(data["value_at_stake"].sum()))
st.caption(f"**{count(len(worth))} customers are worth a win-back message**: they are in the medium or high risk "
           "band below, and for each a message that keeps "
           f"{save['uplift']:.0%} of those who would leave (the playbook's assumption) saves more margin than its "
           f"{money(save['cost_per_customer'])} cost. Together they hold {money(worth['value_at_stake'].sum())} of "
           f"value at stake. Value at stake = projected {settings.horizon_months}-month value × churn risk, the chance "
           f"of **no purchase in the next {W} days**"
           f"{' (from the churn model)' if data['churn_source'].iloc[0] == 'churn model' else ' (from the purchase history)'}"
           ". Many customers of a shop go 90 days without buying and come back: the list ranks by what is at stake, "
           "not by risk alone.")

bands = churn_bands(settings)
now = data.groupby("risk_band", observed=False).agg(customers=("customer_id", "size"),
                                                    risk_from=("churn_risk", "min"), risk_to=("churn_risk", "max"),
                                                    value_at_stake=("value_at_stake", "sum"))
if bands is not None:
    now["checked: model said no purchase"] = bands["predicted"].to_numpy()
    now["checked: really did not buy"] = bands["did_not_buy"].to_numpy()
st.markdown("**Risk bands**: your customers in three equal groups by churn risk.")
st.dataframe(now.reset_index().style.format({"customers": "{:,}", "risk_from": "{:.0%}", "risk_to": "{:.0%}",
                                             "value_at_stake": money, "checked: model said no purchase": "{:.0%}",
                                             "checked: really did not buy": "{:.0%}"}),
             hide_index=True, width="stretch",
             column_config={"risk_band": "risk band", "risk_from": "churn risk from", "risk_to": "to",
                            "value_at_stake": "value at stake"})
st.caption("Checked on your own history: the model fitted up to the backtest's cut-off put customers into the same "
           f"three bands, and the last column is the share of each band that really bought nothing in the next {W} "
           "days." if bands is not None else
           f"The bands could not be checked on your history: it needs {W} days of orders after the backtest's cut-off.")
c1, c2 = st.columns(2)
c1.plotly_chart(charts.churn_histogram(data), width="stretch")
by_seg = data.groupby("rfm_segment").agg(value_at_stake=("value_at_stake", "sum"), customers=("customer_id", "size"),
                                         churn_risk=("churn_risk", "mean")).sort_values("value_at_stake", ascending=False)
c2.plotly_chart(charts.at_stake_by_segment(data), width="stretch")
c2.caption(f"Most value at stake sits with **{by_seg.index[0]}** ({money(by_seg['value_at_stake'].iloc[0])}).")

st.subheader("At-risk customers worth saving")
ranked = worth.sort_values("value_at_stake", ascending=False)
if ranked.empty:
    st.info(f"No customer in the medium or high band has enough value at stake for a {money(save['cost_per_customer'])} "
            f"win-back message that keeps {save['uplift']:.0%} of leavers to pay for itself. Below: the medium and "
            "high bands by value at stake anyway — cheaper contacts (or a higher uplift, on the playbook) may pay.",
            icon=":material/info:")
    ranked = data[data["risk_band"] != "low"].sort_values("value_at_stake", ascending=False)
cols = ["customer_id", "email", "risk_band", "churn_risk", "clv", "value_at_stake", "orders", "revenue", "last_order",
        "rfm_segment", "reason"]
if data["email"].isna().all() or data["email"].equals(data["customer_id"]):  # no empty or repeated column
    cols.remove("email")
top_n = st.number_input("Show the top", min_value=5, max_value=5000, value=25, step=5, key="at_risk_top",
                        help="Customers worth saving, by value at stake; the download has all of them.")
if len(ranked):
    r0 = ranked.iloc[0]
    st.caption(f"Top of the list: {plain(r0['customer_id'])} — {plain(r0['reason'])}; {r0['churn_risk']:.0%} risk, "
               f"{money(r0['value_at_stake'])} at stake.")
st.dataframe(ranked[cols].head(int(top_n)).style.format({"churn_risk": "{:.0%}", "clv": money,
                                                         "value_at_stake": money, "revenue": money,
                                                         "last_order": "{:%d %b %Y}"}),
             hide_index=True, height=360, width="stretch",
             column_config={"customer_id": "customer", "email": "e-mail", "risk_band": "risk band",
                            "churn_risk": "churn risk", "clv": f"projected value, next {settings.horizon_months} months",
                            "value_at_stake": "value at stake", "last_order": "last order",
                            "rfm_segment": "RFM segment", "reason": "why"})
download_csv(ranked[cols], "customers_at_risk.csv",
             f"Download all {count(len(ranked))} customers " + ("worth saving (CSV)" if len(worth) else "in the list (CSV)"))

c1, c2 = st.columns(2)
# the map at your customers' own typical age, not a year a young shop has not lived
age = float(max(data["T_days"].median(), 30.0)) if "T_days" in data and data["T_days"].notna().any() else 365.0
c1.plotly_chart(charts.p_alive_grid(vm.purchases, age), width="stretch")
c1.caption(f"For a customer who first bought {age:.0f} days ago (the median of yours). "
           "Frequent buyers who have been silent (top-left) are the most likely to be gone; "
           + ("a customer who bought once is assumed active until a repeat purchase shows their rhythm (BG/NBD)."
              if vm.purchases.label == "BG/NBD" else
              f"with {vm.purchases.label}, a customer who bought once may be gone too (bottom row)."))
if cm is not None:
    c2.caption(("What the churn model looks at most" if cm.chosen == "model" else
                "What the model that reads interactions (not used here: see above) looked at most")
               + ", from the most telling down: "
               + ", ".join(plain(str(f)) for f in cm.drivers["meaning"].head(5)) + ".")
    with c2.expander("How this is computed"):
        st.caption(f"Importance = how much worse the model ranks who left (drop in ROC AUC) when that feature's "
                   f"values are shuffled; trained at {cm.train_cutoff:%d %b %Y}, tested at {cm.eval_cutoff:%d %b %Y} "
                   f"on {count(cm.eval_customers)} customers.")
        st.dataframe(cm.drivers.head(10).style.format({"importance": "{:.3f}"}), hide_index=True, width="stretch")
