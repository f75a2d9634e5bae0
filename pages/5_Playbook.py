"""What should I do first? Retention tactics ranked by expected value, with target lists and control groups."""
import datetime as dt

import pandas as pd
import streamlit as st

from clv import charts
from clv.campaigns import campaign_file, campaign_id_of
from clv.export import to_safe_csv
from clv.models import ModelError
from clv.push import PushError, push_klaviyo, push_mailchimp
from clv.send import SEND_FORMATS, send_file
from clv.tactics import GAIN_FORMULAS, TARGET_WORDS, combined_plan, lists_zip, plan_files, target_list
from ui.common import count, currency, download_csv, money, page_setup, plain
from ui import fallback
from ui.model import (apply_assumption_edits, campaigns, catalogue, catalogue_in_use, customers_table, measured_uplifts,
                      readiness, tactic_table)
from ui.auth import secret_section
from ui.workspace import keep_campaign, plan_seed

settings = page_setup("Playbook")
st.title("What should I do first?")
st.caption("Each tactic targets the customers it suits, and is ranked by the money it is expected to move after "
           "contact costs, for your customers. The uplifts and costs are **assumptions**: conservative defaults "
           "you can change in the table below.")
apply_assumption_edits()  # the assumptions table below edits the session's catalogue (idempotent)
ready = readiness(settings)
if not ready.ok:
    st.caption("Tactics are ranked by the value they are expected to move, which needs projections this history "
               "cannot support yet. Meanwhile, the customers silent for longer than their own rhythm are the ones to "
               "write to first: download them below.")
    fallback.show(ready, customers_table(settings), settings.margin, None, "playbook")
    st.stop()
try:
    features, ranked = tactic_table(settings)
except ModelError as exc:
    st.error(plain(str(exc)), icon="⚠️")
    st.stop()

best = ranked.iloc[0]
c = st.columns(3)
c[0].metric("Best tactic", best["name"])
c[1].metric("Its expected net gain", money(best["expected_gain"]))
c[2].metric("Customers it reaches", count(best["customers"]))
st.caption(f"**{best['name']}**: {best['rationale']} Reaching {count(best['customers'])} customers is expected to "
           f"bring {money(best['gross_gain'])} of margin for {money(best['cost'])} of contact costs.")

c1, c2 = st.columns([3, 2])
c1.plotly_chart(charts.tactic_gains(ranked), width="stretch")
c2.markdown("**What the gain means.** A *save* tactic (a win-back, a call) keeps some of the customers who would "
            "otherwise stop buying: its gain is the share it keeps of what those customers would be worth. A *grow*, "
            "*convert* or *recover* tactic brings some customers one extra order: its gain is that order's margin "
            f"({settings.margin:.0%} of a typical order's value). The net gain takes off what contacting everyone costs.")
with c2.expander("How this is computed"):
    st.markdown("Per targeted customer:\n"
                f"- *save* tactics: {GAIN_FORMULAS['save']}\n"
                f"- *grow*, *convert*, *recover* tactics: {GAIN_FORMULAS['grow']}\n\n"
                "Expected net gain = Σ gain − customers × cost per contact; ROI = net gain ÷ cost. "
                "Value at stake: Σ churn risk × CLTV (save) or Σ one order's margin (others).")
in_use = catalogue_in_use().set_index("tactic")
ranked = ranked.assign(uplift_from=ranked["tactic"].map(in_use["uplift_source"]))
show = ["name", "kind", "channel", "customers", "value_at_stake", "gross_gain", "cost", "expected_gain", "roi",
        "uplift", "uplift_from"]
st.dataframe(ranked[show].style.format({"customers": "{:,}", "value_at_stake": money, "gross_gain": money,
                                        "cost": money, "expected_gain": money, "roi": "{:.0%}", "uplift": "{:.1%}"}),
             hide_index=True, width="stretch",
             column_config={"name": "tactic", "value_at_stake": "value at stake", "gross_gain": "margin it brings",
                            "cost": "contact costs", "expected_gain": "expected net gain", "roi": "return on cost",
                            "uplift_from": "uplift from"})
measured = measured_uplifts()
if measured is not None:
    st.info("Measured on your own campaigns, and blended with the assumption by precision (a wide result moves it a "
            "little, a tight one replaces it): "
            + "; ".join(f"**{in_use.loc[r.tactic, 'name']}** measured {r.uplift:.1%} ({r.low:.1%} to {r.high:.1%}), "
                        f"used {in_use.loc[r.tactic, 'uplift']:.1%}" for r in measured.itertuples(index=False))
            + ". Switch back to the assumptions on the Campaigns page.")
download_csv(ranked.drop(columns=["rationale"]), "tactics.csv", "Download the ranking (CSV)")

st.subheader("Assumptions")
st.caption("Uplift: for *save* tactics, the share of at-risk value a contact keeps; for the others, the chance a "
           "contact brings one extra order. Cost: what one contact costs you (discount, message, ad).")
cat = catalogue()
st.data_editor(cat.assign(who=cat["tactic"].map(TARGET_WORDS))[["name", "kind", "channel", "who", "uplift",
                                                               "cost_per_customer"]],
               key="assumptions", hide_index=True, width="stretch",
               disabled=["name", "kind", "channel", "who"],
               column_config={"uplift": st.column_config.NumberColumn(min_value=0.0, max_value=1.0, step=0.01,
                                                                      format="%.2f"),
                              "cost_per_customer": st.column_config.NumberColumn(min_value=0.0, step=0.05,
                                                                                 format="%.2f")})

with st.expander("The rule behind each target"):
    st.caption("Each list is the customers for whom this rule holds, over the columns of the scored customer table "
               "(flags are 1 when true; churn_risk is 0–1; high_value is the top quarter by projected value).")
    st.dataframe(cat[["name", "target"]], hide_index=True, width="stretch")

st.subheader("Do these together")
plan = combined_plan(features, settings.margin, catalogue_in_use())
by = plan.groupby("tactic").agg(customers=("customer_id", "size"), net_gain=("net_gain", "sum"))
by = by.join(ranked.set_index("tactic")["name"]).sort_values("net_gain", ascending=False)
st.caption(f"One primary tactic per customer — the one with their highest expected net gain: "
           f"{count(len(plan))} customers, {money(plan['net_gain'].sum())} expected in total, nobody contacted twice.")
st.dataframe(by[["name", "customers", "net_gain"]].style.format({"customers": "{:,}", "net_gain": money}),
             hide_index=True, width="stretch",
             column_config={"name": "tactic", "net_gain": "expected net gain (after contact costs)"})
download_csv(plan, "combined_plan.csv", "Download the combined plan (CSV)")
holdout = st.slider("Shared hold-out: plan customers who get none of these tactics, %", 5, 30, 10, key="plan_holdout_pct",
                    help="Drawn once for the plan; with each tactic's own control group it measures every tactic "
                         "and the whole plan on the Campaigns page.") / 100
st.caption(f"Sent together, the plan is an experiment: each customer gets at most one tactic, {holdout:.0%} of the "
           "plan's customers are held out of all of them (the shared hold-out), and each tactic keeps its own "
           "control group — nobody is treated in one list and control in another. The zip has each tactic's send "
           "file and campaign file, and the plan's own campaign file (everyone sent something against the "
           "hold-out).")
plan_key = ("plan", st.session_state.get("data_version"), settings, holdout, st.session_state.get("control_pct", 10),
            st.session_state.get("campaign_date", dt.date.today()), st.session_state.get("send_format", "plain"),
            catalogue_in_use()[["tactic", "uplift", "cost_per_customer"]].to_csv())
if st.session_state.get("plan_zip", (None,))[0] != plan_key:
    if st.button("Prepare the plan's files (zip)", key="prepare_plan"):
        with st.spinner("Writing the plan's files…"):
            st.session_state["plan_zip"] = (plan_key, plan_files(
                features, settings.margin, catalogue_in_use(), st.session_state.get("control_pct", 10) / 100, holdout,
                seed=plan_seed(), created=st.session_state.get("campaign_date", dt.date.today()),
                fmt=st.session_state.get("send_format", "plain")))
if st.session_state.get("plan_zip", (None,))[0] == plan_key:
    st.download_button("Download the plan's files (zip)", st.session_state["plan_zip"][1], file_name="plan.zip",
                       mime="application/zip", key="dl-plan")

st.subheader("Target lists")
if st.session_state.get("plan_zip"):
    st.warning("You prepared the plan's files above: send either the plan or single lists, not both. A single list "
               "does not know the plan's shared hold-out and controls, so sending it as well would contact them.",
               icon=":material/warning:")
share = st.slider("Control group (kept out of the campaign to measure its real effect), %", 0, 50, 10,
                  key="control_pct") / 100
st.caption("Each list holds the customers a tactic targets, with a random, reproducible control group: the send "
           "file has only the *treatment* group; compare the two groups' orders later to see what the campaign "
           "really did.")
pick = st.selectbox("Tactic", list(ranked["tactic"]), format_func=lambda t: ranked.set_index("tactic").loc[t, "name"],
                    key="list_tactic")
sent_on = st.date_input("Sent on", value=dt.date.today(), key="campaign_date",
                        help="The day the campaign goes out (today by default). A past date replays \"what if we had "
                             "sent it then\" on your own history: the orders after it measure it.")
lst = target_list(features, pick, settings.margin, catalogue_in_use(), share)
st.dataframe(lst.head(300), hide_index=True, height=300, width="stretch")
record = campaign_file(lst, pick, sent_on, 0, share)
cid = campaign_id_of(pick, sent_on, 0)


def _keep_campaign(cid=cid, record=record):
    """A downloaded list is a campaign about to be sent: keep its record (with the data set) to measure it later."""
    keep_campaign(cid, record)


fmt = st.selectbox("Send file for", list(SEND_FORMATS), format_func=SEND_FORMATS.get, key="send_format",
                   help="The file to import into the tool that sends the message: the treatment group only, never the "
                        "control group (mailing the controls would void the measurement).")
send = send_file(lst, fmt, pick, cid, ranked.set_index("tactic").loc[pick, "name"], currency())
st.caption(f"The send file holds the **{count(send.rows)} customers to contact**; the {count(send.held_out)} in the "
           "control group are left out and stay only in the campaign file, which you keep to measure the campaign."
           + (f" {count(send.without_email)} customers without an e-mail address are left out of this format."
              if send.without_email else ""))
c1, c2, c3 = st.columns(3)
c1.download_button(f"Download the send file ({count(send.rows)} customers)", send.content,
                   file_name=send.filename, mime="text/csv", key="dl-list", on_click=_keep_campaign)

c2.download_button("Download its campaign file", to_safe_csv(record), file_name=f"{cid}.campaign.csv",
                   mime="text/csv", key="dl-campaign", on_click=_keep_campaign,
                   help="Who is in the treatment and the control group, and their scores today. Keep it: upload it "
                        "on the Campaigns page with a newer orders export to see what the campaign really did.")
# every tactic's list and campaign file: built when asked for, not on every run of the page
zip_key = (st.session_state.get("data_version"), settings, share, sent_on, fmt,
           catalogue_in_use()[["tactic", "uplift", "cost_per_customer"]].to_csv())
if st.session_state.get("lists_zip", (None,))[0] != zip_key:
    if c3.button("Prepare all lists (zip)", key="prepare_zip"):
        with st.spinner("Writing every list…"):
            st.session_state["lists_zip"] = (zip_key, lists_zip(features, settings.margin, catalogue_in_use(), share,
                                                                created=sent_on, fmt=fmt))
if st.session_state.get("lists_zip", (None,))[0] == zip_key:
    c3.download_button("Download all lists (zip)", st.session_state["lists_zip"][1], file_name="target_lists.zip",
                       mime="application/zip", key="dl-zip")
# --- direct push, when a Klaviyo or Mailchimp key is configured in the secrets ----------------------------------
tools = {name: conf for name, conf in (("Klaviyo", secret_section("klaviyo")), ("Mailchimp", secret_section("mailchimp")))
         if conf.get("api_key")}
with st.expander("Send directly to Klaviyo or Mailchimp", expanded=bool(tools)):
    if not tools:
        st.caption("Add a `[klaviyo]` section (a private `api_key` with the profiles:write and lists:write scopes, "
                   "optionally `list_name` or `list_id`) or a `[mailchimp]` section (`api_key`, `audience_id`, "
                   "optionally `new_contacts` = subscribed / pending / transactional) to `.streamlit/secrets.toml` "
                   "(README, \"Direct push\") and the treatment group of this list is sent with one click. Until "
                   "then, import the send file above.")
    for tool, conf in tools.items():
        where = (f"list '{conf.get('list_name') or conf.get('list_id') or 'clv · <tactic> · <campaign>'}'"
                 if tool == "Klaviyo" else f"audience {conf.get('audience_id', '?')}, tag 'clv {cid}'")
        if st.button(f"Send the treatment group to {tool} ({where})", key=f"push_{tool}"):
            name = ranked.set_index("tactic").loc[pick, "name"]
            try:
                with st.spinner(f"Sending to {tool}…"):
                    if tool == "Klaviyo":
                        result = push_klaviyo(lst, conf["api_key"], pick, cid, name, list_id=conf.get("list_id"),
                                              list_name=conf.get("list_name"),
                                              base_url=conf.get("base_url", "https://a.klaviyo.com"))
                    else:
                        result = push_mailchimp(lst, conf["api_key"], conf.get("audience_id", ""), pick, cid,
                                                new_status=conf.get("new_contacts") or None,
                                                base_url=conf.get("base_url"))
            except PushError as exc:
                st.error(plain(str(exc)), icon="⚠️")
            else:
                _keep_campaign()
                st.session_state.setdefault("push_log", []).append({
                    "sent at (UTC)": result.at[:16].replace("T", " "), "campaign": cid, "tool": tool,
                    "to": result.destination, "customers sent": result.sent, "rejected": result.failed,
                    "not pushed": result.not_pushed, "control customers held back": result.held_out})
                (st.success if not result.failed else st.warning)(plain(result.in_words()))
    if st.session_state.get("push_log"):
        st.caption("Sent from this session:")
        st.dataframe(pd.DataFrame(st.session_state["push_log"]), hide_index=True, width="stretch")

if cid in campaigns():
    kept = "with your data set" if st.session_state.get("dataset") else "for this session (the sample shop)"
    st.caption(f"Campaign **{cid}** is kept {kept}: measure it on the Campaigns page once newer orders are in.")
