"""The pipeline declared once (clv.pipeline): each step is memoised by exactly what it reads, so a control re-runs
exactly the steps that read it — in the library and in the app (one AppTest per sidebar control)."""
import dataclasses

import pytest
from conftest import open_app

from clv.pipeline import STEPS, Pipeline, Settings, StepInputs, steps_reading
from ui.model import runs

PRICING = {"priced", "scored", "tactic_features"}
#: the horizon also moves the intervals (the shop's, each customer's) and so whether the projection is sure enough
HORIZON = PRICING | {"shop_intervals", "readiness", "quantiles"}
CLUSTERING = {"clusters", "segments", "scored", "tactic_features"}
SEGMENTING = {"segments", "scored", "tactic_features"}
CHURN = {"churn_model", "churn_risk", "scored", "tactic_features"}
#: steps only the Churn risk page reads (the Playbook, where these tests stand, never runs them)
CHURN_PAGE_ONLY = {"churn_bands"}

#: (widget kind, key, new value, the steps that must run again — and no other)
CONTROLS = [
    ("selectbox", "horizon_months", 24, HORIZON),
    ("slider", "margin_pct", 55, PRICING),
    ("slider", "discount_rate_pct", 25, PRICING),
    ("number_input", "cac", 45.0, set()),  # read by the pages' arithmetic only: nothing is recomputed
    ("slider", "churn_window_days", 120, CHURN),
    ("selectbox", "purchase_model", "pareto_nbd",
     {"purchase_model", "value_model", "priced", "churn_model", "churn_risk", "scored", "tactic_features",
      "shop_intervals", "readiness", "quantiles"}),
    ("radio", "rfm_method", "thresholds", SEGMENTING),
    ("text_input", "recency_cuts", "10, 20, 40, 80", SEGMENTING),
    ("slider", "first_time_days", 200, SEGMENTING),
    ("slider", "big_spender_top_pct", 30, SEGMENTING),
    ("slider", "high_aov_pct", 60, SEGMENTING),
    ("slider", "discount_share_min", 20, SEGMENTING),
    ("slider", "cart_days", 100, SEGMENTING),
    ("slider", "vip_tenure_months", 12, SEGMENTING),
    ("checkbox", "k_auto", False, CLUSTERING),
    ("radio", "cluster_features", "R, F, M + behaviour", CLUSTERING),
]


@pytest.fixture(scope="module")
def playbook():
    """The Playbook runs every step (its ranking reads the scored table, which reads all the others)."""
    at = open_app("pages/5_Playbook.py")
    first_visit = {step: runs(at.session_state, step) for step in STEPS}
    # every step once (one customer table, one fit of each model), but those only the Churn risk page reads
    assert first_visit == {step: int(step not in CHURN_PAGE_ONLY) for step in STEPS}
    return at


@pytest.mark.parametrize("kind,key,value,expected", CONTROLS, ids=[c[1] for c in CONTROLS])
def test_a_control_reruns_exactly_the_steps_that_read_it(playbook, kind, key, value, expected):
    at = playbook
    before = {step: runs(at.session_state, step) for step in STEPS}
    getattr(at, kind)(key=key).set_value(value).run()
    assert not at.exception, at.exception
    ran = {step for step in STEPS if runs(at.session_state, step) > before[step]}
    assert ran == expected
    assert all(runs(at.session_state, step) - before[step] <= 1 for step in STEPS)  # and each at most once


def test_the_graph_says_the_same_as_the_app():
    """The expected sets above are what the declared graph implies (a new step that reads a setting shows here)."""
    assert steps_reading("margin") == steps_reading("discount_rate") == PRICING
    assert steps_reading("horizon_months") == HORIZON
    assert steps_reading("churn_window_days") == CHURN | CHURN_PAGE_ONLY
    assert steps_reading("k") == steps_reading("cluster_features") == CLUSTERING
    assert steps_reading("recency_cuts") == steps_reading("vip_tenure_months") == SEGMENTING
    assert steps_reading("cac") == set()


def test_a_step_sees_only_what_it_declares(sample_shop):
    """Memo keys are exact by construction: a step that reads an undeclared setting or step fails loudly."""
    run = Pipeline(sample_shop, Settings())
    inputs = StepInputs(run, STEPS["priced"])
    assert inputs.settings.margin == Settings().margin
    with pytest.raises(AttributeError, match="without declaring"):
        inputs.settings.churn_window_days
    with pytest.raises(KeyError, match="without declaring"):
        inputs["customers"]


def test_fit_once_price_instantly_and_compute_each_thing_once(sample_shop):
    """One cache across settings: a margin change re-runs pricing only; going back is a cache miss for pricing
    alone; a purchase-model choice equal to the backtest's reuses the fit."""
    ran = []
    run = Pipeline(sample_shop, Settings(churn_model="palive"), on_step=lambda name, s: ran.append(name))
    first = run.get("scored")
    assert sorted(ran) == sorted(set(ran)) and "value_model" in ran and "comparison" in ran
    ran.clear()
    cheaper = run.with_settings(margin=0.2).get("scored")
    assert set(ran) == {"priced", "scored"}
    assert cheaper["clv"].sum() == pytest.approx(first["clv"].sum() * 0.2 / Settings().margin)
    ran.clear()
    run = run.with_settings(margin=0.2)
    run = run.with_settings(purchase_model=run.get("purchase_model"))
    run.get("scored")
    assert ran == ["purchase_model"]  # the backtest's model named explicitly: no refit, nothing downstream
    ran.clear()
    run.with_settings(churn_window_days=60).get("scored")
    assert set(ran) == {"churn_model", "churn_risk", "scored"}
    ran.clear()
    run.with_settings(purchase_model="pareto_nbd").get("value_model")
    assert ran == ["purchase_model", "value_model"]
    ran.clear()
    run.get("scored")  # back to where it was: the costly fits are kept (Step.keep), only what is cheap runs again
    assert "value_model" not in ran and "churn_model" not in ran and set(ran) <= {"purchase_model", "priced",
                                                                                  "churn_risk", "scored"}


def test_score_table_is_the_pipelines_scored_step(sample_shop):
    from clv.scoring import score_table
    table = score_table(sample_shop, churn="palive", margin=0.3)
    run = Pipeline(sample_shop, dataclasses.replace(Settings(), churn_model="palive", margin=0.3,
                                                    purchase_model="bgnbd", tabulate_months=12))
    assert table.equals(run.get("scored"))


def test_the_model_is_chosen_on_the_history_up_to_the_as_of_date(tmp_path):
    """With an as-of date, the purchase models' backtest (and the risk bands' check after it) and the months without
    orders use no order after that day: the choice, scores, dates and gaps equal those of the same shop whose file
    stops at the as-of date."""
    import sys

    import pandas as pd

    from clv.store import DATA_DIR, Shop
    sys.path.insert(0, str(DATA_DIR))
    from generate import generate
    generate(tmp_path, 1200, seed=4, preset="realistic", fmt="generic", prefix="shop", interactions=False)
    rows = pd.read_csv(tmp_path / "shop_orders.csv")
    as_of = "2026-03-31"
    rows[pd.to_datetime(rows["order_date"]) < pd.Timestamp(as_of) + pd.Timedelta(days=1)].to_csv(
        tmp_path / "then.csv", index=False)
    whole, then = Shop(), Shop()
    whole.load_orders(tmp_path / "shop_orders.csv")
    then.load_orders(tmp_path / "then.csv")
    assert whole.purchase_span()[1] > then.purchase_span()[1] == whole.purchase_span(as_of)[1]
    past = Pipeline(whole, Settings(as_of=as_of))
    truncated = Pipeline(then, Settings(as_of=as_of))
    a, b = past.get("comparison"), truncated.get("comparison")
    assert a.best == b.best and a.why == b.why
    pd.testing.assert_frame_equal(a.table, b.table)
    bt = a.backtests[a.best]
    assert bt.holdout_end == then.purchase_span()[1] and bt.calibration_end == then.default_calibration_end()
    assert past.get("gaps") == truncated.get("gaps")
    bands = past.get("churn_bands")
    assert bands is not None and len(bands)
    pd.testing.assert_frame_equal(bands, truncated.get("churn_bands"))
