"""Every page on shops unlike the bundled sample: no exception, and an error box only with a message in words.

Shapes: orders without interactions (the common case), a sparse invoice-line shop (UCI Online Retail layout), a
tiny purchase log (CDNOW layout, 4 customers) and a Shopify export with returns and guests.
"""
from pathlib import Path

import pytest
from conftest import open_app

from clv.store import SAMPLE_ORDERS

FIX = Path(__file__).parent / "fixtures"
PAGES = ["pages/1_Data.py", "pages/2_Segments.py", "pages/3_Customer_value.py", "pages/4_Churn_risk.py",
         "pages/5_Playbook.py", "app.py"]
SHAPES = {"orders only": SAMPLE_ORDERS, "invoice lines": FIX / "online_retail.csv", "tiny log": FIX / "CDNOW_sample.txt",
          "shopify with returns and guests": FIX / "shopify_orders_export_1.csv"}


@pytest.mark.parametrize("shape", list(SHAPES))
def test_every_page_renders_on_the_shape(shape):
    path = SHAPES[shape]
    at = open_app("pages/1_Data.py", timeout=180)
    at.file_uploader(key="orders").set_value((path.name, path.read_bytes(), "text/csv")).run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    for page in PAGES[1:]:
        at.switch_page(page).run()
        assert not at.exception, (page, at.exception)
        for box in at.error:  # a model that cannot be fitted on this shop says why, in words
            assert "Traceback" not in box.value and len(box.value) > 40, (page, box.value)
        assert at.title, page
