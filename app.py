"""clv — the landing page: how the shop is doing, and the three things to do first."""
import datetime as dt

import pandas as pd
import streamlit as st

from clv import charts
from clv.acquisition import cac_by_month, cohort_margins, payback, read_ad_spend
from clv.errors import DataError
from clv.periods import COMPARISONS, PERIODS, compare, comparison_bounds, kpis as period_kpis, period_bounds
from clv.models import ModelError
from clv.value import new_customer_value
from ui.common import count, currency, data_span, download_csv, keep_widgets, money, money_column, page_setup, pct, plain, shop
from ui.fallback import show_gaps
from ui.model import (catalogue_in_use, customers_table, model_comparison, pipeline, readiness, scored,
                      shop_intervals, shop_table,
                      tactic_table, value_interval, value_model)
from ui.workspace import ad_spend_files, forget_ad_spend

settings = page_setup("Overview")
keep_widgets("overview", ("period_",))
s = shop()
sample = (st.session_state.get("shown") or {}).get("sample", False)
st.title("The sample shop at a glance" if sample else "Your customers at a glance")
st.caption(f"Data: {plain(st.session_state['source'])}. "
           + ("This is the bundled sample shop: upload your own export on **Your data**." if sample
              else "Upload another export on **Your data**."))

# --- the period the figures below cover, and what to compare it with ---------------------------------------------
first_day, data_end = data_span()
last_day = dt.date.fromisoformat(settings.as_of) if settings.as_of else data_end  # the sidebar's "as of"
p1, p2, p3 = st.columns([1, 1, 2])
kind = p1.selectbox("Period", list(PERIODS), format_func=PERIODS.get, key="period_kind",
                    help=f"Every period ends on {last_day:%d %b %Y}: the last day in your data, or the sidebar's "
                         "\"as of\" day (not today).")
versus = p2.selectbox("Compared with", list(COMPARISONS), format_func=COMPARISONS.get, key="period_compare",
                      disabled=kind == "all")
custom = None
if kind == "custom":
    custom = p3.date_input("From – to", value=(max(first_day, last_day - dt.timedelta(days=89)), last_day),
                           min_value=first_day, max_value=last_day, key="period_custom")
period = comparison = None
if kind != "all":
    try:
        period = period_bounds(kind, last_day, first_day, tuple(custom) if custom else None)
    except ValueError:
        st.info("Pick the first and the last day of the period.")
        st.stop()
    comparison = comparison_bounds(*period, versus)

customers = customers_table(settings)
n = len(customers)
orders = int(customers["orders"].sum())
revenue = float(customers["revenue"].sum())
repeaters = customers["orders"] >= 2
if period is not None:
    now = period_kpis(s, *period)
    then = period_kpis(s, *comparison) if comparison else None
    change = compare(now, then, first_day)

    def delta(key):
        return None if change[key] is None else f"{change[key]:+.0%}"
    c = st.columns(6)
    c[0].metric("Customers who bought", count(now.customers), delta(key="customers"),
                help="Customers with at least one purchase in the period.")
    c[1].metric("New customers", count(now.new_customers), delta("new_customers"),
                help="Their first purchase ever is in the period.")
    c[2].metric("Returning customers", count(now.returning_customers), delta("returning_customers"),
                help="Bought in the period and had bought before it.")
    c[3].metric("Purchases", count(now.purchases), delta("purchases"))
    c[4].metric("Revenue", money(now.revenue), delta("revenue"),
                help="Purchases in the period, net of the returns and refunds dated in it.")
    c[5].metric("Average order value", money(now.average_order_value) if now.purchases else "—",
                delta("average_order_value"))
    said = f"**{PERIODS[kind]}**: {now.start:%d %b %Y} to {now.end:%d %b %Y} ({count(now.days)} days)"
    if then is not None:
        said += (f", against {COMPARISONS[versus]}: {then.start:%d %b %Y} to {then.end:%d %b %Y} — "
                 + (change["why"] if change["why"] else
                    f"{count(then.customers)} customers bought then, {money(then.revenue)} of revenue"))
    st.caption(said + ". The numbers below this row cover all history.")
    st.divider()

c = st.columns(6)
c[0].metric("Customers", count(n), help="Customers with at least one purchase — the number every page counts.")
c[1].metric("Purchases", count(orders),
            help="Orders that count as a purchase. *Your data* also lists orders kept but not purchases "
                 "(cancelled, unpaid, fully refunded, returns).")
c[2].metric("Revenue", money(revenue))
c[3].metric("Average order value", money(revenue / max(orders, 1)))
c[4].metric("Repeat-customer rate", pct(repeaters.mean()))
c[5].metric("Repeaters' revenue", pct(customers.loc[repeaters, 'revenue'].sum() / max(revenue, 1e-9)))
if not currency():
    st.caption("Your file does not say its currency, so amounts are plain numbers: choose the currency on "
               "**Your data** to see money as money on every page.")
st.caption(f"{pct(repeaters.mean())} of your customers ordered more than once; they brought in "
           f"{pct(customers.loc[repeaters, 'revenue'].sum() / max(revenue, 1e-9))} of revenue. Revenue is net of "
           "refunds and returns, including returns after a customer's last purchase.")

ready = readiness(settings)
show_gaps(ready)
data = vm = None
if not ready.ok:
    st.info(ready.in_words().replace(" is below:", " is on each page:"), icon=":material/info:")
    st.metric("Average value so far (margin)", money(customers["revenue"].mean() * settings.margin))
else:
    try:
        data = scored(settings)
        vm = value_model(settings)
    except ModelError as exc:
        st.warning(f"Projected values are not available: {plain(exc)}")

if data is not None:
    H = settings.horizon_months
    new_value = new_customer_value(vm, settings.margin, settings.discount_rate, H)[-1]
    total = value_interval(settings, float(data["clv"].sum()))
    n_cust = max(len(data), 1)
    c = st.columns(3)
    c[0].metric("Average historic value (margin)", money(customers["revenue"].mean() * settings.margin))
    c[1].metric(f"Average projected value, next {H} months", money(data["clv"].mean()))
    c[2].metric("CLV : CAC (new customer)", f"{new_value / settings.cac:.1f} : 1" if settings.cac else "—")
    st.caption(f"Projected value per customer is likely between **{money(total.low[0.8] / n_cust)}** and "
               f"**{money(total.high[0.8] / n_cust)}** (80 % interval), almost surely between "
               f"{money(total.low[0.95] / n_cust)} and {money(total.high[0.95] / n_cust)} (95 %). "
               f"A new customer is worth about {money(new_value)} in margin over their first {H} months "
               f"(first order included), against a cost to acquire of {money(settings.cac)}.")
    if customers["channel"].nunique() > 1:
        with st.expander("Existing customers' value : CAC by channel"):
            by = data.groupby("channel").agg(customers=("customer_id", "size"), avg_projected=("clv", "mean"),
                                             avg_historic=("revenue", "mean"))
            by["avg_historic"] *= settings.margin
            by["CAC"] = settings.cac
            edited = st.data_editor(by.reset_index(), key="cac_by_channel", hide_index=True,
                                    disabled=["channel", "customers", "avg_projected", "avg_historic"],
                                    column_config={
                                        "customers": st.column_config.NumberColumn(format="%,d"),
                                        "avg_projected": money_column(f"average projected, next {H} months"),
                                        "avg_historic": money_column("average margin so far"),
                                        "CAC": money_column("CAC (edit)", min_value=0.0, step=1.0)})
            ratio = f"value so far + next {H} months : CAC"
            edited[ratio] = (edited["avg_historic"] + edited["avg_projected"]) / edited["CAC"].where(edited["CAC"] > 0)
            st.dataframe(edited[["channel", "CAC", ratio]], hide_index=True,
                         column_config={"CAC": money_column(), ratio: st.column_config.NumberColumn(format="%.1f : 1")})
            st.caption("Per channel of the customer's first order: existing customers' margin so far plus their "
                       f"projected margin for the next {H} months, ÷ CAC. This is not the headline CLV : CAC, which "
                       "is a *new* customer's first "
                       f"{H} months (first order included). Edit CAC per channel above.")

# --- what a new customer costs, from the ad spend -------------------------------------------------------------
spend_key = f"ad_spend_files_{st.session_state.get('ad_spend_round', 0)}"
spend_files = ad_spend_files(st.session_state.get(spend_key))
with st.expander("CAC from your ad spend: per channel and month, and when each cohort paid it back",
                 expanded=bool(spend_files)):
    st.file_uploader("Ad spend exports: Meta Ads Manager, Google Ads, or any table with a date, a channel and a "
                     "spend (CSV or Excel)", type=["csv", "tsv", "txt", "xlsx", "xls"], accept_multiple_files=True,
                     key=spend_key)
    if spend_files:
        where = "with this data set" if st.session_state.get("dataset") else "for this visit (the sample shop)"
        c1, c2 = st.columns([3, 1])
        c1.caption(plain(f"In use, kept {where}: " + ", ".join(name for name, _ in spend_files)
                         + ". A new upload replaces them."))
        c2.button("Forget these files", key="forget_ad_spend", on_click=forget_ad_spend)
    if not spend_files:
        st.caption(f"Until then the pages use the one cost to acquire a customer set in the sidebar "
                   f"({money(settings.cac)}). New customers are matched to a channel by their first order's channel "
                   "column (source, UTM, referrer); all spend over all new customers gives a blended figure too.")
    else:
        frames = []
        for name, content in spend_files:
            try:
                rows, said = read_ad_spend(content, name)
            except DataError as exc:
                st.error(plain(f"{name}: {exc}"), icon="⚠️")
                continue
            st.caption(plain(said))
            frames.append(rows)
        if frames:
            spend = pd.concat(frames, ignore_index=True)
            spend = spend[pd.to_datetime(spend["date"]).dt.date <= last_day]  # the as-of day, as every figure here
            margins = cohort_margins(s, settings.margin, last_day)
            cac, notes = cac_by_month(spend, margins)
            for note in notes:
                st.info(plain(note))
            st.dataframe(cac, hide_index=True, width="stretch",
                         column_config={"month": st.column_config.DateColumn("month", format="MMM YYYY"),
                                        "spend": money_column("spend"), "new_customers": "new customers",
                                        "cac": money_column("CAC")})
            projected = None
            if data is not None:
                cohort = pd.to_datetime(data["first_order"]).dt.to_period("M").dt.to_timestamp().dt.date
                projected = (data.assign(cohort=cohort).groupby(["cohort", "channel"], dropna=False)
                             .agg(customers=("customer_id", "size"), projected=("clv", "mean")).reset_index())
                projected["channel"] = projected["channel"].fillna("")
            pb = payback(cac, margins, projected)
            if len(pb):
                st.markdown("**Per acquisition cohort**: what its customers have brought in margin so far against "
                            "what each cost, and the month they paid it back")
                st.dataframe(pb, hide_index=True, width="stretch", column_config={
                    "cohort": st.column_config.DateColumn("first bought in", format="MMM YYYY"),
                    "new_customers": "new customers", "cac": money_column("CAC"),
                    "months_observed": "months seen", "margin_per_customer": money_column("margin per customer so far"),
                    "clv_cac_so_far": st.column_config.NumberColumn("margin so far : CAC", format="%.1f"),
                    "clv_cac_with_projection": st.column_config.NumberColumn(
                        f"with the next {settings.horizon_months} months : CAC", format="%.1f"),
                    "payback_month": st.column_config.NumberColumn("paid back in month", format="%d")})
                st.caption("Paid back in month 0: in the month of the first order; 1: the month after; empty: not yet. "
                           "Margin per customer counts returns and refunds.")
                download_csv(pb, "cac_payback.csv", "Download the payback table (CSV)")

st.subheader("Do these first")
if data is not None:
    _, ranked = tactic_table(settings)
    top = ranked[ranked["expected_gain"] > 0].head(3)
    cols = st.columns(3)
    for col, (_, t) in zip(cols, top.iterrows()):
        with col.container(border=True):
            st.markdown(f"**{t['name']}**")
            st.metric("Expected net gain", money(t["expected_gain"]))
            st.caption(f"{count(t['customers'])} customers · {t['rationale']}")
            st.page_link("pages/5_Playbook.py", label="Open the playbook", icon=":material/arrow_forward:")
    if top.empty:
        st.info("No tactic pays for itself under the current assumptions; see the playbook to adjust them.")
else:
    st.caption("Tactics are ranked by the value they are expected to move, so they need projections. Until then the "
               "pages list customers silent for more than twice their usual gap between orders: the ones to "
               "write to first.")

c1, c2 = st.columns(2)
c1.plotly_chart(charts.revenue_by_month(shop_table("monthly", settings.as_of), period, comparison), width="stretch")
cohorts = shop_table("cohorts", settings.as_of)
if period is not None:  # the customers acquired in the period: cohorts whose month overlaps it
    month = pd.to_datetime(cohorts["cohort_month"]).dt.date
    cohorts = cohorts[(month >= period[0].replace(day=1)) & (month <= period[1])]
if cohorts.empty:
    c2.info("No customer bought for the first time in this period, so there is no cohort to follow.")
else:
    c2.plotly_chart(charts.cohort_heatmap(cohorts, through=last_day), width="stretch")
c2.caption("Each row is the customers who first bought in that month"
           + (f" (the months of {PERIODS[kind].lower()})" if period is not None else "")
           + "; each cell, the share who bought again that many months later. Lighter rows over time mean newer "
           f"customers come back less. A cohort of fewer than {charts.MIN_COHORT_CUSTOMERS} customers is left blank "
           "(one of four is 25 %: too few to say much), as are the months still to come.")

st.subheader("Share it")
if data is None:
    st.caption("The one-file report shows projected value, churn and the playbook: it needs the projections above.")
else:
    st.caption("A one-file report with every page's charts (still interactive) and tables, to email to a co-founder.")
    if st.button("Prepare the HTML report", key="prepare_report"):
        from clv.report import build_report, data_notes, projection_notes
        from clv.scoring import model_notes
        with st.spinner("Building the report…"):
            _, ranked_now = tactic_table(settings)
            try:
                comparison = model_comparison(settings).table
            except ModelError:
                comparison = None
            how_sure = projection_notes(ready, shop_intervals(settings), float(data["clv"].sum()),
                                        settings.horizon_months, currency(), tuple(model_notes(pipeline(settings))))
            st.session_state["report_html"] = build_report(
                shop_table("monthly", settings.as_of), shop_table("cohorts", settings.as_of), data, ranked_now,
                settings.horizon_months, settings.margin, settings.discount_rate, source=st.session_state["source"],
                currency=currency(), data_notes=data_notes(shop().orders_report), how_sure=how_sure,
                comparison=comparison).encode("utf-8")
    if st.session_state.get("report_html"):
        st.download_button("Download report.html", st.session_state["report_html"], file_name="clv_report.html",
                           mime="text/html", key="dl-report")
st.caption("The weekly digest: one e-mail-ready page of the last 7 days against the 7 before — customers, revenue, "
           "who is worth saving, the best tactic. `python -m clv digest` writes the same from a cron job (README).")
if st.button("Prepare this week's digest", key="prepare_digest"):
    from clv.digest import build_digest, render
    with st.spinner("Writing the digest…"):
        st.session_state["digest_html"] = render(build_digest(
            s, 7, settings.as_of, settings=settings, catalogue=catalogue_in_use(),
            source=st.session_state["source"], pipeline=pipeline(settings))).encode("utf-8")
if st.session_state.get("digest_html"):
    st.download_button("Download digest.html", st.session_state["digest_html"], file_name="clv_digest.html",
                       mime="text/html", key="dl-digest")
