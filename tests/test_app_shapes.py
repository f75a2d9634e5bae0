"""Every page on shops unlike the bundled sample: no exception and no error box (a fallback in words instead).

Shapes: orders without interactions (the common case), a sparse invoice-line shop (UCI Online Retail layout), a
tiny purchase log (CDNOW layout, 4 customers), a Shopify export with returns and guests, and generated shops:
regular daily buyers, everyone a one-time buyer, a B2B shop (12 firms, orders of 5,000-200,000).
"""
import datetime as dt
import random
from pathlib import Path

import pytest
from conftest import open_app

from clv.store import SAMPLE_ORDERS
from ui.pages import DATA_PAGES

FIX = Path(__file__).parent / "fixtures"
PAGES = [p.script for p in DATA_PAGES if p.script != "pages/1_Data.py"]  # after the upload on Your data
SHAPES = {"orders only": SAMPLE_ORDERS, "invoice lines": FIX / "online_retail.csv", "tiny log": FIX / "CDNOW_sample.txt",
          "shopify with returns and guests": FIX / "shopify_orders_export_1.csv"}
D0 = dt.date(2024, 1, 1)
_rnd = random.Random(1)
GENERATED = {
    "daily buyers": [(f"c{c}", D0 + dt.timedelta(days=i), 10) for c in range(20) for i in range(365)],
    "all one-time buyers": [(f"c{c}", D0 + dt.timedelta(days=c % 365), 10 + c % 7) for c in range(500)],
    "b2b": [(f"firm{c}", D0 + dt.timedelta(days=30 * m + _rnd.randint(0, 5)), round(_rnd.uniform(5e3, 2e5), 2))
            for c in range(12) for m in range(12) if _rnd.random() < 0.8],
}


def _csv(rows) -> bytes:
    return ("customer_id,order_date,amount\n" + "".join(f"{c},{d},{a}\n" for c, d, a in rows)).encode()


@pytest.mark.parametrize("shape", list(SHAPES) + list(GENERATED))
def test_every_page_renders_on_the_shape(shape):
    if shape in SHAPES:
        name, content = SHAPES[shape].name, SHAPES[shape].read_bytes()
    else:
        name, content = f"{shape}.csv", _csv(GENERATED[shape])
    at = open_app("pages/1_Data.py")
    at.file_uploader(key="orders").set_value((name, content, "text/csv")).run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    for page in PAGES:
        at.switch_page(page).run()
        assert not at.exception, (page, at.exception)
        # a shop the models cannot read gets the fallback in words, never a red box quoting a model's parameters
        assert not at.error, (page, [box.value for box in at.error])
        assert at.title, page


HOSTILE = "![x](http://tracker.example/p.png)"


def test_hostile_ids_are_shown_as_text_on_every_page():
    """A customer id that is a Markdown image (a tracking pixel) or link is never rendered as one."""
    rows = [(HOSTILE, D0 + dt.timedelta(days=d), 500) for d in (0, 40, 80, 120, 160)]
    rows += [(f"c{c}", D0 + dt.timedelta(days=c % 200), 10 + c % 5) for c in range(300)]
    rows += [(f"c{c}", D0 + dt.timedelta(days=200 + c % 100), 12) for c in range(0, 300, 3)]
    at = open_app("pages/1_Data.py")
    at.file_uploader(key="orders").set_value(("[evil](http://x.example).csv", _csv(rows), "text/csv")).run()
    for page in [p.script for p in DATA_PAGES]:
        at.switch_page(page).run()
        assert not at.exception, (page, at.exception)
        texts = [e.value for kind in ("markdown", "caption", "info", "warning", "success", "error")
                 for e in getattr(at, kind)]
        assert not any(HOSTILE in t or "](http" in t for t in texts), (page, [t for t in texts if "http" in t])
