"""A big shop's answers from a scored table (python -m clv score --engine spark / --out scores.parquet), no raw orders."""

import streamlit as st

from clv import charts
from clv.errors import DataError
from clv.export import read_scored, save_scored_upload
from clv.segments import RFM_SEGMENT_RULES
from clv.tactics import CATALOGUE, rank_tactics, tactic_features, target_list
from clv import formatting
from clv.formatting import SYMBOLS
from ui.common import count, download_csv, page_setup, pct, plain, upload_dir

settings = page_setup("Scored table")
st.title("A big shop, scored elsewhere")
st.caption("Shops whose order log lives in a data lake score it where it lives — `python -m clv score --engine spark "
           "--orders s3://… --out scores.parquet` — and open the result here: the answers below come from that "
           "table alone, without uploading raw orders. The projections were computed with the assumptions of that "
           "run; the sidebar's margin and thresholds do not re-price them here.")

up = st.file_uploader("Scored table: a .parquet file, or the Parquet folder Spark wrote as a .zip", type=["parquet", "zip"],
                      key="scored_upload")
if up is not None and st.session_state.get("scored_upload_id") != up.file_id:
    target = upload_dir() / f"scored-{up.file_id}"
    target.mkdir(parents=True, exist_ok=True)
    try:
        save_scored_upload(up, up.name, target)
    except DataError as exc:
        st.error(plain(str(exc)), icon="⚠️")
        st.stop()
    try:
        with st.spinner("Reading the scored table…"):
            st.session_state["scored_table"] = read_scored(target, name=up.name)
        st.session_state["scored_name"] = up.name
        st.session_state["scored_upload_id"] = up.file_id
    except DataError as exc:
        st.error(plain(str(exc)), icon="⚠️")
        st.stop()

table = st.session_state.get("scored_table")
if table is None:
    st.info("No scored table opened yet. Write one with `python -m clv score --engine spark --orders PATH --out "
            "scores.parquet` (or without `--engine spark` on one machine), zip the folder, and upload it above.")
    st.stop()

name = plain(st.session_state.get("scored_name", "the scored table"))
currency = st.selectbox("Currency of the amounts", ["", *SYMBOLS], key="scored_currency",
                        format_func=lambda c: f"{c} ({SYMBOLS[c].strip()})" if c else "not said: plain numbers",
                        help="A scored table does not carry its currency; choose it to see money as money.")


def money(x) -> str:
    return formatting.money(x, currency)



n = len(table)
c = st.columns(4)
c[0].metric("Customers", count(n))
c[1].metric("Revenue so far", money(table["revenue"].sum()))
c[2].metric("Projected value (the run's horizon)", money(table["clv"].sum()))
c[3].metric("Average churn risk", pct(table["churn_risk"].mean()) if "churn_risk" in table else "—")
st.caption(f"From {name}: the average customer is expected to buy {table['expected_purchases'].mean():.1f} more "
           f"times over the run's horizon, worth {money(table['clv'].mean())} in margin today.")

st.subheader("Who are my customers?")
c1, c2 = st.columns([3, 2])
c1.plotly_chart(charts.segment_sizes(table, list(RFM_SEGMENT_RULES["segment"])), width="stretch")
by = table.groupby("rfm_segment").agg(customers=("customer_id", "size"), revenue=("revenue", "sum"),
                                      projected=("clv", "sum")).sort_values("projected", ascending=False)
c2.dataframe(by.style.format({"revenue": money, "projected": money}), width="stretch")
download_csv(by.reset_index(), "segments_from_scored_table.csv", "Download segments (CSV)")

st.subheader("What is each worth? Who is slipping away?")
c1, c2 = st.columns(2)
c1.plotly_chart(charts.value_histogram(table, settings.horizon_months), width="stretch")
if "value_at_stake" in table:
    c2.plotly_chart(charts.at_stake_by_segment(table), width="stretch")
    risky = table[table["churn_risk"] >= 0.3].sort_values("value_at_stake", ascending=False)
    st.caption(f"{count(len(risky))} customers have a churn risk of 30 % or more; together they hold "
               f"{money(risky['value_at_stake'].sum())} of value at stake.")
    cols = [c for c in ["customer_id", "email", "churn_risk", "clv", "value_at_stake", "orders", "revenue",
                        "rfm_segment"] if c in table]
    st.dataframe(risky[cols].head(300).style.format({"churn_risk": "{:.0%}", "clv": money, "value_at_stake": money,
                                                     "revenue": money}), hide_index=True, height=300, width="stretch")
    download_csv(risky[cols], "at_risk_from_scored_table.csv", f"Download all {count(len(risky))} at-risk customers")

st.subheader("What should I do first?")
try:
    features = tactic_features(table)
    ranked = rank_tactics(features, settings.margin, CATALOGUE)
except (KeyError, ValueError) as exc:
    st.info(f"The table lacks a column the tactics need ({plain(exc)}); rescore with this version of clv.")
else:
    st.plotly_chart(charts.tactic_gains(ranked), width="stretch")
    pick = st.selectbox("Target list", list(ranked["tactic"]),
                        format_func=lambda t: ranked.set_index("tactic").loc[t, "name"], key="scored_tactic")
    lst = target_list(features, pick, settings.margin, CATALOGUE, 0.1)
    download_csv(lst, f"targets_{pick}.csv", f"Download this list ({count(len(lst))} customers, 10 % control)")
    st.caption(f"Gains use the sidebar's margin ({settings.margin:.0%}) on the table's projections.")
