"""One row per customer with everything the value, churn and playbook views need — the same in app, CLI and Spark.

``churn_columns`` and ``combine`` are the pipeline's last steps (clv.pipeline); ``assemble`` is both at once, for
a slice of customers (a Spark partition) scored with models fitted elsewhere.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from . import defaults
from .churn import ChurnModel, churn_features, reason_in_words
from .store import Shop
from .uncertainty import customer_quantiles, interval_columns
from .value import ValueModel

__all__ = ["assemble", "churn_columns", "combine", "score_table", "VALUE_COLUMNS"]

VALUE_COLUMNS = ["p_alive", "expected_purchases", "expected_order_value", "days_to_next_purchase", "clv"]


def _source(codes: np.ndarray) -> pd.Categorical:
    """Which churn risk a customer's ``churn_risk`` is: 0 = the purchase model's, 1 = the churn model's."""
    return pd.Categorical.from_codes(codes, categories=["purchase history", "churn model"])


def churn_columns(customers: pd.DataFrame, vm: ValueModel, churn: ChurnModel | None = None, as_of=None,
                  window_days: int = defaults.CHURN_WINDOW_DAYS) -> pd.DataFrame:
    """churn_risk_purchases, churn_risk (the better model's), churn_source and, with a churn model,
    churn_risk_model — for each customer of ``customers``, in their order."""
    # the purchase model's own probability of no purchase in the window (not 1 − P(alive), which is 0 for every
    # one-time buyer however long they have been silent)
    out = pd.DataFrame(index=customers.index)
    out["churn_risk_purchases"] = vm.purchases.probability_no_purchase(
        window_days, *(customers[c].to_numpy(float) for c in ("frequency", "recency_days", "T_days")))
    out["churn_risk"] = out["churn_risk_purchases"]
    out["churn_source"] = _source(np.zeros(len(out), dtype=np.int8))
    if churn is not None:  # P(alive) and P(no purchase) as the value model and the line above computed them
        feats = churn_features(customers, as_of, window_days, vm.purchases,
                               known={"p_alive": vm.p_alive, "p_no_purchase": out["churn_risk_purchases"].to_numpy()})
        out["churn_risk_model"] = churn.classifier.predict_proba(feats[churn.features])[:, 1]
        if churn.chosen == "model":
            out["churn_risk"] = out["churn_risk_model"]
            out["churn_source"] = _source(np.ones(len(out), dtype=np.int8))
    return out


def combine(customers: pd.DataFrame, segments: pd.DataFrame, priced: pd.DataFrame, churn: pd.DataFrame,
            reasons: pd.Series, as_of, quantiles: dict | None = None) -> pd.DataFrame:
    """customers + segment columns + value columns (+ their intervals, from ``quantiles``: each customer's purchase
    quantiles, clv.uncertainty) + next order date + churn columns + value_at_stake + reason."""
    # side by side without copying the customer table (pandas' copy-on-write shares its columns): a 3.3M-customer
    # table is 0.8 GB, and `join` copied it
    out = pd.concat([customers, segments.drop(columns=["customer_id"])], axis=1)
    aligned = priced.index.equals(out.index)
    for col in VALUE_COLUMNS:  # shared with ``priced`` until either is written to (copy-on-write): 130 MB at 3.3M
        out[col] = priced[col] if aligned else priced[col].to_numpy()
    if quantiles is not None:
        for col, values in interval_columns(quantiles, out["expected_purchases"], out["clv"]).items():
            out[col] = values
    # the date by which a still-active customer has more likely than not ordered again: when to send a message
    out["next_order_date"] = (pd.Timestamp(as_of) + pd.to_timedelta(out["days_to_next_purchase"].clip(upper=3650),
                                                                     unit="D")).dt.normalize()
    for col in ("churn_risk_purchases", "churn_risk", "churn_source", "churn_risk_model"):
        if col in churn:
            out[col] = churn[col] if churn.index.equals(out.index) else churn[col].to_numpy()
    out["value_at_stake"] = out["clv"] * out["churn_risk"]
    out["reason"] = reasons if reasons.index.equals(out.index) else reasons.to_numpy()
    return out


def assemble(customers: pd.DataFrame, segments: pd.DataFrame, priced: pd.DataFrame, vm: ValueModel,
             churn: ChurnModel | None = None, as_of=None, window_days: int = defaults.CHURN_WINDOW_DAYS,
             horizon_months: int | None = None) -> pd.DataFrame:
    """``combine`` with the churn columns, reasons and (given the horizon) each customer's intervals computed here:
    one slice of customers scored at once. Every column of a customer depends on their own row alone, so a slice
    gets what it would get among all customers."""
    quantiles = None
    if horizon_months is not None:
        from .value import MONTH_DAYS
        quantiles = customer_quantiles(vm.purchases, customers, horizon_months * MONTH_DAYS, vm.p_alive)
    return combine(customers, segments, priced, churn_columns(customers, vm, churn, as_of, window_days),
                   reason_in_words(customers), as_of, quantiles)


def score_table(shop: Shop, as_of=None, horizon_months: int = defaults.HORIZON_MONTHS,
                discount_rate: float = defaults.DISCOUNT_RATE, margin: float = defaults.MARGIN,
                churn: str = "auto", k: int | None = None, window_days: int = defaults.CHURN_WINDOW_DAYS,
                offload: bool = False, model: str = "bgnbd", details: dict | None = None) -> pd.DataFrame:
    """Fit everything on the shop's data and score every customer: the pipeline's ``scored`` step (clv.pipeline).

    ``churn``: "palive" (the purchase model's P(no purchase in the window)), "model" (the interaction-aware model
    when it beats that on the holdout by more than chance; a shop it cannot be fitted on raises ModelError)
    or "auto" (the model only when interactions are loaded; it costs three customer tables and a boosted-tree fit).
    ``model``: the purchase model (a clv.value.PURCHASE_MODELS key, or "auto": chosen by backtest).
    ``offload``: once nothing reads the orders any more, move DuckDB's copy of them to the temp folder while the
    models run in pandas (one-shot runs of big files; see ``Shop.offload``).
    ``details``: a dict that receives "readiness", "shop_intervals" and "notes" (``model_notes``) of the run.
    """
    from .errors import ModelError
    from .pipeline import Pipeline, Settings
    run = Pipeline(shop, Settings(as_of=str(as_of) if as_of else None, horizon_months=horizon_months,
                                  discount_rate=discount_rate, margin=margin, churn_model=churn, k=k,
                                  churn_window_days=window_days, purchase_model=model,
                                  tabulate_months=horizon_months))
    run.get("customers")
    run.get("gaps")  # reads every order: before they are moved out of memory
    choice = run.get("churn_model")
    if churn == "model" and choice.error:
        raise ModelError(choice.error)
    if offload:
        shop.offload()
    table = run.get("scored")
    if details is not None:
        details.update(readiness=run.get("readiness"), shop_intervals=run.get("shop_intervals"),
                       notes=model_notes(run))
    return table


#: the columns that are projections: left empty in a scored table whose data cannot support them
PROJECTION_COLUMNS = ("p_alive", "expected_purchases", "clv", "purchases_low", "purchases_high", "clv_low", "clv_high",
                      "clv_low_95", "clv_high_95", "days_to_next_purchase", "next_order_date", "churn_risk",
                      "churn_risk_purchases", "churn_risk_model", "value_at_stake")


def model_notes(run) -> list[str]:
    """Every fallback and warning the models took on this shop, in words (the CLI's stderr and JSON, the report):
    the spend model's fallback and its correlation warning, a comparison on a sample, a model chosen by the user."""
    vm = run.get("value_model")
    return list(getattr(vm.spend, "warnings_", [])) + comparison_notes(run)


def comparison_notes(run) -> list[str]:
    """What the purchase models' comparison said (when the model was chosen by it), in words."""
    notes = []
    if run.settings.purchase_model == "auto":
        from .errors import ModelError
        try:
            mc = run.get("comparison")
        except ModelError:
            mc = None
        if mc is not None:
            notes.append(mc.why)
            if mc.sampled:
                from .value import COMPARE_MAX_CUSTOMERS
                notes.append(f"The purchase models were compared on a random sample of about {COMPARE_MAX_CUSTOMERS:,} of your "
                             "customers (the shop is larger); the chosen model is then fitted on all of them.")
    return notes
