"""Periods and comparisons (clv.periods) on a hand-checkable shop: every figure counted by hand."""
import datetime as dt

import pytest

from clv.periods import compare, comparison_bounds, kpis, period_bounds
from conftest import shop_of

D = dt.date
#   a: first buys 2024-01-10, again 2024-03-05 and 2024-03-20 (and returns 5 of it on 2024-03-25)
#   b: first buys 2024-03-02
#   c: first buys 2023-12-01, again 2024-02-15, an order cancelled on 2024-03-10
#   d: first buys 2023-03-15 (a year before the last period)
CSV = """order_id,customer_id,order_date,amount,status
1,a,2024-01-10,10,paid
2,a,2024-03-05,20,paid
3,a,2024-03-20,30,paid
4,a,2024-03-25,-5,returned
5,b,2024-03-02,40,paid
6,c,2023-12-01,50,paid
7,c,2024-02-15,60,paid
8,c,2024-03-10,70,cancelled
9,d,2023-03-15,80,paid
"""


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    return shop_of(tmp_path_factory.mktemp("p"), CSV)


def test_period_bounds_end_on_the_data_not_today():
    last, first = D(2024, 3, 25), D(2023, 3, 15)
    assert period_bounds("30d", last, first) == (D(2024, 2, 25), last)
    assert period_bounds("ytd", last, first) == (D(2024, 1, 1), last)
    assert period_bounds("all", last, first) == (first, last)
    assert period_bounds("custom", last, first, (D(2024, 3, 1), D(2024, 3, 31))) == (D(2024, 3, 1), D(2024, 3, 31))
    with pytest.raises(ValueError):
        period_bounds("custom", last, first, (D(2024, 3, 31), D(2024, 3, 1)))
    assert comparison_bounds(D(2024, 2, 25), last, "previous") == (D(2024, 1, 26), D(2024, 2, 24))
    assert comparison_bounds(D(2024, 2, 29), D(2024, 3, 25), "last_year") == (D(2023, 2, 28), D(2023, 3, 25))
    assert comparison_bounds(D(2024, 1, 1), last, "none") is None


def test_kpis_count_what_a_person_counts(shop):
    march = kpis(shop, D(2024, 3, 1), D(2024, 3, 31))
    # buyers in March: a (2 purchases) and b (new); c's March order was cancelled
    assert (march.customers, march.new_customers, march.returning_customers, march.purchases) == (2, 1, 1, 3)
    assert march.returns == -5 and march.revenue == 20 + 30 + 40 - 5
    assert march.average_order_value == pytest.approx(90 / 3)
    q1 = kpis(shop, D(2024, 1, 1), D(2024, 3, 31))
    assert (q1.customers, q1.new_customers, q1.purchases, q1.revenue) == (3, 2, 5, 10 + 20 + 30 + 40 + 60 - 5)
    empty = kpis(shop, D(2022, 1, 1), D(2022, 12, 31))
    assert empty.purchases == 0 and empty.average_order_value != empty.average_order_value  # NaN, not 0


def test_comparison_in_words_and_never_before_the_data(shop):
    first = shop.purchase_span()[0]
    now = kpis(shop, D(2024, 3, 1), D(2024, 3, 31))
    before = kpis(shop, *comparison_bounds(now.start, now.end, "previous"))   # 30 Jan - 29 Feb: c once
    c = compare(now, before, first)
    assert before.customers == 1 and c["customers"] == pytest.approx(1.0) and c["revenue"] == pytest.approx(85 / 60 - 1)
    year_ago = kpis(shop, *comparison_bounds(now.start, now.end, "last_year"))   # March 2023: d
    assert year_ago.customers == 1 and year_ago.new_customers == 1
    too_early = kpis(shop, D(2022, 3, 1), D(2022, 3, 31))
    words = compare(now, too_early, first)
    assert words["revenue"] is None and "your data starts on 15 Mar 2023" in words["why"]
