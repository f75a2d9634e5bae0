"""The assumptions every entry point starts from (app sidebar, CLI, benches): one place, one value each."""
__all__ = ["MODEL_THREADS", "thread_budget", "PURCHASE_MODEL_NAMES", "HORIZON_MONTHS", "MARGIN", "DISCOUNT_RATE", "CAC", "CHURN_WINDOW_DAYS", "CONTROL_SHARE",
           "UNHAPPY_SATISFACTION_AT_MOST"]

HORIZON_MONTHS = 12      # projection horizon of CLTV
MARGIN = 0.40            # gross margin as a share of revenue: CLTV is profit, not revenue
DISCOUNT_RATE = 0.10     # yearly, applied monthly
CAC = 30.0               # cost to acquire a customer, in the shop's currency
CHURN_WINDOW_DAYS = 90   # churn = no purchase in this many days
CONTROL_SHARE = 0.10     # share of each target list held out as a control group
UNHAPPY_SATISFACTION_AT_MOST = 2  # a support ticket's satisfaction (1-5) this low or lower is unhappy (CSAT: 1-2)
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
