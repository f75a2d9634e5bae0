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
