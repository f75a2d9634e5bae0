"""Fair churn judging: interactions that carry no signal never replace the purchase model's probability."""
import numpy as np
import pandas as pd
import pytest

from clv.churn import churn_history, fit_churn
from clv.store import SAMPLE_INTERACTIONS, SAMPLE_ORDERS, Shop


@pytest.mark.parametrize("seed", [1, 2])
def test_noise_interactions_do_not_win(tmp_path, seed):
    """The sample shop's events, each customer's given to another at random: pure noise for churn."""
    events = pd.read_csv(SAMPLE_INTERACTIONS, dtype=str)
    ids = events["customer_email"].unique()
    shuffled = dict(zip(ids, np.random.default_rng(seed).permutation(ids)))
    events["customer_email"] = events["customer_email"].map(shuffled)
    path = tmp_path / "noise.csv"
    events.to_csv(path, index=False)
    shop = Shop()
    shop.load_orders(SAMPLE_ORDERS)
    shop.load_interactions(path)
    cm = fit_churn(churn_history(shop, window_days=90), seed=seed)
    assert cm.chosen == "purchases", cm.why
    assert cm.gain_ci[0] <= 0 and "could be chance" in cm.why
