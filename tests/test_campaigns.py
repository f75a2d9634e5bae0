"""Campaign measurement checked against truth: interval coverage over 1,000 seeded simulated campaigns per true
uplift, "can't tell" at the expected rate when there is no effect, an end-to-end recovery of a known effect on the
sample shop, power, pooling, guard rails and the CLI."""
import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest

from clv.campaigns import (MIN_EXPECTED_BUYERS, campaign_file, control_share_for, feedback, measure, measure_on,
                           newcombe, power, read_campaigns, welch, wilson)
from clv.cli import main
from clv.errors import DataError
from clv.scoring import score_table
from clv.simulate import simulate_campaigns
from clv.store import SAMPLE_ORDERS, Shop
from clv.tactics import tactic_features, target_list

REPEATS = 1000
CREATED = dt.date(2026, 1, 1)
END = dt.date(2026, 3, 1)


def _simulated(uplift: float, seed: int, n: int = 1500, control: float = 0.2, base: float = 0.15,
               spend_shape: float = 2.0, spend_scale: float = 30.0):
    """REPEATS campaigns of n customers; buyers spend Gamma(shape, scale) whatever their group (so the true margin
    uplift is margin × uplift × mean spend)."""
    rng = np.random.default_rng(seed)
    n_c = int(n * control)
    group = np.where(np.arange(n) < n_c, "control", "treatment")
    cid = np.repeat([f"c{i:04d}" for i in range(REPEATS)], n)
    grp = np.tile(group, REPEATS)
    p = np.where(grp == "treatment", base + uplift, base)
    bought = rng.random(len(p)) < p
    customers = np.array([f"u{i}" for i in range(len(p))])
    rows = pd.DataFrame({"campaign_id": cid, "tactic": "second_purchase", "created": CREATED,
                         "customer_id": customers, "group": grp, "churn_risk": 0.8})
    outcomes = pd.DataFrame({"campaign_id": cid[bought], "customer_id": customers[bought], "purchases": 1.0,
                             "revenue": rng.gamma(spend_shape, spend_scale, bought.sum())})
    return rows, outcomes


@pytest.fixture(scope="module", params=[0.0, 0.03, 0.08], ids=lambda u: f"uplift={u}")
def simulated(request):
    uplift = request.param
    rows, outcomes = _simulated(uplift, seed=int(uplift * 1000) + 1)
    return uplift, measure(rows, outcomes, END, margin=0.4, cost_per_customer=1.0).results


def test_conversion_intervals_cover_the_truth(simulated):
    uplift, r = simulated
    covered = ((r["uplift_low"] <= uplift) & (uplift <= r["uplift_high"])).mean()
    assert 0.93 <= covered <= 0.97, covered
    assert r["uplift"].mean() == pytest.approx(uplift, abs=0.002)


def test_margin_intervals_cover_the_truth(simulated):
    uplift, r = simulated
    truth = 0.4 * uplift * 2.0 * 30.0
    covered = ((r["margin_uplift_low"] <= truth) & (truth <= r["margin_uplift_high"])).mean()
    assert 0.93 <= covered <= 0.97, covered


def _welch_on(rows, outcomes, margin):
    m = rows.merge(outcomes, on=["campaign_id", "customer_id"], how="left").fillna({"revenue": 0.0})
    g = (margin * m["revenue"]).groupby([m["campaign_id"], m["group"]]).agg(["mean", "var", "size"]).unstack()
    _, lo, hi = welch(g[("mean", "treatment")], g[("var", "treatment")], g[("size", "treatment")],
                      g[("mean", "control")], g[("var", "control")], g[("size", "control")])
    return np.asarray(lo), np.asarray(hi)


@pytest.mark.parametrize("scenario", [
    dict(treated=200, control=50, base_rate=0.10, uplift=0.0, spend=("lognormal", 3.5, 1.0)),
    dict(treated=2000, control=500, base_rate=0.03, uplift=0.0, spend=("lognormal", 3.5, 1.5)),
    dict(treated=2000, control=500, base_rate=0.10, uplift=0.05, spend=("lognormal", 3.5, 1.0),
         treated_spend_factor=0.8),
    dict(treated=2000, control=500, base_rate=0.10, uplift=0.05, spend=("lognormal", 3.5, 1.0), returns=0.10)],
    ids=["200/50 lognormal", "2000/500 skewed, rare buyers", "a discount", "returns in the window"])
def test_money_intervals_hold_where_welch_did_not(scenario):
    """Issue 26's scenarios where Welch's interval erred toward a gain (bench/money_coverage.py has them all, with
    2,000 campaigns each): the margin interval covers the truth 93-97 % of the times it is shown, within two
    standard errors of the simulation's own noise; Welch's, on the same campaigns, falls below 93 %."""
    rows, outcomes, truth = simulate_campaigns(800, margin=0.3, seed=7, **scenario)
    r = measure(rows, outcomes, END, margin=0.3).results
    shown = r["money_measurable"].to_numpy()
    assert shown.mean() > 0.4
    lo, hi = r["margin_uplift_low"].to_numpy()[shown], r["margin_uplift_high"].to_numpy()[shown]
    covered = np.mean((lo <= truth) & (truth <= hi))
    noise = 2 * np.sqrt(0.95 * 0.05 / shown.sum())
    assert 0.93 - noise <= covered <= 0.97 + noise, covered
    w_lo, w_hi = _welch_on(rows, outcomes, 0.3)
    if scenario.get("treated_spend_factor", 1) == 1 and not scenario.get("returns"):
        assert np.mean((w_lo <= truth) & (truth <= w_hi)) < 0.93
    assert r.loc[~r["money_measurable"], "net_return"].isna().all()


@pytest.mark.parametrize("control", [5, 20])
def test_a_tiny_control_group_gets_words_not_a_money_figure(control):
    rows, outcomes, _ = simulate_campaigns(50, 200, control, 0.10, 0.05, spend=("lognormal", 3.5, 1.0), seed=3)
    r = measure(rows, outcomes, END, margin=0.3).results
    assert not r["money_measurable"].any()
    assert r[["margin_uplift", "margin_uplift_low", "net_return", "incremental_margin_high"]].isna().all().all()
    first = r.iloc[0]
    rate = (first["treatment_buyers"] + first["control_buyers"]) / (200 + control)
    assert first["control_needed_for_money"] == np.ceil(MIN_EXPECTED_BUYERS / rate)
    assert f"control group of about {first['control_needed_for_money']:,.0f} customers would do" in first["verdict"]
    assert "worth" not in first["verdict"] and "nan" not in first["verdict"]


def test_a_buyer_whose_returns_outweigh_the_purchase_keeps_the_interval_sane():
    """Returns are subtracted, so a buyer's margin can be 0 or less, and a customer can have only a return: the
    spread is then taken about the group's mean instead of relative to it (no division by a mean near 0)."""
    from clv.campaigns import money_interval

    def sums(margins):
        m = np.asarray(margins, float)
        return len(m), m.sum(), (m ** 2).sum(), (m ** 3).sum()
    treated = [30, 25, 40, 12, 33, 28, 45, 20, 35, 32]
    k1, s1, q1, c1 = sums(treated)
    ok = money_interval(100, k1, s1, q1, c1, 50, *sums([40, 30, 35, 15, 20]))
    # one control customer returned more than they bought (−48): the control's mean margin falls to 0 or below
    odd = money_interval(100, k1, s1, q1, c1, 50, *sums([40, 30, -168, 15, 35]))
    assert all(np.isfinite(float(v)) for v in ok[:3] + odd[:3])
    assert odd[1] < odd[0] < odd[2] and (odd[2] - odd[1]) < 10 * (ok[2] - ok[1])


def test_a_control_group_nobody_in_which_bought():
    """Nobody bought in the control groups (a new product, a lapsed segment): the interval still covers and is not
    degenerate; nobody bought anywhere: nothing to measure, said in words."""
    rows, outcomes, truth = simulate_campaigns(400, 2000, 500, 0.0, 0.02, seed=5)
    r = measure(rows, outcomes, END, margin=0.3).results
    assert (r["control_buyers"] == 0).all() and r["money_measurable"].mean() > 0.9
    shown = r[r["money_measurable"]]
    covered = np.mean((shown["margin_uplift_low"] <= truth) & (truth <= shown["margin_uplift_high"]))
    assert 0.93 <= covered <= 0.99, covered
    none = measure(rows, outcomes.iloc[:0], END, margin=0.3).results.iloc[0]
    assert not none["money_measurable"] and "nobody in either group bought" in none["verdict"]


def test_verdicts_follow_the_intervals(simulated):
    uplift, r = simulated
    cant_tell = r["verdict"].str.startswith("Can't tell").mean()
    if uplift == 0:
        assert 0.93 <= cant_tell <= 0.97, cant_tell  # a false "it worked" or "backfired" about 5 % of the time
    else:
        worked = r["verdict"].str.startswith("It worked")
        assert (worked == (r["uplift_low"] > 0)).all()
    assert np.allclose(r["net_return"], r["incremental_margin"] - r["cost"])


@pytest.mark.parametrize("counts, interval", [
    ((56, 70, 48, 80), (0.0524, 0.3339)), ((9, 10, 3, 10), (0.1705, 0.8090)), ((6, 7, 2, 7), (0.0582, 0.8062)),
    ((5, 56, 0, 29), (-0.0381, 0.1926)), ((0, 10, 0, 20), (-0.1611, 0.2775)), ((10, 10, 0, 20), (0.6791, 1.0))])
def test_newcombe_matches_the_published_examples(counts, interval):
    """Newcombe (1998), Statistics in Medicine 17, table II, method 10 (hybrid score), examples (a)-(f)."""
    _, lo, hi = newcombe(*counts)
    assert (round(float(lo), 4), round(float(hi), 4)) == interval


def test_wilson_at_the_edge():
    lo, hi = wilson(0, 10)
    assert lo == pytest.approx(0.0, abs=1e-12) and hi == pytest.approx(0.2775, abs=1e-4)


def test_power_is_what_the_simulation_shows():
    """The detectable uplift at 80 % power is detected in about 80 % of simulated campaigns."""
    mde = power(1500, 0.2, 0.15)
    rows, outcomes = _simulated(mde, seed=11)
    r = measure(rows, outcomes, END, margin=0.4).results
    assert 0.75 <= (r["uplift_low"] > 0).mean() <= 0.85
    share = control_share_for(1500, mde, 0.15)
    assert share == pytest.approx(0.2, abs=0.01)
    assert control_share_for(100, 0.01, 0.15) is None and power(10, 0.0, 0.1) == float("inf")


def test_feedback_pools_campaigns_by_precision():
    res = pd.DataFrame({"campaign_id": ["a", "b"], "tactic": ["second_purchase"] * 2, "uplift": [0.02, 0.06],
                        "uplift_low": [0.0, 0.0], "uplift_high": [0.04, 0.12], "treatment_customers": [900, 300],
                        "control_customers": [100, 30], "mean_churn_risk": [0.5, 0.5]})
    fb = feedback(res, {"second_purchase": "convert"}).iloc[0]
    # weights 1/se²: se 0.0102 and 0.0306 -> 9:1
    assert fb["uplift"] == pytest.approx((9 * 0.02 + 1 * 0.06) / 10, rel=1e-6)
    assert fb["campaigns"] == 2 and fb["customers"] == 1330 and "pooled" in fb["source"]
    save = feedback(res.assign(tactic="winback"), {"winback": "save"}).iloc[0]
    assert save["uplift"] == pytest.approx(fb["uplift"] / 0.5)  # per at-risk customer, as the playbook's formula


def test_guard_rails_are_reported(tmp_path):
    base = pd.DataFrame({"campaign_id": "x", "tactic": "winback", "created": "2026-01-01",
                         "customer_id": ["a", "b", "c", "d", "d", "e", "e", "f"],
                         "group": ["treatment", "control", "treatment", "control", "control", "treatment", "control",
                                   "holdout"], "treated": [1, 0, 1, 1, 1, 1, 0, 0]})
    rows, notes = read_campaigns(base.to_csv(index=False).encode())
    text = " ".join(notes)
    assert "both the treatment and the control" in text and "'e'" in text
    assert "contacted anyway" in text and "other than treatment or control" in text
    assert set(rows["customer_id"]) == {"a", "b", "c"}
    with pytest.raises(DataError, match="column 'group' is missing"):
        read_campaigns(b"campaign_id,tactic,created,customer_id\nx,winback,2026-01-01,a\n")
    with pytest.raises(DataError, match="campaign date"):
        read_campaigns(b"campaign_id,tactic,created,customer_id,group\nx,winback,someday,a,control\n")
    r = measure(rows, pd.DataFrame(columns=["campaign_id", "customer_id", "purchases", "revenue"]),
                dt.date(2025, 12, 1), 0.4).results.iloc[0]
    assert r["verdict"].startswith("Too early")


def _generic_orders(shop: Shop) -> pd.DataFrame:
    return shop.con.execute("SELECT customer_id, order_ts AS order_date, net AS amount FROM orders "
                            "WHERE is_purchase").df()


@pytest.fixture(scope="module")
def sent(tmp_path_factory):
    """The sample shop 60 days before its end: a second-purchase list with half held out as control, sent then."""
    base = _generic_orders(Shop.sample())
    cut = base["order_date"].max().normalize() - pd.Timedelta(days=60)
    before = base[base["order_date"] < cut]
    d = tmp_path_factory.mktemp("campaign")
    before.to_csv(d / "before.csv", index=False)
    shop = Shop()
    shop.load_orders(d / "before.csv")
    features = tactic_features(score_table(shop, churn="palive"))
    lst = target_list(features, "second_purchase", 0.4, control_share=0.5, seed=3)
    return d, before, lst, campaign_file(lst, "second_purchase", cut.date(), 3, 0.5)


def test_end_to_end_recovers_a_known_effect(sent):
    """Later orders simulated with a known effect on the treated group: 12 % of controls and 22 % of treated buy
    once, for 50 each, within 50 days after the campaign; the measurement recovers the 10-point uplift and the
    2.0 margin per customer (0.4 × 50 × 0.10)."""
    d, before, lst, camp = sent
    rng = np.random.default_rng(5)
    p = np.where(camp["group"] == "treatment", 0.22, 0.12)
    buys = rng.random(len(camp)) < p
    created = pd.Timestamp(camp["created"].iloc[0])
    later = pd.DataFrame({"customer_id": camp.loc[buys, "customer_id"],
                          "order_date": created + pd.to_timedelta(rng.integers(1, 50, buys.sum()), unit="D"),
                          "amount": 50.0})
    pd.concat([before, later]).to_csv(d / "after.csv", index=False)
    shop = Shop()
    shop.load_orders(d / "after.csv")
    rows, notes = read_campaigns(camp.to_csv(index=False).encode())
    r = measure_on(shop, rows, notes, margin=0.4, cost_per_customer={"second_purchase": 2.0}).results.iloc[0]
    assert r["treatment_customers"] + r["control_customers"] == len(lst)
    treated = camp["group"].to_numpy() == "treatment"
    # exactly the simulated groups' buying rates, and an interval that covers the true 10 points
    assert r["uplift"] == pytest.approx(buys[treated].mean() - buys[~treated].mean(), abs=1e-12)
    assert r["uplift_low"] <= 0.10 <= r["uplift_high"]
    assert r["margin_uplift_low"] <= 2.0 <= r["margin_uplift_high"]
    assert r["verdict"].startswith("It worked")
    # the customers' own older orders do not count: only what happened after the campaign date
    assert r["treatment_orders"] == buys[treated].sum()


def test_cli_writes_campaign_files_and_measures_them(sent, tmp_path, capsys):
    d, before, lst, camp = sent
    lists = tmp_path / "lists"
    assert main(["tactics", "--orders", str(d / "before.csv"), "--out", str(tmp_path / "t.csv"), "--lists",
                 str(lists), "--control-share", "0.5", "--seed", "3", "--campaign-date", "2026-08-31"]) == 0
    written = pd.read_csv(lists / "second_purchase.campaign.csv", dtype={"customer_id": str})
    assert set(written["group"]) == {"treatment", "control"} and (written["created"] == "2026-08-31").all()
    capsys.readouterr()
    assert main(["measure", "--campaign", str(lists / "second_purchase.campaign.csv"),
                 str(lists / "winback.campaign.csv"), "--orders", str(SAMPLE_ORDERS),
                 "--window-days", "30", "--out", str(tmp_path / "m.csv")]) == 0
    out = json.loads(capsys.readouterr().out)
    got = {c["campaign_id"]: c for c in out["campaigns"]}
    assert set(got) == {"second_purchase-20260831-s3", "winback-20260831-s3"}
    assert got["second_purchase-20260831-s3"]["window_days"] == 30
    assert pd.read_csv(tmp_path / "m.csv")["verdict"].notna().all()
    assert main(["measure", "--campaign", str(tmp_path / "t.csv"), "--orders", str(SAMPLE_ORDERS),
                 "--out", str(tmp_path / "x.csv")]) == 2
    assert "not a campaign file" in capsys.readouterr().err


def test_a_measurement_moves_the_assumption_by_its_precision():
    """Issue 26 (4): a wide "can't tell yet" (+1.1 %, −9.6 % to +11.8 %) against an assumed 10 % moves it a little; a
    tight measurement all but replaces it; the blend is the precision-weighted mean (checked by hand)."""
    from clv.campaigns import Z, blend
    wide, _, _ = blend(0.10, 0.011, -0.096, 0.118)
    assert 0.08 < wide < 0.10
    tight, lo, hi = blend(0.10, 0.02, 0.018, 0.022)
    assert abs(tight - 0.02) < 0.0005 and lo < tight < hi
    se = (0.118 + 0.096) / (2 * Z)
    w_a, w_m = 1 / 0.025 ** 2, 1 / se ** 2  # the assumption's sd: a quarter of itself
    assert wide == pytest.approx((w_a * 0.10 + w_m * 0.011) / (w_a + w_m))


def test_a_blend_with_a_zero_assumption_or_no_measurement():
    from clv.campaigns import blend
    assert blend(0.0, 0.05, 0.04, 0.06)[0] > 0.035  # an assumed 0 is not a certainty: the tight result moves it
    assert blend(0.1, float("nan"), float("nan"), float("nan"))[0] == 0.1
