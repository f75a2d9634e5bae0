"""The ways real exports used to be read wrong without a word, or crash: each now reads right or is refused."""
import gzip
import io
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from clv.errors import DataError
from clv.store import Shop

HEAD = "customer_id,order_date,amount\n"


def load(path, **kw):
    """These files are a few rows each: the unreadable ones are over the 20 % that stops a load (tested in
    test_accounting.py), so the exclusions are accepted to look at them."""
    kw.setdefault("accept_exclusions", True)
    shop = Shop()
    report = shop.load_orders(path, **kw)
    return shop, report


def orders(shop):
    return shop.con.sql("SELECT * FROM orders ORDER BY order_ts, customer_id").df()


def test_two_digit_years_and_month_first_slashes(write):
    shop, rep = load(write("o.csv", HEAD + "a,01/05/24,10\nb,12/31/23,5\n"))
    assert list(orders(shop).order_ts) == [pd.Timestamp("2023-12-31"), pd.Timestamp("2024-01-05")]
    assert rep.date_order == "mdy" and not rep.date_ambiguous


def test_day_first_decided_by_a_day_after_the_12th(write):
    shop, rep = load(write("o.csv", HEAD + "a,03/04/2024,10\nb,25/04/2024,5\n"))
    assert rep.date_order == "dmy" and "25/04/2024" in rep.date_why
    assert orders(shop).order_ts.iloc[0] == pd.Timestamp("2024-04-03")


def test_ambiguous_dates_are_said_and_can_be_chosen(write):
    path = write("o.csv", HEAD + "a,03/04/2024,10\nb,05/06/2024,5\n")
    shop, rep = load(path)
    assert rep.date_ambiguous and any("ambiguous" in w for w in rep.warnings)
    from clv.ingest import detect_format, sniff
    mapping = detect_format(sniff(path).columns).with_options(date_order="dmy")
    shop2, rep2 = load(path, mapping=mapping)
    assert orders(shop2).order_ts.iloc[0] == pd.Timestamp("2024-04-03") and rep2.date_order == "dmy"
    assert orders(shop).order_ts.iloc[0] == pd.Timestamp("2024-03-04")


@pytest.mark.parametrize("value,reason", [("2024-02-30", "date could not be read"),
                                          ("1899-12-31", "before 1990"), ("12000-01-01", "date could not be read"),
                                          ("2999-01-01", "after tomorrow")])
def test_impossible_dates_are_excluded_and_named(write, value, reason):
    shop, rep = load(write("o.csv", HEAD + f"a,2024-01-01,10\nb,{value},5\n"))
    assert rep.kept == 1 and any(reason in k for k in rep.excluded), str(rep)


@pytest.mark.parametrize("value", ["NaN", "inf", "-inf", "1e308"])
def test_non_finite_or_absurd_amounts_are_excluded(write, value):
    shop, rep = load(write("o.csv", HEAD + f"a,2024-01-01,10\nb,2024-01-02,{value}\n"))
    assert rep.kept == 1 and any("finite" in k for k in rep.excluded), str(rep)


def test_negatives_written_every_way(write):
    text = HEAD + 'a,2024-01-01,100\na,2024-01-02,\u221212.50\na,2024-01-03,(7.50)\na,2024-01-04,5.00-\n'
    shop, _ = load(write("o.csv", text))
    assert sorted(orders(shop).net) == [-12.5, -7.5, -5.0, 100.0]


def test_one_decimal_mark_per_file(write):
    shop, rep = load(write("o.csv", HEAD + 'a,2024-01-01,"1.234,50"\nb,2024-01-02,"12,50"\nc,2024-01-03,7\n'))
    assert rep.decimal == "comma" and sorted(orders(shop).net) == [7.0, 12.5, 1234.5]
    shop, rep = load(write("p.csv", HEAD + 'a,2024-01-01,"1,234.50"\nb,2024-01-02,12.50\nc,2024-01-03,"12,50"\n'))
    assert rep.decimal == "dot" and rep.kept == 2 and any("decimal mark" in w for w in rep.warnings)


def test_currency_symbols_are_read_and_mixed_currencies_warned(write):
    shop, rep = load(write("o.csv", HEAD + 'a,2024-01-01,$10.00\nb,2024-01-02,$5.00\nc,2024-01-03,€7.00\n'))
    assert rep.currencies == {"$": 2, "EUR": 1} and rep.kept == 2
    assert any("2 currencies" in w for w in rep.warnings)


def test_ids_are_exact_unless_emails(write):
    shop, rep = load(write("o.csv", HEAD + "AB1,2024-01-01,10\nab1,2024-01-02,5\nX@Y.com,2024-01-03,1\nx@y.com ,"
                                           "2024-01-04,2\n"))
    assert rep.customers == 3


def test_mixed_encodings_are_refused(write):
    raw = (HEAD + "José,2024-01-01,10\n").encode("utf-8") + "José,2024-01-02,5\n".encode("latin-1")
    with pytest.raises(DataError, match="mixes two text encodings"):
        load(write("o.csv", raw))


def test_identical_rows_without_order_id_are_purchases(write):
    shop, rep = load(write("o.csv", HEAD + "a,2024-01-01,10\na,2024-01-01,10\nb,2024-01-02,5\n"))
    assert rep.kept == 3 and rep.identical_rows_kept == 1 and rep.duplicates_removed == 0


def test_an_export_pasted_twice_is_read_once(write):
    body = "a,2024-01-01,10\nb,2024-01-02,5\n"
    shop, rep = load(write("o.csv", HEAD + body + body))
    assert rep.kept == 2 and rep.duplicates_removed == 2 and any("pasted 2 times" in n for n in rep.notes)


def test_short_rows_are_padded_and_said(write):
    shop, rep = load(write("o.csv", "customer_id,order_date,amount,channel\na,2024-01-01,10,web\nb,2024-01-02,5\n"))
    assert rep.kept == 2 and any("fewer fields" in w for w in rep.warnings)


def test_a_long_row_names_its_line(write):
    with pytest.raises(DataError, match="Line 3 .* 4 fields; the header has 3"):
        load(write("o.csv", HEAD + "a,2024-01-01,10\nb,2024-01-02,5,oops\n"))


@pytest.mark.parametrize("content,needle", [
    (b"\xef\xbb\xbf", "no text"),
    # cut in the middle (the whole gzip of one repeated row is 139 bytes: an earlier [:300] was a valid file, refused
    # only because its name said no compression); mtime=0 because gzip writes the clock into its header, and the
    # two xdist workers must collect the same parameters (CI failed collecting when they straddled a second)
    (gzip.compress((HEAD + "".join(f"c{i},2024-01-01,{i * 7 % 1000}.{i % 100:02d}\n" for i in range(2000))).encode(),
                   mtime=0)[:3000], "cut short"),
    (b"PAR1" + b"\x00" * 50, "Parquet"),
    (b"PK\x03\x04garbage", "damaged zip"),
], ids=["bom only", "gzip cut short", "parquet header only", "damaged zip"])
def test_broken_files_are_refused_in_words(write, content, needle):
    with pytest.raises(DataError, match=needle):
        load(write("bad.bin", content))


def test_truncated_and_empty_parquet(write, tmp_path):
    pq = tmp_path / "o.parquet"
    pd.DataFrame({"customer_id": ["a"] * 1000, "order_date": ["2024-01-01"] * 1000, "amount": [1.0] * 1000}
                 ).to_parquet(pq)
    with pytest.raises(DataError, match="Parquet"):
        load(write("cut.parquet", pq.read_bytes()[:-200]))
    pd.DataFrame({"customer_id": [], "order_date": [], "amount": []}).to_parquet(tmp_path / "e.parquet")
    with pytest.raises(DataError, match="no rows"):
        load(tmp_path / "e.parquet")


def _shape(shop):
    return shop.customers()[["customer_id", "orders", "revenue", "frequency", "T_days"]]


def test_same_rows_same_table_whatever_the_container(write, tmp_path):
    """One CSV, the same rows split into two files, zipped, and as an Excel workbook (tests/fixtures/
    orders_two_sheets.xlsx: the same 40 rows on two sheets, dates as Excel dates): one customer table."""
    rows = [f"c{i % 7},2024-0{1 + i % 6}-1{i % 9},{10 + i}.50\n" for i in range(40)]
    whole = write("all.csv", HEAD + "".join(rows))
    part1, part2 = write("orders_export_1.csv", HEAD + "".join(rows[:25])), write("orders_export_2.csv",
                                                                                  HEAD + "".join(rows[25:]))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.write(part1, "orders_export_1.csv")
        zf.write(part2, "orders_export_2.csv")
    zipped = write("export.zip", buf.getvalue())
    xlsx = Path(__file__).parent / "fixtures" / "orders_two_sheets.xlsx"
    want = _shape(load(whole)[0])
    for inputs in ([part1, part2], zipped, xlsx):
        shop, rep = load(inputs)
        pd.testing.assert_frame_equal(_shape(shop), want, check_dtype=False)
        assert rep.kept == 40


@pytest.mark.parametrize("header,needle", [
    ("Customer ID,First Name,Last Name,Email,Accepts Email Marketing,Total Spent,Total Orders,Note\n", "customer list"),
    ("customer_email,timestamp,event,channel,value\n", "interactions"),
    # Shopify's products export, WooCommerce's and BigCommerce's; Shopify Payments' and Stripe's payouts
    ("Handle,Title,Body (HTML),Vendor,Type,Tags,Published,Variant SKU,Variant Price,Status\n", "products export"),
    ("ID,Type,SKU,Name,Published,Short description,Stock,Regular price,Sale price,Categories\n", "products export"),
    ("Item Type,Product ID,Product Name,Product Code/SKU,Price,Cost Price,Retail Price,Sale Price\n", "products export"),
    ("Payout Date,Status,Charges,Refunds,Adjustments,Reserved Funds,Fees,Retried Amount,Total,Currency\n", "payouts"),
    ("id,Amount,Currency,Arrival Date (UTC),Created (UTC),Description,Status,Type\n", "payouts"),
])
def test_wrong_kind_of_export_in_the_orders_slot(write, header, needle):
    with pytest.raises(DataError, match=needle):
        load(write("x.csv", header + "1,a,b,c,d,e,f,g\n"[: len(header)]))


def test_orders_export_in_the_interactions_slot(write):
    from clv.store import SAMPLE_ORDERS
    shop = Shop()
    shop.load_orders(SAMPLE_ORDERS)
    with pytest.raises(DataError, match="orders export"):
        shop.load_interactions(SAMPLE_ORDERS)


def test_klaviyo_and_ga4_events(write):
    shop = Shop()
    shop.load_orders(write("o.csv", HEAD + "a@x.com,2024-01-01,10\n"))
    rep = shop.load_interactions(write("k.csv", "Email,Timestamp,Metric Name\na@x.com,2024-01-02 10:00:00,Opened Email\n"
                                                "a@x.com,2024-01-02 11:00:00,Clicked Email\n"
                                                "a@x.com,2024-01-03 11:00:00,Viewed Product\n"))
    assert rep.event_types == {"email_open": 1, "email_click": 1, "view": 1} and not rep.unknown_event_types
    rep = shop.load_interactions(write("g.csv", "user_id,event_timestamp,event_name\n"
                                                "a@x.com,1704103200000000,add_to_cart\n"))
    assert rep.date_min == pd.Timestamp("2024-01-01 10:00:00") and rep.event_types == {"add_to_cart": 1}


def test_day_first_decided_by_the_whole_column_not_its_head(write):
    """25,000 ambiguous dates first, then one past the 12th: the whole file is read day first (no mixing)."""
    head = "".join(f"c{i},0{1 + i % 9}/0{1 + i % 9}/2024,1\n" for i in range(25_000))
    shop, rep = load(write("o.csv", HEAD + head + "z,02/03/2024,1\nz,25/03/2024,1\n"))
    assert rep.date_order == "dmy" and not rep.date_ambiguous and rep.kept == 25_002
    assert orders(shop).query("customer_id == 'z'").order_ts.dt.month.tolist() == [3, 3]


def test_two_conventions_in_one_column_exclude_the_minority(write):
    shop, rep = load(write("o.csv", HEAD + "a,25/01/2024,1\nb,26/01/2024,1\nc,01/27/2024,1\n"))
    assert rep.date_order == "dmy" and rep.kept == 2
    assert "1 dates read only the other way are excluded" in rep.date_why
    assert any("date could not be read" in k for k in rep.excluded)


def test_two_identical_purchases_are_not_taken_for_a_pasted_file(write):
    shop, rep = load(write("o.csv", HEAD + "a,2024-01-01,10\na,2024-01-01,10\n"))
    assert rep.kept == 2 and rep.identical_rows_kept == 1 and not rep.notes


def test_split_date_time_and_zone_columns_and_month_name_dates():
    from pathlib import Path
    fix = Path(__file__).parent / "fixtures"
    shop, rep = load(fix / "square_item_sales.csv")
    ts = shop.con.sql("SELECT order_id, order_ts FROM orders_all").df().set_index("order_id")["order_ts"]
    assert ts["TX2"] == pd.Timestamp("2026-07-19 04:40:00")  # 23:40 Central daylight time is 04:40 UTC
    shop, rep = load(fix / "magento_orders.csv")
    ts = shop.con.sql("SELECT order_id, order_ts FROM orders_all").df().set_index("order_id")["order_ts"]
    assert ts["000000101"] == pd.Timestamp("2024-01-05 14:15:30") and rep.date_why == "dates with month names"


def test_a_status_first_seen_after_100000_rows_is_classified(write):
    rows = "".join(f"c{i % 500},2024-01-0{1 + i % 9},10,paid\n" for i in range(100_000))
    shop, rep = load(write("o.csv", "customer_id,order_date,amount,status\n" + rows + "z,2024-02-01,10,Storniert\n"))
    assert rep.not_purchases == {"cancelled": 1}


def test_an_export_with_identical_rows_pasted_twice_is_read_once_with_them(write):
    """Two identical coffees on one day are two purchases; the export pasted twice is still one export (it was
    counted twice: its rows appear 2 and 4 times, so no single paste count fitted)."""
    body = "a,2024-01-01,10\na,2024-01-01,10\nb,2024-01-02,5\n"
    shop, rep = load(write("o.csv", HEAD + body + body))
    assert rep.kept == 3 and rep.duplicates_removed == 3 and rep.identical_rows_kept == 1
    assert any("pasted 2 times" in n for n in rep.notes)
    assert float(shop.con.execute("SELECT sum(net) FROM orders").fetchall()[0][0]) == 25.0


# --- valid files that were refused with a misleading cause (issue 23) ----------------------------------------------

def _orders_text(n, start=1):
    return [f"{i},c{i % 300},2024-01-{(i % 28) + 1:02d},{i % 50 + 1}.50,ok" for i in range(start, start + n)]


@pytest.mark.parametrize("where", ["in the first lines", "after the first 64 KB"])
def test_windows_and_unix_line_ends_mixed_are_read(write, where):
    """Two exports pasted together, one from Windows: DuckDB's sniffer refused ("Error when sniffing file"), or
    its reader stopped mid-file when the switch came later."""
    head = "order_id,customer_id,order_date,amount,note"
    cut = 10 if where == "in the first lines" else 5000
    rows = _orders_text(8000)
    text = head + "\n" + "\n".join(rows[:cut]) + "\n" + "\r\n".join(rows[cut:]) + "\r\n"
    path = write("mixed.csv", text.encode())
    shop, report = load(path, accept_exclusions=False)
    assert report.kept == 8000 and not report.excluded
    assert "line ends mixed" in report.source


def test_a_lone_carriage_return_inside_a_quoted_field_keeps_its_row(write):
    rows = _orders_text(50)
    rows[4] = '5,c5,2024-01-06,6.50,"line one\rline two"'
    path = write("cr.csv", ("order_id,customer_id,order_date,amount,note\n" + "\n".join(rows) + "\n").encode())
    shop, report = load(path, accept_exclusions=False)
    assert report.kept == 50 and not report.excluded


def test_the_first_latin1_byte_after_the_sniff_window_is_read(write):
    rows = _orders_text(4000) + ["4001,c1,2024-03-01,5.00,caf\xe9"]
    path = write("late.csv", ("order_id,customer_id,order_date,amount,note\n" + "\n".join(rows) + "\n").encode("latin-1"))
    shop, report = load(path, accept_exclusions=False)
    assert report.kept == 4001


def test_parquet_line_items_with_empty_texts_keep_their_orders(tmp_path):
    """Line items after an order's first carry '' (not NULL) in Parquet: the order's customer, date and total come
    from its first row, as with a CSV (360 orders were lost as 'no customer id')."""
    import pandas as pd
    rows = [{"Name": f"#{o}", "Email": f"c{o % 40}@x.com" if li == 0 else "",
             "Created at": f"2024-01-{o % 28 + 1:02d} 10:00:00 +0000" if li == 0 else "",
             "Total": "30.00" if li == 0 else "", "Financial Status": "paid" if li == 0 else "",
             "Lineitem name": f"item{li}", "Lineitem quantity": "1"} for o in range(1, 201) for li in range(3)]
    path = tmp_path / "orders.parquet"
    pd.DataFrame(rows).to_parquet(path)
    shop, report = load(path, accept_exclusions=False)
    assert report.records_built == 200 and report.kept == 200 and not report.excluded
