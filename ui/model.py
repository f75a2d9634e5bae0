"""The pages' view of the pipeline (clv.pipeline), memoised per session: each step re-runs only when the settings it
reads, the steps it needs or the data change.

A threshold change re-scores segments but never refits clusters; a margin change re-prices but never refits the
purchase model; a churn-window change re-runs only churn. Tests count each step's runs through ``step_runs`` in
session state (``runs()``).
"""
from __future__ import annotations

import contextlib

import streamlit as st

from clv.pipeline import Pipeline, Settings
from ui.common import memo, resources, shop


def _counted(name: str, seconds: float) -> None:
    runs = st.session_state.setdefault("step_runs", {})
    runs[name] = runs.get(name, 0) + 1


@contextlib.contextmanager
def _spinner(what: str):
    with st.spinner(what):
        yield


def pipeline(s: Settings) -> Pipeline:
    """The pipeline on this session's shop and settings; its results live in the session's memo (released with
    the session) and are keyed by the data version."""
    cache = resources().memo.setdefault("pipeline", {})
    return Pipeline(shop(), s, cache, version=st.session_state.get("data_version", 0), on_step=_counted,
                    progress=_spinner)


def runs(state, step: str) -> int:
    """How often ``step`` ran in this session (``state``: a session state, e.g. AppTest's)."""
    counts = state["step_runs"] if "step_runs" in state else {}
    return counts.get(step, 0)


def customers_table(s: Settings):
    return pipeline(s).get("customers")


def shop_table(name: str, as_of=None):
    """A per-shop summary from clv/sql (monthly, cohorts, weekly_orders), queried once per data set and as-of date,
    not per rerun."""
    return memo(f"table:{name}", (as_of,), lambda: getattr(shop(), name)(as_of=as_of))


def clusters(s: Settings):
    return pipeline(s).get("clusters")


def segments_table(s: Settings):
    return pipeline(s).get("segments")


def model_comparison(s: Settings):
    """Every purchase model backtested on the shop's own history (once per data set): a ModelComparison."""
    return pipeline(s).get("comparison")


def purchase_model_name(s: Settings) -> str:
    """The purchase model in use: the sidebar's choice, or the backtest's when it says "auto"."""
    return pipeline(s).get("purchase_model")


def value_model(s: Settings):
    """The purchase model + spend model on today's customer table; refitted only when the data or model change."""
    return pipeline(s).get("value_model")


def priced(s: Settings):
    """CLTV at the current horizon, margin and discount rate: pure arithmetic on the fitted model."""
    return pipeline(s).get("priced")


def backtest_result(s: Settings, calibration_end):
    """The chosen purchase model fitted up to ``calibration_end`` (the page's own choice) and checked after it, up to
    the as-of date — at the default date, the comparison's own backtest of that model (the same fit on the same
    customers)."""
    from clv.models import ModelError
    from clv.value import backtest
    name = purchase_model_name(s)
    if calibration_end == shop().default_calibration_end(as_of=s.as_of):
        try:
            mc = model_comparison(s)
        except ModelError:
            mc = None
        if mc is not None and not mc.sampled and name in mc.backtests:
            return mc.backtests[name]

    def compute():
        with st.spinner("Backtesting on your own history…"):
            sh = shop()
            end = sh.purchase_span(s.as_of)[1]  # checked on the orders up to the as-of date, no later
            return backtest(sh.customers(calibration_end=calibration_end), sh.holdout(calibration_end, end),
                            calibration_end, end, model=name)
    return memo("backtest", (calibration_end, name, s.as_of), compute)


def readiness(s: Settings):
    """Whether the data supports projections (clv.readiness.Readiness): every projecting page asks first."""
    return pipeline(s).get("readiness")


def shop_intervals(s: Settings) -> dict:
    """80/95 % intervals on the shop's projected purchases and revenue over the horizon (clv.uncertainty)."""
    return pipeline(s).get("shop_intervals")


def value_interval(s: Settings, clv_total: float):
    """The interval on the shop's projected value (margin, discounted): revenue's relative interval around it."""
    return shop_intervals(s)["revenue"].scaled("value", clv_total)


def churn_bands(s: Settings):
    """The risk bands checked on the shop's backtest (a frame by band), or None (clv.pipeline._churn_bands)."""
    return pipeline(s).get("churn_bands")


def churn_model(s: Settings):
    """The pipeline's churn choice: ``.model`` (a ChurnModel) or ``.error`` (why none, in words)."""
    return pipeline(s).get("churn_model")


def scored(s: Settings):
    """Customer table + segments + value + churn risk, as every value/churn/playbook view needs it."""
    return pipeline(s).get("scored")


# --- tactics --------------------------------------------------------------------------------------------

def catalogue():
    """The tactic catalogue with this session's edited uplifts and costs (defaults until edited)."""
    from clv.tactics import CATALOGUE
    if "catalogue" not in st.session_state:
        st.session_state["catalogue"] = CATALOGUE.copy()
    return st.session_state["catalogue"]


def apply_assumption_edits(editor_key: str = "assumptions") -> None:
    """Copy the assumptions editor's edited uplift/cost cells into the session's catalogue (idempotent)."""
    edits = st.session_state.get(editor_key, {}).get("edited_rows", {})
    cat = catalogue().copy()
    for row, changes in edits.items():
        for col, value in changes.items():
            if col in ("uplift", "cost_per_customer") and value is not None:
                cat.loc[cat.index[int(row)], col] = float(value)
    st.session_state["catalogue"] = cat


def measured_uplifts():
    """The uplifts measured on campaigns (clv.campaigns.feedback) the playbook uses, or None: none measured yet,
    or the user chose to go back to the assumptions. Campaigns kept with a reopened data set are measured here
    (up to the last order, as the Campaigns page does by default) so the playbook uses them without a visit there."""
    if not st.session_state.get("use_measured", True):
        return None
    fb = st.session_state.get("measured_uplifts")
    kept = st.session_state.get("campaigns") or {}
    if fb is None and kept:
        fb = memo("measured_uplifts_kept", (tuple(sorted(kept)),), lambda: _measure_kept(kept))
    return None if fb is None or fb.empty else fb


def _measure_kept(kept: dict):
    from clv.campaigns import feedback, measure_on, read_campaigns
    from clv.errors import DataError
    try:
        rows, notes = read_campaigns([frame.to_csv(index=False).encode() for frame in kept.values()])
    except DataError:
        return None
    cat = catalogue().set_index("tactic")
    res = measure_on(shop(), rows, notes, 1.0, cat["cost_per_customer"].to_dict()).results
    return feedback(res, cat["kind"].to_dict())


def catalogue_in_use():
    """The catalogue the playbook ranks with: the session's assumptions, each blended with the uplift measured on
    campaigns in proportion to their precision (clv.campaigns.blend); ``uplift_source`` says which ("assumption", or
    the assumption, the measurement and the blend with their intervals)."""
    from clv.campaigns import blend
    cat = catalogue().copy()
    cat["uplift_source"] = "assumption"
    fb = measured_uplifts()
    if fb is not None:
        for row in fb.itertuples(index=False):
            hit = cat["tactic"] == row.tactic
            if not hit.any():  # a campaign of a tactic this catalogue does not have
                continue
            assumed = float(cat.loc[hit, "uplift"].iloc[0])
            mixed, lo, hi = blend(assumed, row.uplift, row.low, row.high)
            cat.loc[hit, "uplift"] = mixed
            cat.loc[hit, "uplift_source"] = (f"blend {mixed:.1%} ({lo:.1%} to {hi:.1%}) of the assumption {assumed:.1%} "
                                             f"and {row.source}: {row.uplift:.1%} ({row.low:.1%} to {row.high:.1%})")
    return cat


def campaigns():
    """Campaign records of this session: id -> campaign frame (from the playbook's downloads and uploads)."""
    return st.session_state.setdefault("campaigns", {})


def tactic_table(s: Settings):
    """(features, ranking) for the current data, assumptions (or measured uplifts) and settings."""
    from clv.tactics import rank_tactics
    cat = catalogue_in_use()
    run = pipeline(s)
    features = run.get("tactic_features")
    key = (run.key("tactic_features"), s.margin, tuple(cat["uplift"]), tuple(cat["cost_per_customer"]))
    return features, memo("tactic_ranking", key, lambda: rank_tactics(features, s.margin, cat))
