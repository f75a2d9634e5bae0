"""Memoised per-session calls into clv/ for the pages: each result is recomputed only when its own inputs change.

A threshold change re-scores segments but never refits clusters; a margin change re-prices but never refits
BG/NBD. Tests check this through the ``*_runs`` counters in session state.
"""
from __future__ import annotations

import streamlit as st

from clv.segments import SegmentParams, fit_clusters, segment_table
from ui.common import Settings, memo, shop


def _count(name: str) -> None:
    st.session_state[f"{name}_runs"] = st.session_state.get(f"{name}_runs", 0) + 1


def customers_table():
    def compute():
        _count("customer_table")
        return shop().customers()
    return memo("customers", (), compute)


def shop_table(name: str):
    """A per-shop summary from clv/sql (monthly, cohorts, weekly_orders), queried once per data set, not per rerun."""
    return memo(f"table:{name}", (), lambda: getattr(shop(), name)())


def segment_params(s: Settings) -> SegmentParams:
    return SegmentParams(first_time_days=s.first_time_days, big_spender_top_pct=s.big_spender_top_pct,
                         high_aov_pct=s.high_aov_pct, discount_share_min=s.discount_share_min,
                         cart_days=s.cart_days, vip_tenure_months=s.vip_tenure_months)


def clusters(s: Settings):
    def compute():
        _count("cluster_fit")
        with st.spinner("Finding clusters…"):
            return fit_clusters(customers_table(), k=s.k, feature_set=s.cluster_features)
    return memo("clusters", (s.k, s.cluster_features), compute)


def segments_table(s: Settings):
    cuts = dict(recency_cuts=s.recency_cuts, frequency_cuts=s.frequency_cuts, monetary_cuts=s.monetary_cuts)
    key = (s.rfm_method, tuple(cuts.values()), segment_params(s), s.k, s.cluster_features)
    return memo("segments", key, lambda: segment_table(customers_table(), clusters(s), segment_params(s),
                                                       s.rfm_method, cuts))


# --- value and churn ------------------------------------------------------------------------------------

def model_comparison():
    """Every purchase model backtested on the shop's own history (once per data set): a ModelComparison."""
    from clv.value import compare_purchase_models

    def compute():
        with st.spinner("Backtesting the purchase models on your history…"):
            sh = shop()
            cal, end = sh.default_calibration_end(), sh.purchase_span()[1]
            return compare_purchase_models(sh.customers(calibration_end=cal), sh.holdout(cal, end), cal, end,
                                           weekly=sh.holdout_weekly(cal, end))
    return memo("model_comparison", (), compute)


def purchase_model_name() -> str:
    """The purchase model in use: the sidebar's choice, or the backtest's when it says "auto"."""
    from clv.models import ModelError
    choice = st.session_state.get("purchase_model", "auto")
    if choice != "auto":
        return choice
    try:
        return model_comparison().best
    except ModelError:
        return "bgnbd"  # no model fits: value_model() raises the reason in words


def value_model():
    """The purchase model + spend model on today's customer table; refitted only when the data or model change."""
    from clv.value import fit_value_model
    name = purchase_model_name()

    def compute():
        _count("value_fit")
        with st.spinner("Fitting the purchase and spend models…"):
            return fit_value_model(customers_table(), model=name)
    return memo("value_model", (name,), compute)


def priced(s: Settings):
    """CLTV at the current horizon, margin and discount rate: pure arithmetic on the fitted model."""
    from clv.value import price
    return memo("priced", (s.horizon_months, s.margin, s.discount_rate, purchase_model_name()),
                lambda: price(value_model(), s.horizon_months, s.margin, s.discount_rate))


def backtest_result(calibration_end):
    from clv.value import backtest
    name = purchase_model_name()

    def compute():
        with st.spinner("Backtesting on your own history…"):
            sh = shop()
            end = sh.purchase_span()[1]
            return backtest(sh.customers(calibration_end=calibration_end), sh.holdout(calibration_end, end),
                            calibration_end, end, model=name)
    return memo("backtest", (calibration_end, name), compute)


def churn_model(s: Settings):
    from clv.churn import fit_churn
    name = purchase_model_name()

    def compute():
        _count("churn_fit")
        with st.spinner("Training the churn model on your history…"):
            return fit_churn(shop().churn_history(window_days=s.churn_window_days), model=name)
    return memo("churn_model", (s.churn_window_days, name), compute)


def scored(s: Settings):
    """Customer table + segments + value + churn risk, as every value/churn/playbook view needs it."""
    from clv.models import ModelError
    from clv.scoring import assemble

    def compute():
        try:
            cm = churn_model(s)
            st.session_state["churn_error"] = None
        except ModelError as exc:
            st.session_state["churn_error"] = str(exc)
            cm = None
        return assemble(customers_table(), segments_table(s), priced(s), value_model(), cm,
                        shop().last_date(), s.churn_window_days)
    return memo("scored", (s,), compute)


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
    """The catalogue the playbook ranks with: the session's assumptions, with each measured uplift in place of the
    assumed one; ``uplift_source`` says which ("assumption" or the campaigns it was measured on, with the interval)."""
    cat = catalogue().copy()
    cat["uplift_source"] = "assumption"
    fb = measured_uplifts()
    if fb is not None:
        for row in fb.itertuples(index=False):
            hit = cat["tactic"] == row.tactic
            cat.loc[hit, "uplift"] = row.uplift
            cat.loc[hit, "uplift_source"] = f"{row.source}; 95 % interval {row.low:.1%} to {row.high:.1%}"
    return cat


def campaigns():
    """Campaign records of this session: id -> campaign frame (from the playbook's downloads and uploads)."""
    return st.session_state.setdefault("campaigns", {})


def tactic_table(s: Settings):
    """(features, ranking) for the current data, assumptions (or measured uplifts) and settings."""
    from clv.tactics import rank_tactics, tactic_features
    cat = catalogue_in_use()
    features = memo("tactic_features", (s,), lambda: tactic_features(scored(s)))
    key = (s, tuple(cat["uplift"]), tuple(cat["cost_per_customer"]))
    return features, memo("tactic_ranking", key, lambda: rank_tactics(features, s.margin, cat))
