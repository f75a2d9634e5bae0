"""Did it work? Campaigns sent to target lists, measured against their control groups; the measured uplift
is blended into the playbook's assumption by precision."""
import pandas as pd
import streamlit as st

from clv import charts
from clv.campaigns import (ASSUMPTION_RELATIVE_SD, blend, control_share_for, customers_for, feedback, measure_on, power,
                           read_campaigns)
from clv.errors import DataError
from clv.models import ModelError
from clv.tactics import eligibility
from ui.common import count, download_csv, keep_widgets, money, page_setup, plain, shop
from ui.model import campaigns, catalogue, catalogue_in_use, readiness, tactic_table

settings = page_setup("Campaigns")
keep_widgets("campaigns", ("campaign_", "use_measured"))
st.title("Did it work?")
st.caption("Every target list from the playbook holds back a random **control group**. Send the campaign to the "
           "*treatment* group only; once newer orders are in, the difference between the two groups is what the "
           "campaign really did — the customers who would have bought anyway are in both groups and cancel out.")

# --- the campaigns to measure -------------------------------------------------------------------------------
uploads = st.file_uploader("Campaign files (the *.campaign.csv the playbook or `python -m clv tactics --lists` "
                           "wrote)", type=["csv"], accept_multiple_files=True, key="campaign_files")
sources = [f.getvalue() for f in uploads or []]
kept = campaigns()
if kept:
    # a kept campaign's file uploaded again is the same campaign, not a second copy of its rows
    uploaded_ids = set()
    for src in sources:
        try:
            uploaded_ids |= set(read_campaigns([src])[0]["campaign_id"])
        except DataError:
            pass
    again = [c for c in kept if c in uploaded_ids]
    st.caption("Kept from this session's playbook downloads: " + ", ".join(plain(c) for c in kept)
               + (f" ({', '.join(plain(c) for c in again)} also uploaded: read once)" if again else ""))
    sources += [frame.to_csv(index=False).encode() for cid, frame in kept.items() if cid not in uploaded_ids]

rows, notes = None, []
if sources:
    try:
        rows, notes = read_campaigns(sources)
    except DataError as exc:
        st.error(plain(str(exc)), icon="⚠️")

if rows is None or rows.empty:
    st.info("No campaign to measure yet. In the playbook, pick a tactic and download its list (or its campaign "
            "file); send the campaign to the treatment group; come back here with the campaign file and an orders "
            "export from after it. The section below says how big a list must be to show an effect at all.")
else:
    window = st.number_input("Measure this many days after each campaign (0 = up to the last order in your data)",
                             min_value=0, max_value=730, value=0, step=7, key="campaign_window",
                             help="A shorter window compares campaigns fairly; the longest one catches late buyers.")
    costs = catalogue().set_index("tactic")["cost_per_customer"].to_dict()
    with st.spinner("Measuring the campaigns…"):
        m = measure_on(shop(), rows, notes, settings.margin, costs, window or None)
    for note in m.notes:
        st.warning(plain(note))
    res = m.results
    for r in res.itertuples(index=False):
        box = st.container(border=True)
        box.markdown(f"**{plain(r.campaign_id)}** · sent {r.created:%d %b %Y} · "
                     + (f"{r.window_days} days measured" if r.window_days > 0 else
                        "not measured yet: your orders end before it was sent"))
        verdict = plain(r.verdict)
        (box.success if verdict.startswith("It worked") else box.error if verdict.startswith("It backfired")
         else box.info)(verdict)
        if "uplift" in res and r.uplift == r.uplift:  # measured (not too early)
            c = box.columns(4)
            c[0].metric("Bought, contacted", f"{r.treatment_rate:.1%}", help=f"{count(r.treatment_buyers)} of "
                        f"{count(r.treatment_customers)} customers in the treatment group")
            c[1].metric("Bought, control", f"{r.control_rate:.1%}", help=f"{count(r.control_buyers)} of "
                        f"{count(r.control_customers)} customers held back")
            c[2].metric("Extra buyers", f"{r.extra_buyers:+,.0f}",
                        help=f"95 % interval {r.extra_buyers_low:+,.0f} to {r.extra_buyers_high:+,.0f}")
            if r.money_measurable:
                c[3].metric("Net return", money(r.net_return), help=f"95 % interval {money(r.net_return_low)} to "
                            f"{money(r.net_return_high)}; incremental margin {money(r.incremental_margin)} minus "
                            f"contact costs {money(r.cost)}")
            else:
                c[3].metric("Net return", "not yet", help="Too few buyers in the control group to put a figure on "
                            "the money: " + ("nobody bought yet." if r.control_needed_for_money != r.control_needed_for_money
                                             else f"a control group of about {count(r.control_needed_for_money)} "
                                                  "customers would do."))
    if "uplift" in res and res["uplift"].notna().any():
        st.plotly_chart(charts.campaign_uplifts(res), width="stretch")
    with st.expander("How this is computed"):
        st.markdown("- Buying rate: share of each group with at least one purchase after the campaign date, in the "
                    "window. Uplift = treatment − control; its 95 % interval is Newcombe's hybrid score interval.\n"
                    f"- Margin per customer: revenue in the window (returns subtracted) × {settings.margin:.0%} "
                    "margin. Its uplift's interval is built in two parts, how many buy and what a buyer spends "
                    "(the spread of spend from both groups' buyers, corrected for its skew), because a small control "
                    "group that happens to miss the few big spenders would otherwise look cheap and certain. "
                    "Below about 5 buyers expected in the control group no money figure is given. Incremental "
                    "margin = that uplift × customers contacted; net return = incremental margin − contacts × cost "
                    "per contact.\n"
                    "- An interval that includes 0 means the difference could be chance: wait longer, or hold "
                    "back a bigger control group next time.")
        st.dataframe(res, hide_index=True, width="stretch")
    download_csv(res, "campaign_results.csv", "Download the results (CSV)")

    # --- back into the playbook ------------------------------------------------------------------------------
    kinds = catalogue().set_index("tactic")["kind"].to_dict()
    fb = feedback(res, kinds)
    st.session_state["measured_uplifts"] = fb
    if not fb.empty:
        st.subheader("Back into the playbook")
        st.toggle("Use the measured uplifts in the playbook", value=True, key="use_measured",
                  help="Off: the playbook goes back to its assumptions.")
        names = catalogue().set_index("tactic")
        shown = fb.assign(tactic=fb["tactic"].map(names["name"]),
                          assumed=fb["tactic"].map(names["uplift"]))
        mixed = [blend(a, u, lo, hi) for a, u, lo, hi in zip(shown["assumed"], fb["uplift"], fb["low"], fb["high"])]
        shown = shown.assign(blend=[b[0] for b in mixed], blend_low=[b[1] for b in mixed],
                             blend_high=[b[2] for b in mixed])
        st.dataframe(shown[["tactic", "assumed", "uplift", "low", "high", "blend", "blend_low", "blend_high",
                            "source"]].style.format(
            {c: "{:.1%}" for c in ("assumed", "uplift", "low", "high", "blend", "blend_low", "blend_high")}),
            hide_index=True, width="stretch",
            column_config={"uplift": st.column_config.Column("measured"),
                           "blend": st.column_config.Column("the playbook uses")})
        st.caption("The playbook uses the **blend**: the assumption and the measurement weighed by how precise each "
                   f"is (the assumption counted as right within ±{2 * ASSUMPTION_RELATIVE_SD:.0%} of itself). A "
                   "wide \"can't tell yet\" moves it a little; a tight result all but replaces it.")
        st.caption("For *save* tactics the playbook's uplift is the share of at-risk customers a contact keeps, so "
                   "the extra buying rate is divided by the targets' average churn risk; for the others it is the "
                   "chance of one extra order. Several campaigns of one tactic are pooled, the more precise "
                   "weighing more.")

# --- before sending ---------------------------------------------------------------------------------------------
st.subheader("Before sending: can the list show an effect at all?")
share = st.session_state.get("control_pct", 10) / 100
ready = readiness(settings)
if not ready.ok:
    st.info("List sizes come from the playbook, which needs projections this history cannot support yet: "
            + ready.in_words().split(": ", 1)[1].split(" What your data")[0])
    st.stop()
try:
    features, ranked = tactic_table(settings)
except ModelError as exc:
    st.info(f"The playbook cannot be computed on this data, so neither can list sizes: {plain(exc)}")
    st.stop()
elig = eligibility(features, catalogue_in_use())
rows_power = []
for t in ranked.itertuples(index=False):
    who = elig[t.tactic] == 1
    n = int(who.sum())
    base = float(1 - features.loc[who, "churn_risk"].mean()) if n else float("nan")
    mde = power(n, share, base) if n else float("inf")
    rows_power.append({"tactic": t.name, "customers": n, "buy anyway": base,
                       "smallest uplift it can show": f"{mde:.1%}" if mde < 1 else "none: too few customers"})
pw = pd.DataFrame(rows_power)
want = st.number_input("The uplift you want to be able to see (extra buyers per 100 contacted)", min_value=0.5,
                       max_value=50.0, value=5.0, step=0.5, key="campaign_target_uplift") / 100
needed = [control_share_for(n, want, base) if n else None for n, base in zip(pw["customers"], pw["buy anyway"])]
pw[f"control share needed for {want:.1%}"] = [
    f"{v:.0%}" if v is not None else
    (f"a list of about {count(customers_for(want, base, share))} customers (at {share:.0%} control)"
     if base == base and customers_for(want, base, share) else "more customers than this shop has")
    for v, base in zip(needed, pw["buy anyway"])]
st.caption(f"With {share:.0%} of each list held back (the playbook's slider), a campaign can only be told from chance "
           "if it moves at least this many extra customers per 100 to buy (two-sided 5 % test, 80 % power). *Buy "
           f"anyway*: the targets' chance to buy within {settings.churn_window_days} days without a campaign.")
st.dataframe(pw.style.format({"customers": "{:,}", "buy anyway": "{:.0%}"}, na_rep="—"), hide_index=True,
             width="stretch")
