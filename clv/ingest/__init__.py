"""Reading order and interaction exports into canonical DuckDB tables.

Every input goes through the same steps, in the app, the CLI and the tests:

1. ``sniff`` looks at the bytes: one file or several, a zip, an Excel workbook, Parquet, gzip; the encoding, the
   delimiter, the header (``sniff.py``); DuckDB then reads the text with one pinned dialect (``dialect.py``).
2. ``detect_format`` matches the header against the format registry (``formats.py``: Shopify, WooCommerce,
   BigCommerce, Squarespace, Etsy, Wix, Magento, PrestaShop, Stripe, Square, Gumroad, UCI Online Retail, or
   generic column names) and proposes a ``Mapping`` the user may override.
3. ``load_orders`` / ``load_interactions`` pick one date convention (``dates.py``) and one decimal mark
   (``values.py``) per file, run one DuckDB query that parses, groups and classifies every row, and record in a
   ``LoadReport`` what was kept, excluded (with examples) and decided (``report.py``).

Identifiers in SQL come only from the file's own header (quoted); every value is a bound parameter.
"""
from .dates import DATE_HELP
from .fields import (AMOUNT_BASES, DATE_ORDERS, DECIMALS, FIELD_LABELS, INTERACTION_FIELDS, ORDER_FIELDS,
                     REQUIRED_INTERACTION_FIELDS, REQUIRED_ORDER_FIELDS, Mapping)
from .formats import FORMATS, FormatSpec, detect_format, detect_interaction_mapping
from .interactions import load_interactions
from .orders import load_orders
from .report import LoadReport
from .sniff import Sniff, sniff
from .values import install_macros

__all__ = [
    "ORDER_FIELDS", "INTERACTION_FIELDS", "REQUIRED_ORDER_FIELDS", "REQUIRED_INTERACTION_FIELDS", "FIELD_LABELS",
    "AMOUNT_BASES", "DATE_ORDERS", "DECIMALS", "DATE_HELP", "FORMATS", "FormatSpec", "Mapping", "Sniff", "LoadReport", "sniff",
    "detect_format", "detect_interaction_mapping", "load_orders", "load_interactions", "install_macros",
]
