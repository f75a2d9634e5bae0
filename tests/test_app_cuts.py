"""The LTV cuts page ("Which customers become valuable?") on the sample shop and on a file without the cut's column."""
from conftest import metric, open_app

from clv.cuts import ltv_by
from clv.formatting import money


def test_cuts_page_shows_curves_groups_and_one_customer(sample_shop):
    at = open_app("pages/7_LTV_cuts.py")
    assert [s.value for s in at.subheader] == ["Value per customer by month of first order",
                                               "Value per customer by their first order", "Look up one customer"]
    assert len(at.get("plotly_chart")) == 2
    # the caption names the best and the worst first product among groups big enough to compare
    groups = ltv_by(sample_shop, "first_product")
    named = groups[~groups["small"]]
    best = named.loc[named["revenue_per_customer"].idxmax(), "group"]
    assert any(f"**{best}**" in c.value.replace("\\", "") for c in at.caption)
    # the best cohort is never the sample's partial first month (it starts on 30 Oct 2024: 6 customers)
    said = next(c.value for c in at.caption if "Each line is the customers" in c.value)
    assert "October 2024" not in said and "with at least 30 customers" in said
    # one customer: the page's figures are the customer table's
    cust = sample_shop.customers().set_index("customer_id")
    who = cust["orders"].idxmax()
    at.text_input(key="cuts_customer").input(who.upper()).run()  # emails match in any letter case
    assert not at.exception
    assert metric(at, "Orders") == f"{cust.loc[who, 'orders']:,}"
    assert metric(at, "Spent so far") == money(cust.loc[who, "revenue"], "USD")  # the sample shop sells in USD
    at.text_input(key="cuts_customer").input("nobody@nowhere.example").run()
    assert any("No customer's id or e-mail contains" in w.value for w in at.warning)
    # part of an id: the customers containing it, the one with most orders first and shown
    part = who.split("@")[0][-4:]
    at.text_input(key="cuts_customer").input(part.upper()).run()
    assert not at.exception
    options = at.selectbox(key="cuts_customer_match").options
    assert all(part in o.lower() for o in options) and who in options
    assert metric(at, "Orders") == f"{cust.loc[options[0], 'orders']:,}"


def test_a_cut_without_its_column_says_which_column_is_missing():
    at = open_app("pages/7_LTV_cuts.py")
    at.selectbox(key="cuts_by").select("country").run()
    assert not at.exception
    assert any("no shipping country column" in i.value and "Shipping Country" in i.value for i in at.info)
    assert len(at.get("plotly_chart")) == 1  # the cohort curves still show


def test_cohorts_of_a_period_on_the_ltv_page_and_the_overview(sample_shop):
    """Customers acquired in a period: the LTV page's curves and the Overview's cohort rows keep only the months of
    first order that overlap it (the sample's data end on 30 Oct 2026: the last 90 days start on 1 Aug)."""
    at = open_app("pages/7_LTV_cuts.py")
    at.selectbox(key="cuts_period").set_value("90d").run()
    assert not at.exception
    fig = at.get("plotly_chart")[0].proto.spec
    assert "Aug 2026" in fig and "Jul 2026" not in fig
    # the groups by first order count the period's new customers: those who first bought in its 90 days (from 2 Aug)
    import datetime as dt
    firsts = sample_shop.customers()["first_order"].dt.date
    new = int((firsts >= dt.date(2026, 8, 2)).sum())
    groups = next(d.value for d in at.dataframe if "bought again" in d.value.columns)
    assert 0 < new < len(firsts) and groups["customers"].sum() == new
    assert any(c.value.startswith("Customers who first bought from 02 Aug 2026") for c in at.caption)
    overview = open_app()
    overview.selectbox(key="period_kind").set_value("90d").run()
    assert not overview.exception
    heat = overview.get("plotly_chart")[1].proto.spec
    assert "Aug 2026" in heat and "Jul 2026 (" not in heat
