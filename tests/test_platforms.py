"""Every platform's export, laid out as the platform writes it (tests/fixtures/), read with no mapping: the
customers, purchases and net revenue of ``summary`` equal an independent computation with Python's csv module.

The independent side knows each platform's rules only as written here (which column is the customer, which
statuses are not purchases, whether the amount is an order total or a line amount), not clv's code.
"""
import csv
import re
from collections import defaultdict
from pathlib import Path

import pytest

from clv.store import Shop

FIX = Path(__file__).parent / "fixtures"

#: fixture -> (format the registry must detect, the platform's rules for the independent computation)
RULES = {
    "shopify_orders_export_1.csv": ("shopify", dict(order="Name", customer=["Email"], amount="Total",
        status="Financial Status", bad={"refunded", "voided", "pending", "authorized"}, cancelled="Cancelled at",
        refund="Refunded Amount")),
    "woocommerce_customer_order_export.csv": ("woocommerce", dict(order="order_id", customer=["billing_email"],
        amount="order_total", status="status", bad={"cancelled", "failed", "on-hold", "pending", "refunded"},
        refund="refunded_total")),
    "woocommerce_advanced_order_export.csv": ("woocommerce_aoe", dict(order="Order Number",
        customer=["Email (Billing)"], amount="Order Total Amount", status="Order Status",
        bad={"Zahlung ausstehend", "Storniert", "Pending payment"}, refund="Order Refund Amount")),
    "woocommerce_analytics_orders.csv": ("woocommerce_analytics", dict(order="Order #", customer=["Customer"],
        amount="Net sales", status="Status", bad={"refunded", "on-hold"})),
    "bigcommerce_orders.csv": ("bigcommerce", dict(order="Order ID", customer=["Customer Email"],
        amount="Order Total (inc tax)", status="Order Status",
        bad={"Awaiting Payment", "Cancelled", "Refunded", "Declined"}, refund="Refund Amount")),
    "squarespace_orders.csv": ("squarespace", dict(order="Order ID", customer=["Email"], amount="Total",
        status="Financial Status", bad={"REFUNDED"}, cancelled="Cancelled at", refund="Amount Refunded")),
    "EtsySoldOrders2024.csv": ("etsy_orders", dict(order="Order ID", customer=["Buyer User ID", "Buyer"],
        amount="Order Total")),
    "EtsySoldOrderItems2024.csv": ("etsy_items", dict(order="Order ID", customer=["Buyer"], amount="Item Total",
        per_line=True)),
    "magento_orders.csv": ("magento", dict(order="ID", customer=["Customer Email"], amount="Grand Total (Purchased)",
        status="Status", bad={"Closed", "Canceled", "Pending Payment"}, refund="Total Refunded")),
    "prestashop_orders.csv": ("prestashop", dict(order="Reference", customer=["Customer"], amount="Total",
        status="Status", bad={"En attente de paiement par chèque", "Annulé", "Remboursé"}, delimiter=";",
        comma=True)),
    "stripe_unified_payments.csv": ("stripe", dict(order="id", customer=["Customer Email"], amount="Amount",
        status="Status", bad={"Refunded", "Failed"}, refund="Amount Refunded", flag=("Captured", "false"))),
    # Wix's CSV header could not be confirmed from a public export: this fixture follows its documented fields
    "wix_orders.csv": ("wix", dict(order="Order #", customer=["Contact email"], amount="Total",
        status="Payment status", bad={"Not paid", "Refunded"})),
    "square_item_sales.csv": ("square_items", dict(order="Transaction ID", customer=["Customer ID"],
        amount="Net Sales", per_line=True)),
    "square_transactions.csv": ("square", dict(order="Transaction ID", customer=["Customer ID"], amount="Net Sales",
        per_line=True)),
    "gumroad_sales.csv": ("gumroad", dict(order="Order Number", customer=["Purchase Email"], amount="Sale Price ($)",
        per_line=True, refund="Partial Refund ($)", flag=("Fully Refunded?", "1"))),
    "online_retail.csv": ("online_retail", dict(order="InvoiceNo", customer=["CustomerID"], amount="UnitPrice",
        per_line=True, times="Quantity")),
    "online_retail_II.csv": ("online_retail", dict(order="Invoice", customer=["Customer ID"], amount="Price",
        per_line=True, times="Quantity")),
    "CDNOW_sample.txt": ("generic", dict(customer=["customer_id"], amount="dollar_value", whitespace=True)),
}


def money(text: str, comma: bool = False) -> float | None:
    s = re.sub(r"[^0-9.,\-]", "", text or "")
    if not re.search(r"[0-9]", s):
        return None
    s = s.replace(".", "").replace(",", ".") if comma else s.replace(",", "")
    return float(s)


def independent(path: Path, r: dict) -> tuple[int, int, float]:
    """(customers with a purchase, purchases, net revenue incl. returns) by the platform's rules."""
    with open(path, encoding="utf-8", newline="") as fh:
        if r.get("whitespace"):
            lines = [ln.split() for ln in fh if ln.strip()]
            rows = [dict(zip(lines[0], ln)) for ln in lines[1:]]
        else:
            rows = list(csv.DictReader(fh, delimiter=r.get("delimiter", ",")))
    orders: dict = defaultdict(list)
    for i, row in enumerate(rows):
        orders[row[r["order"]] if "order" in r else i].append(row)
    net_by_customer: dict = defaultdict(float)
    buyers, purchases = set(), 0
    for key, lines in orders.items():
        first = {k: next((ln[k] for ln in lines if (ln.get(k) or "").strip()), "") for k in lines[0]}
        customer = next((first[c].strip().lower() if "@" in first[c] else first[c].strip()
                         for c in r["customer"] if first[c].strip() and first[c].strip() != "0"), None)
        if customer is None:
            continue
        if r.get("per_line"):
            amount = sum((money(ln[r["amount"]], r.get("comma")) or 0) * (float(ln[r["times"]]) if "times" in r else 1)
                         for ln in lines)
        else:
            amount = money(first[r["amount"]], r.get("comma"))
        refund = money(first.get(r.get("refund"), ""), r.get("comma")) or 0
        flagged = "flag" in r and first[r["flag"][0]].strip().lower() == r["flag"][1]
        bad = first.get(r.get("status"), "") in r.get("bad", set()) or bool(first.get(r.get("cancelled"), "").strip())
        if amount < 0 or str(key).startswith("C"):
            net_by_customer[customer] += amount  # a return
        elif not bad and not flagged and amount > 0 and refund < amount:
            buyers.add(customer)
            purchases += 1
            net_by_customer[customer] += amount - refund
    return len(buyers), purchases, round(sum(v for c, v in net_by_customer.items() if c in buyers), 2)


@pytest.mark.parametrize("name", sorted(RULES))
def test_platform_export_read_right_with_no_mapping(name):
    fmt, rules = RULES[name]
    shop = Shop()
    report = shop.load_orders(FIX / name)
    assert report.format == fmt, str(report)
    customers = shop.customers()
    got = (len(customers), int(customers["orders"].sum()), round(float(customers["revenue"].sum()), 2))
    assert got == independent(FIX / name, rules), str(report)


#: fixture -> order id -> (product, products, discount_code, country) as the file says them: the first line item's
#: product in file order, every line's product, the code upper-cased, the shipping country else the billing one
CUT_FIELDS = {
    "shopify_orders_export_1.csv": {"#1001": ("Tee", ["Tee", "Hoodie"], "WELCOME10", "CA"),  # ships to CA, bills US
                                    "#1004": ("Scarf", ["Scarf"], None, "DE"),               # billing country only
                                    "J-939719": ("Mug", ["Mug"], None, "US")},
    "woocommerce_customer_order_export.csv": {"2001": ("Mug", ["Mug", "Plate"], None, "DE"),
                                              "2005": ("Spoon", ["Spoon"], "SPRING10", None)},  # "code:spring10;…"
    "online_retail.csv": {"536365": ("WHITE HANGING HEART T-LIGHT HOLDER",
                                     ["WHITE HANGING HEART T-LIGHT HOLDER", "WHITE METAL LANTERN"], None,
                                     "United Kingdom")},
    "EtsySoldOrderItems2024.csv": {"3159107010": ("Ceramic Cup", ["Ceramic Cup", "Ceramic Plate"], "SAVE10", "United States")},
}


@pytest.mark.parametrize("name", sorted(CUT_FIELDS))
def test_product_discount_code_and_country_are_read(name):
    shop = Shop()
    shop.load_orders(FIX / name)
    got = {r[0]: (r[1], r[2], r[3], r[4]) for r in shop.con.execute(
        "SELECT order_id, product, products, discount_code, country FROM orders").fetchall()}
    for order_id, want in CUT_FIELDS[name].items():
        assert got[order_id] == want, order_id


def test_optional_cut_fields_are_null_and_not_stored_when_the_file_lacks_them():
    shop = Shop()
    shop.load_orders(FIX / "magento_orders.csv")
    stored = {r[0] for r in shop.con.execute("SELECT column_name FROM (DESCRIBE orders_all)").fetchall()}
    assert not stored & {"product", "products", "discount_code", "country"}
    assert shop.con.execute("SELECT count(*) FROM orders WHERE product IS NOT NULL OR products IS NOT NULL "
                            "OR discount_code IS NOT NULL OR country IS NOT NULL").fetchall()[0][0] == 0
