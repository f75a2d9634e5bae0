"""The canonical vocabulary of a load: fields a file column can be mapped to, and the mapping itself."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field, replace

__all__ = ["is_email_column", "AMOUNT_BASES", "ORDER_FIELDS", "REQUIRED_ORDER_FIELDS", "INTERACTION_FIELDS", "REQUIRED_INTERACTION_FIELDS",
           "FIELD_LABELS", "DATE_ORDERS", "cost_key", "DECIMALS", "Mapping", "norm", "norm_words", "q"]

#: canonical order fields a file column can be mapped to; the first three are required.
ORDER_FIELDS = ["customer_id", "order_ts", "amount", "order_id", "customer_alt", "order_time", "timezone",
                "discount", "refund", "status", "cancelled_at", "currency", "channel", "quantity", "product",
                "discount_code", "country", "country_alt", "refund_of", "amount_after_refunds", "customer_email",
                "cost", "unit_cost", "sku"]
REQUIRED_ORDER_FIELDS = ["customer_id", "order_ts", "amount"]
INTERACTION_FIELDS = ["customer_id", "event_ts", "event_type", "channel", "value"]
REQUIRED_INTERACTION_FIELDS = ["customer_id", "event_ts", "event_type"]

FIELD_LABELS = {
    "customer_id": "customer id or email", "order_ts": "order date/time", "amount": "order amount",
    "order_id": "order id", "customer_alt": "second customer column (used where the first is empty or a guest)",
    "order_time": "order time (when the date column holds only the date)", "timezone": "time zone",
    "discount": "discount amount", "refund": "refunded amount",
    "status": "order/payment status", "cancelled_at": "cancelled date", "currency": "currency",
    "channel": "sales channel", "quantity": "quantity", "product": "product / line-item name",
    "discount_code": "discount / coupon code", "country": "shipping country",
    "country_alt": "second country column (billing country, used where the shipping country is empty)",
    "customer_email": "customer e-mail, when the customer column is an id (joins events keyed by e-mail)",
    "refund_of": "order a refund row belongs to (parent order id, reference transaction)",
    "amount_after_refunds": "order amount after refunds (Etsy's adjusted total; empty or 0: none)",
    "cost": "cost of the goods sold (the order's or the line's total cost)",
    "unit_cost": "cost per unit (multiplied by the quantity)",
    "sku": "SKU / product code (matched to a product costs file)",
    "event_ts": "event date/time",
    "event_type": "event type", "value": "value / rating / satisfaction score",
}

#: how a date like 03/04/2024 is read: month first, day first, or let the data (and the platform) decide
DATE_ORDERS = {"auto": "decide from the data", "mdy": "month first (03/04/2024 = 4 March)",
               "dmy": "day first (03/04/2024 = 3 April)"}
#: what revenue is: what the customer paid for goods (after discounts and refunds, without the tax and shipping
#: that the export writes in columns of their own), or everything they paid
AMOUNT_BASES = {"goods": "paid for goods, without tax and shipping (where the export separates them)",
                "paid": "everything the customer paid, tax and shipping included"}
#: the decimal mark of amounts: decided from the whole column unless the user says
DECIMALS = {"auto": "decide from the data", "dot": "decimal point (1,234.50)", "comma": "decimal comma (1.234,50)"}


def norm(name: str) -> str:
    """A column name reduced to letters and digits, lower case, accents removed: how headers are matched."""
    return re.sub(r"[^a-z0-9]", "", strip_accents(str(name)).lower())


def is_email_column(name: str | None) -> bool:
    """A column used as an e-mail (its name says so): its values are compared without case, whatever they look
    like ("@SUM(A1)@EXAMPLE.COM" and "@sum(a1)@example.com" are one customer)."""
    n = norm(name or "")
    return any(w in n for w in ("mail", "courriel", "correo"))


def norm_words(text: str) -> str:
    """A status word as it is matched: lower case, no accents, words separated by single spaces."""
    return " ".join(re.sub(r"[^a-z0-9]+", " ", strip_accents(str(text)).lower()).split())


def cost_key(text) -> str | None:
    """A SKU or product name as it is matched between a products file and the orders: trimmed, lower case."""
    t = " ".join(str(text).split()).lower() if text is not None else ""
    return t or None


def strip_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def q(identifier: str) -> str:
    """Quote an identifier taken from the file's own header (the only identifiers ever put in SQL)."""
    return '"' + str(identifier).replace('"', '""') + '"'


@dataclass(frozen=True)
class Mapping:
    """Which column of the file holds each canonical field (``None`` where it has none), and how to read them.

    ``flags``: (column, value that marks the row, reason) — e.g. Gumroad's "Fully Refunded?" = 1, Stripe's
    "Captured" = false; a marked order is kept but not counted as a purchase."""
    format: str
    columns: dict = field(default_factory=dict)
    amount_per: str = "order"              # "order": an order-level total, counted once; "line": summed per order
    amount_times_quantity: bool = False    # the amount column is a unit price (invoice-line files)
    line_items: bool = False               # the format writes one row per line item: always grouped by order id
    date_order: str = "auto"               # see DATE_ORDERS
    decimal: str = "auto"                  # see DECIMALS
    flags: tuple = ()
    guest_ids: tuple = ()                  # customer id values that mean "guest" (BigCommerce's 0)
    skips: tuple = ()                      # (column, value, reason): a marked row is no sale (PayPal's withdrawals)
    amount_plus: tuple = ()                # columns added to the amount to make what the customer paid (Amazon)
    tax_columns: tuple = ()                # columns holding the tax inside what the customer paid
    shipping_columns: tuple = ()           # columns holding the shipping inside what the customer paid
    shipping_discount_columns: tuple = ()  # columns of a shipping discount given back (Etsy's "Shipping Discount")
    minor_units: bool = False              # amounts are in cents when every one is a whole number (Lemon Squeezy)
    amount_basis: str = "goods"            # see AMOUNT_BASES
    fx_rates: tuple = ()                   # (currency, what 1 unit is worth in the analysed currency)
    statuses: tuple = ()                   # the user's (status as written, "purchase" | "not_purchase") choices
    accept_exclusions: bool = False        # go on when unreadable values exclude over MAX_UNREADABLE of the orders
    #: (SKU or product name as normalised by ``cost_key``, cost per unit) from a products file
    #: (clv.ingest.costs.read_product_costs): a line's cost is its quantity × the cost of its SKU (else its product)
    product_costs: tuple = ()

    def with_columns(self, **overrides) -> "Mapping":
        cols = dict(self.columns)
        cols.update({k: (v or None) for k, v in overrides.items()})
        return replace(self, columns=cols)

    def status_choices(self) -> dict:
        """normalised status -> None (a purchase) or the reason it is not one, as the user chose."""
        return {norm_words(k): (None if v == "purchase" else "not a purchase (as you chose)")
                for k, v in self.statuses}

    def with_options(self, **options) -> "Mapping":
        return replace(self, **options)
