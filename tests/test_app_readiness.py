"""Shops whose data cannot support a projection (issue 25): a 37-day history, a 15-customer shop — and a shop with
a three-month closure that can. No page shows an error box, a projection or CLV : CAC below the rules; each says why
in words and shows what the data does support; the gap is said."""
import datetime as dt
import random

import pytest
from conftest import open_app

from clv.pipeline import Pipeline, Settings
from clv.readiness import MIN_REPEAT_CUSTOMERS, assess, trading_gaps
from clv.store import Shop

D0 = dt.date(2024, 1, 1)
PROJECTING = ["app.py", "pages/3_Customer_value.py", "pages/4_Churn_risk.py", "pages/5_Playbook.py",
              "pages/6_Campaigns.py"]


def orders(kind: str, customers: int = 800) -> bytes:
    rnd = random.Random(7)
    rows = []
    if kind == "short":  # UCI Online Retail's first weeks: 300 customers over 37 days
        for c in range(300):
            d = rnd.randint(0, 36)
            rows.append((f"c{c}", D0 + dt.timedelta(days=d), rnd.randint(5, 60)))
            if rnd.random() < 0.3:
                rows.append((f"c{c}", D0 + dt.timedelta(days=min(36, d + rnd.randint(1, 20))), rnd.randint(5, 60)))
    elif kind == "tiny":  # 15 customers over a year
        for c in range(15):
            for _ in range(rnd.randint(1, 4)):
                rows.append((f"c{c}", D0 + dt.timedelta(days=rnd.randint(0, 364)), rnd.randint(20, 90)))
    else:  # two years, closed from August to October 2025 (inside the default backtest's checking period)
        for c in range(customers):
            t, rate = rnd.uniform(0, 700), rnd.gammavariate(0.8, 1 / 40)
            while t < 730:
                day = D0 + dt.timedelta(days=int(t))
                if not dt.date(2025, 8, 1) <= day < dt.date(2025, 11, 1):
                    rows.append((f"c{c}", day, rnd.randint(15, 120)))
                if rnd.random() < 0.15 and rows and rows[-1][0] == f"c{c}":
                    break
                t += rnd.expovariate(rate)
    return ("customer_id,order_date,amount\n" + "".join(f"{c},{d},{a}\n" for c, d, a in rows)).encode()


def _upload(kind: str):
    at = open_app("pages/1_Data.py")
    at.file_uploader(key="orders").set_value((f"{kind}.csv", orders(kind), "text/csv")).run()
    assert not at.exception, at.exception
    return at


def _text(at) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption] + [i.value for i in at.info]
    parts += [w.value for w in at.warning] + [str(m.label) + " " + str(m.value) for m in at.metric]
    return "\n".join(parts)


@pytest.mark.parametrize("kind,says", [("short", "the history covers 37 days"),
                                       ("tiny", "10 customers bought more than once")])
def test_below_the_rules_every_page_falls_back_in_words(kind, says):
    at = _upload(kind)
    for page in PROJECTING:
        at.switch_page(page).run()
        assert not at.exception, (page, at.exception)
        assert not at.error, (page, [e.value for e in at.error])  # no red box quoting parameters
        text = _text(at)
        assert "CLV : CAC" not in text and "Projected value, next" not in text, page
        assert "a = " not in text and "e+0" not in text, page  # no parameter in sight
        assert says in text, (page, text[:600])
    at.switch_page("pages/3_Customer_value.py").run()
    assert "You need about" in _text(at) and "Average value so far (margin)" in _text(at)
    assert any("silence ÷ usual gap" in str(df.value.columns.tolist()) or "silence_in_usual_gaps" in
               df.value.columns for df in at.dataframe)


def test_a_gap_in_trading_is_said_and_projections_shown_with_their_range():
    at = _upload("gap")
    at.switch_page("pages/3_Customer_value.py").run()
    assert not at.exception and not at.error
    text = _text(at)
    assert "3 months without any order (Aug 2025 to Oct 2025)" in text
    assert "likely between" in text and "almost surely between" in text
    assert "includes months without any order" in text  # the default backtest checks on the closure
    at.switch_page("app.py").run()
    assert "CLV : CAC" in _text(at) and "80 % interval" in _text(at)


def test_rules_on_the_customer_table_and_gaps(tmp_path):
    path = tmp_path / "tiny.csv"
    path.write_bytes(orders("tiny"))
    shop = Shop()
    shop.load_orders(path)
    ready = Pipeline(shop, Settings()).get("readiness")
    assert not ready.ok and ready.repeat_customers == 10 < MIN_REPEAT_CUSTOMERS
    assert ready.model_problem  # the fit failed too, but the words lead with what is missing
    assert "about 90 more customers who come back" in ready.in_words()
    customers = shop.customers()
    assert assess(customers, None, parameter_sd=0.4).reasons == assess(customers).reasons  # data rules come first
    import pandas as pd
    monthly = pd.DataFrame({"month": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-05-01", "2024-07-01"]),
                            "orders": [3, 1, 2, 5]})
    assert trading_gaps(monthly) == [(dt.date(2024, 3, 1), dt.date(2024, 4, 1)), (dt.date(2024, 6, 1),) * 2]
