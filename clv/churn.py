"""Who is slipping away? Churn risk from the purchase model, and a supervised model that also reads interactions.

Churn is "no purchase in the next H days". The baseline is the purchase model's own probability of that
(BG/NBD's P(no purchase in H days | history), which — unlike 1 − P(alive) — is above 0 for one-time buyers). The
supervised model is trained with features at an earlier cut-off (as-of − 2H) and labels from the H days after it,
then both are evaluated honestly at a later cut-off (as-of − H) against what happened by the as-of date. The
supervised model is used only when its ROC AUC beats the baseline's by a margin whose bootstrap 95 % interval
excludes 0 — interactions that carry no signal do not get to replace a simpler, calibrated probability.
For today's scores the model is refitted at the later cut-off.

Everything here works on frames: ``ChurnHistory`` holds the two customer tables and what each customer bought in
the window after each cut-off (``churn_history`` builds it from a shop's tables; a notebook or another engine can
build it from its own tables).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import defaults
from .models import BGNBD, ModelError, ParetoNBD

__all__ = ["BANDS", "risk_bands", "worth_saving", "backtest_bands", "FEATURES", "ChurnHistory", "ChurnModel", "churn_cutoffs", "churn_history", "fit_churn", "churn_features",
           "unhappy_support", "reason_in_words"]

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
    "p_alive": "the purchase model's chance the customer is still active", "bgnbd_expected": "the purchase model's expected purchases in the window",
    "p_no_purchase": "the purchase model's chance of no purchase in the window",
}
BOOTSTRAP = 200
IMPORTANCE_ROWS = 2_000


BANDS = ("low", "medium", "high")



def _points(share: float) -> str:
    """A difference of two shares in percentage points, signed, one decimal: "+1.2"; never "-0.0"."""
    return f"{round(100 * share, 1) + 0.0:+.1f}"

def risk_bands(risk) -> pd.Categorical:
    """Low / medium / high churn risk: the customers in thirds by their risk (ties kept together by rank order)."""
    r = pd.Series(np.asarray(risk, float))
    rank = r.rank(method="min").to_numpy()  # equal risks share a rank, so a band never splits them
    n = max(int(r.notna().sum()), 1)
    third = np.where(np.isnan(rank), -1, np.minimum(3 * (np.nan_to_num(rank) - 1) // n, 2)).astype(int)
    return pd.Categorical.from_codes(third, categories=list(BANDS))


def worth_saving(scored: pd.DataFrame, uplift: float, cost_per_customer: float) -> pd.DataFrame:
    """The customers worth a win-back message: in the medium or high risk band (one in the low third is not slipping
    yet, however valuable), and a contact that keeps ``uplift`` of those who would leave is expected to save more
    margin than it costs (the playbook's save formula: uplift × value at stake > cost). The Churn page's headline."""
    bands = risk_bands(scored["churn_risk"])
    return scored[(np.asarray(bands) != "low") & (uplift * scored["value_at_stake"] > cost_per_customer)]


def backtest_bands(purchases, customers: pd.DataFrame, holdout: pd.DataFrame, window_days: int) -> pd.DataFrame:
    """The bands checked on the shop's own history: the purchase model fitted up to a cut-off (``customers`` then,
    ``holdout``: their purchases in the ``window_days`` after it) — per band, the customers, the model's mean risk
    of no purchase in the window, and the share who really did not buy."""
    x, tx, T = (customers[c].to_numpy(float) for c in ("frequency", "recency_days", "T_days"))
    risk = purchases.probability_no_purchase(window_days, x, tx, T)
    bought = customers["customer_id"].isin(holdout.loc[holdout["holdout_purchases"] > 0, "customer_id"]).to_numpy()
    frame = pd.DataFrame({"band": risk_bands(risk), "predicted": risk, "did_not_buy": ~bought})
    return frame.groupby("band", observed=False).agg(customers=("predicted", "size"), predicted=("predicted", "mean"),
                                                     did_not_buy=("did_not_buy", "mean"))


def _days_since(as_of: dt.date, ts: pd.Series) -> pd.Series:
    return (pd.Timestamp(as_of) + pd.Timedelta(days=1) - pd.to_datetime(ts)).dt.total_seconds() / 86400


def churn_features(customers: pd.DataFrame, as_of: dt.date, window_days: int, bg: BGNBD | ParetoNBD | None = None,
                   model: str = "bgnbd", known: dict | None = None) -> pd.DataFrame:
    """The model's features from a customer table at ``as_of`` (``bg``, or the purchase model ``model`` fitted on
    that table). ``known``: purchase-model features already computed for these customers (``p_alive``,
    ``p_no_purchase``), taken as they are instead of computed again."""
    known = known or {}
    x, tx, T = (customers[c].to_numpy(float) for c in ("frequency", "recency_days", "T_days"))
    if bg is None:
        from .value import PURCHASE_MODELS
        bg = PURCHASE_MODELS[model]().fit(x, tx, T)
    f = pd.DataFrame(index=customers.index)
    f["days_since_last"] = customers["T_days"] - customers["recency_days"]
    for col in ("frequency", "T_days", "orders", "revenue", "aov", "discount_share", "refund_total", "views",
                "carts_abandoned", "email_opens", "email_clicks", "support_tickets", "mean_satisfaction", "reviews",
                "mean_rating", "return_requests"):
        f[col] = customers[col].astype(float)
    f["days_since_abandoned_cart"] = _days_since(as_of, customers["last_abandoned_cart"])
    f["days_since_email"] = _days_since(as_of, customers["last_email_engagement"])
    f["days_since_interaction"] = _days_since(as_of, customers["last_interaction"])
    f["p_alive"] = known["p_alive"] if "p_alive" in known else bg.probability_alive(x, tx, T)
    f["bgnbd_expected"] = bg.expected_purchases(window_days, x, tx, T)
    f["p_no_purchase"] = (known["p_no_purchase"] if "p_no_purchase" in known
                          else bg.probability_no_purchase(window_days, x, tx, T))
    return f[list(FEATURES)]


@dataclass
class ChurnModel:
    window_days: int
    train_cutoff: dt.date
    eval_cutoff: dt.date
    auc_model: float
    auc_baseline: float            # the purchase model's P(no purchase in the window), on the same customers
    auc_model_ci: tuple            # bootstrap 95 % intervals (resampling the evaluation customers)
    auc_baseline_ci: tuple
    gain_ci: tuple                 # of auc_model − auc_baseline, paired
    drivers: pd.DataFrame          # feature, meaning, importance (drop in AUC when shuffled)
    chosen: str                    # "model" or "purchases"
    why: str
    classifier: "HistGradientBoostingClassifier"  # noqa: F821 (sklearn.ensemble, imported when a model is fitted)
    features: list                 # the FEATURES this shop has data for, in the classifier's order
    eval_customers: int
    eval_churn_rate: float


@dataclass
class ChurnHistory:
    """What fit_churn learns from: the customer table at two cut-offs and each customer's purchases in the
    ``window_days`` after each (columns customer_id, holdout_purchases — clv/sql/holdout.sql)."""
    window_days: int
    train_cutoff: dt.date
    train_customers: pd.DataFrame
    train_holdout: pd.DataFrame
    eval_cutoff: dt.date
    eval_customers: pd.DataFrame
    eval_holdout: pd.DataFrame


def churn_cutoffs(first_date: dt.date, as_of: dt.date, window_days: int) -> tuple[dt.date, dt.date]:
    """(train cut-off, evaluation cut-off) = (as-of − 2H, as-of − H); ModelError when the history is too short."""
    eval_cut = as_of - dt.timedelta(days=window_days)
    train_cut = eval_cut - dt.timedelta(days=window_days)
    if train_cut <= first_date + dt.timedelta(days=window_days):
        raise ModelError(f"The history is too short to test a {window_days}-day churn model: it needs at least "
                         f"{3 * window_days} days of orders. Try a shorter churn window.")
    return train_cut, eval_cut


def churn_history(shop, as_of=None, window_days: int = defaults.CHURN_WINDOW_DAYS) -> ChurnHistory:
    """What ``fit_churn`` learns from, read off a shop's tables (clv.store.Shop, or anything with its ``customers``,
    ``holdout``, ``purchase_span`` and ``last_date``): customer tables at as-of − 2H and as-of − H, and who bought
    in the H days after each (as-of: the last date in the data unless given)."""
    as_of = dt.date.fromisoformat(str(as_of)[:10]) if as_of else shop.last_date()
    train_cut, eval_cut = churn_cutoffs(shop.purchase_span()[0], as_of, window_days)
    return ChurnHistory(window_days, train_cut, shop.customers(as_of=train_cut),
                        shop.holdout(train_cut, train_cut + dt.timedelta(days=window_days)),
                        eval_cut, shop.customers(as_of=eval_cut),
                        shop.holdout(eval_cut, eval_cut + dt.timedelta(days=window_days)))


def _labelled(cust: pd.DataFrame, hold: pd.DataFrame, cutoff: dt.date, window_days: int,
              model: str) -> tuple[pd.DataFrame, pd.Series]:
    hold = hold.set_index("customer_id")
    churned = (hold["holdout_purchases"].reindex(cust["customer_id"]).fillna(0).to_numpy() == 0).astype(int)
    return churn_features(cust, cutoff, window_days, model=model), pd.Series(churned, index=cust.index)


def _sample(n: int, size: int, seed: int) -> np.ndarray:
    return np.arange(n) if n <= size else np.sort(np.random.default_rng(seed).choice(n, size, replace=False))


@defaults.thread_budget
def fit_churn(history: ChurnHistory, model: str = "bgnbd", seed: int = 0, max_rows: int = 60_000) -> ChurnModel:
    """Train at as-of − 2H, evaluate at as-of − H against the purchase model's (``model``: a
    clv.value.PURCHASE_MODELS key) P(no purchase in the window); refit at as-of − H for today's scores."""
    window_days, train_cut, eval_cut = history.window_days, history.train_cutoff, history.eval_cutoff
    X_tr, y_tr = _labelled(history.train_customers, history.train_holdout, train_cut, window_days, model)
    X_ev, y_ev = _labelled(history.eval_customers, history.eval_holdout, eval_cut, window_days, model)
    if y_tr.nunique() < 2 or y_ev.nunique() < 2:
        raise ModelError("Everyone (or no one) bought again within the churn window, so churn cannot be learnt.")
    # features with no data in this shop (no interactions file: no ratings, no e-mail dates) are left out, never
    # passed empty: scikit-learn 1.9's gradient boosting fails on an all-missing column
    features = [f for f in FEATURES if X_tr[f].notna().any() and X_ev[f].notna().any()]
    X_tr, X_ev = X_tr[features], X_ev[features]
    # imported here: a second of a CLI run's start for every shop without interactions, which never fits one
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.inspection import permutation_importance
    tr = _sample(len(X_tr), max_rows, seed)
    clf = HistGradientBoostingClassifier(max_iter=200, learning_rate=0.05, max_leaf_nodes=15, l2_regularization=1.0,
                                         random_state=seed)
    clf.fit(X_tr.iloc[tr], y_tr.iloc[tr])
    ev = _sample(len(X_ev), max_rows, seed + 1)
    y = y_ev.iloc[ev].to_numpy()
    score_model = clf.predict_proba(X_ev.iloc[ev])[:, 1]
    score_base = X_ev["p_no_purchase"].iloc[ev].to_numpy()
    auc_model, auc_base = _auc(y, score_model), _auc(y, score_base)
    boot = _bootstrap_aucs(y, score_model, score_base, seed)
    model_ci, base_ci = tuple(np.percentile(boot[:, 0], [2.5, 97.5])), tuple(np.percentile(boot[:, 1], [2.5, 97.5]))
    gain_ci = tuple(np.percentile(boot[:, 0] - boot[:, 1], [2.5, 97.5]))
    # the drivers table only ranks features: 2,000 customers and two shuffles rank them (each shuffle is a full
    # prediction: at 5,000 x 3 this step was 4.7 of the sample shop's 6 s churn fit)
    imp_rows = _sample(len(ev), IMPORTANCE_ROWS, seed + 2)
    imp = permutation_importance(clf, X_ev.iloc[ev].iloc[imp_rows], y_ev.iloc[ev].iloc[imp_rows], scoring="roc_auc",
                                 n_repeats=2, random_state=seed)
    drivers = pd.DataFrame({"feature": features, "meaning": [FEATURES[f] for f in features],
                            "importance": imp.importances_mean}).sort_values("importance", ascending=False)
    chosen = "model" if gain_ci[0] > 0 else "purchases"

    def pct(v):
        return f"{100 * v:.0f}%"

    events = [c for c in ("views", "email_opens", "support_tickets", "reviews", "return_requests")
              if c in history.train_customers]
    has_events = bool(events) and bool(history.train_customers[events].fillna(0).to_numpy().any())
    other = ("the model that also reads interactions" if has_events else
             "a machine-learned model of the order history (no interactions are loaded)")
    why = (f"Tested on the last {window_days} days, which neither model saw: {other} "
           f"put a customer who did not come back above one who did {pct(auc_model)} of the time "
           f"({pct(model_ci[0])}–{pct(model_ci[1])}), the purchase history alone {pct(auc_base)} "
           f"({pct(base_ci[0])}–{pct(base_ci[1])}). "
           + (f"The gain ({_points(gain_ci[0])} to {_points(gain_ci[1])} points) is more than chance, so churn risk "
              f"comes from {other}." if chosen == "model" else
              f"The gain ({_points(gain_ci[0])} to {_points(gain_ci[1])} points) could be chance, so churn risk is "
              "the purchase model's own probability of no purchase, the simpler of the two."))
    # today's scores: the same model refitted on the most recent complete window
    final = HistGradientBoostingClassifier(**clf.get_params()).fit(X_ev.iloc[ev], y_ev.iloc[ev])
    return ChurnModel(window_days, train_cut, eval_cut, auc_model, auc_base, model_ci, base_ci, gain_ci,
                      drivers.reset_index(drop=True), chosen, why, final, features, int(len(ev)), float(y.mean()))


def _auc(y: np.ndarray, score: np.ndarray) -> float:
    """ROC AUC by the Mann-Whitney statistic (ties count half), fast enough to bootstrap."""
    from scipy import stats  # here, not at import: scipy.stats costs 0.9 s of every CLI run's start
    ranks = stats.rankdata(score)
    pos = y == 1
    n1, n0 = pos.sum(), (~pos).sum()
    return float((ranks[pos].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def _bootstrap_aucs(y, a, b, seed: int, n: int = BOOTSTRAP) -> np.ndarray:
    """(n, 2) AUCs of scores a and b on the same resampled customers (paired, so their difference is honest).

    A resample is a count per customer; its AUC is the Mann-Whitney statistic with those counts as weights, over
    the scores' distinct values sorted once — the AUC of the resampled rows exactly, without ranking them again
    (ranking each resample took half of a churn fit: 2.6 s at 100k customers)."""
    rng = np.random.default_rng(seed + 3)
    pos = np.asarray(y) == 1
    groups = [np.unique(score, return_inverse=True)[1] for score in (a, b)]
    out = np.empty((n, 2))
    for i in range(n):
        w = np.bincount(rng.integers(0, len(pos), len(pos)), minlength=len(pos)).astype(float)
        wp, wn = w * pos, w * ~pos
        if wp.sum() == 0 or wn.sum() == 0:
            out[i] = np.nan
            continue
        for j, inv in enumerate(groups):
            p_k, n_k = np.bincount(inv, weights=wp), np.bincount(inv, weights=wn)
            out[i, j] = float(p_k @ (np.cumsum(n_k) - 0.5 * n_k)) / (wp.sum() * wn.sum())
    return out[~np.isnan(out[:, 0])]


def unhappy_support(customers: pd.DataFrame) -> np.ndarray:
    """Customers with a support ticket that was not rated, or rated ``defaults.UNHAPPY_SATISFACTION_AT_MOST`` or
    lower on average: the one rule behind the churn reason and the playbook's support follow-up."""
    if "support_tickets" not in customers:
        return np.zeros(len(customers), bool)
    rating = customers["mean_satisfaction"].to_numpy(float)
    unhappy = np.isnan(rating) | (np.nan_to_num(rating, nan=0.0) <= defaults.UNHAPPY_SATISFACTION_AT_MOST)
    return (customers["support_tickets"].to_numpy(float) > 0) & unhappy


def reason_in_words(customers: pd.DataFrame) -> pd.Series:
    """Why a customer looks at risk, in a founder's words ("usually buys every 40 days, silent for 130").

    The texts are put together by DuckDB (0.3 s for 3.3M customers; pandas' string sums took 2.2 s)."""
    import duckdb
    import pyarrow as pa
    n = len(customers)
    frequency = customers["frequency"].to_numpy(float)
    recency = customers["recency_days"].to_numpy(float)
    since = (customers["T_days"].to_numpy(float) - recency).astype(np.int64)
    repeat = frequency > 0
    gap = np.rint(np.divide(recency, frequency, out=np.zeros(n), where=repeat)).astype(np.int64)
    unhappy = unhappy_support(customers)
    unrated = unhappy & customers["mean_satisfaction"].isna().to_numpy() if "mean_satisfaction" in customers else unhappy
    left_cart = np.zeros(n, bool)
    if "support_tickets" in customers:
        left_cart = ((customers["carts_abandoned"] > 0) & (pd.to_datetime(customers["last_abandoned_cart"])
                                                           > pd.to_datetime(customers["last_order"]))).to_numpy(bool)
    con = duckdb.connect()  # a connection of its own: callers' connections may be busy on another thread
    con.execute("SET arrow_large_buffer_size = true")  # pandas' text type: taken as it is, not converted (150 MB)
    try:
        con.register("parts", pa.table({"since": since, "gap": gap, "repeat": repeat, "unhappy": unhappy, "unrated": unrated,
                                        "left_cart": left_cart}))
        text = con.sql("""
            SELECT CASE WHEN repeat THEN 'usually buys every ' || gap || ' days, silent for ' || since
                        ELSE 'bought once, ' || since || ' days ago' END
                   || CASE WHEN unrated THEN '; a support ticket without a rating'
                           WHEN unhappy THEN '; unhappy support ticket' ELSE '' END
                   || CASE WHEN left_cart THEN '; left a cart since' ELSE '' END AS reason
            FROM parts""").to_arrow_table()["reason"]
    finally:
        con.close()
    return pd.Series(text, dtype="str", index=customers.index, name="reason")
