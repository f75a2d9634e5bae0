"""Every row accounted for (issue 24): times as written with their zone, unreadable values that stop a load,
statuses the founder decides. Truth is computed here with Python's own datetime, not clv's SQL."""
import csv
import datetime as dt
import io
from pathlib import Path

import pandas as pd
import pytest

from clv.ingest.dates import ZONE_OFFSETS
from clv.store import Shop


def _utc(text: str) -> dt.datetime:
    """Independent reading: the time before the zone, minus the zone's offset (a fixed table, written out here)."""
    offsets = {"PST": -8, "PDT": -7, "MST": -7, "MDT": -6, "CST": -6, "CDT": -5, "EST": -5, "EDT": -4, "AKST": -9,
               "AKDT": -8, "HST": -10, "GMT": 0, "UTC": 0, "BST": 1, "CET": 1, "CEST": 2, "EET": 2, "EEST": 3,
               "AEST": 10, "AEDT": 11, "NZST": 12, "NZDT": 13, "IST": 5.5}
    body, zone = text.rsplit(" ", 1)
    if zone in offsets:
        hours = offsets[zone]
    else:  # "+0530", "-07:00", "GMT+1", "UTC-3"
        z = zone.replace("GMT", "").replace("UTC", "").replace(":", "")
        sign = -1 if z[0] == "-" else 1
        digits = z[1:]
        hours = sign * (int(digits[:-2] or 0) + int(digits[-2:]) / 60 if len(digits) > 2 else int(digits))
    for fmt in ("%Y-%m-%d %H:%M:%S", "%m/%d/%Y %I:%M %p", "%d.%m.%Y %H:%M", "%b %d, %Y %H:%M:%S"):
        try:
            local = dt.datetime.strptime(body, fmt)
            break
        except ValueError:
            continue
    return local - dt.timedelta(hours=hours)


ZONED = ["2024-01-16 13:21:35 PST", "2024-07-16 13:21:35 PDT", "2024-03-10 01:59:59 PST", "2024-03-10 03:00:00 PDT",
         "2024-11-03 01:30:00 PDT", "2024-11-03 01:30:00 PST", "2024-06-01 10:00:00 BST", "2024-01-01 10:00:00 GMT",
         "2024-06-01 10:00:00 CEST", "2024-12-01 10:00:00 CET", "2024-06-01 10:00:00 EDT", "2024-12-01 10:00:00 EST",
         "2024-06-01 10:00:00 AEST", "2024-12-01 10:00:00 AEDT", "2024-06-01 10:00:00 NZST", "2024-07-04 08:00:00 AKDT",
         "2024-02-02 09:00:00 HST", "2024-05-05 12:00:00 IST", "2024-05-05 12:00:00 +0530", "2024-05-05 12:00:00 -07:00",
         "2024-05-05 12:00:00 GMT+1", "2024-05-05 12:00:00 UTC-3", "2024-08-08 08:08:08 MDT", "2024-08-08 08:08:08 CDT"]


@pytest.mark.parametrize("style", ["iso", "us", "german", "text"])
def test_zone_abbreviations_with_daylight_time_are_read_as_written(tmp_path, style):
    """PDT is UTC-7 and PST UTC-8 whatever the date (both sides of the DST switch), BST is British Summer Time in a
    UK file (not Bangladesh), offsets in any common spelling; every row kept and the report says how."""
    def written(v):
        local = dt.datetime.strptime(v.rsplit(" ", 1)[0], "%Y-%m-%d %H:%M:%S")
        zone = v.rsplit(" ", 1)[1]
        return {"iso": v, "us": f"{local:%m/%d/%Y %I:%M %p} {zone}", "german": f"{local:%d.%m.%Y %H:%M} {zone}",
                "text": f"{local:%b %d, %Y %H:%M:%S} {zone}"}[style]
    values = [written(v) for v in ZONED if style == "iso" or ":" in v.split(" ")[-1] or v[-1].isalpha()
              or style == "iso"]
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["order_id", "email", "created_at", "total"])
    w.writerows([i, f"c{i}@example.com", v, "10.00"] for i, v in enumerate(values))
    path = tmp_path / "zoned.csv"
    path.write_text(buf.getvalue())
    shop = Shop()
    report = shop.load_orders(path)
    assert report.kept == len(values) and not report.excluded, str(report)
    got = shop.con.sql("SELECT order_id, order_ts FROM orders").df().set_index("order_id")["order_ts"]
    for i, v in enumerate(values):
        expected = _utc(v)
        if style != "iso":  # minutes only in these spellings
            expected = expected.replace(second=0) if style != "text" else expected
        assert got[str(i)] == pd.Timestamp(expected), v
    assert "converted to UTC" in report.date_why and "BST read as British Summer Time" in report.date_why


@pytest.mark.parametrize("abbr,zone,month", [
    ("PST", "America/Los_Angeles", 1), ("PDT", "America/Los_Angeles", 7), ("MST", "America/Denver", 1),
    ("MDT", "America/Denver", 7), ("CST", "America/Chicago", 1), ("CDT", "America/Chicago", 7),
    ("EST", "America/New_York", 1), ("EDT", "America/New_York", 7), ("AKST", "America/Anchorage", 1),
    ("AKDT", "America/Anchorage", 7), ("HST", "Pacific/Honolulu", 1), ("GMT", "Europe/London", 1),
    ("BST", "Europe/London", 7), ("CET", "Europe/Paris", 1), ("CEST", "Europe/Paris", 7), ("EET", "Europe/Athens", 1),
    ("EEST", "Europe/Athens", 7), ("AEST", "Australia/Sydney", 7), ("AEDT", "Australia/Sydney", 1),
    ("NZST", "Pacific/Auckland", 7), ("NZDT", "Pacific/Auckland", 1), ("IST", "Asia/Kolkata", 1),
    ("ACST", "Australia/Adelaide", 7), ("ACDT", "Australia/Adelaide", 1), ("AWST", "Australia/Perth", 1),
    ("JST", "Asia/Tokyo", 1), ("NST", "America/St_Johns", 1), ("NDT", "America/St_Johns", 7)])
def test_the_zone_table_agrees_with_the_tz_database(abbr, zone, month):
    """Each abbreviation's offset is the one the IANA database gives its zone in the season it is written in (and
    the database names it so), so the table is checked against an independent source, not against itself."""
    from zoneinfo import ZoneInfo
    when = dt.datetime(2024, month, 15, 12, tzinfo=ZoneInfo(zone))
    assert when.tzname() == abbr
    assert ZONE_OFFSETS[abbr] == when.utcoffset().total_seconds() / 60


def test_a_zone_name_after_iso_time_is_never_read_by_icu(tmp_path):
    """DuckDB's own TIMESTAMPTZ cast reads 'BST' as Bangladesh (UTC+6) and 'PST' with daylight saving: neither
    may reach it, on the fast typed read or the text read."""
    path = tmp_path / "o.csv"
    path.write_text("customer_id,order_date,amount\n" + "".join(f"c{i},2024-06-01 10:00:00+00:00,1\n" for i in range(50))
                    + "x,2024-06-01 10:00:00 BST,5\ny,2024-06-01 10:00:00 PST,5\n")
    shop = Shop()
    shop.load_orders(path)
    got = dict(shop.con.execute("SELECT customer_id, order_ts FROM orders WHERE customer_id IN ('x', 'y')").fetchall())
    assert got == {"x": dt.datetime(2024, 6, 1, 9), "y": dt.datetime(2024, 6, 1, 18)}


def test_unreadable_values_over_a_fifth_stop_the_cli_with_the_flag_named(tmp_path, capsys):
    from clv.cli import main
    path = tmp_path / "recurly.csv"
    rows = ["id,email,date,total"] + [f"{i},c{i}@example.com,2024-01-{i + 1:02d} 10:00:00 XYZT,10" for i in range(8)] \
        + [f"{i},c{i}@example.com,2024-01-{i + 1:02d} 10:00:00,10" for i in range(8, 10)]
    path.write_text("\n".join(rows) + "\n")
    out = tmp_path / "s.csv"
    assert main(["summary", "--orders", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "8 of 10 orders (80%)" in err and "--accept-exclusions" in err and "XYZT" in err and not out.exists()
    assert main(["summary", "--orders", str(path), "--out", str(out), "--accept-exclusions"]) == 0
    assert len(pd.read_csv(out)) == 2
    assert "left out, as you accepted" in capsys.readouterr().err


def test_guest_orders_and_cancellations_are_business_facts_not_unreadable(tmp_path):
    """A quarter of UCI Online Retail's rows have no customer: reported as today, never a reason to stop."""
    path = tmp_path / "o.csv"
    path.write_text("customer_id,order_date,amount,status\n,2024-01-01,10,paid\n,2024-01-02,10,paid\n"
                    "a,2024-01-03,10,cancelled\nb,2024-01-04,10,cancelled\nc,2024-01-05,10,paid\n")
    report = Shop().load_orders(path)
    assert report.kept == 3 and not report.warnings


def test_unknown_statuses_lead_the_cli_output_and_status_flag_decides(tmp_path, capsys):
    from clv.cli import main
    path = tmp_path / "paddle.csv"
    path.write_text("id,email,created_at,total,status\n1,a@x.com,2024-01-01,10,completed\n2,a@x.com,2024-02-01,20,"
                    "weird_state\n3,b@x.com,2024-03-01,30,completed\n")
    out = tmp_path / "s.csv"
    assert main(["summary", "--orders", str(path), "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert err.startswith("STATUSES NOT RECOGNISED, counted as purchases: 'weird_state' (1 order)")
    assert pd.read_csv(out)["revenue"].sum() == 60
    assert main(["summary", "--orders", str(path), "--out", str(out), "--status", "weird_state=not_purchase"]) == 0
    err = capsys.readouterr().err
    assert "NOT RECOGNISED" not in err and "not a purchase (as you chose): 1" in err
    assert pd.read_csv(out)["revenue"].sum() == 40
    assert main(["summary", "--orders", str(path), "--out", str(out), "--status", "weird_state=maybe"]) == 2


def test_a_status_choice_overrides_the_vocabulary(tmp_path):
    from clv.ingest import detect_format
    path = tmp_path / "o.csv"
    path.write_text("order_id,customer_id,order_date,amount,status\n1,a,2024-01-01,10,pending\n2,a,2024-01-02,5,paid\n")
    shop = Shop()
    mapping = detect_format(["order_id", "customer_id", "order_date", "amount", "status"])
    report = shop.load_orders(path, mapping=mapping.with_options(statuses=(("Pending", "purchase"),)))
    assert not report.not_purchases
    assert ("pending", 1, None, "your choice") in report.statuses


# --- refunds tied by reference ------------------------------------------------------------------------------------

def _summary(tmp_path, name, text, **kw):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    shop = Shop()
    report = shop.load_orders(path, **kw)
    c = shop.customers()
    return report, {r.customer_id: (int(r.orders), round(float(r.revenue), 2)) for r in c.itertuples()}


def test_woocommerce_refund_rows_are_netted_into_their_parent_order(tmp_path):
    """shop_order_refund rows: their own id, the order in Parent Order ID, a negative total and no e-mail. Before,
    they were excluded as 'no customer id' and the orders kept their gross revenue."""
    text = ("Order ID,Parent Order ID,Order Date,Order Status,Order Total,Billing Email,Order Type\n"
            "101,,2024-01-05 10:00:00,wc-completed,50.00,a@example.com,shop_order\n"
            "102,,2024-01-06 10:00:00,wc-completed,80.00,b@example.com,shop_order\n"
            "103,102,2024-01-08 10:00:00,wc-completed,-30.00,,shop_order_refund\n"
            "104,,2024-02-06 10:00:00,wc-completed,40.00,a@example.com,shop_order\n"
            "105,104,2024-02-08 10:00:00,wc-completed,-40.00,,shop_order_refund\n"
            "106,,2024-03-06 10:00:00,wc-completed,25.00,c@example.com,shop_order\n"
            "107,999,2024-03-07 10:00:00,wc-completed,-5.00,,shop_order_refund\n")
    report, got = _summary(tmp_path, "woo.csv", text)
    assert got == {"a@example.com": (1, 50.0), "b@example.com": (1, 50.0), "c@example.com": (1, 25.0)}
    assert report.refund_rows == (2, 70.0)
    assert report.not_purchases == {"fully refunded": 1}  # order 104, refunded in full
    # the refund of an order not in the file has no customer: excluded and said, never netted into another
    assert [i["count"] for r, i in report.excluded.items() if r.startswith("no customer id")] == [1]
    assert report.kept + sum(i["count"] for i in report.excluded.values()) + report.refund_rows[0] == 7


def test_stripe_lost_dispute_removes_the_purchase_and_a_won_one_keeps_it(tmp_path):
    head = ('"id","Created date (UTC)","Amount","Amount Refunded","Currency","Status","Customer Email","Captured",'
            '"Dispute Status"\n')
    rows = ['"ch_1","2024-01-05 10:00:00","50.00","0.00","usd","Paid","a@x.com","true",""',
            '"ch_2","2024-01-06 10:00:00","80.00","0.00","usd","Paid","a@x.com","true","lost"',
            '"ch_3","2024-01-07 10:00:00","20.00","0.00","usd","Paid","b@x.com","true","won"',
            '"ch_4","2024-01-08 10:00:00","15.00","0.00","usd","Paid","b@x.com","true","needs_response"']
    report, got = _summary(tmp_path, "stripe.csv", head + "\n".join(rows) + "\n")
    assert report.format == "stripe"
    assert got == {"a@x.com": (1, 50.0), "b@x.com": (2, 35.0)}
    assert report.not_purchases == {"fully refunded": 1}


def test_etsy_adjusted_order_total_is_the_amount_after_refunds(tmp_path):
    """'Adjusted Order Total': empty or 0 = no refund; otherwise what the order came to after a partial refund."""
    src = (Path(__file__).parent / "fixtures" / "EtsySoldOrders2024.csv").read_text(encoding="utf-8").splitlines()
    rows = list(csv.DictReader(src))
    rows[0]["Adjusted Order Total"] = "12.65"   # 22.65 paid, 10.00 refunded
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(rows[0]))
    w.writeheader()
    w.writerows(rows)
    report, got = _summary(tmp_path, "EtsySoldOrders2024.csv", buf.getvalue())
    plain = Shop()
    plain.load_orders(Path(__file__).parent / "fixtures" / "EtsySoldOrders2024.csv")
    before = float(plain.customers()["revenue"].sum())
    # revenue is goods: of the 22.65 paid, 17.00 was goods (1.40 tax, 4.25 shipping): the refund in that share
    assert round(sum(v for _, v in got.values()), 2) == round(before - 10.00 * 17.00 / 22.65, 2)


# --- the customer key a founder would choose --------------------------------------------------------------------

def test_an_email_beats_a_name_and_emails_compare_without_case(tmp_path):
    text = ("Customer,Email,Date,Total\nSam Smith,sam1@example.com,2024-01-01,10\nSam Smith,sam2@example.com,"
            "2024-01-02,20\nX,@SUM(A1)@EXAMPLE.COM,2024-01-03,5\nX,@sum(a1)@example.com,2024-01-04,6\n")
    report, got = _summary(tmp_path, "o.csv", text)
    assert report.mapping.columns["customer_id"] == "Email"
    assert got == {"sam1@example.com": (1, 10.0), "sam2@example.com": (1, 20.0), "@sum(a1)@example.com": (2, 11.0)}


def test_events_keyed_by_email_join_orders_keyed_by_id_and_the_match_is_said(tmp_path):
    orders = tmp_path / "orders.csv"
    orders.write_text("order_id,customer_id,email,order_date,amount\n1,101,Ann@Example.com,2024-01-01,10\n"
                      "2,102,bob@example.com,2024-01-05,20\n3,101,ann@example.com,2024-02-01,30\n")
    events = tmp_path / "klaviyo.csv"
    events.write_text("Email,Timestamp,Metric Name\nANN@example.com,2024-01-02 10:00:00,Opened Email\n"
                      "bob@example.com,2024-01-06 10:00:00,Clicked Email\n")
    shop = Shop()
    report = shop.load_orders(orders)
    assert report.mapping.columns["customer_id"] == "customer_id"
    assert report.mapping.columns["customer_email"] == "email"
    ev = shop.load_interactions(events)
    assert ev.matched == (2, 2, 2) and not ev.warnings
    assert sorted(shop.con.execute("SELECT customer_id FROM interactions").fetchall()) == [("101",), ("102",)]


def test_events_of_other_keys_are_warned_about_below_half(tmp_path, capsys):
    from clv.cli import main
    orders = tmp_path / "orders.csv"
    orders.write_text("order_id,customer_id,order_date,amount\n1,101,2024-01-01,10\n2,102,2024-01-05,20\n")
    events = tmp_path / "events.csv"
    events.write_text("user_id,timestamp,event\nu-9,2024-01-02 10:00:00,page_view\n101,2024-01-03 10:00:00,"
                      "page_view\nu-7,2024-01-04 10:00:00,page_view\n")
    assert main(["summary", "--orders", str(orders), "--interactions", str(events),
                 "--out", str(tmp_path / "s.csv")]) == 0
    err = capsys.readouterr().err
    assert "events from a customer in the orders: 1 of 3 (33%)" in err
    assert "warning: only 1 of 3 events (33%) belong to a customer in the orders file" in err


# --- several currencies -------------------------------------------------------------------------------------------

FX = ("Name,Email,Created at,Total,Currency,Financial Status\n#1,a@x.com,2024-01-01 10:00:00 +0000,10.00,USD,paid\n"
      "#2,b@x.com,2024-01-02 10:00:00 +0000,20.00,EUR,paid\n#3,c@x.com,2024-01-03 10:00:00 +0000,30.00,GBP,paid\n"
      "#4,a@x.com,2024-02-03 10:00:00 +0000,5.00,USD,paid\n")


def test_rates_bring_every_customer_into_the_shop_currency_and_the_report_says_so(tmp_path, capsys):
    from clv.cli import main
    orders = tmp_path / "markets.csv"
    orders.write_text(FX)
    out = tmp_path / "s.csv"
    assert main(["summary", "--orders", str(orders), "--out", str(out)]) == 0  # without rates: USD only, warned
    assert set(pd.read_csv(out)["customer_id"]) == {"a@x.com"}
    assert "have no rate, so their orders are left out" in capsys.readouterr().err
    rates = tmp_path / "rates.csv"
    rates.write_text("currency,rate\nEUR,1.10\ngbp,1.25\n")
    assert main(["summary", "--orders", str(orders), "--out", str(out), "--fx", str(rates)]) == 0
    got = pd.read_csv(out).set_index("customer_id")["revenue"].to_dict()
    assert got == {"a@x.com": 15.0, "b@x.com": pytest.approx(22.0), "c@x.com": pytest.approx(37.5)}
    err = capsys.readouterr().err
    assert "converted to USD at your rates (1 EUR = 1.1 USD, 1 GBP = 1.25 USD)" in err and "no rate" not in err
    rates.write_text("currency,rate\nEUR,abc\n")
    assert main(["summary", "--orders", str(orders), "--out", str(out), "--fx", str(rates)]) == 2
    assert "Line 2 of the rates file has a rate that is not a number" in capsys.readouterr().err


def test_the_report_header_says_what_the_load_decided(tmp_path):
    """clv.report.data_notes, the HTML report's header (app and CLI): the basis, unknown statuses, conversions."""
    from clv.report import data_notes
    notes = data_notes(Shop.sample().orders_report)
    assert notes[0].startswith("Revenue: what customers paid for goods, after discounts and refunds, without tax")
    path = tmp_path / "markets.csv"
    path.write_text(FX.replace("#4,a@x.com,2024-02-03 10:00:00 +0000,5.00,USD,paid",
                               "#4,a@x.com,2024-02-03 10:00:00 +0000,5.00,USD,hold_7"))
    shop = Shop()
    from clv.ingest import detect_format, sniff
    mapping = detect_format(sniff(path, shop.con).columns).with_options(fx_rates=(("EUR", 1.1), ("GBP", 1.25)))
    notes = data_notes(shop.load_orders(path, mapping=mapping))
    assert "Statuses not recognised, counted as purchases: 'hold_7' (1)." in notes
    assert "Converted to USD: 1 EUR = 1.1, 1 GBP = 1.25." in notes


@pytest.mark.parametrize("written,want", [("1900", 19.0), ("19.00", 19.0)])
def test_cents_are_divided_only_when_every_amount_is_whole(tmp_path, written, want):
    """Lemon Squeezy writes cents; a re-export with decimals is read as it is. Plain times send the file down the
    typed reader, whose numbers are 1900.0: the decision is taken on the file's own text."""
    path = tmp_path / "lemon.csv"
    path.write_text("order_number,user_email,total,refunded_amount,status,created_at\n"
                    f"1,a@x.com,{written},0,paid,2024-01-01 10:00:00\n")
    shop = Shop()
    report = shop.load_orders(path)
    assert report.format == "lemonsqueezy" and report.typed_read
    assert float(shop.customers()["revenue"].iloc[0]) == want
