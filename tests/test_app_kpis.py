"""One number, one definition: a KPI shown on several pages is the same figure on each; every sidebar control says
what it does; wrong input in a control is said next to it."""
import re

from conftest import metric, open_app


def _number(text: str) -> int:
    return int(re.sub(r"[^0-9]", "", text))


def test_a_kpi_is_the_same_on_every_page_that_shows_it():
    at = open_app()
    customers = _number(metric(at, "Customers"))
    avg_projected = metric(at, "Average projected value")
    at.switch_page("pages/1_Data.py").run()
    data_help = next(m.help for m in at.metric if m.label == "Customers")
    assert f"{customers:,} of them bought" in data_help  # the Data page counts everyone with an order; says buyers
    at.switch_page("pages/2_Segments.py").run()
    assert any(c.value.startswith(f"{customers:,} customers,") for c in at.caption)  # "everyone" in Find customers
    at.switch_page("pages/3_Customer_value.py").run()
    assert metric(at, "Average projected CLTV") == avg_projected
    at.switch_page("pages/7_LTV_cuts.py").run()
    assert at.dataframe[-1].value["customers"].sum() == customers  # the groups add up to every customer


def test_every_sidebar_control_has_help_text():
    at = open_app("pages/1_Data.py")  # the same sidebar on every page
    kinds = ("slider", "selectbox", "radio", "text_input", "number_input", "checkbox")
    controls = [w for kind in kinds for w in getattr(at.sidebar, kind)]
    assert len(controls) >= 19
    assert [w.label for w in controls if not (w.help or "").strip()] == []


def test_cut_offs_with_the_wrong_count_are_said_not_ignored():
    at = open_app("pages/2_Segments.py")
    at.radio(key="rfm_method").set_value("thresholds").run()
    at.text_input(key="recency_cuts").input("30, 60").run()
    assert not at.exception
    errors = [e.value for e in at.sidebar.error]
    assert any("Recency cut-offs" in e and "2 numbers" in e for e in errors), errors
    at.text_input(key="recency_cuts").input("30, 60, 120, 240").run()
    assert not at.sidebar.error


def test_as_of_a_past_day_shows_the_dashboard_as_it_was_then(sample_shop):
    """The sidebar's "as of": the customers and revenue of the orders up to that day, the periods ending on it, and
    the pages that fit models run on that history."""
    import datetime as dt

    from clv.formatting import count
    at = open_app()
    at.date_input(key="as_of").set_value(dt.date(2026, 6, 30)).run()
    assert not at.exception
    then = sample_shop.customers(as_of="2026-06-30")
    assert metric(at, "Customers") == count(int((then["orders"] > 0).sum()))
    at.selectbox(key="period_kind").set_value("30d").run()
    assert any("01 Jun 2026 to 30 Jun 2026" in c.value for c in at.caption)
    at.switch_page("pages/4_Churn_risk.py").run()
    assert not at.exception and metric(at, "Customers worth saving")
    # the backtest on the value page: fitted and checked on the orders up to that day, no later
    at.switch_page("pages/3_Customer_value.py").run()
    assert not at.exception
    picker = at.date_input(key="calibration_end")
    assert picker.value == sample_shop.default_calibration_end(as_of="2026-06-30")
    assert picker.max <= dt.date(2026, 6, 16)


def test_the_monthly_charts_as_of_a_past_day_are_those_of_an_export_taken_then(sample_shop, tmp_path):
    """Shop.monthly, Shop.cohorts and Shop.weekly_orders as of a day equal those of the same shop whose file stops
    at that day."""
    import pandas as pd

    from clv.store import SAMPLE_ORDERS, Shop
    rows = pd.read_csv(SAMPLE_ORDERS, dtype=str, keep_default_na=False)
    utc = pd.to_datetime(rows["Created at"], format="%Y-%m-%d %H:%M:%S %z", utc=True)  # the app's days are UTC
    rows[utc < pd.Timestamp("2026-03-15", tz="UTC")].to_csv(tmp_path / "then.csv", index=False)
    then = Shop()
    then.load_orders(tmp_path / "then.csv")
    for name in ("monthly", "cohorts", "weekly_orders"):
        past = getattr(sample_shop, name)(as_of="2026-03-14")
        assert len(past) < len(getattr(sample_shop, name)())
        pd.testing.assert_frame_equal(past, getattr(then, name)())
