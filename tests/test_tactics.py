"""Tactics: eligibility, the value formulas by hand, the combined plan, control groups, safe exports."""
import csv
import io

import numpy as np
import pandas as pd
import pytest

from clv.export import FORMULA_PREFIXES, to_safe_csv
from clv.tactics import (CATALOGUE, assign_control, combined_plan, eligibility, rank_tactics, tactic_features,
                         target_list)

AS_OF = pd.Timestamp("2024-06-30")


def scored(**cols) -> pd.DataFrame:
    n = len(next(iter(cols.values())))
    base = dict(customer_id=[f"c{i}" for i in range(n)], email=[f"c{i}@x.com" for i in range(n)],
                orders=[1] * n, frequency=[0] * n, recency_days=[0] * n, T_days=[100] * n, revenue=[50.0] * n,
                clv=[10.0] * n, churn_risk=[0.2] * n, expected_order_value=[50.0] * n,
                support_tickets=[0] * n, mean_satisfaction=[np.nan] * n, rfm_segment=["Loyal"] * n,
                first_time=[0] * n, repeat=[0] * n, vip=[0] * n, cart_abandoner=[0] * n, discount_shopper=[0] * n,
                reason=["bought once"] * n)
    base.update(cols)
    f = pd.DataFrame(base)
    since = f["T_days"] - f["recency_days"]
    f["last_order"] = AS_OF - pd.to_timedelta(since, unit="D")
    f["last_interaction"] = cols.get("last_interaction", [pd.NaT] * n)
    f["last_email_engagement"] = cols.get("last_email_engagement", [pd.NaT] * n)
    return f


def test_each_tactic_targets_the_right_customers():
    f = tactic_features(scored(
        clv=[100, 1, 2, 3, 4, 5, 6, 7, 0.5],
        churn_risk=[0.9, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.9],
        vip=[0, 1, 0, 0, 0, 0, 0, 0, 0],
        repeat=[0, 1, 1, 0, 0, 1, 0, 0, 0],
        first_time=[0, 0, 0, 1, 0, 0, 0, 0, 0],
        cart_abandoner=[0, 0, 0, 0, 1, 0, 0, 0, 0],
        discount_shopper=[0, 0, 1, 0, 0, 0, 0, 0, 0],
        support_tickets=[0, 0, 0, 0, 0, 0, 1, 0, 0], mean_satisfaction=[np.nan] * 6 + [2, np.nan, np.nan],
        frequency=[0, 0, 0, 0, 0, 6, 0, 0, 0], recency_days=[0, 0, 0, 0, 0, 300, 0, 0, 0],
        T_days=[400, 400, 400, 20, 400, 320, 400, 400, 400],
        last_interaction=[pd.NaT] * 7 + [AS_OF - pd.Timedelta(days=3), pd.NaT],
        last_email_engagement=[pd.NaT] * 7 + [AS_OF - pd.Timedelta(days=200), pd.NaT]))
    e = eligibility(f)
    assert list(e.index[e["winback"] == 1]) == [0]              # high value and at risk
    assert set(e.index[e["loyalty_tiers"] == 1]) == {1, 2, 5}   # VIP, or active repeat buyer
    assert list(e.index[e["vip_early_access"] == 1]) == [1]
    assert list(e.index[e["second_purchase"] == 1]) == [3]
    assert list(e.index[e["post_purchase_updates"] == 1]) == [3]  # first order within 30 days
    assert list(e.index[e["abandoned_cart"] == 1]) == [4]
    assert set(e.index[e["recommendations"] == 1]) == {1, 2, 5}
    assert list(e.index[e["full_price_nudge"] == 1]) == [2]
    assert list(e.index[e["subscription_offer"] == 1]) == [5]   # six repeat days every 50 days, last 20 days ago
    assert list(e.index[e["support_followup"] == 1]) == [6]
    assert list(e.index[e["omnichannel"] == 1]) == [7]          # no email for 200 days, visited 3 days ago
    assert set(e.index[e["review_request"] == 1]) == {3, 5}     # bought in the last 30 days


def test_value_formulas_on_three_customers_by_hand():
    f = tactic_features(scored(clv=[100.0, 40.0, 10.0], churn_risk=[0.5, 0.25, 0.9],
                               expected_order_value=[60.0, 30.0, 20.0], cart_abandoner=[1, 1, 0],
                               first_time=[0, 0, 0]))
    cat = CATALOGUE.copy()
    cat["target"] = "customer_id != ''"   # everyone, so the sums are easy to check
    cat.loc[cat["tactic"] == "winback", ["uplift", "cost_per_customer"]] = [0.10, 1.0]
    cat.loc[cat["tactic"] == "abandoned_cart", ["uplift", "cost_per_customer", "target"]] = [0.20, 0.5, "cart_abandoner == 1"]
    r = rank_tactics(f, margin=0.5, catalogue=cat).set_index("tactic")
    # save: Σ uplift × churn_risk × clv = 0.1 × (0.5×100 + 0.25×40 + 0.9×10) = 6.9; cost 3 × 1.0
    assert r.loc["winback", "gross_gain"] == pytest.approx(6.9)
    assert r.loc["winback", "cost"] == pytest.approx(3.0)
    assert r.loc["winback", "expected_gain"] == pytest.approx(3.9)
    assert r.loc["winback", "roi"] == pytest.approx(1.3)
    assert r.loc["winback", "value_at_stake"] == pytest.approx(69.0)
    # recover: Σ uplift × expected order value × margin over the two cart abandoners = 0.2 × (60 + 30) × 0.5 = 9
    assert r.loc["abandoned_cart", "customers"] == 2
    assert r.loc["abandoned_cart", "gross_gain"] == pytest.approx(9.0)
    assert r.loc["abandoned_cart", "expected_gain"] == pytest.approx(8.0)
    assert list(r.index[:1]) == ["abandoned_cart"]  # ranked by expected gain


def test_combined_plan_never_assigns_a_customer_twice(sample_shop):
    from clv.scoring import score_table
    f = tactic_features(score_table(sample_shop, margin=0.4, churn="palive"))
    plan = combined_plan(f, 0.4)
    assert plan["customer_id"].is_unique and len(plan) > 100
    assert (plan["net_gain"] > 0).all()
    # each customer's tactic is their best one
    elig = eligibility(f)
    some = plan.sample(20, random_state=0)
    for _, row in some.iterrows():
        i = f.index[f["customer_id"] == row["customer_id"]][0]
        for t in CATALOGUE.itertuples():
            if elig.loc[i, t.tactic]:
                sub = f.loc[[i]]
                gain = (t.uplift * (sub["churn_risk"] * sub["clv"] if t.kind == "save"
                                    else sub["expected_order_value"] * 0.4) - t.cost_per_customer).iloc[0]
                assert gain <= row["net_gain"] + 1e-9


def test_control_groups_share_seed_and_independence():
    ids = pd.Series([f"c{i}" for i in range(1000)])
    g = assign_control(ids, 0.1, seed=3, salt="winback")
    assert (g == "control").sum() == 100
    pd.testing.assert_series_equal(g, assign_control(ids, 0.1, seed=3, salt="winback"))
    assert not g.equals(assign_control(ids, 0.1, seed=4, salt="winback"))
    # the draw ignores row order and value: shuffled ids get the same groups
    shuffled = ids.sample(frac=1, random_state=1)
    assert (assign_control(shuffled, 0.1, seed=3, salt="winback").sort_index() == g).all()
    f = tactic_features(scored(clv=list(np.linspace(1, 1000, 1000)), churn_risk=[0.9] * 1000,
                               customer_id=list(ids)))
    lst = target_list(f, "winback", 0.5, control_share=0.2, seed=5)
    assert (lst["group"] == "control").mean() == pytest.approx(0.2, abs=0.002)
    # control and treatment have similar value: the draw does not look at CLV
    means = lst.groupby("group")["clv"].mean()
    assert abs(means["control"] / means["treatment"] - 1) < 0.15
    f2 = f.assign(clv=f["clv"][::-1].to_numpy())
    lst2 = target_list(f2, "winback", 0.5, control_share=0.2, seed=5)
    assert (lst.set_index("customer_id")["group"].sort_index() == lst2.set_index("customer_id")["group"].sort_index()).all()


def test_exports_round_known_columns_only():
    from clv.export import rounded
    df = pd.DataFrame({"clv": [58.007999999999996, 1 / 3], "p_alive": [0.123456, 0.99996], "other": [1 / 3, 2 / 3],
                       "orders": [1, 2]})
    out = rounded(df)
    assert out["clv"].tolist() == [58.01, 0.33] and out["p_alive"].tolist() == [0.1235, 1.0]
    assert out["other"].tolist() == df["other"].tolist() and out["orders"].tolist() == [1, 2]
    assert df["clv"].iloc[0] == 58.007999999999996  # the caller's frame is left alone


def test_exported_cells_never_start_with_a_formula_character():
    nasty = ["=HYPERLINK(\"http://x\")", "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx", "ok", "a=b"]
    df = pd.DataFrame({"email": nasty, "customer_id": nasty, "reason": nasty, "clv": np.arange(8.0)})
    rows = list(csv.DictReader(io.StringIO(to_safe_csv(df).decode(), newline="")))
    assert len(rows) == 8
    for col in ("email", "customer_id", "reason"):
        assert not any(r[col].startswith(FORMULA_PREFIXES) for r in rows), col
    assert rows[6]["email"] == "ok" and rows[7]["email"] == "a=b" and rows[0]["email"] == "'=HYPERLINK(\"http://x\")"
    f = tactic_features(scored(customer_id=["=cmd()", "+x"], email=["@evil", "-a@x.com"], cart_abandoner=[1, 1],
                               reason=["=1", "fine"]))
    rows = list(csv.DictReader(io.StringIO(to_safe_csv(target_list(f, "abandoned_cart", 0.5)).decode(), newline="")))
    assert len(rows) == 2
    for r in rows:
        for col, value in r.items():
            if col not in ("clv", "churn_risk", "expected_gain"):
                assert not value.startswith(FORMULA_PREFIXES), (col, value)


def test_every_tactic_says_its_target_in_words():
    from clv.tactics import CATALOGUE, TARGET_WORDS
    assert set(TARGET_WORDS) == set(CATALOGUE["tactic"])
    assert all("==" not in w and len(w) > 15 for w in TARGET_WORDS.values())


@pytest.fixture(scope="module")
def sample_features(sample_shop):
    from clv.scoring import score_table
    return tactic_features(score_table(sample_shop, margin=0.4, churn="palive"))


def test_a_plan_is_an_experiment_with_disjoint_lists_and_an_untouched_holdout(sample_features):
    """Issue 26 (2): each customer at most one tactic; the shared hold-out is in no send file and in no tactic's
    treatment or control; every send file is exactly its campaign file's treatment group."""
    import zipfile

    from clv.tactics import plan_experiment, plan_files
    plan = plan_experiment(sample_features, 0.4, control_share=0.1, holdout_share=0.1, seed=3)
    assert plan["customer_id"].is_unique
    assert abs((plan["group"] == "holdout").mean() - 0.1) < 0.01
    z = zipfile.ZipFile(io.BytesIO(plan_files(sample_features, 0.4, control_share=0.1, holdout_share=0.1, seed=3,
                                             created="2026-08-31")))
    holdout = set(plan.loc[plan["group"] == "holdout", "customer_id"])
    seen, sent = set(), set()
    for name in z.namelist():
        frame = pd.read_csv(z.open(name), dtype=str)
        if name == "plan.campaign.csv":
            assert set(frame.loc[frame["group"] == "control", "customer_id"]) == holdout
            continue
        if name.endswith(".campaign.csv"):
            members = set(frame["customer_id"])
            assert not members & holdout and not members & seen  # lists are disjoint
            seen |= members
            treated = set(frame.loc[frame["group"] == "treatment", "customer_id"])
            send = pd.read_csv(z.open(name.replace(".campaign.csv", ".send.csv")), dtype=str)
            assert set(send["Customer"]) == treated
            sent |= treated
    plan_file = pd.read_csv(z.open("plan.campaign.csv"), dtype=str)
    assert set(plan_file.loc[plan_file["group"] == "treatment", "customer_id"]) == sent


def test_measuring_a_simulated_plan_recovers_each_tactics_effect(sample_features):
    """Later orders simulated with known effects (base buying rate 20 %; +15 points for the first tactic, none for
    the others): each tactic's interval covers its own effect, the plan's covers the treated customers' mix."""
    import zipfile

    from clv.campaigns import measure, read_campaigns
    from clv.tactics import plan_files
    z = zipfile.ZipFile(io.BytesIO(plan_files(sample_features, 0.4, control_share=0.3, holdout_share=0.2, seed=1,
                                             created="2026-08-31")))
    rows, notes = read_campaigns([z.read(n) for n in z.namelist() if n.endswith(".campaign.csv")])
    tactics = sorted(t for t in rows["tactic"].unique() if t != "plan")
    lucky = max(tactics, key=lambda t: (rows["tactic"] == t).sum())  # the biggest list gets the effect
    effect = {t: (0.15 if t == lucky else 0.0) for t in tactics}
    rng = np.random.default_rng(0)
    members = rows[rows["tactic"] != "plan"]
    treated = members[members["group"] == "treatment"]
    p = dict.fromkeys(rows["customer_id"], 0.20)
    p.update({c: 0.20 + effect[t] for c, t in zip(treated["customer_id"], treated["tactic"])})
    bought = {c: rng.random() < q for c, q in p.items()}
    outcomes = rows[["campaign_id", "customer_id"]].drop_duplicates().assign(
        purchases=lambda d: d["customer_id"].map(bought).astype(float),
        revenue=lambda d: d["purchases"] * 50.0)
    res = measure(rows, outcomes, pd.Timestamp("2026-10-30").date(), 0.4).results.set_index("tactic")
    for t in tactics:
        r = res.loc[t]
        if r["control_customers"] >= 30:
            assert r["uplift_low"] <= effect[t] <= r["uplift_high"], (t, r["uplift_low"], r["uplift_high"])
    mix = treated["tactic"].map(effect).mean()
    assert res.loc["plan", "uplift_low"] <= mix <= res.loc["plan", "uplift_high"]
    assert res.loc[lucky, "uplift_low"] > 0  # the effect is found
