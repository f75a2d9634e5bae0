"""The assumptions every entry point starts from (app sidebar, CLI, benches): one place, one value each."""
__all__ = ["MODEL_THREADS", "thread_budget", "PURCHASE_MODEL_NAMES", "HORIZON_MONTHS", "MARGIN", "DISCOUNT_RATE", "CAC", "CHURN_WINDOW_DAYS", "CONTROL_SHARE",
           "UNHAPPY_SATISFACTION_AT_MOST", "RECENCY_CUTS", "FREQUENCY_CUTS", "MONETARY_CUTS", "FIRST_TIME_DAYS",
           "BIG_SPENDER_TOP_PCT", "HIGH_AOV_PCT", "DISCOUNT_SHARE_MIN", "CART_DAYS", "VIP_TENURE_MONTHS"]

HORIZON_MONTHS = 12      # projection horizon of CLTV
MARGIN = 0.40            # gross margin as a share of revenue: CLTV is profit, not revenue
DISCOUNT_RATE = 0.10     # yearly, applied monthly
CAC = 30.0               # cost to acquire a customer, in the shop's currency
CHURN_WINDOW_DAYS = 90   # churn = no purchase in this many days
CONTROL_SHARE = 0.10     # share of each target list held out as a control group
UNHAPPY_SATISFACTION_AT_MOST = 2  # a support ticket's satisfaction (1-5) this low or lower is unhappy (CSAT: 1-2)
# RFM cut-offs (used with the "thresholds" method): days since the last order, orders, revenue
RECENCY_CUTS = (30.0, 60.0, 120.0, 240.0)
FREQUENCY_CUTS = (1.0, 2.0, 3.0, 5.0)
MONETARY_CUTS = (50.0, 100.0, 250.0, 500.0)
# behavioural segments (clv.segments.SegmentParams)
FIRST_TIME_DAYS = 90     # first-time buyer: one order, placed within this many days
BIG_SPENDER_TOP_PCT = 10  # big spender: top X % of customers by revenue
HIGH_AOV_PCT = 80        # high-AOV: AOV above this percentile
DISCOUNT_SHARE_MIN = 0.5  # discount shopper: at least this share of orders discounted
CART_DAYS = 30           # cart abandoner: abandoned a cart within this many days, no order since
VIP_TENURE_MONTHS = 6    # VIP/loyal: top RFM segment and a customer for at least this long
PURCHASE_MODEL_NAMES = ("bgnbd", "mbgnbd", "pareto_nbd")  # clv.value.PURCHASE_MODELS, named without importing the models

import os as _os

#: threads a model fit may use (BLAS in KMeans, OpenMP in gradient boosting). 1 by default: on a shared server
#: several sessions' fits otherwise spin against each other (bench/threads.py); CLV_MODEL_THREADS=0 lifts the cap
MODEL_THREADS = int(_os.environ.get("CLV_MODEL_THREADS", "1")) or None


def thread_budget(fit):
    """Run ``fit`` with at most MODEL_THREADS threads in its numerical libraries (threadpoolctl)."""
    import functools

    @functools.wraps(fit)
    def limited(*args, **kwargs):
        from threadpoolctl import threadpool_limits
        with threadpool_limits(limits=MODEL_THREADS):
            return fit(*args, **kwargs)
    return limited

#: customers in a slice of ``score`` (clv.streamed): its memory is bounded by this, the slices scored at once
#: (SCORE_WORKERS) and DuckDB's memory limit, not by the shop's size (~0.5 GB of pandas per slice of 500,000)
BATCH_CUSTOMERS = 500_000
#: slices scored at once, on threads (numpy and scipy let go of the GIL for most of the work): 1.5x faster on two
#: cores than one at a time (bench/scale.py)
SCORE_WORKERS = 2
