"""Customer value and churn pages: they render, and assumptions re-price without refitting any model."""
import pytest
from conftest import amount, metric, open_app

from ui.model import runs


def fits(at) -> tuple:
    return tuple(runs(at.session_state, step) for step in ("value_model", "churn_model", "customers"))


@pytest.fixture(scope="module")
def value_page():
    return open_app("pages/3_Customer_value.py")


def test_value_page_shows_value_backtest_and_models(value_page):
    at = value_page
    assert amount(metric(at, "Projected value")) > 0
    assert any("repeat orders in the following" in s.value for s in at.success)
    assert len(at.get("plotly_chart")) >= 4
    assert any("half of the customers buy at least once every" in m.value for m in at.markdown)
    assert any("BG/NBD is used" in c.value or "MBG/NBD is used" in c.value for c in at.caption)


@pytest.mark.parametrize("key,value", [("margin_pct", 80), ("discount_rate_pct", 40), ("horizon_months", 24)])
def test_assumptions_reprice_without_refitting(value_page, key, value):
    at = value_page
    fitted = fits(at)
    before = metric(at, "Projected value")
    weekly = at.session_state["_memo"]["table:weekly_orders"][1]
    widget = at.selectbox(key=key) if key == "horizon_months" else at.slider(key=key)
    widget.set_value(value).run()
    assert not at.exception
    assert metric(at, "Projected value") != before
    assert fits(at) == fitted
    assert at.session_state["_memo"]["table:weekly_orders"][1] is weekly  # no re-query on a slider change


def test_margin_zero_gives_zero_value(value_page):
    at = value_page
    at.slider(key="margin_pct").set_value(0).run()
    assert metric(at, "Projected value") == "$0.00"  # the sample shop sells in USD


def test_calibration_end_moves_the_backtest(value_page):
    import datetime as dt
    at = value_page
    before = [s.value for s in at.success]
    at.date_input(key="calibration_end").set_value(dt.date(2026, 1, 31)).run()
    assert not at.exception
    assert [s.value for s in at.success] != before and "31 Jan 2026" in at.success[0].value


def test_churn_page_ranks_customers_and_names_the_model():
    at = open_app("pages/4_Churn_risk.py")
    assert "neither model saw" in at.info[0].value and "purchase history alone" in at.info[0].value
    bands = at.dataframe[0].value  # three bands, checked on the shop's history
    assert list(bands["risk_band"]) == ["low", "medium", "high"]
    assert bands["checked: really did not buy"].is_monotonic_increasing
    table = at.dataframe[1].value  # the list: customers worth saving, by value at stake, short by default
    assert list(table["value_at_stake"]) == sorted(table["value_at_stake"], reverse=True)
    assert table["reason"].str.contains("silent for|bought once").all()
    assert len(table) == 25 and set(table["risk_band"]) <= {"medium", "high"}
    at.number_input(key="at_risk_top").set_value(10).run()
    assert len(at.dataframe[1].value) == 10
    # the P(alive) map at the customers' own median age, not a fixed year
    from clv.store import Shop
    age = Shop.sample().customers()["T_days"].median()
    assert any(f"first bought {age:.0f} days ago (the median of yours)" in c.value for c in at.caption)
    fitted = fits(at)
    before = metric(at, "Their value at stake")
    at.slider(key="margin_pct").set_value(90).run()
    assert metric(at, "Their value at stake") != before and fits(at) == fitted


def test_purchase_model_can_be_chosen(value_page):
    at = value_page
    at.selectbox(key="purchase_model").set_value("mbgnbd").run()
    assert not at.exception
    assert any("Purchases (MBG/NBD)" in m.value for m in at.markdown)
    assert any("You chose MBG/NBD" in c.value for c in at.caption)
    at.selectbox(key="purchase_model").set_value("auto").run()
