"""What is each customer worth? Projected CLTV, value by segment, the backtest and the models behind it."""
import datetime as dt

import numpy as np
import streamlit as st
from scipy import stats

from clv import charts
from clv.models import ModelError
from clv.value import new_customer_value, payback_months
from ui.common import count, download_csv, money, page_setup, pct, plain, shop
from ui import fallback
from ui.model import (backtest_result, customers_table, model_comparison, purchase_model_name, readiness, scored,
                      shop_intervals, shop_table, value_interval, value_model)

settings = page_setup("Customer value")
st.title("What is each customer worth?")
H = settings.horizon_months
st.caption(f"Projected customer lifetime value (CLTV) = expected purchases in the next {H} months × expected "
           f"order value × {settings.margin:.0%} gross margin, discounted at {settings.discount_rate:.0%} a year, "
           "month by month. Change the assumptions in the sidebar.")
ready = readiness(settings)
if not ready.ok:
    fallback.show(ready, customers_table(settings), settings.margin, shop_table("cohorts", settings.as_of), "value")
    st.stop()
fallback.show_gaps(ready)
vm = value_model(settings)
data = scored(settings)

cust = customers_table(settings)
avg_clv = data["clv"].mean()
total = value_interval(settings, float(data["clv"].sum()))
c = st.columns(4)
c[0].metric(f"Projected value, next {H} months", money(data["clv"].sum()))
c[1].metric("Average projected CLTV", money(avg_clv))
c[2].metric("Average historic value", money(cust["revenue"].mean() * settings.margin))
new_value = new_customer_value(vm, settings.margin, settings.discount_rate, H)[-1]
ratio = new_value / settings.cac if settings.cac > 0 else float("inf")
c[3].metric("CLV : CAC (new customer)", f"{ratio:.1f} : 1" if np.isfinite(ratio) else "—")
pay = payback_months(vm, settings.margin, settings.cac, settings.discount_rate)
st.caption(f"The average existing customer is expected to buy **{data['expected_purchases'].mean():.1f} more times** "
           f"in the next {H} months, worth **{money(avg_clv)}** in margin today; historic value is the margin on what "
           f"they already spent. A new customer brings {money(new_value)} of margin in their first {H} months "
           f"(first order included) against a CAC of {money(settings.cac)}, and pays it back "
           + (f"in about **{pay} months**." if pay is not None else "**not within five years** at this margin."))
purchases_total = shop_intervals(settings)["purchases"]
parts = ["each customer's purchases are random"]
if total.parameters_known:
    parts.append("the model's parameters are estimated from your history")
if "model" in total.relative_sd:
    parts.append("the model missed your own backtest by more than chance, so the range is widened to that miss")
st.info(f"**How sure?** The next {H} months' projected value is likely between **{money(total.low[0.8])}** and "
        f"**{money(total.high[0.8])}** (80 % interval) and almost surely between {money(total.low[0.95])} and "
        f"{money(total.high[0.95])} (95 %); repeat orders between {count(purchases_total.low[0.8])} and "
        f"{count(purchases_total.high[0.8])} (80 %). The range counts that " + ", and ".join(parts) + "."
        + ("" if total.parameters_known else " It leaves out the parameters' own uncertainty, which this fit could "
           "not measure: read it as too narrow."),
        icon=":material/straighten:")

c1, c2 = st.columns(2)
c1.plotly_chart(charts.value_histogram(data, H), width="stretch")
top10 = data["clv"].nlargest(max(1, len(data) // 10)).sum() / max(data["clv"].sum(), 1e-9)
c1.caption(f"The top 10 % of customers hold {top10:.0%} of projected value.")
by_seg = data.groupby("rfm_segment").agg(customers=("customer_id", "size"), projected=("clv", "sum"),
                                         average=("clv", "mean")).sort_values("projected", ascending=False)
c2.plotly_chart(charts.value_by_segment(data, H), width="stretch")
c2.caption(f"**{by_seg.index[0]}** hold the most future value: {money(by_seg['projected'].iloc[0])} "
           f"across {count(by_seg['customers'].iloc[0])} customers.")

by_cl = data.groupby("cluster_name").agg(customers=("customer_id", "size"), projected=("clv", "sum"),
                                         average=("clv", "mean"), expected_purchases=("expected_purchases", "mean"))
by_cl = by_cl.sort_values("projected", ascending=False).rename_axis("cluster").rename(columns={
    "projected": f"projected value, next {H} months", "average": "average per customer",
    "expected_purchases": f"orders per customer, next {H} months"})
st.dataframe(by_cl.style.format({f"projected value, next {H} months": money, "average per customer": money,
                                 f"orders per customer, next {H} months": "{:.2f}", "customers": count}),
             width="stretch")

st.subheader("Most valuable customers")
top = data.nlargest(50, "clv")
first = top.iloc[0]
st.caption(f"{plain(first['customer_id'])} is expected to buy **{first['expected_purchases']:.1f} more times** in the next "
           f"{H} months (a {pct(first['p_alive'])} chance they are still an active customer), worth about "
           f"{money(first['clv'])}.")
cols = ["customer_id", "orders", "revenue", "p_alive", "expected_purchases", "expected_order_value",
        "next_order_date", "clv", "clv_low", "clv_high", "rfm_segment"]
st.dataframe(top[cols].style.format({"revenue": money, "p_alive": "{:.0%}", "expected_purchases": "{:.2f}",
                                     "expected_order_value": money, "next_order_date": "{:%Y-%m-%d}",
                                     "clv": money, "clv_low": money, "clv_high": money}),
             hide_index=True, height=300, width="stretch",
             column_config={"customer_id": st.column_config.Column("customer"),
                            "expected_order_value": st.column_config.Column("expected order value"),
                            "next_order_date": st.column_config.Column("next order by"),
                            "rfm_segment": st.column_config.Column("RFM segment"),
                            "p_alive": st.column_config.Column("chance still active"),
                            "expected_purchases": st.column_config.Column(f"expected orders, next {H} months"),
                            "clv": st.column_config.Column(f"projected value, next {H} months"),
                            "clv_low": st.column_config.Column("likely at least (80 %)"),
                            "clv_high": st.column_config.Column("likely at most (80 %)")})
st.caption("*Next order by*: if still active, the customer is more likely than not to have ordered again by "
           "this date — time your message just before it. One customer's future is far less certain than the "
           "shop's: the 80 % range runs from the orders they will likely make at least to at most.")
download_csv(data[cols + ["clv_low_95", "clv_high_95", "purchases_low", "purchases_high", "churn_risk"]],
             "customer_value.csv", "Download value for every customer (CSV)")

def backtest_section(lo: dt.date, hi: dt.date) -> None:
    """Fit up to a date the user picks, predict the rest, compare with what happened."""
    default_cal = shop().default_calibration_end(as_of=settings.as_of)
    first, last = lo + dt.timedelta(days=60), hi - dt.timedelta(days=14)
    if not first <= st.session_state.get("calibration_end", default_cal) <= last:  # an earlier as-of date
        st.session_state["calibration_end"] = default_cal
    cal = st.date_input("Fit on orders up to", value=st.session_state.get("calibration_end", default_cal),
                        min_value=first, max_value=last, key="calibration_end")
    try:
        bt = backtest_result(settings, cal)
    except ModelError as exc:
        st.error(plain(str(exc)), icon="⚠️")
        return
    t = bt.totals
    straddled = [(a, b) for a, b in ready.gaps if a <= hi and b >= cal.replace(day=1)]
    if straddled:
        from clv.readiness import gaps_in_words
        st.warning(f"The checking period after {cal:%d %b %Y} includes months without any order "
                   f"({gaps_in_words(straddled)}): the backtest judges the model on a stretch when the shop was "
                   "quiet, so read its errors with that in mind.")
    st.success(bt.in_words() + f" Revenue: predicted {money(t['predicted_holdout_revenue'])}, actual "
               f"{money(t['actual_holdout_revenue'])}.")
    c1, c2 = st.columns(2)
    c1.plotly_chart(charts.backtest_by_frequency(bt.by_frequency), width="stretch")
    c1.caption(f"Per customer the prediction is off by {t['mae']:.2f} orders on average: individual customers are "
               f"noisy, groups are predictable. (Mean absolute error {t['mae']:.2f}; root mean square {t['rmse']:.2f}.)")
    c2.plotly_chart(charts.weekly_orders_with_cutoff(shop_table("weekly_orders", settings.as_of), cal), width="stretch")


st.subheader("Would the model have been right? A backtest on your own history")
lo, hi = shop().purchase_span(settings.as_of)  # the history up to the as-of date: the backtest sees no later order
if (hi - lo).days < 74:
    st.info(f"The purchase history is {(hi - lo).days} days long: too short for a backtest, which fits on at least "
            "60 days and checks against at least 14 more. The projections above still use all of it.")
else:
    backtest_section(lo, hi)

MODEL_NAMES = {"bgnbd": "BG/NBD", "mbgnbd": "MBG/NBD", "pareto_nbd": "Pareto/NBD"}
st.subheader("Which purchase model?")
try:
    mc = model_comparison(settings)
    chosen = purchase_model_name(settings)
    st.caption(mc.why if chosen == mc.best else f"{mc.why} You chose {MODEL_NAMES[chosen]} in the sidebar: it is used "
               "instead.")
    if mc.sampled:
        from clv.value import COMPARE_MAX_CUSTOMERS
        st.caption(f"Your shop is large, so the models were compared on a random {COMPARE_MAX_CUSTOMERS:,} of your "
                   "customers; the chosen model is then fitted on all of them.")
    shown = mc.table.drop(columns=["log-likelihood"], errors="ignore").set_index("in words")
    st.dataframe(shown.style.format({"predicted repeat orders": "{:,.0f}", "actual repeat orders": "{:,.0f}",
                                     "aggregate error": "{:+.1%}", "score (Poisson deviance)": "{:.3f}",
                                     "MAE per customer": "{:.3f}"}, na_rep="—"),
                 width="stretch")
    st.caption("Each model and three simple rules predicted every customer's repeat orders after the cut-off. "
               "*Score*: how far each customer's prediction was from what they did, weighing a miss by how likely it "
               "was (mean Poisson deviance; lower is better — unlike the average error, it cannot be won by "
               "predicting less for everyone). *Aggregate error*: the total against what happened."
               + (" **A simple rule predicts as well here**: the models add little beyond it on this history."
                  if mc.baseline_as_good else " The chosen model predicts clearly better than every simple rule."))
    download_csv(mc.table.reset_index(), "purchase_models_backtest.csv", "Download the comparison (CSV)")
    c1, c2 = st.columns(2)
    c1.plotly_chart(charts.calibration_by_decile({MODEL_NAMES[k]: bt.by_decile for k, bt in mc.backtests.items()}),
                    width="stretch")
    c1.caption("Customers ranked by each model's prediction and cut into ten equal groups: a model whose points "
               "sit on the dashed line predicted each group's repeat orders right, from the quiet to the busiest.")
    curves = {MODEL_NAMES[k]: bt.cumulative for k, bt in mc.backtests.items() if bt.cumulative is not None}
    if curves:
        c2.plotly_chart(charts.cumulative_repeat_purchases(curves), width="stretch")
        c2.caption("Repeat orders of the customers known at the cut-off, added up day by day after it: the black "
                   "line is what happened, the dotted ones what each model expected.")
except ModelError as exc:
    st.info(f"No purchase model could be backtested on this history: {plain(exc)}")

st.subheader("The models behind the numbers")
bg = vm.purchases.params_
# the median customer's rate, not the mean's alpha / r: rates are skewed, and the mean customer buys far more often
median_days = 1 / stats.gamma.median(bg["r"], scale=1 / bg["alpha"])
if "a" in bg:  # BG/NBD, MBG/NBD: a drop-out chance at each purchase
    leaving = (f"after each purchase there is on average a **{bg['a'] / (bg['a'] + bg['b']):.0%}** chance they stop "
               "buying for good")
else:  # Pareto/NBD: a lifetime that can end at any time
    leaving = (f"half of new customers are still active **{vm.purchases.median_lifetime_days():,.0f} days** after "
               "their first purchase; the others have stopped for good, whether or not they bought again")
st.markdown(f"- **Purchases ({vm.purchases.label})**: while active, half of the customers buy at least once every "
            f"**{median_days:,.0f} days**; {leaving}.\n"
            f"- **Spend ({'Gamma-Gamma' if vm.spend.label == 'Gamma-Gamma' else 'own average, shrunk'})**: a customer "
            "we know nothing about spends about "
            f"**{money(vm.spend.population_mean_value)}** per order; each customer's own history pulls this "
            "toward their own average.")
for w in vm.spend.warnings_:
    st.warning(w)
with st.expander("How this is computed: the fitted models"):
    c1, c2 = st.columns(2)
    c1.caption(f"{vm.purchases.label} (time in days), maximum likelihood with standard errors")
    c1.dataframe(vm.purchases.summary.style.format("{:.4g}"), width="stretch")
    c2.caption(f"{vm.spend.label[:1].upper() + vm.spend.label[1:]}; spend-frequency correlation "
               f"{vm.spend.frequency_monetary_correlation_:+.2f}")
    c2.dataframe(vm.spend.summary.style.format("{:.4g}"), width="stretch")
