"""Margin from product costs (issue 27, item 3): a cost column, a cost per unit × quantity, or a products file matched
by SKU give each order its own margin; the shop's measured margin replaces the one figure — checked on shops small
enough to work out by hand."""
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from clv.acquisition import cohort_margins
from clv.campaigns import measure_on
from clv.cuts import cohort_ltv
from clv.errors import DataError
from clv.ingest import detect_format, sniff
from clv.ingest.costs import read_product_costs
from clv.margins import MIN_ORDERS_WITH_COST, shop_margin
from clv.store import Shop

ROOT = Path(__file__).resolve().parent.parent

# c1 (January cohort, channel web): 100 costing 60, then 50 costing 20 in March; c2 (February, shop): 200 costing
# 150; c3 (February, web): 80 with no cost (falls back to the margin given)
HAND = """customer_id,order_date,amount,cost,channel
c1,2024-01-10,100,60,web
c1,2024-03-10,50,20,web
c2,2024-02-01,200,150,shop
c3,2024-02-15,80,,web
"""


def load(path, costs=None) -> Shop:
    shop = Shop()
    mapping = detect_format(sniff(path).columns)
    if costs is not None:
        mapping = mapping.with_options(product_costs=costs.costs)
    shop.load_orders(path, mapping=mapping)
    return shop


def test_a_cost_column_gives_each_order_its_margin(write):
    shop = load(write("orders.csv", HAND))
    got = shop.con.execute("SELECT customer_id, order_ts::DATE AS d, cost FROM orders ORDER BY 1, 2").df()
    assert got["cost"].tolist()[:3] == [60, 20, 150] and pd.isna(got["cost"].iloc[3])
    c = shop.orders_report.costs
    assert (c["purchases"], c["with_cost"], c["revenue"], c["revenue_with_cost"], c["cost"]) == (4, 3, 430, 350, 230)
    assert "product costs ('cost'): known for 3 of 4 purchases (81% of revenue)" in str(shop.orders_report)


def test_cohort_margins_count_each_orders_own_margin(write):
    shop = load(write("orders.csv", HAND))
    t = cohort_ltv(shop, margin=0.5).set_index(["cohort", "months_since_first"])["cumulative_margin_per_customer"]
    jan, feb = pd.Timestamp("2024-01-01"), pd.Timestamp("2024-02-01")
    assert t[(jan, 0)] == pytest.approx(40)              # 100 − 60
    assert t[(jan, 2)] == pytest.approx(70)              # + 50 − 20
    assert t[(feb, 0)] == pytest.approx((50 + 80 * 0.5) / 2)  # c2: 200 − 150; c3 has no cost: 80 × 0.5
    per = cohort_margins(shop, 0.5).set_index(["cohort", "channel", "months_since_first"])["margin_per_customer"]
    assert per[(jan.date(), "web", 2)] == pytest.approx(70)
    assert per[(feb.date(), "shop", 0)] == pytest.approx(50)
    assert per[(feb.date(), "web", 0)] == pytest.approx(40)


def test_campaigns_measure_the_orders_own_margin(write):
    shop = load(write("orders.csv", HAND))
    camp = pd.DataFrame({"campaign_id": "x", "customer_id": ["c1", "c2", "c3"], "group": ["treatment", "treatment",
                         "control"], "tactic": "winback", "created": pd.Timestamp("2024-01-20").date()})
    out = shop.campaign_outcomes(camp, margin=0.5).set_index("customer_id")
    assert out.loc["c1", "margin"] == pytest.approx(30) and out.loc["c2", "margin"] == pytest.approx(50)
    assert out.loc["c3", "margin"] == pytest.approx(40)
    r = measure_on(shop, camp, [], 0.5).results.iloc[0]
    assert r["treatment_margin_per_customer"] == pytest.approx(40)   # (30 + 50) / 2, not 0.5 × revenue
    assert r["control_margin_per_customer"] == pytest.approx(40)


def test_the_measured_margin_needs_enough_orders_with_a_cost(write):
    rows = ["customer_id,order_date,amount,cost"]
    rows += [f"c{i},2024-01-{1 + i % 28:02d},{100 + i},{40 + i / 2}" for i in range(MIN_ORDERS_WITH_COST - 1)]
    few = load(write("few.csv", "\n".join(rows) + "\n"))
    m = shop_margin(few, 0.3)
    assert (m.source, m.rate, m.with_cost) == ("given", 0.3, MIN_ORDERS_WITH_COST - 1)
    assert "too few to measure it" in m.words()
    rows.append("z,2024-02-01,300,100")
    rows.append("y,2024-02-02,50,")   # no cost: not in the measured rate
    enough = load(write("enough.csv", "\n".join(rows) + "\n"))
    m = shop_margin(enough, 0.3)
    net = sum(100 + i for i in range(MIN_ORDERS_WITH_COST - 1)) + 300
    cost = sum(40 + i / 2 for i in range(MIN_ORDERS_WITH_COST - 1)) + 100
    assert m.source == "costs" and m.rate == pytest.approx((net - cost) / net)
    assert m.revenue_share == pytest.approx(net / (net + 50))
    assert "measured from your product costs" in m.words()
    assert shop_margin(enough, 0.3, use_costs=False).rate == 0.3
    # as of a day before the last orders: only the orders up to it
    early = shop_margin(enough, 0.3, as_of=pd.Timestamp("2024-01-31").date())
    assert early.source == "given" and early.with_cost == MIN_ORDERS_WITH_COST - 1


SHOPIFY = """Name,Email,Created at,Total,Lineitem quantity,Lineitem name,Lineitem sku,Financial Status
#1001,a@x.com,2024-01-05 10:00:00 +0000,50.00,2,Mug - Blue,MUG-B,paid
#1001,,,,1,Tea,TEA-1,
#1002,b@x.com,2024-02-05 10:00:00 +0000,30.00,1,Tea,tea-1 ,paid
#1003,a@x.com,2024-03-05 10:00:00 +0000,20.00,1,Unknown,ZZZ,paid
#1004,b@x.com,2024-03-06 10:00:00 +0000,45.00,1,Tea,TEA-1,paid
#1004,,,,1,Unknown,ZZZ,
"""
# Shopify's products export: one row per variant, the title on the first row only; a cost left empty
PRODUCTS = """Handle,Title,Variant SKU,Variant Price,Cost per item
mug,Mug,MUG-B,20.00,8.00
mug,,MUG-R,20.00,
tea,Tea,TEA-1,10.00,3.50
tea,,TEA-2,12.00,abc
tea,,TEA-1,10.00,4.00
"""


def test_a_products_file_prices_each_line_by_its_sku(write):
    costs = read_product_costs(write("products.csv", PRODUCTS))
    assert (costs.rows, costs.used, costs.without_cost, costs.unreadable, costs.conflicts) == \
        (5, 3, 1, (1, "abc"), (1, "tea-1"))
    assert ("sku", "mug-b", 8.0) in costs.costs and ("sku", "tea-1", 3.5) in costs.costs  # the first row's cost
    shop = load(write("orders.csv", SHOPIFY), costs)
    got = shop.con.execute("SELECT order_id, cost FROM orders ORDER BY 1").df().set_index("order_id")["cost"]
    assert got["#1001"] == pytest.approx(2 * 8 + 3.5)     # quantity × cost per SKU, summed over the lines
    assert got["#1002"] == pytest.approx(3.5)             # SKUs match without case and surrounding blanks
    assert pd.isna(got["#1003"])                          # a SKU the products file does not know: no cost
    assert pd.isna(got["#1004"])                          # one line of two known: no cost (not half of one)
    assert "known for 2 of 4 purchases" in str(shop.orders_report)


def test_a_cost_per_unit_is_multiplied_by_the_quantity(write):
    csv = ("InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country,Unit Cost\n"
           "536365,A,Mug,6,12/1/2010 8:26,2.55,17850,United Kingdom,1.00\n"
           "536365,B,Tea,2,12/1/2010 8:26,3.00,17850,United Kingdom,0.50\n"
           "536366,A,Mug,1,12/2/2010 8:28,2.55,13047,United Kingdom,1.00\n")
    shop = load(write("invoices.csv", csv))
    got = shop.con.execute("SELECT order_id, cost, net FROM orders ORDER BY 1").df().set_index("order_id")
    assert got.loc["536365", "cost"] == pytest.approx(6 * 1.0 + 2 * 0.5)
    assert got.loc["536365", "net"] == pytest.approx(6 * 2.55 + 2 * 3.0)
    assert got.loc["536366", "cost"] == pytest.approx(1.0)


def test_a_platforms_item_cost_is_its_price_not_a_cost():
    """WooCommerce calls a line's price its "Item Cost": never read as what the goods cost the shop."""
    m = detect_format(sniff(ROOT / "tests" / "fixtures" / "woocommerce_advanced_order_export.csv").columns)
    assert m.columns.get("cost") is None and m.columns.get("unit_cost") is None


def test_a_products_file_without_costs_is_refused_in_words(write):
    with pytest.raises(DataError, match="no cost column"):
        read_product_costs(write("p.csv", "Handle,Title,Variant SKU,Variant Price\nmug,Mug,M,20\n"))
    with pytest.raises(DataError, match="No product cost could be read"):
        read_product_costs(write("p.csv", "SKU,Cost\nM,\nT,n/a\n"))


def test_the_command_line_uses_the_measured_margin(write, tmp_path):
    rows = ["customer_id,order_date,amount,cost"]
    rows += [f"c{i % 12},2024-{1 + i % 11:02d}-{1 + i % 27:02d},{50 + i},{20 + i % 7}" for i in range(60)]
    path = write("orders.csv", "\n".join(rows) + "\n")
    out = tmp_path / "cohorts.csv"
    r = subprocess.run([sys.executable, "-m", "clv", "cuts", "--by", "cohort", "--orders", str(path), "--out", str(out)],
                       capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert r.returncode == 0, r.stderr
    net = sum(50 + i for i in range(60))
    cost = sum(20 + i % 7 for i in range(60))
    assert f"Margin {round(100 * (net - cost) / net)}%, measured from your product costs on 60 of 60 orders" in r.stderr
    # every order has a cost: the cohorts' margin is revenue − cost exactly
    t = pd.read_csv(out)
    last = t.groupby("cohort").tail(1)
    assert (last["cumulative_margin_per_customer"] * last["customers"]).sum() == pytest.approx(net - cost)


def test_the_app_reads_a_products_file_and_says_which_margin():
    """Your data takes a products file; the sidebar then says the margin is measured from it, and the founder can
    go back to their own figure."""
    from conftest import open_app
    at = open_app("pages/1_Data.py")
    head = "Name,Email,Created at,Total,Lineitem quantity,Lineitem name,Lineitem sku,Financial Status\n"
    rows = [f"#{1000 + i},c{i % 15}@x.com,2024-{1 + i % 12:02d}-{1 + i % 28:02d} 10:00:00 +0000,40.00,2,Mug,MUG-B,paid"
            for i in range(40)]
    at.file_uploader(key="orders").set_value(("orders_export.csv", (head + "\n".join(rows) + "\n").encode(),
                                              "text/csv")).run()
    assert not at.exception and not at.error
    at.file_uploader(key="costs_upload").set_value(("products_export.csv", PRODUCTS.encode(), "text/csv")).run()
    assert not at.exception and not at.error
    said = " ".join(c.value for c in at.sidebar.caption).replace("\\", "")
    assert "Margin 60%, measured from your product costs on 40 of 40 orders" in said   # (40 − 2 × 8) / 40
    assert any("matched to the orders by 'Variant SKU'" in c.value for c in at.code)
    at.checkbox(key="margin_from_costs").uncheck().run()
    said = " ".join(c.value for c in at.sidebar.caption).replace("\\", "")
    assert "as you set it (your product costs are not used)" in said
