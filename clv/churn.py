"""Who is slipping away? Churn risk from P(alive), and a supervised model that also reads interactions.

The supervised model predicts "no purchase in the next H days". It is trained with features at an earlier
cut-off (as-of − 2H) and labels from the H days after it, then evaluated honestly at a later cut-off (as-of − H)
against what happened by the as-of date. Its ROC AUC there is compared with P(alive) alone; the app uses
whichever scored better and says so. For today's scores the model is refitted at the later cut-off.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.inspection import permutation_importance
from sklearn.metrics import roc_auc_score

from .models import BGNBD, ModelError
from .store import Shop

__all__ = ["FEATURES", "ChurnModel", "fit_churn", "churn_features", "reason_in_words"]

#: feature -> what it means, for the drivers table
FEATURES = {
    "days_since_last": "days since the last order",
    "frequency": "repeat purchase days",
    "T_days": "days since the first order",
    "orders": "orders", "revenue": "revenue", "aov": "average order value",
    "discount_share": "share of orders with a discount", "refund_total": "refunds and returns",
    "views": "page views", "carts_abandoned": "abandoned carts",
    "days_since_abandoned_cart": "days since the last abandoned cart",
    "email_opens": "email opens", "email_clicks": "email clicks",
    "days_since_email": "days since the last email open or click",
    "support_tickets": "support tickets", "mean_satisfaction": "support satisfaction",
    "reviews": "reviews", "mean_rating": "review rating", "return_requests": "return requests",
    "days_since_interaction": "days since any interaction",
    "p_alive": "P(alive) from BG/NBD", "bgnbd_expected": "BG/NBD expected purchases in the window",
}


def _days_since(as_of: dt.date, ts: pd.Series) -> pd.Series:
    return (pd.Timestamp(as_of) + pd.Timedelta(days=1) - pd.to_datetime(ts)).dt.total_seconds() / 86400


def churn_features(customers: pd.DataFrame, as_of: dt.date, window_days: int, bg: BGNBD | None = None) -> pd.DataFrame:
    """The model's features from a customer table at ``as_of`` (BG/NBD fitted on that table if not given)."""
    x, tx, T = (customers[c].to_numpy(float) for c in ("frequency", "recency_days", "T_days"))
    bg = bg or BGNBD().fit(x, tx, T)
    f = pd.DataFrame(index=customers.index)
    f["days_since_last"] = customers["T_days"] - customers["recency_days"]
    for col in ("frequency", "T_days", "orders", "revenue", "aov", "discount_share", "refund_total", "views",
                "carts_abandoned", "email_opens", "email_clicks", "support_tickets", "mean_satisfaction", "reviews",
                "mean_rating", "return_requests"):
        f[col] = customers[col].astype(float)
    f["days_since_abandoned_cart"] = _days_since(as_of, customers["last_abandoned_cart"])
    f["days_since_email"] = _days_since(as_of, customers["last_email_engagement"])
    f["days_since_interaction"] = _days_since(as_of, customers["last_interaction"])
    f["p_alive"] = bg.probability_alive(x, tx, T)
    f["bgnbd_expected"] = bg.expected_purchases(window_days, x, tx, T)
    return f[list(FEATURES)]


@dataclass
class ChurnModel:
    window_days: int
    train_cutoff: dt.date
    eval_cutoff: dt.date
    auc_model: float
    auc_p_alive: float
    drivers: pd.DataFrame          # feature, meaning, importance (drop in AUC when shuffled)
    chosen: str                    # "model" or "p_alive"
    why: str
    classifier: HistGradientBoostingClassifier
    features: list                 # the FEATURES this shop has data for, in the classifier's order
    eval_customers: int
    eval_churn_rate: float


def _labelled(shop: Shop, cutoff: dt.date, window_days: int) -> tuple[pd.DataFrame, pd.Series]:
    cust = shop.customers(as_of=cutoff)
    hold = shop.holdout(cutoff, cutoff + dt.timedelta(days=window_days)).set_index("customer_id")
    churned = (hold["holdout_purchases"].reindex(cust["customer_id"]).fillna(0).to_numpy() == 0).astype(int)
    return churn_features(cust, cutoff, window_days), pd.Series(churned, index=cust.index)


def _sample(n: int, size: int, seed: int) -> np.ndarray:
    return np.arange(n) if n <= size else np.sort(np.random.default_rng(seed).choice(n, size, replace=False))


def fit_churn(shop: Shop, as_of=None, window_days: int = 90, seed: int = 0, max_rows: int = 60_000) -> ChurnModel:
    """Train at as-of − 2H, evaluate at as-of − H, compare with P(alive); refit at as-of − H for today's scores."""
    as_of = pd.Timestamp(as_of).date() if as_of is not None else shop.last_date()
    lo = shop.purchase_span()[0]
    eval_cut = as_of - dt.timedelta(days=window_days)
    train_cut = eval_cut - dt.timedelta(days=window_days)
    if train_cut <= lo + dt.timedelta(days=window_days):
        raise ModelError(f"The history is too short to test a {window_days}-day churn model: it needs at least "
                         f"{3 * window_days} days of orders. Try a shorter churn window.")
    X_tr, y_tr = _labelled(shop, train_cut, window_days)
    X_ev, y_ev = _labelled(shop, eval_cut, window_days)
    if y_tr.nunique() < 2 or y_ev.nunique() < 2:
        raise ModelError("Everyone (or no one) bought again within the churn window, so churn cannot be learnt.")
    # features with no data in this shop (no interactions file: no ratings, no e-mail dates) are left out, never
    # passed empty: scikit-learn 1.9's gradient boosting fails on an all-missing column
    features = [f for f in FEATURES if X_tr[f].notna().any() and X_ev[f].notna().any()]
    X_tr, X_ev = X_tr[features], X_ev[features]
    tr = _sample(len(X_tr), max_rows, seed)
    clf = HistGradientBoostingClassifier(max_iter=200, learning_rate=0.05, max_leaf_nodes=15, l2_regularization=1.0,
                                         random_state=seed)
    clf.fit(X_tr.iloc[tr], y_tr.iloc[tr])
    ev = _sample(len(X_ev), max_rows, seed + 1)
    auc_model = float(roc_auc_score(y_ev.iloc[ev], clf.predict_proba(X_ev.iloc[ev])[:, 1]))
    auc_p = float(roc_auc_score(y_ev.iloc[ev], 1 - X_ev["p_alive"].iloc[ev]))
    imp_rows = _sample(len(ev), 5_000, seed + 2)
    imp = permutation_importance(clf, X_ev.iloc[ev].iloc[imp_rows], y_ev.iloc[ev].iloc[imp_rows], scoring="roc_auc",
                                 n_repeats=3, random_state=seed)
    drivers = pd.DataFrame({"feature": features, "meaning": [FEATURES[f] for f in features],
                            "importance": imp.importances_mean}).sort_values("importance", ascending=False)
    chosen = "model" if auc_model > auc_p else "p_alive"
    why = (f"On the last {window_days} days, which neither model saw, the interaction-aware model ranked "
           f"customers who did not come back with ROC AUC {auc_model:.2f}, against {auc_p:.2f} for P(alive) alone; "
           + ("so churn risk comes from the model." if chosen == "model"
              else "so churn risk is 1 − P(alive), the simpler of the two."))
    # today's scores: the same model refitted on the most recent complete window
    final = HistGradientBoostingClassifier(**clf.get_params()).fit(X_ev.iloc[ev], y_ev.iloc[ev])
    return ChurnModel(window_days, train_cut, eval_cut, auc_model, auc_p, drivers.reset_index(drop=True), chosen,
                      why, final, features, int(len(ev)), float(y_ev.iloc[ev].mean()))


def reason_in_words(customers: pd.DataFrame) -> pd.Series:
    """Why a customer looks at risk, in a founder's words ("usually buys every 40 days, silent for 130")."""
    since = (customers["T_days"] - customers["recency_days"]).astype(int).astype(str)
    repeat = customers["frequency"] > 0
    gap = (customers["recency_days"] / customers["frequency"].where(repeat)).round().fillna(0).astype(int).astype(str)
    reason = ("usually buys every " + gap + " days, silent for " + since).where(repeat,
                                                                             "bought once, " + since + " days ago")
    if "support_tickets" in customers:
        unhappy = customers["mean_satisfaction"].fillna(5) <= 2
        left_cart = (customers["carts_abandoned"] > 0) & (pd.to_datetime(customers["last_abandoned_cart"])
                                                          > pd.to_datetime(customers["last_order"]))
        for flag, words in ((unhappy, "; unhappy support ticket"), (left_cart, "; left a cart since")):
            if flag.any():
                reason = reason.where(~flag, reason + words)
    return reason
