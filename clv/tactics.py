"""What should I do first? A catalogue of retention tactics, ranked by the money each can move for this shop.

The catalogue is data (``CATALOGUE``): who each tactic targets (a pandas query over the scored customer table),
its kind, channel, and a default uplift and cost per contact — conservative assumptions the user can edit.

Expected gain per targeted customer i:
- "save" tactics:                 uplift × churn_risk_i × clv_i
- "grow", "convert", "recover":   uplift × expected_order_value_i × margin   (one extra order's margin)
and net gain = Σ gain − customers × cost per contact; ROI = net gain / cost.
"""
from __future__ import annotations

import datetime as dt
import io
import zipfile

import numpy as np
import pandas as pd

from .churn import unhappy_support
from .export import to_safe_csv

__all__ = ["CATALOGUE", "TARGET_WORDS", "KINDS", "tactic_features", "eligibility", "rank_tactics", "combined_plan", "target_list",
           "assign_control", "lists_zip", "GAIN_FORMULAS", "PLAN", "plan_experiment", "plan_files"]

KINDS = ("save", "grow", "convert", "recover")
GAIN_FORMULAS = {
    "save": "uplift × churn risk × projected CLTV",
    "grow": "uplift × expected order value × margin",
    "convert": "uplift × expected order value × margin",
    "recover": "uplift × expected order value × margin",
}

#: The tactic catalogue. ``target`` is a pandas query over the columns of ``tactic_features``.
CATALOGUE = pd.DataFrame([
    ("loyalty_tiers", "Loyalty programme with tiers",
     "Reward your best and regular customers so they keep choosing you.",
     "vip == 1 or (repeat == 1 and churn_risk < 0.5)", "grow", "email", 0.05, 1.00),
    ("winback", "Win-back offer",
     "A personal offer to valuable customers who have gone quiet, before they are gone for good.",
     "high_value == 1 and churn_risk >= 0.5", "save", "email", 0.10, 4.00),
    ("second_purchase", "Second-purchase offer",
     "Most first-time buyers never return; a nudge a few weeks after the first order turns some into regulars.",
     "first_time == 1", "convert", "email", 0.06, 2.00),
    ("abandoned_cart", "Abandoned-cart reminder and retargeting",
     "They already chose the products; a reminder brings part of those carts back.",
     "cart_abandoner == 1", "recover", "email + retargeting ads", 0.10, 0.50),
    ("recommendations", "Personalised recommendations (cross- and up-sell)",
     "Active repeat buyers respond to products that fit what they already bought.",
     "repeat == 1 and churn_risk < 0.5", "grow", "on-site + email", 0.03, 0.10),
    ("support_followup", "Support follow-up",
     "A customer with an unresolved or unhappy ticket is about to leave; a personal follow-up keeps many.",
     "unhappy_support == 1", "save", "support", 0.15, 3.00),
    ("post_purchase_updates", "Post-purchase order-tracking updates",
     "Clear delivery updates make a first experience good enough to come back.",
     "new_customer == 1", "convert", "email + SMS", 0.02, 0.05),
    ("review_request", "Review / feedback request",
     "Asking recent buyers for feedback brings them back to the shop and surfaces problems early.",
     "recent_buyer == 1", "grow", "email", 0.01, 0.05),
    ("subscription_offer", "Subscription offer",
     "Customers who reorder on a regular rhythm save effort with a subscription and you get predictable revenue.",
     "regular_buyer == 1", "grow", "email", 0.05, 1.50),
    ("full_price_nudge", "Stop discounting: full-price nudges",
     "Discount shoppers often buy anyway; value messages instead of codes protect your margin.",
     "discount_shopper == 1 and churn_risk < 0.5", "grow", "email", 0.02, 0.10),
    ("vip_early_access", "Early access for VIPs",
     "First access to new products makes your best customers feel like insiders.",
     "vip == 1", "grow", "email + SMS", 0.04, 0.30),
    ("omnichannel", "Omnichannel re-engagement",
     "Customers who stopped opening emails but still visit the site can be reached on another channel.",
     "email_silent_active == 1", "save", "SMS + retargeting ads", 0.05, 0.50),
], columns=["tactic", "name", "rationale", "target", "kind", "channel", "uplift", "cost_per_customer"])

#: each tactic's ``target`` rule said in words, for founders (the rule itself is shown behind an expander)
TARGET_WORDS = {
    "loyalty_tiers": "VIP/loyal customers, and repeat buyers who are not at risk",
    "winback": "the top quarter by projected value who are more likely than not to stop buying",
    "second_purchase": "first-time buyers (one order, placed recently)",
    "abandoned_cart": "customers who abandoned a cart recently and have not ordered since",
    "recommendations": "repeat buyers who are not at risk",
    "support_followup": "customers with a support ticket rated 3 or lower (or not rated)",
    "post_purchase_updates": "customers whose first order was in the last 30 days",
    "review_request": "customers who bought in the last 30 days",
    "subscription_offer": "customers who reorder on a steady rhythm (3+ repeat days, at most 60 days apart, "
                          "not overdue)",
    "full_price_nudge": "discount shoppers who are not at risk",
    "vip_early_access": "VIP/loyal customers",
    "omnichannel": "customers silent on e-mail for 60+ days who still visited in the last 30",
}


def tactic_features(scored: pd.DataFrame) -> pd.DataFrame:
    """The scored customer table plus the flags tactic rules use (high_value, new_customer, …)."""
    f = scored.copy()
    since = f["T_days"] - f["recency_days"]
    f["days_since_last"] = since
    f["high_value"] = (f["clv"] >= f["clv"].quantile(0.75)).astype(int)
    f["new_customer"] = (f["T_days"] <= 30).astype(int)
    f["recent_buyer"] = (since <= 30).astype(int)
    gap = f["recency_days"] / f["frequency"].where(f["frequency"] > 0)
    f["regular_buyer"] = ((f["frequency"] >= 3) & (gap <= 60) & (since <= 2 * gap)).astype(int)
    f["unhappy_support"] = unhappy_support(f).astype(int)
    as_of = pd.to_datetime(f["last_order"]) + pd.to_timedelta(since, unit="D")
    if "last_email_engagement" in f:
        email_gap = (as_of - pd.to_datetime(f["last_email_engagement"])).dt.days
        any_gap = (as_of - pd.to_datetime(f["last_interaction"])).dt.days
        f["email_silent_active"] = ((email_gap.isna() | (email_gap > 60)) & (any_gap <= 30)).astype(int)
    else:
        f["email_silent_active"] = 0
    return f


def eligibility(features: pd.DataFrame, catalogue: pd.DataFrame = CATALOGUE) -> pd.DataFrame:
    """0/1 per customer and tactic."""
    out = pd.DataFrame(index=features.index)
    for row in catalogue.itertuples(index=False):
        out[row.tactic] = features.eval(row.target, engine="python").astype(int) if len(features) else []
    return out


def _gain_per_customer(features: pd.DataFrame, kind: str, uplift: float, margin: float) -> pd.Series:
    if kind == "save":
        return uplift * features["churn_risk"] * features["clv"]
    return uplift * features["expected_order_value"] * margin


def _at_stake_per_customer(features: pd.DataFrame, kind: str, margin: float) -> pd.Series:
    if kind == "save":
        return features["churn_risk"] * features["clv"]
    return features["expected_order_value"] * margin


def rank_tactics(features: pd.DataFrame, margin: float, catalogue: pd.DataFrame = CATALOGUE) -> pd.DataFrame:
    """One row per tactic: customers, value_at_stake, expected_gain (gross), cost, net_gain, roi; best first."""
    elig = eligibility(features, catalogue)
    rows = []
    for row in catalogue.itertuples(index=False):
        who = elig[row.tactic] == 1
        sub = features[who]
        gross = float(_gain_per_customer(sub, row.kind, row.uplift, margin).sum())
        cost = float(who.sum() * row.cost_per_customer)
        rows.append({"tactic": row.tactic, "name": row.name, "kind": row.kind, "channel": row.channel,
                     "customers": int(who.sum()),
                     "value_at_stake": float(_at_stake_per_customer(sub, row.kind, margin).sum()),
                     "gross_gain": gross, "cost": cost, "expected_gain": gross - cost,
                     "roi": (gross - cost) / cost if cost > 0 else np.nan,
                     "uplift": row.uplift, "cost_per_customer": row.cost_per_customer,
                     "formula": GAIN_FORMULAS[row.kind], "rationale": row.rationale})
    ranked = pd.DataFrame(rows).sort_values("expected_gain", ascending=False, kind="stable")
    return ranked.reset_index(drop=True)


def combined_plan(features: pd.DataFrame, margin: float, catalogue: pd.DataFrame = CATALOGUE) -> pd.DataFrame:
    """"Do these together": each customer gets at most one tactic, the one with their highest positive net gain
    (greedy over all customer–tactic pairs, best first). Returns customer_id, tactic, net_gain per customer."""
    elig = eligibility(features, catalogue)
    pairs = []
    for row in catalogue.itertuples(index=False):
        who = elig[row.tactic] == 1
        net = _gain_per_customer(features[who], row.kind, row.uplift, margin) - row.cost_per_customer
        pairs.append(pd.DataFrame({"customer_id": features.loc[who, "customer_id"], "tactic": row.tactic,
                                   "net_gain": net}))
    pairs = pd.concat(pairs, ignore_index=True) if pairs else pd.DataFrame(columns=["customer_id", "tactic", "net_gain"])
    pairs = pairs[pairs["net_gain"] > 0].sort_values(["net_gain", "tactic"], ascending=[False, True], kind="stable")
    return pairs.drop_duplicates("customer_id", keep="first").reset_index(drop=True)


def assign_control(customer_ids: pd.Series, share: float = 0.10, seed: int = 0, salt: str = "") -> pd.Series:
    """'treatment' or 'control' per customer: exactly round(share × n) random controls, reproducible with the
    seed, independent of value (the draw only sees sorted customer ids). ``salt`` varies the draw per tactic."""
    ids = customer_ids.astype(str)
    order = np.argsort(ids.to_numpy(), kind="stable")
    key = np.frombuffer(f"{seed}|{salt}".encode(), np.uint8).astype(np.uint64)
    rng = np.random.default_rng([seed, int(key.sum()), len(salt)])
    n_control = int(round(share * len(ids)))
    control_sorted = np.zeros(len(ids), bool)
    control_sorted[rng.choice(len(ids), n_control, replace=False)] = True
    group = np.empty(len(ids), object)
    group[order] = np.where(control_sorted, "control", "treatment")
    return pd.Series(group, index=customer_ids.index, name="group")


def target_list(features: pd.DataFrame, tactic: str, margin: float, catalogue: pd.DataFrame = CATALOGUE,
                control_share: float = 0.10, seed: int = 0) -> pd.DataFrame:
    """The customers a tactic targets, ready for an email/SMS tool, with a random control group."""
    row = catalogue.set_index("tactic").loc[tactic]
    who = features.eval(row["target"], engine="python")
    sub = features[who]
    out = pd.DataFrame({
        "email": sub["email"] if "email" in sub else None,
        "customer_id": sub["customer_id"],
        "segment": sub["rfm_segment"] if "rfm_segment" in sub else "",
        "clv": sub["clv"].round(2), "churn_risk": sub["churn_risk"].round(3),
        "expected_gain": (_gain_per_customer(sub, row["kind"], row["uplift"], margin) - row["cost_per_customer"]).round(2),
        "reason": sub["reason"] if "reason" in sub else "",
    })
    out["group"] = assign_control(out["customer_id"], control_share, seed, salt=tactic)
    return out.sort_values("expected_gain", ascending=False, kind="stable").reset_index(drop=True)


PLAN = "plan"  # the tactic name of a plan's own campaign file (everyone sent something vs the shared hold-out)


def plan_experiment(features: pd.DataFrame, margin: float, catalogue: pd.DataFrame = CATALOGUE,
                    control_share: float = 0.10, holdout_share: float = 0.10, seed: int = 0) -> pd.DataFrame:
    """"Do these together" as an experiment: customer_id, tactic, net_gain, group.

    Each customer of the combined plan has one tactic. A shared hold-out (``holdout_share`` of the plan, drawn once
    from the seed) gets none of them: group "holdout". Of the others, each tactic keeps its own random control
    (``control_share``): group "control", the rest "treatment". So no customer is treated in one list and control
    in another, and the hold-out measures the whole plan against doing nothing."""
    plan = combined_plan(features, margin, catalogue)
    held = assign_control(plan["customer_id"], holdout_share, seed, salt="plan-holdout") == "control"
    plan["group"] = np.where(held, "holdout", "treatment").astype(object)
    for tactic, idx in plan[~held].groupby("tactic").groups.items():
        plan.loc[idx, "group"] = assign_control(plan.loc[idx, "customer_id"], control_share, seed, salt=tactic).to_numpy()
    return plan


def plan_files(features: pd.DataFrame, margin: float, catalogue: pd.DataFrame = CATALOGUE,
               control_share: float = 0.10, holdout_share: float = 0.10, seed: int = 0, created=None,
               fmt: str = "plain") -> bytes:
    """The plan as one zip: per tactic a send file (its treatment group, clv.send) and a campaign file (treatment vs
    its own control), and the plan's campaign file (everyone sent something vs the shared hold-out,
    ``plan.campaign.csv``, tactic "plan")."""
    from .campaigns import campaign_file, campaign_id_of
    from .send import send_file
    created = created or dt.date.today()
    plan = plan_experiment(features, margin, catalogue, control_share, holdout_share, seed)
    buf = io.BytesIO()
    names = catalogue.set_index("tactic")["name"]
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for tactic, members in plan[plan["group"] != "holdout"].groupby("tactic", sort=True):
            lst = target_list(features, tactic, margin, catalogue, control_share, seed)
            lst = lst[lst["customer_id"].isin(members["customer_id"])].drop(columns="group").merge(
                members[["customer_id", "group"]], on="customer_id")
            cid = campaign_id_of(tactic, created, seed) + "-plan"
            z.writestr(f"{tactic}.send.csv", send_file(lst, fmt, tactic, cid, names.get(tactic)).content)
            z.writestr(f"{tactic}.campaign.csv",
                       to_safe_csv(campaign_file(lst, tactic, created, seed, control_share, campaign_id=cid)))
        everyone = plan[plan["group"] != "control"].assign(
            group=lambda d: np.where(d["group"] == "holdout", "control", "treatment"))
        z.writestr(f"{PLAN}.campaign.csv", to_safe_csv(campaign_file(everyone, PLAN, created, seed, holdout_share,
                                                                        campaign_id=campaign_id_of(PLAN, created, seed))))
    return buf.getvalue()


def lists_zip(features: pd.DataFrame, margin: float, catalogue: pd.DataFrame = CATALOGUE,
              control_share: float = 0.10, seed: int = 0, created=None, fmt: str = "plain") -> bytes:
    """Every tactic's send file (<tactic>.send.csv: the treatment group only, in ``fmt``, clv.send) and campaign file
    (<tactic>.campaign.csv: both groups, clv.campaigns.campaign_file, sent on ``created`` — default today), as one
    zip of formula-safe CSVs: send the first, keep the second to measure the campaign later."""
    from .campaigns import campaign_file, campaign_id_of
    from .send import send_file
    created = created or dt.date.today()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for row in catalogue.itertuples(index=False):
            lst = target_list(features, row.tactic, margin, catalogue, control_share, seed)
            record = campaign_file(lst, row.tactic, created, seed, control_share)
            z.writestr(f"{row.tactic}.send.csv",
                       send_file(lst, fmt, row.tactic, campaign_id_of(row.tactic, created, seed), row.name).content)
            z.writestr(f"{row.tactic}.campaign.csv", to_safe_csv(record))
    return buf.getvalue()
