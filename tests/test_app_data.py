"""Headless app tests (streamlit.testing.v1.AppTest) for the landing page and the Data page."""
import pytest
from conftest import metric, open_app

from ui.pages import DATA_PAGES


def sample_counts():
    from clv.store import Shop
    rep = Shop.sample().orders_report
    return f"{rep.customers:,}", f"{rep.rows_read:,}"


@pytest.fixture
def data_page():
    return open_app("pages/1_Data.py")


def test_landing_page_opens_on_the_sample_shop():
    at = open_app()
    assert metric(at, "Customers") == sample_counts()[0]
    assert at.get("plotly_chart")
    # served on localhost (.streamlit/config.toml) with no sign-in: open, and no warning (tests/test_auth.py)
    assert not any("Anyone who can reach" in e.value for e in at.error)


def test_data_page_renders_sample_shop(data_page):
    at = data_page
    customers, rows = sample_counts()
    assert metric(at, "Customers") == customers
    assert metric(at, "Rows read") == rows
    assert "Shopify" in at.info[0].value
    assert not at.error


def test_data_page_upload(data_page):
    at = data_page
    csv = (b"customer_id,order_date,amount\na,2024-01-01,10\na,2024-02-01,20\nb,2024-01-05,7\nc,bad date,3\n"
           b"d,2024-03-01,4\nd,2024-03-09,6\n")
    at.file_uploader(key="orders").set_value(("mine.csv", csv, "text/csv")).run()
    assert not at.exception
    assert metric(at, "Customers") == "3"
    assert metric(at, "Excluded orders") == "1"
    report = at.dataframe[0].value
    assert "date could not be read (column 'order_date')" in report["what"].iloc[0]
    assert "bad date" in report["example rows"].iloc[0]


def test_unknown_statuses_are_said_on_every_page_and_the_founder_decides(data_page):
    """A status the vocabulary does not know counts as a purchase, but not silently: every page says so with a
    link to Your data, where the founder chooses how it counts (and the numbers follow)."""
    at = data_page
    csv = (b"order_id,customer_id,order_date,amount,status\n1,a,2024-01-01,10,paid\n2,a,2024-02-01,20,hold_7\n"
           b"3,b,2024-01-05,7,paid\n4,c,2024-01-09,5,hold_7\n5,c,2024-02-09,8,paid\n")
    at.file_uploader(key="orders").set_value(("statuses.csv", csv, "text/csv")).run()
    assert not at.exception
    banner = [w.value for w in at.warning if "status clv does not know" in w.value]
    assert banner and "2 orders" in banner[0] and "hold\\_7" in banner[0]  # escaped: no markup from data
    table = next(d.value for d in at.dataframe if "decided by" in d.value.columns)
    assert table.set_index("status").loc["hold_7", "decided by"].startswith("nobody yet")
    at.switch_page("pages/2_Segments.py").run()
    assert any("status clv does not know" in w.value for w in at.warning)  # every page, not only Your data
    at.switch_page("pages/1_Data.py").run()
    at.selectbox(key="status_hold_7").set_value("not_purchase").run()
    assert not at.exception
    assert not any("status clv does not know" in w.value for w in at.warning)
    table = next(d.value for d in at.dataframe if "decided by" in d.value.columns)
    row = table.set_index("status").loc["hold_7"]
    assert row["decided by"] == "you" and row["counts as"].startswith("not a purchase")
    assert at.dataframe[-1].value["orders"].sum() == 3  # the customer table: the two hold_7 orders left out


def test_mostly_unreadable_dates_stop_the_numbers_until_accepted(data_page):
    """Over 20 % of the orders excluded for values that could not be read is a problem to fix, not a footnote: no
    page shows numbers from the rest until the founder accepts it."""
    at = data_page
    csv = b"customer_id,order_date,amount\na,2024-01-01,10\nb,31/31/2024,20\nc,someday,7\nd,2024-01-09,5\n"
    at.file_uploader(key="orders").set_value(("dates.csv", csv, "text/csv")).run()
    assert not at.exception
    assert "2 of 4 orders (50%) have a value that could not be read" in at.error[0].value.replace("\\", "")
    assert not at.metric  # nothing from the other two orders
    at.checkbox(key="accept_exclusions").check().run()
    assert not at.exception and not at.error
    assert metric(at, "Customers") == "2"
    assert any("left out, as you accepted" in w.value for w in at.warning)


def test_exchange_rates_and_the_revenue_basis_are_choices_on_your_data(data_page):
    at = data_page
    csv = (b"Name,Email,Created at,Total,Taxes,Shipping,Currency,Financial Status\n"
           b"#1,a@x.com,2024-01-01 10:00:00 +0000,12.00,1.00,1.00,USD,paid\n"
           b"#2,b@x.com,2024-01-02 10:00:00 +0000,20.00,0,0,EUR,paid\n"
           b"#3,a@x.com,2024-02-03 10:00:00 +0000,5.00,0,0,USD,paid\n")
    at.file_uploader(key="orders").set_value(("markets.csv", csv, "text/csv")).run()
    assert not at.exception
    assert metric(at, "Customers") == "1"
    assert any("have no rate" in w.value or "has no rate" in w.value for w in at.warning)
    assert any("Revenue: what customers paid for goods" in c.value.replace("\\", "") for c in at.caption)
    at.number_input(key="fx_EUR").set_value(1.1).run()
    assert not at.exception
    assert metric(at, "Customers") == "2"
    assert at.dataframe[-1].value.set_index("customer_id")["revenue"].to_dict() == {
        "a@x.com": pytest.approx(15.0), "b@x.com": pytest.approx(22.0)}  # goods: a's 12 less 1 tax, 1 shipping
    at.selectbox(key="amount_basis").set_value("paid").run()
    assert at.dataframe[-1].value.set_index("customer_id")["revenue"]["a@x.com"] == pytest.approx(17.0)


def test_customers_with_an_order_and_buyers_are_told_apart(data_page):
    """'Customers' on Your data counts everyone with a kept order; the help says how many bought (the number every
    other page counts), so a customer whose only order was refunded does not make the figures disagree silently."""
    at = data_page
    csv = (b"customer_id,order_date,amount,status\na,2024-01-01,10,paid\na,2024-02-01,20,paid\n"
           b"b,2024-01-05,7,refunded\nc,2024-01-09,5,paid\n")
    at.file_uploader(key="orders").set_value(("refunds.csv", csv, "text/csv")).run()
    assert not at.exception
    shown = next(m for m in at.metric if m.label == "Customers")
    assert shown.value == "3" and "2 of them bought at least once" in shown.help
    assert len(at.dataframe[-1].value) == 2                                   # the customer table: the two buyers


def test_bad_upload_shows_message_not_traceback(data_page):
    at = data_page
    at.file_uploader(key="orders").set_value(("junk.csv", b"\x00\x01\x02junk" * 100, "text/csv")).run()
    assert not at.exception
    assert "binary" in at.error[0].value


SHOPIFY_CUSTOMERS = (b"Customer ID,First Name,Last Name,Email,Accepts Email Marketing,Default Address Company,"
                     b"Default Address City,Default Address Country Code,Phone,Accepts SMS Marketing,Total Spent,"
                     b"Total Orders,Note,Tax Exempt,Tags\n"
                     b"7301,Ann,Lee,ann@x.com,yes,,Berlin,DE,,no,120.50,3,,no,\n")


@pytest.mark.parametrize("name, data, words, fixable", [
    ("customers_export.csv", SHOPIFY_CUSTOMERS, "customer list", False),
    ("bestellungen.csv", "Kunde;Datum;Betrag in EUR\nanna@x.de;03.01.2024;12,50\n".encode(), "No order amount column",
     True)],
    ids=["Shopify customers export", "amount column not recognised"])
def test_a_refused_upload_is_said_on_every_page_and_never_kept(name, data, words, fixable):
    """The customers export next to "Export orders" in Shopify (refused in words naming the orders export) and a
    German export whose amount column is not recognised (fixable on Your data): not kept as a data set, and every
    page's first line says the upload is not loaded and that the numbers are the sample shop's."""
    at = open_app("pages/1_Data.py")
    at.file_uploader(key="orders").set_value((name, data, "text/csv")).run()
    assert not at.exception
    for page in [p.script for p in DATA_PAGES]:
        at.switch_page(page).run()
        assert not at.exception, page
        first = at.error[0].value.replace("\\", "") if at.error else ""  # markdown escapes
        assert f"Your upload “{name}” is not loaded" in first and "sample shop" in first, (page, first)
        assert words in first
    assert at.session_state["dataset"] is None and at.session_state["workspace"].datasets() == []  # nothing kept
    assert (("Fix the column mapping" in first) == fixable) and ("Orders > Export" in first) != fixable


def test_mapping_override_changes_customer_table(data_page):
    at = data_page
    before = at.dataframe[-1].value
    assert before["discount_share"].max() > 0
    at.selectbox(key="map_discount").set_value("— none —").run()
    assert not at.exception
    after = at.dataframe[-1].value
    assert after["discount_share"].max() == 0
    assert len(after) == len(before)


PAGES = [p.script for p in DATA_PAGES]


@pytest.mark.parametrize("csv", [
    b"customer_id,order_date,amount\na,2024-01-01,10\nb,2024-01-05,7\n",                       # nobody bought twice
    b"customer_id,order_date,amount\na,2024-01-01,10\na,2024-03-01,12\nb,2024-01-05,7\nc,2024-02-01,9\n",
])
def test_every_page_survives_a_tiny_shop(data_page, csv):
    """A shop too small for the models gets messages in words on every page, never a traceback."""
    at = data_page
    at.file_uploader(key="orders").set_value(("tiny.csv", csv, "text/csv")).run()
    assert not at.exception
    for page in PAGES:
        at.switch_page(page).run()
        assert not at.exception, (page, at.exception)
        assert at.title or at.error


def test_interactions_mapping_override(data_page):
    at = data_page
    assert at.dataframe[-1].value["mean_satisfaction"].notna().any()
    at.selectbox(key="evmap_value").set_value("— none —").run()
    assert not at.exception
    assert at.dataframe[-1].value["mean_satisfaction"].isna().all()


def test_data_page_shows_and_lets_the_user_correct_the_date_order(data_page):
    at = data_page
    csv = b"customer_id,order_date,amount\na,03/04/2024,10\na,05/06/2024,20\nb,07/08/2024,7\n"
    at.file_uploader(key="orders").set_value(("dates.csv", csv, "text/csv")).run()
    assert not at.exception and not at.error
    assert any("ambiguous" in w.value for w in at.warning)
    assert any("month first" in c.value for c in at.caption)
    at.selectbox(key="date_order").set_value("dmy").run()
    assert not at.exception
    assert any("day first, as chosen" in c.value for c in at.caption)
    assert str(at.dataframe[-1].value["first_order"].min())[:10] == "2024-04-03"


def test_data_page_reads_an_export_in_two_parts(data_page):
    at = data_page
    head = b"customer_id,order_date,amount\n"
    parts = [("orders_export_1.csv", head + b"a,2024-01-01,10\nb,2024-01-05,7\n", "text/csv"),
             ("orders_export_2.csv", head + b"a,2024-02-01,20\nc,2024-02-03,5\n", "text/csv")]
    at.file_uploader(key="orders").set_value(parts).run()
    assert not at.exception and not at.error
    assert metric(at, "Customers") == "3" and metric(at, "Orders kept") == "4"
    assert "orders_export_1.csv, orders_export_2.csv" in at.info[0].value.replace("\\", "")


def test_coming_back_to_your_data_keeps_file_mapping_and_report(data_page):
    """Leaving Your data and coming back used to show 'No customer id or email column found' and no report."""
    at = data_page
    csv = b"customer_id,order_date,amount,discount\na,2024-01-01,10,1\na,2024-03-01,20,0\nb,2024-01-05,7,0\n"
    at.file_uploader(key="orders").set_value(("mine.csv", csv, "text/csv")).run()
    at.selectbox(key="map_discount").set_value("— none —").run()
    before = metric(at, "Customers"), at.dataframe[-1].value["discount_share"].max()
    for page in ("pages/2_Segments.py", "app.py"):
        at.switch_page(page).run()
        at.switch_page("pages/1_Data.py").run()
        assert not at.exception and not at.error, [e.value for e in at.error]
        assert (metric(at, "Customers"), at.dataframe[-1].value["discount_share"].max()) == before
        assert at.selectbox(key="map_discount").value == "— none —"
        assert "mine.csv" in at.info[0].value.replace("\\", "")


@pytest.mark.parametrize("upload", [None, "online_retail.csv"])
def test_your_data_after_another_page_keeps_file_report_and_mapping(upload):
    """Your data → another page → Your data: no false "No customer id" error, the loaded file named, its report
    and mapping shown — on the sample, and right after an upload (one run on the page, then away)."""
    from conftest import ROOT
    at = open_app("pages/1_Data.py")
    if upload:
        data = (ROOT / "tests" / "fixtures" / upload).read_bytes()
        at.file_uploader(key="orders").set_value((upload, data, "text/csv")).run()
        assert not at.exception and not at.error
    before = metric(at, "Customers"), [s.value for s in at.selectbox if s.key and s.key.startswith("map_")]
    at.switch_page("pages/2_Segments.py").run()
    assert not at.exception
    at.switch_page("pages/1_Data.py").run()
    assert not at.exception
    assert not at.error, [e.value for e in at.error]
    assert (metric(at, "Customers"), [s.value for s in at.selectbox if s.key and s.key.startswith("map_")]) == before
    assert any("Now open" in c.value and (upload or "sample").split("_")[0] in c.value for c in at.caption)
    assert at.dataframe  # the validation report and tables
