"""Same input, same output, every run: the customer table and the fitted models do not depend on thread timing."""
from pathlib import Path

import pandas as pd
import pytest

from clv.errors import ModelError
from clv.store import SAMPLE_ORDERS, Shop
from clv.value import fit_value_model

FIX = Path(__file__).parent / "fixtures"


@pytest.mark.parametrize("path", [SAMPLE_ORDERS, FIX / "online_retail.csv", FIX / "shopify_orders_export_1.csv",
                                  FIX / "CDNOW_sample.txt"], ids=lambda p: Path(p).name)
def test_ten_runs_one_answer(path):
    tables, fits = [], set()
    for _ in range(10):
        shop = Shop()
        shop.load_orders(path)
        table = shop.customers()
        tables.append(table)
        try:
            vm = fit_value_model(table)
            fits.add(tuple(vm.purchases.params_.values()) + tuple(vm.spend.params_.values()))
        except ModelError as exc:
            fits.add(str(exc))
    for t in tables[1:]:
        pd.testing.assert_frame_equal(t, tables[0], check_exact=True)
    assert len(fits) == 1, fits
