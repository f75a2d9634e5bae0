"""One row per customer with everything the value, churn and playbook views need — the same in app and CLI."""
from __future__ import annotations

import numpy as np
import pandas as pd

from . import defaults
from .churn import ChurnModel, churn_features, fit_churn, reason_in_words
from .segments import fit_clusters, segment_table
from .store import Shop
from .value import ValueModel, fit_value_model, price

__all__ = ["assemble", "score_table", "VALUE_COLUMNS"]

VALUE_COLUMNS = ["p_alive", "expected_purchases", "expected_order_value", "days_to_next_purchase", "clv"]


def _source(codes: np.ndarray) -> pd.Categorical:
    """Which churn risk a customer's ``churn_risk`` is: 0 = the purchase model's, 1 = the churn model's."""
    return pd.Categorical.from_codes(codes, categories=["purchase history", "churn model"])


def assemble(customers: pd.DataFrame, segments: pd.DataFrame, priced: pd.DataFrame, vm: ValueModel,
             churn: ChurnModel | None = None, as_of=None, window_days: int = 90) -> pd.DataFrame:
    """customers + segment columns + value columns + churn_risk (the better model's), value_at_stake, reason."""
    # side by side without copying the customer table (pandas' copy-on-write shares its columns): a 3.3M-customer
    # table is 0.8 GB, and `join` copied it
    out = pd.concat([customers, segments.drop(columns=["customer_id"])], axis=1)
    aligned = priced.index.equals(out.index)
    for col in VALUE_COLUMNS:  # shared with ``priced`` until either is written to (copy-on-write): 130 MB at 3.3M
        out[col] = priced[col] if aligned else priced[col].to_numpy()
    # the date by which a still-active customer has more likely than not ordered again: when to send a message
    out["next_order_date"] = (pd.Timestamp(as_of) + pd.to_timedelta(out["days_to_next_purchase"].clip(upper=3650),
                                                                     unit="D")).dt.normalize()
    # the purchase model's own probability of no purchase in the window (not 1 − P(alive), which is 0 for every
    # one-time buyer however long they have been silent)
    out["churn_risk_purchases"] = vm.purchases.probability_no_purchase(
        window_days, *(customers[c].to_numpy(float) for c in ("frequency", "recency_days", "T_days")))
    out["churn_risk"] = out["churn_risk_purchases"]
    out["churn_source"] = _source(np.zeros(len(out), dtype=np.int8))
    if churn is not None:
        feats = churn_features(customers, as_of, window_days, vm.purchases)
        out["churn_risk_model"] = churn.classifier.predict_proba(feats[churn.features])[:, 1]
        if churn.chosen == "model":
            out["churn_risk"] = out["churn_risk_model"]
            out["churn_source"] = _source(np.ones(len(out), dtype=np.int8))
    out["value_at_stake"] = out["clv"] * out["churn_risk"]
    out["reason"] = reason_in_words(out)
    return out


def score_table(shop: Shop, as_of=None, horizon_months: int = defaults.HORIZON_MONTHS,
                discount_rate: float = defaults.DISCOUNT_RATE, margin: float = defaults.MARGIN,
                churn: str = "auto", k: int | None = None, window_days: int = defaults.CHURN_WINDOW_DAYS,
                offload: bool = False, model: str = "bgnbd") -> pd.DataFrame:
    """Fit everything on the shop's data and score every customer.

    ``churn``: "palive" (the purchase model's P(no purchase in the window)), "model" (the interaction-aware model
    when it beats that on the holdout by more than chance)
    or "auto" (the model only when interactions are loaded; it costs three customer tables and a boosted-tree fit).
    ``model``: the purchase model (a clv.value.PURCHASE_MODELS key).
    ``offload``: once nothing reads the orders any more, move DuckDB's copy of them to the temp folder while the
    models run in pandas (one-shot runs of big files; see ``Shop.offload``).
    """
    customers = shop.customers(as_of=as_of)
    day = pd.Timestamp(as_of).date() if as_of else shop.last_date()
    cm = None
    if churn == "model" or (churn == "auto" and shop.interactions_report is not None):
        cm = fit_churn(shop.churn_history(day, window_days), model=model)
    if offload:
        shop.offload()
    vm = fit_value_model(customers, months=horizon_months, model=model)
    segments = segment_table(customers, fit_clusters(customers, k=k))
    table = assemble(customers, segments, price(vm, horizon_months, margin, discount_rate), vm, cm, day, window_days)
    if cm is not None:
        table.attrs["churn_model_why"] = cm.why  # which churn risk is used and why, in words (the CLI prints it)
    return table
