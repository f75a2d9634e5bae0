"""CAC from ad spend (clv.acquisition) on a hand-checkable shop: every CAC, margin per customer and payback month
below is worked out by hand in the comments; the ad platforms' exports read as they come."""
import datetime as dt

import numpy as np
import pandas as pd
import pytest

from clv.acquisition import BLENDED, cac_by_month, channel_key, cohort_margins, payback, read_ad_spend
from clv.errors import DataError
from conftest import shop_of

ORDERS = """order_id,customer_id,order_date,amount,channel
1,a,2024-01-03,100,facebook
2,b,2024-01-09,40,fb
3,c,2024-01-12,60,google / cpc
4,d,2024-01-20,30,web
5,a,2024-02-02,100,email
6,e,2024-02-14,80,Instagram
7,b,2024-03-05,60,web
8,c,2024-03-31,100,web
"""
SPEND = "date,channel,spend\n2024-01-15,Meta,100\n2024-01-20,google,50\n2024-02-10,facebook,90\n2024-02-11,TikTok,30\n"
MARGIN = 0.5


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    return shop_of(tmp_path_factory.mktemp("acq"), ORDERS)


def test_channel_names_meet_in_one_vocabulary():
    assert {channel_key(x) for x in ("facebook", "fb", "Instagram", "Meta", "facebook / cpc", "ig")} == {"meta"}
    assert channel_key("google / cpc") == "google" and channel_key("Google Ads") == "google"
    assert channel_key("web") == "web" and channel_key(None) == ""


def test_cac_per_channel_and_month(shop):
    spend, words = read_ad_spend(SPEND.encode(), "spend.csv")
    assert "4 rows read" in words and spend["spend"].sum() == 270
    table, notes = cac_by_month(spend, cohort_margins(shop, MARGIN))
    got = {(str(r.month), r.channel): (r.new_customers, r.cac) for r in table.itertuples()}
    assert got[("2024-01-01", "meta")] == (2, 50.0)          # 100 spent, a (facebook) and b (fb)
    assert got[("2024-01-01", "google")] == (1, 50.0)        # 50 spent, c
    assert got[("2024-02-01", "meta")] == (1, 90.0)          # 90 spent, e (Instagram)
    assert got[("2024-02-01", "tiktok")][0] == 0 and np.isnan(got[("2024-02-01", "tiktok")][1])
    # blended: January's 150 over its 4 new customers (a, b, c and the organic d); February's 120 over e
    assert got[("2024-01-01", BLENDED)] == (4, 37.5) and got[("2024-02-01", BLENDED)] == (1, 120.0)
    text = " ".join(notes)
    assert "tiktok in Feb 2024" in text and "1 new customers came from channels without spend" in text and "'web'" in text


def test_margin_per_customer_and_payback_per_cohort(shop):
    margins = cohort_margins(shop, MARGIN)
    jan_meta = margins[(margins["cohort"] == dt.date(2024, 1, 1)) & (margins["channel"] == "facebook")]
    assert list(jan_meta["margin_per_customer"]) == [50.0, 100.0, 100.0]   # a alone (b's first order says "fb")
    spend, _ = read_ad_spend(SPEND.encode(), "spend.csv")
    table, _ = cac_by_month(spend, margins)
    pb = payback(table, margins).set_index(["cohort", "channel"])
    # Jan meta (a, b; CAC 50): margin per customer 35 in Jan, 60 after a's February order, 75 after b's March one
    jan = pb.loc[(dt.date(2024, 1, 1), "meta")]
    assert jan["margin_per_customer"] == pytest.approx(75) and jan["payback_month"] == 1
    assert jan["clv_cac_so_far"] == pytest.approx(1.5) and jan["months_observed"] == 3
    # Jan google (c; CAC 50): 30, 30, then 80 with the March order: paid back two months after the first
    assert pb.loc[(dt.date(2024, 1, 1), "google"), "payback_month"] == 2
    # Feb meta (e; CAC 90): 40 so far, not paid back yet
    feb = pb.loc[(dt.date(2024, 2, 1), "meta")]
    assert np.isnan(feb["payback_month"]) and feb["clv_cac_so_far"] == pytest.approx(40 / 90)
    # blended January (CAC 37.5): a, b, c, d's margin per customer 28.75, 41.25, then 61.25 — paid back in month 1
    blended = pb.loc[(dt.date(2024, 1, 1), BLENDED)]
    assert blended["margin_per_customer"] == pytest.approx((50 + 50 + 20 + 30 + 30 + 50 + 15) / 4)
    assert blended["payback_month"] == 1
    projected = pd.DataFrame({"cohort": [dt.date(2024, 2, 1)], "channel": ["Instagram"], "customers": [1],
                              "projected": [60.0]})
    assert payback(table, margins, projected).set_index(["cohort", "channel"]).loc[
        (dt.date(2024, 2, 1), "meta"), "clv_cac_with_projection"] == pytest.approx(100 / 90)


def test_meta_and_google_exports_as_they_come(tmp_path):
    # as Ads Manager writes it: the rate "Cost per results" before the total "Amount spent (USD)"
    meta = ("Reporting starts,Reporting ends,Campaign name,Campaign delivery,Results,Cost per results,"
            "Amount spent (USD)\n"
            "2024-01-01,2024-01-31,Spring,active,12,25.83,310.00\n2024-01-30,2024-02-02,Flash,inactive,3,13.33,40.00\n")
    spend, words = read_ad_spend(meta.encode(), "meta.csv")
    by_month = spend.groupby(pd.to_datetime(spend["date"]).dt.month)["spend"].sum()
    assert set(spend["channel"]) == {"meta"} and "meta" in words
    assert by_month[1] == pytest.approx(310 + 20) and by_month[2] == pytest.approx(20)   # 4 days at 10 a day
    google = ('Campaign report\n"January 1, 2024 - February 29, 2024"\n'
              "Day,Campaign,Campaign type,Currency code,Cost / conv.,Cost,Impr.,Clicks\n"
              '2024-01-05,Brand,Search,USD,24.01,"1,200.50",1000,50\n2024-02-05,Brand,Search,USD,19.90,99.50,100,5\n'
              'Total: Account,,,USD,23.64,"1,300.00",1100,55\n')
    spend, words = read_ad_spend(google.encode("utf-16"), "google.csv")
    assert set(spend["channel"]) == {"google"} and spend["spend"].sum() == pytest.approx(1300.0)
    assert "1 rows without a date or an amount" in words
    # an Excel save of a spend table; files that are no table are refused in words, not a traceback
    from test_bombs import _cell, _xlsx
    rows = "".join(f'<row r="{i}">' + "".join(_cell(f"{col}{i}", v) for col, v in zip("ABC", values)) + "</row>"
                   for i, values in enumerate([("Date", "Channel", "Spend"), ("2024-01-02", "google", "10"),
                                               ("2024-01-03", "Facebook", "20")], start=1))
    book = _xlsx(tmp_path / "spend.xlsx", rows)  # a mkdtemp here was never removed
    spend, _ = read_ad_spend(book.read_bytes(), "spend.xlsx")
    assert dict(zip(spend["channel"], spend["spend"])) == {"google": 10.0, "meta": 20.0}
    for bad in (b"", b"PK\x03\x04broken", b"a,b\n1,2,3,4\n5\n"):
        with pytest.raises(DataError):
            read_ad_spend(bad, "x.xlsx" if bad.startswith(b"PK") else "x.csv")
    with pytest.raises(DataError, match="channel"):
        read_ad_spend(b"date,spend\n2024-01-01,10\n", "x.csv")
    with pytest.raises(DataError, match="spend column"):
        read_ad_spend(b"date,channel,clicks\n2024-01-01,meta,10\n", "x.csv")
