"""Which customers become valuable? LTV by acquisition cohort and by what their first order was; one customer's story."""
import datetime as dt

import pandas as pd
import streamlit as st

from clv import charts
from clv.cuts import CUTS, MIN_CUSTOMERS, cohort_ltv, customer_history, ltv_by
from clv.errors import DataError
from clv.models import ModelError
from clv.periods import period_bounds
from ui.common import count, data_span, download_csv, memo, money, money_column, page_setup, percent_column, pct, plain, shop
from ui.model import readiness, scored

settings = page_setup("LTV by cohort & group")
st.title("Which customers become valuable?")
st.caption("How much a customer has spent so far, counted from their first order — by the month they first bought "
           "and by what that first order was. Revenue is net of refunds and returns, as on every page.")

# --- cohorts ----------------------------------------------------------------------------------------------------
st.subheader("Value per customer by month of first order")
as_of = dt.date.fromisoformat(settings.as_of) if settings.as_of else None
curves = memo("cohort_ltv", (settings.margin, as_of), lambda: cohort_ltv(shop(), settings.margin, as_of))
c1, c2 = st.columns([1, 2])
value = c1.radio("Show", ["revenue", "margin"], horizontal=True, key="cuts_value",
                 help=f"Margin is revenue × your gross margin ({settings.margin:.0%}, in the sidebar).")
acquired = c2.selectbox("Customers who first bought in", ["all", "365d", "ytd", "90d"], key="cuts_period",
                        format_func={"all": "any month", "365d": "the last 12 months", "ytd": "this year",
                                     "90d": "the last 90 days"}.get,
                        help="Only the cohorts whose month of first order overlaps the period (ending on the last day "
                             "in your data, or the sidebar's \"as of\" day).")
start = None  # the first day of the period whose new customers are counted (None: every customer)
if acquired != "all":
    first, end = data_span()
    end = as_of or end
    start, _ = period_bounds(acquired, end, first)
    month = pd.to_datetime(curves["cohort"]).dt.date
    curves = curves[(month >= start.replace(day=1)) & (month <= end)]
done = curves[curves["complete"]]
if curves.empty:
    st.info("No customer bought for the first time in this period: choose a longer one.")
elif done.empty:
    st.info("No cohort has a full month behind it yet: the curves appear once the first month of orders is over.")
else:
    st.plotly_chart(charts.cohort_ltv_curves(curves, value), width="stretch")
    col = f"cumulative_{value}_per_customer"
    at = min(6, int(done["months_since_first"].max()))
    row = done[done["months_since_first"] == at]
    # the best cohort is one that says something: enough customers, and not the data's first month when the export
    # starts after the 1st (that month holds only part of its customers)
    first_day = data_span()[0]
    partial = (pd.to_datetime(row["cohort"]).dt.date == first_day.replace(day=1)) & (first_day.day > 1)
    fair = row[(row["customers"] >= MIN_CUSTOMERS) & ~partial]
    drawn = min(12, done["cohort"].nunique())
    said = ("Each line is the customers who first bought in one month"
            + (f" (the latest {drawn} months are drawn)" if done["cohort"].nunique() > drawn else "") + ". ")
    if len(fair):
        best = fair.loc[fair[col].idxmax()]
        said += (f"After {at} month{'s' if at != 1 else ''}, the customers who started in "
                 f"**{pd.Timestamp(best['cohort']):%B %Y}** ({count(best['customers'])} of them) had brought "
                 f"**{money(best[col])}** of {value} each — the best of the {len(fair)} cohorts that old with at least "
                 f"{MIN_CUSTOMERS} customers. ")
    st.caption(said + "A line that keeps rising means those customers keep coming back; a flat one means they "
               "bought once.")
    with st.expander("The numbers behind the curves"):
        grid = done.pivot_table(index="cohort", columns="months_since_first", values=col)
        grid.index = [f"{pd.Timestamp(m):%b %Y}" for m in grid.index]
        st.dataframe(grid.style.format(money, na_rep=""), width="stretch")
    download_csv(curves, "ltv_by_cohort.csv", "Download cohort curves (CSV)")

# --- groups -----------------------------------------------------------------------------------------------------
st.subheader("Value per customer by their first order")
labels = {k: c.label for k, c in CUTS.items()}
by = st.selectbox("Group customers by", list(CUTS), format_func=labels.get, key="cuts_by",
                  help="What their first purchase was: which product, which discount code (or none), the channel "
                       "they came from, the country it went to. The customers counted are those of \"Customers who "
                       "first bought in\" above.")
try:
    projected = scored(settings) if readiness(settings).ok else None
except ModelError:
    projected = None  # historic value still shows; the Customer value page says why the projection failed
try:
    groups = memo("ltv_by", (by, settings, start),
                  lambda: ltv_by(shop(), by, scored=projected, as_of=as_of, acquired_from=start))
except DataError as exc:
    st.info(plain(str(exc)), icon="ℹ️")
    groups = None
if groups is not None and groups.empty:
    st.info("No customer first bought in this period: choose a longer one above.")
elif groups is not None:
    st.plotly_chart(charts.ltv_by_group(groups, labels[by]), width="stretch")
    named = groups[~groups["small"]]
    if len(named) >= 2:
        top, low = named.iloc[named["revenue_per_customer"].argmax()], named.iloc[named["revenue_per_customer"].argmin()]
        st.caption(f"Customers whose {labels[by]} was **{plain(top['group'])}** spent {money(top['revenue_per_customer'])} "
                   f"each so far, {pct(top['repeat_rate'])} of them came back; with **{plain(low['group'])}** it was "
                   f"{money(low['revenue_per_customer'])} and {pct(low['repeat_rate'])}. Bars show a 95 % interval: "
                   "where two intervals overlap, the difference could be chance. Pale bars are groups under "
                   f"{MIN_CUSTOMERS} customers — too few to compare.")
    note = plain(groups.attrs.get("note", ""))
    st.caption(note[:1].upper() + note[1:] + ".")
    show = groups.rename(columns={
        "group": labels[by], "revenue_per_customer": "revenue per customer", "revenue_median": "median revenue",
        "revenue_ci_low": "95% low", "revenue_ci_high": "95% high", "repeat_rate": "bought again",
        "median_days_to_second_order": "median days to 2nd order",
        "projected_clv_per_customer": f"projected value, next {settings.horizon_months} months",
        "small": f"under {MIN_CUSTOMERS} customers"}).drop(columns=["scored_customers", "folded_groups"])
    show = show.assign(**{c: show[c] * 100 for c in ("share", "bought again")})  # percent_column's scale
    st.dataframe(show, hide_index=True, width="stretch", column_config={
        "customers": st.column_config.NumberColumn(format="%,d"), "share": percent_column(),
        "bought again": percent_column(),
        **{c: money_column() for c in ["revenue per customer", "median revenue", "95% low", "95% high",
                                       f"projected value, next {settings.horizon_months} months"]},
        "median days to 2nd order": st.column_config.NumberColumn(format="%.0f")})
    download_csv(groups, f"ltv_by_{by}.csv", "Download this table (CSV)")

# --- one customer -------------------------------------------------------------------------------------------------
st.subheader("Look up one customer")
who = st.text_input("Customer id or email, or part of one", key="cuts_customer",
                    help="As written in your orders file, or any part of it (a name in an e-mail address, the end of an "
                         "id); letter case does not matter.")
if who.strip():
    h = customer_history(shop(), who, projected)
    if not h.found:
        like = shop().find_customers(who)
        if like:
            pick = st.selectbox(f"{count(len(like))}{'+' if len(like) == 20 else ''} customers contain "
                                f"“{plain(who.strip())}” — pick one", like, key="cuts_customer_match")
            h = customer_history(shop(), pick, projected)
        else:
            st.warning(f"No customer's id or e-mail contains “{plain(who.strip())}”.", icon="🔎")
    if h.found:
        if h.scores is not None:
            s = h.scores
            c = st.columns(4)
            c[0].metric("Orders", count(s["orders"]))
            c[1].metric("Spent so far", money(s["revenue"]))
            c[2].metric(f"Projected value, next {settings.horizon_months} months", money(s["clv"]))
            c[3].metric("Churn risk", pct(s.get("churn_risk")))
            st.caption(f"RFM segment **{plain(s['rfm_segment'])}**; expected to buy "
                       f"{s['expected_purchases']:.1f} more times in the next {settings.horizon_months} months.")
        st.markdown(f"**Orders** ({len(h.orders)})")
        st.dataframe(h.orders, hide_index=True, width="stretch")
        st.markdown(f"**Interactions** ({len(h.interactions)})")
        if len(h.interactions):
            st.dataframe(h.interactions, hide_index=True, width="stretch")
        else:
            st.caption("None recorded.")
        download_csv(h.orders, "customer_orders.csv", "Download this customer's orders (CSV)")
