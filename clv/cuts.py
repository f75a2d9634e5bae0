"""The LTV cuts shops compare themselves in (Lifetimely, Peel, Shopify's reports): cumulative value per customer by
acquisition cohort, historic and projected value by first product, first-order discount code, channel and country,
repeat rate and time to the second order per first product, and one customer's whole history.

Every figure counts money as the customer table does (clv/sql/customers.sql): purchases' net, minus returns dated
up to the as-of date (a return after the last purchase included); time is in purchase days. The queries are in
clv/sql/ (cohort_ltv.sql, ltv_by.sql, customer_orders.sql, customer_interactions.sql), run by thin ``Shop``
methods; this module adds what SQL does not say well (confidence intervals, flags) and checks that the orders file
has the column a cut needs. Nothing here imports streamlit.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import defaults
from .errors import DataError
from .ingest import FIELD_LABELS
from .store import Shop

__all__ = ["CUTS", "MIN_CUSTOMERS", "TOP_N", "Cut", "CustomerHistory", "cohort_ltv", "ltv_by", "product_repeat",
           "customer_history", "require_field", "LTV_COLUMNS", "COHORT_COLUMNS", "PRODUCT_REPEAT_COLUMNS"]

#: a group with fewer customers is flagged ``small``: its mean moves a lot with one customer more or less
MIN_CUSTOMERS = 30
#: groups shown by name; the rest are folded into one "(other)" row
TOP_N = 20


@dataclass(frozen=True)
class Cut:
    """One way of grouping customers by their acquisition: the order field it needs and how it is said."""
    fields: tuple          # the orders fields the cut reads (clv.ingest.ORDER_FIELDS): any one of them will do
    label: str             # in words, for titles and messages
    missing: str           # the group of customers whose first purchase lacks the trait
    headers: tuple = ()    # the export header names that fill ``field``, said when the file has none


#: the cuts by name (the ``by`` of ``ltv_by`` and of ``python -m clv cuts``)
CUTS: dict[str, Cut] = {
    "first_product": Cut(("product",), "first product", "(no product)", (
        "Lineitem name (Shopify, Squarespace)", "item_name (WooCommerce Customer/Order CSV Export)",
        "Item Name (WooCommerce Advanced Order Export, Etsy Sold Order Items, Gumroad)", "Item's name (Wix)",
        "Item (Square item sales)", "Description (UCI Online Retail)", "Product / Product Name (any file)")),
    "discount_code": Cut(("discount_code",), "first order's discount code", "(no code)", (
        "Discount Code (Shopify, Squarespace, Gumroad)", "coupon_items (WooCommerce Customer/Order CSV Export)",
        "Coupon Code (WooCommerce Advanced Order Export, Etsy)", "Coupon(s) (WooCommerce Analytics)",
        "Coupon / Promo Code / Voucher Code (any file)")),
    "discounted": Cut(("discount_code", "discount"), "discounted or full-price first order", "(unknown)", (
        "Discount Code / Discount Amount (Shopify, Squarespace)", "Coupon Code / Discount Amount (WooCommerce, Etsy)",
        "Coupon / Promo Code / Discount (any file)")),
    "channel": Cut(("channel",), "acquisition channel", "(no channel)", (
        "Source (Shopify)", "Channel (Squarespace, Square)", "Channel Name (BigCommerce)",
        "created_via (WooCommerce Advanced Order Export)", "Referrer (Gumroad)", "Channel / Source / utm_source")),
    "country": Cut(("country", "country_alt"), "first order's country", "(no country)", (
        "Shipping Country, else Billing Country (Shopify, Squarespace, WooCommerce, BigCommerce, Wix)",
        "Ship Country (Etsy)", "Country (UCI Online Retail, Gumroad)", "Delivery (PrestaShop order list)",
        "Country / Country Code (any file)")),
}
_OTHER = "(other)"

COHORT_COLUMNS = ["cohort", "months_since_first", "customers", "cumulative_revenue_per_customer",
                  "cumulative_margin_per_customer", "complete"]
LTV_COLUMNS = ["group", "customers", "share", "revenue_per_customer", "revenue_median", "revenue_ci_low",
               "revenue_ci_high", "repeat_rate", "median_days_to_second_order", "projected_clv_per_customer",
               "scored_customers", "small", "folded_groups"]
PRODUCT_REPEAT_COLUMNS = ["group", "customers", "share", "repeat_rate", "median_days_to_second_order", "small",
                          "folded_groups"]


def require_field(shop: Shop, by: str) -> Cut:
    """The cut named ``by``; DataError when it is unknown or the orders file has no column for it."""
    if by not in CUTS:
        raise DataError(f"Unknown cut {by!r}.", expected=f"one of {', '.join(CUTS)}.")
    cut = CUTS[by]
    report = shop.orders_report
    if report is None:
        raise DataError("No orders loaded yet.", expected="an orders file loaded first.")
    if not any(report.mapping.columns.get(f) for f in cut.fields):
        field = cut.fields[0]
        raise DataError(f"The orders file has no {FIELD_LABELS[field]} column, so customers cannot be grouped by "
                        f"{cut.label}.",
                        expected=f"a column named like {'; '.join(cut.headers)} — or map one of the file's columns "
                                 f"to the field '{field}' (CLI: --map {field}=COLUMN).")
    return cut


def cohort_ltv(shop: Shop, margin: float = defaults.MARGIN, as_of=None) -> pd.DataFrame:
    """Lifetimely-style curves: per acquisition cohort (month of the first purchase, a date) and months since it
    (calendar months, 0 = the cohort month), the cohort's size (``customers``), the cumulative revenue per customer
    and the cumulative margin per customer (revenue × ``margin``), and whether the month had ended by ``as_of``
    (``complete``; default as-of: the last date in the data, returns included). One row per cohort and month up to
    the as-of month, months without orders carrying the total forward."""
    return shop.cohort_ltv(margin, as_of)[COHORT_COLUMNS]


def _t_interval(mean: pd.Series, sd: pd.Series, n: pd.Series, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Student-t interval of a mean: mean ± t(1 − α/2, n − 1) · sd / √n (NaN for one customer)."""
    from scipy.stats import t
    n = n.to_numpy(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        half = np.where(n > 1, t.ppf(0.5 + level / 2, np.maximum(n - 1, 1)) * sd.to_numpy(float) / np.sqrt(n), np.nan)
    return mean.to_numpy(float) - half, mean.to_numpy(float) + half


def ltv_by(shop: Shop, by: str, scored: pd.DataFrame | None = None, as_of=None, top_n: int = TOP_N,
           min_customers: int = MIN_CUSTOMERS, acquired_from=None) -> pd.DataFrame:
    """Value per customer grouped by a trait of their first purchase (``by``: a key of ``CUTS``); with
    ``acquired_from`` (a date), only the customers who first bought from that day to ``as_of``.

    One row per group (the $top_n largest by customers, then a row "(no …)" for customers whose first purchase
    lacks the trait — for discount_code, the full-price first orders — then "(other)" folding the remaining groups,
    ``folded_groups`` saying how many; ``attrs["note"]`` says it in words). Columns (``LTV_COLUMNS``):

    - customers, share (of the customers counted: all with a purchase up to as-of, or those acquired from
      ``acquired_from``);
    - revenue_per_customer (mean) and revenue_median: historic revenue as in the customer table;
    - revenue_ci_low / revenue_ci_high: 95 % Student-t interval of the mean (mean ± t · sd / √n; NaN for a group of
      one) — a normal-theory interval; with skewed spend and few customers it is rough, hence ``small``;
    - repeat_rate: share who bought again on a later day; median_days_to_second_order among them;
    - projected_clv_per_customer: mean of ``scored["clv"]`` (clv.scoring.score_table: the margin the model expects
      over its horizon, 12 months by default, discounted) over the group's scored customers (scored_customers); NaN
      without ``scored``;
    - small: fewer than ``min_customers`` customers (reported, never dropped).
    """
    cut = require_field(shop, by)
    raw = shop.ltv_by(by, scores=scored, as_of=as_of, top_n=top_n, missing=cut.missing, other=_OTHER,
                      acquired_from=acquired_from)
    low, high = _t_interval(raw["revenue_per_customer"], raw["revenue_sd"], raw["customers"])
    out = raw.assign(revenue_ci_low=low, revenue_ci_high=high, small=raw["customers"] < min_customers)
    out["customers"] = out["customers"].astype("int64")
    out["scored_customers"] = out["scored_customers"].astype("int64")
    out["folded_groups"] = out["folded_groups"].astype("int64")
    out = out[LTV_COLUMNS]
    folded = int(out["folded_groups"].sum())
    out.attrs["by"] = by
    since = f" who first bought from {pd.Timestamp(acquired_from):%d %b %Y}" if acquired_from is not None else ""
    out.attrs["note"] = (f"customers{since} grouped by {cut.label}; the {top_n} largest groups are shown"
                         + (f", {folded} smaller groups are folded into '{_OTHER}'" if folded else "")
                         + f"; groups under {min_customers} customers are flagged small")
    return out


def product_repeat(shop: Shop, as_of=None, top_n: int = TOP_N, min_customers: int = MIN_CUSTOMERS) -> pd.DataFrame:
    """Per first product: customers, share, repeat rate (bought again on a later day) and the median days from the
    first purchase day to the second (``PRODUCT_REPEAT_COLUMNS``; groups folded and flagged as in ``ltv_by``)."""
    out = ltv_by(shop, "first_product", None, as_of, top_n, min_customers)
    repeat = out[PRODUCT_REPEAT_COLUMNS].copy()
    repeat.attrs.update(out.attrs)
    return repeat


@dataclass
class CustomerHistory:
    """One customer as the search box shows them: every order (purchases, returns, cancelled), every interaction,
    and their scored row (None when no scored table is given or the customer is not in it)."""
    customer_id: str
    orders: pd.DataFrame
    interactions: pd.DataFrame
    scores: pd.Series | None

    @property
    def found(self) -> bool:
        return len(self.orders) > 0 or len(self.interactions) > 0


def customer_history(shop: Shop, customer_id: str, scored: pd.DataFrame | None = None) -> CustomerHistory:
    """Orders, interactions and the scores row of one customer id or email (matched as ingestion writes ids:
    emails lower-case, "17850.0" as "17850"). The id is a query parameter, never part of the SQL text."""
    customer_id = str(customer_id).strip()
    orders = shop.customer_orders(customer_id)
    interactions = shop.customer_interactions(customer_id)
    row = None
    if scored is not None:
        key = shop.con.execute("SELECT clv_id(?)", [customer_id]).fetchall()[0][0]
        hit = scored.loc[scored["customer_id"] == key]
        row = hit.iloc[0] if len(hit) else None
    return CustomerHistory(customer_id, orders, interactions, row)

