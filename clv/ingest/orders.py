"""Orders: one DuckDB query parses, groups, de-duplicates and classifies every row of an export into
``orders_all`` (every order built, excluded ones with their reason) and the ``orders`` view (the usable part).

Two readers give the same orders (tested on every format): DuckDB's CSV reader parses numbers and ISO times
itself when the file's first rows allow (fast); the first value it cannot parse sends the file down the text
path, where SQL parses every value with the file's one date convention and one decimal mark, and reports each
value it cannot read.
"""
from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np

from ..errors import DataError
from .dates import DATE_HELP, EARLIEST, DateChoice, choose_date_format, date_sql, latest_allowed
from .dialect import diagnose, is_ragged, source
from .fields import FIELD_LABELS, REQUIRED_ORDER_FIELDS, Mapping, is_email_column, norm_words, q
from .formats import FORMATS, GENERIC_COLUMNS, INTERACTION_COLUMNS, detect_format
from .report import LoadReport, examples
from .sniff import Sniff, open_inputs
from .values import MAX_AMOUNT, Decimal, decimal_convention, install_macros
from .vocabulary import RAILS_TIME_ZONES, status_table

__all__ = ["load_orders", "check_mapping", "cost_keys"]

#: time patterns the CSV reader parses strictly (a value in any other shape is an error, never cut short)
_PLAIN_TIMES = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M:%S %z")


class _NotPlain(Exception):
    """A value the CSV reader could not parse as the type asked for: read the file as text instead."""


class _Ragged(Exception):
    """Rows with another number of fields than the header: read again with padding."""


def check_mapping(mapping: Mapping, columns: tuple, required: list[str], what: str) -> None:
    for f, c in mapping.columns.items():
        if c is not None and c not in columns:
            raise DataError(f"The {what} file has no column {c!r} (mapped to {FIELD_LABELS.get(f, f)}).",
                            column=c, expected=f"one of the file's columns: {', '.join(columns)}.")
    for f in required:
        if not mapping.columns.get(f):
            names = INTERACTION_COLUMNS.get(f, GENERIC_COLUMNS.get(f, ())) if what == "interactions" \
                else GENERIC_COLUMNS.get(f, ())
            raise DataError(f"No {FIELD_LABELS[f]} column found in the {what} file.",
                            expected=f"a column such as {', '.join(names[:4])}"
                                     f" — or map one of the file's columns ({', '.join(columns)}) to it.")


def load_orders(con: duckdb.DuckDBPyConnection, paths, fmt: str | None = None, mapping: Mapping | None = None,
                currency: str | None = None, accept_exclusions: bool = False) -> LoadReport:
    """Read an orders export (one path or several parts) into ``orders`` and report what happened.

    ``orders`` columns: order_id, customer_id, order_ts (UTC), gross, discount, refund, net, status, currency,
    channel, items, product, products, discount_code, country, is_purchase, not_purchase_reason. Optional fields
    the file lacks are NULL.

    ``product`` is the order's first product in file order (the first line item with a product name, as the platform
    wrote the order's rows); ``products`` lists every line item's product in file order (one per line, repeats kept;
    a one-row-per-order file has a list of one). ``discount_code`` is upper-case (platforms match codes
    case-insensitively); WooCommerce's "code:SAVE10;amount:5" coupon cells give "SAVE10". ``country`` is the shipping
    country, else the billing country (``country_alt``), as written in the file ("US", "United States"). Orders that cannot be attributed or dated, or whose amount
    is missing or not a finite number, are excluded (and reported with examples); cancelled, voided, unpaid,
    fully refunded and returned orders stay in the table with ``is_purchase = false``. When values that could not be
    read (dates, amounts) exclude over ``MAX_UNREADABLE`` of the orders, the load is refused with a DataError unless
    ``accept_exclusions`` (or the mapping's option) says to go on.
    """
    install_macros(con)
    with open_inputs(paths, con) as sn:
        if mapping is None:
            mapping = detect_format(sn.columns, fmt)
        check_mapping(mapping, sn.columns, REQUIRED_ORDER_FIELDS, "orders")
        if accept_exclusions:
            mapping = mapping.with_options(accept_exclusions=True)
        try:
            try:
                return _load(con, sn, mapping, currency, padded=False)
            except _Ragged:
                report = _load(con, sn, mapping, currency, padded=True)
                report.warnings.append("some rows have fewer fields than the header: their missing fields were "
                                       "read as empty")
                return report
        except (_Ragged, duckdb.Error) as exc:
            raise diagnose(sn, exc.__cause__ or exc, "orders") from None


def _load(con, sn: Sniff, mapping: Mapping, currency: str | None, padded: bool) -> LoadReport:
    spec = FORMATS.get(mapping.format, FORMATS["generic"])
    m = mapping.columns
    try:
        with source(con, sn, "_src_orders", padded=padded):
            typing = _typed_columns(con, "_src_orders", sn, mapping)
            if typing:
                try:
                    with source(con, sn, "_src_orders_typed", typing[0], typing[1], padded=padded):
                        return _load_orders(con, sn, mapping, spec, currency, "_src_orders_typed",
                                            DateChoice("iso", "ISO dates (2024-01-31…)"),
                                            Decimal("dot", "decimal point (values like 12.50)"), typed=True)
                except _NotPlain:
                    pass
            choice = choose_date_format(con, "_src_orders", _ts_text(mapping), user_order=mapping.date_order,
                                        platform_order=spec.date_order,
                                        dayfirst_hint=sn.delimiter == ";" or mapping.decimal == "comma")
            dec = decimal_convention(con, "_src_orders", [m[f] for f in ("amount", "discount", "refund", "cost",
                                                                         "unit_cost") if m.get(f)]
                                     + list(mapping.amount_plus),
                                     user=mapping.decimal, comma_hint=sn.delimiter == ";")
            return _load_orders(con, sn, mapping, spec, currency, "_src_orders", choice, dec)
    except duckdb.Error as exc:
        if is_ragged(exc) and not padded:
            raise _Ragged from exc
        raise


def _ts_text(mapping: Mapping) -> str:
    """The order time as one text: the date column, with the time column appended when there is one."""
    m = mapping.columns
    if m.get("order_time"):
        return f"(trim({q(m['order_ts'])}) || coalesce(' ' || nullif(trim({q(m['order_time'])}), ''), ''))"
    return q(m["order_ts"])


def _typed_columns(con, view: str, sn: Sniff, mapping: Mapping) -> tuple[dict, str] | None:
    """Types for DuckDB's CSV reader (column -> type) and the pattern of its TIMESTAMP column, or None.

    The reader parses numbers and times two to three times faster than SQL parses text, and it stops at the first
    value that does not fit instead of dropping it (the caller then reads the file as text). Only for plain files:
    ISO times (one of ``_PLAIN_TIMES`` in every one of the first 5,000 rows) and amounts
    that are plain numbers with at most two decimals or more than three ("1.234" may be a thousands group).
    """
    m = mapping.columns
    if sn.kind != "csv" or m.get("order_time") or m.get("timezone") or mapping.decimal == "comma" \
            or mapping.date_order != "auto":
        return None
    numbers = [m[f] for f in ("amount", "discount", "refund", "quantity", "amount_after_refunds", "cost", "unit_cost")
               if m.get(f)] \
        + [c for c in dict.fromkeys(mapping.amount_plus + mapping.tax_columns + mapping.shipping_columns
                                    + mapping.shipping_discount_columns)
           if c not in m.values()]
    time = m["order_ts"]
    head = f"(SELECT * FROM {q(view)} LIMIT 5000)"
    plain_numbers = " AND ".join(
        f"count(*) FILTER (WHERE {q(c)} IS NOT NULL AND (try_cast({q(c)} AS DOUBLE) IS NULL "
        f"OR regexp_matches({q(c)}, '\\.[0-9]{{3}}$'))) = 0" for c in numbers) or "true"
    counts = con.execute(
        f"SELECT count({q(time)}), {', '.join(f'count(try_strptime({q(time)}, ${i}))' for i in range(1, len(_PLAIN_TIMES) + 1))}, "
        f"{plain_numbers} FROM {head}", list(_PLAIN_TIMES)).fetchall()[0]
    n, numbers_ok = counts[0], counts[-1]
    pattern = next((f for f, k in zip(_PLAIN_TIMES, counts[1:-1]) if n and k == n), None)
    # only strict patterns: the reader's TIMESTAMPTZ reads zone names by ICU's table ("BST" as Bangladesh)
    if not numbers_ok or not n or not pattern:
        return None
    types = {c: "VARCHAR" for c in sn.columns}
    types.update({c: "DOUBLE" for c in numbers})
    types[time] = "TIMESTAMP"
    return types, pattern


def _load_orders(con, sn: Sniff, mapping: Mapping, spec, currency: str | None, view: str, choice: DateChoice,
                 dec: Decimal, typed: bool = False) -> LoadReport:
    """The load itself; ``typed``: numbers and times were parsed by the CSV reader (see ``_typed_columns``)."""
    m = mapping.columns
    tz = _time_zones(con, view, m.get("timezone")) if m.get("timezone") else None
    symbols = not typed and not m.get("currency") and dec.symbols > 0
    # a platform that writes cents (Lemon Squeezy's 1900 = 19.00): only when no amount has a decimal mark (in the
    # file's own text: the typed reader's 1900.0 has one)
    minor = mapping.minor_units and not con.execute(
        f"SELECT count(*) FROM _src_orders WHERE regexp_matches({q(m['amount'])}, '[.,]')").fetchall()[0][0]
    try:
        def build(source_sql: str, one_row_per_order: bool) -> _Parsed:
            return _build_orders(con, mapping, spec, source_sql, one_row_per_order, typed, choice, dec, tz, symbols,
                                 minor)
        # a file with an order id whose format is not one row per line item is built as one row per order first,
        # then checked; only when ids repeat is it rebuilt with de-duplication and grouping (and read again)
        built = bool(m.get("order_id")) and not mapping.line_items
        if built:
            parsed = build(f"(SELECT *, 1 AS _copies FROM {q(view)})", True)
            built = _unique_ids(con, "orders_all", "order_id")
            dedup = None
        if not built:
            dedup = _deduplicated(con, view, sn.columns, m.get("order_id"))
            parsed = build(dedup.source, dedup.one_row_per_order)
        if m.get("refund_of"):  # after the ids are known to be unique (the netting rebuilds the table's row order)
            _net_refund_rows(con)
    except duckdb.Error as exc:
        if typed and not is_ragged(exc):
            raise _NotPlain from exc
        raise

    report = LoadReport("orders", sn.description, mapping.format, spec.label, mapping, typed_read=typed,
                        date_order=choice.order, date_why=choice.why, date_ambiguous=choice.ambiguous,
                        decimal=dec.mark, decimal_why=dec.why)
    if spec.note:
        report.notes.append(spec.note)
    report.amount_basis = _basis_words(mapping)
    if minor:
        report.notes.append(f"amounts are written in cents (every value in '{m['amount']}' is a whole number): "
                            "divided by 100")
    if choice.ambiguous:
        report.warnings.append(f"dates are ambiguous: {choice.why}")
    if dec.warning:
        report.warnings.append(dec.warning)
    if tz and tz[2]:
        report.warnings.append(f"time zones not recognised, read as UTC: {', '.join(tz[2][:5])}")
    n_orders = int(con.execute("SELECT count(*) FROM orders_all").fetchall()[0][0])
    if dedup is None:  # built one row per order: every row read is an order
        report.rows_read = n_orders
    else:
        report.rows_read, report.duplicates_removed = dedup.rows, dedup.duplicates
        report.identical_rows_kept = dedup.identical_kept
        if dedup.note:
            report.notes.append(dedup.note)
    report.records_built = n_orders
    date_label = m["order_ts"] + (f"' + '{m['order_time']}" if m.get("order_time") else "")
    reason_labels = {"no customer id": m["customer_id"] + (f"' / '{m['customer_alt']}" if m.get("customer_alt") else ""),
                     "date could not be read": date_label, _RANGE_REASON: date_label,
                     "amount missing or not a number": m["amount"], _ABSURD_REASON: m["amount"]}
    shown = {"order_id": m.get("order_id") or "order", "cust_raw": m["customer_id"], "ts_raw": date_label,
             "amount_raw": m["amount"]}
    if m.get("refund_of"):  # the examples come from the rows as parsed: not from refund rows netted since
        parsed = _Parsed(f"SELECT * FROM ({parsed.sql}) WHERE order_id NOT IN (SELECT rid FROM _refund_rows)",
                         parsed.params, parsed.products_stored)
    report.excluded = examples(con, "orders_all", "excluded_reason", shown, parsed, without_examples=(REFUND_ROW,))
    netted = report.excluded.pop(REFUND_ROW, None)
    if netted:
        total = con.execute("SELECT sum(refunded) FROM _refund_rows").fetchall()[0][0]
        report.refund_rows = (netted["count"], float(total))
    report.excluded = {(f"{reason} (column '{reason_labels[reason]}')" if reason in reason_labels else reason): info
                       for reason, info in report.excluded.items()}
    valid = n_orders - sum(i["count"] for i in report.excluded.values()) - report.refund_rows[0]
    if valid == 0:
        _raise_nothing_valid(report, m)
    _check_unreadable(report, m, n_orders, mapping.accept_exclusions)

    has_currency = _stored(mapping, "currency", symbols)
    report.currencies = dict(con.execute(
        "SELECT currency, count(*) FROM orders_all WHERE excluded_reason IS NULL AND currency IS NOT NULL "
        "GROUP BY ALL ORDER BY 2 DESC, 1").fetchall()) if has_currency else {}  # a tie: the first by name, as Spark
    if currency and currency.upper() not in report.currencies:
        raise DataError(f"No orders in currency {currency!r}.", column=m.get("currency") or m["amount"],
                        expected=f"one of {', '.join(report.currencies) or 'the currencies in the file'}.")
    report.currency = currency.upper() if currency else next(iter(report.currencies), None)
    if len(report.currencies) > 1:
        where = m.get("currency") or f"{m['amount']} (symbols)"
        rates = {c.upper(): float(r) for c, r in mapping.fx_rates if c.upper() != report.currency}
        converted = _convert(con, report, rates)
        missing = [c for c in report.currencies if c != report.currency and c not in converted]
        if missing:
            report.warnings.append(
                f"Orders are in {len(report.currencies)} currencies ({', '.join(report.currencies)}); "
                + (f"{', '.join(converted)} converted to {report.currency} at your rates, but " if converted else "")
                + f"{', '.join(missing)} {'has' if len(missing) == 1 else 'have'} no rate, so "
                f"{'its' if len(missing) == 1 else 'their'} orders are left out. Give a rate for each (Your data, or "
                f"--fx rates.csv) to analyse every customer in {report.currency}, or choose another currency.")
        con.execute("UPDATE orders_all SET excluded_reason = 'other currency' "
                    "WHERE excluded_reason IS NULL AND currency IS DISTINCT FROM ?", [report.currency])
        other = examples(con, "(SELECT * FROM orders_all WHERE excluded_reason = 'other currency')",
                         "excluded_reason", {"order_id": m.get("order_id") or "order", "customer_id": m["customer_id"],
                                             "currency": where, "amount": m["amount"]})
        for info in other.values():
            report.excluded[f"other currency than {report.currency} (column '{where}')"] = info

    optional = {c: _stored_or_null(mapping, c, symbols) for c in _OPTIONAL_COLUMNS}
    if not parsed.products_stored:  # one row per order: its product is its only one, listed when the view is read
        optional["products"] = ("CASE WHEN product IS NOT NULL THEN [product] END AS products"
                                if _stored(mapping, "product") else "NULL::VARCHAR[] AS products")
    con.execute(f"""
        CREATE OR REPLACE VIEW orders AS
        SELECT order_id, customer_id, order_ts,
               amount + coalesce(discount, 0) AS gross, discount, refund,
               CASE WHEN not_purchase_reason IS NULL THEN amount - coalesce(refund, 0)
                    -- a negative row is money back only as a return or refund: a voided credit note is nothing
                    WHEN amount < 0 AND NOT list_contains($money_back, not_purchase_reason) THEN 0
                    ELSE amount END AS net,
               status, currency, channel, items, product, products, discount_code, country, cost,
               not_purchase_reason IS NULL AS is_purchase, not_purchase_reason
        FROM (SELECT order_id, customer_id, order_ts, amount, {', '.join(optional.values())}, not_purchase_reason
              FROM orders_all WHERE excluded_reason IS NULL)""".replace("$money_back", _sql_list(MONEY_BACK)))
    # the e-mail of each customer keyed by id: events keyed by e-mail join through it (clv.ingest.interactions)
    con.execute("CREATE OR REPLACE TABLE customer_emails AS " + (
        "SELECT email, arg_max(customer_id, n) AS customer_id FROM (SELECT email, customer_id, count(*) AS n "
        "FROM orders_all WHERE excluded_reason IS NULL AND email IS NOT NULL GROUP BY ALL) GROUP BY email"
        if _stored(mapping, "email") else "SELECT NULL::VARCHAR AS email, NULL::VARCHAR AS customer_id LIMIT 0"))
    # ids that look like integers (their first 10,000): counted in a bitmap (_distinct_customers); others (e-mails,
    # Shopify's names) by a distinct count of their own
    numbers = not con.execute(f"SELECT count(*) FROM (SELECT customer_id FROM orders LIMIT 10000) WHERE {_NOT_OWN}"
                              ).fetchall()[0][0]
    groups = con.execute(_REPORT_SCAN[numbers]).fetchall()
    report.kept = sum(g[2] for g in groups)
    report.date_min = min((g[3] for g in groups if g[3] is not None), default=None)
    report.date_max = max((g[4] for g in groups if g[4] is not None), default=None)
    if numbers:
        report.customers = _distinct_customers(
            con, report.kept, min((g[5] for g in groups if g[5] is not None), default=None),
            max((g[6] for g in groups if g[6] is not None), default=None), sum(g[7] for g in groups))
    else:
        report.customers = int(con.execute("SELECT count(DISTINCT customer_id) FROM orders").fetchall()[0][0])
    if _stored(mapping, "cost"):
        report.costs = _cost_coverage(con, mapping)
    # the purchases counted with the reasons for the others, most first
    reasons = _counted((g[0], g[2]) for g in groups)
    purchases = reasons.pop(None, 0)
    report.not_purchases = reasons
    if _stored(mapping, "status"):
        known, chosen = status_table(spec.statuses), mapping.status_choices()
        for status, n in _counted((g[1], g[2]) for g in groups if g[1] is not None).items():
            key = norm_words(status)
            how = "your choice" if key in chosen else "known" if key in known else "not recognised"
            report.statuses.append((status, int(n), {**known, **chosen}.get(key), how))
        report.unrecognised_statuses = {s: n for s, n, _, how in report.statuses if how == "not recognised"}
    if purchases == 0:
        raise DataError("None of the orders counts as a purchase: all are cancelled, unpaid, refunded or returns.",
                        column=m.get("status"), expected="at least one paid order.")
    return report


def _counted(pairs) -> dict:
    """(key, count) pairs summed by key, the largest count first (a tie: by key, None first)."""
    totals: dict = {}
    for key, n in pairs:
        totals[key] = totals.get(key, 0) + int(n)
    return dict(sorted(totals.items(), key=lambda kv: (-kv[1], kv[0] is not None, kv[0] or "")))


_RANGE_REASON = "date before 1990 or after tomorrow"
#: money is stored as exact decimals: sums do not depend on the order in which DuckDB's threads add them, so the
#: same file gives the same customer table (and the same fitted models) on every run
_MONEY = "DECIMAL(18, 4)"
_ABSURD_REASON = "amount, discount or refund not a finite number, or over 1e9"
_ORDER_COLUMNS = ("order_id", "customer_id", "email", "order_ts", "amount", "discount", "refund", "cost", "refund_of",
                  "status", "currency", "channel", "items", "product", "products", "discount_code", "country",
                  "excluded_reason",
                  "not_purchase_reason")
#: columns of orders_all that exist only when the file has the field (else the ``orders`` view says NULL, instead
#: of 10M-order files storing 10M NULLs): column -> (mapped field, or fields of which any will do; type).
#: ``products`` is stored only when line items are grouped into orders (see ``_build_orders``)
_OPTIONAL_COLUMNS = {"discount": ("discount", _MONEY), "refund": (("refund", "refund_of", "amount_after_refunds"), _MONEY),
                     "cost": (("cost", "unit_cost"), _MONEY),
                     "refund_of": ("refund_of", "VARCHAR"), "email": ("customer_email", "VARCHAR"),
                     "status": ("status", "VARCHAR"),
                     "currency": ("currency", "VARCHAR"), "channel": ("channel", "VARCHAR"),
                     "items": ("quantity", "DOUBLE"), "product": ("product", "VARCHAR"),
                     "products": ("product", "VARCHAR[]"), "discount_code": ("discount_code", "VARCHAR"),
                     "country": (("country", "country_alt"), "VARCHAR")}


def _stored(mapping: Mapping, column: str, symbols: bool = False) -> bool:
    if column == "currency" and symbols:
        return True
    if column not in _OPTIONAL_COLUMNS:
        return True
    if column == "cost" and cost_keys(mapping):
        return True
    fields = _OPTIONAL_COLUMNS[column][0]
    return any(mapping.columns.get(f) for f in ((fields,) if isinstance(fields, str) else fields))


def _stored_or_null(mapping: Mapping, column: str, symbols: bool) -> str:
    """``column`` of orders_all, or a NULL of its type when the file has no such field."""
    return column if _stored(mapping, column, symbols) else f"NULL::{_OPTIONAL_COLUMNS[column][1]} AS {column}"


def cost_keys(mapping: Mapping) -> list[tuple[str, str]]:
    """(kind, raw column name) the products file's costs are matched on: the orders' SKU, then their product name
    (only kinds the products file has)."""
    kinds = {k for k, _, _ in mapping.product_costs}
    return [(k, f"{f}_raw") for k, f in (("sku", "sku"), ("name", "product")) if k in kinds and mapping.columns.get(f)]


def _register_costs(con, mapping: Mapping) -> None:
    """The products file's costs as table ``_product_costs`` (kind, key, unit_cost) for the load's join."""
    import pandas as pd
    frame = pd.DataFrame(list(mapping.product_costs) or None, columns=["kind", "key", "unit_cost"])
    con.register("_product_costs_frame", frame)
    try:
        con.execute("CREATE OR REPLACE TEMP TABLE _product_costs AS SELECT CAST(kind AS VARCHAR) AS kind, "
                    "CAST(key AS VARCHAR) AS key, CAST(unit_cost AS DOUBLE) AS unit_cost FROM _product_costs_frame")
    finally:
        con.unregister("_product_costs_frame")


#: a SKU or product name as ``cost_key`` makes it, in SQL
def _cost_key_sql(e: str) -> str:
    return f"nullif(lower(regexp_replace(trim(CAST({e} AS VARCHAR)), '\\s+', ' ', 'g')), '')"


def _time_zones(con, view: str, column: str) -> tuple[list, list, list]:
    """(names in the file, IANA names, names not recognised) for a time-zone column (Square's "Time Zone")."""
    from zoneinfo import available_timezones
    known = available_timezones()
    names = [r[0] for r in con.execute(f"SELECT DISTINCT trim({q(column)}) FROM {q(view)} "
                                       f"WHERE nullif(trim({q(column)}), '') IS NOT NULL LIMIT 1000").fetchall()]
    iana, unknown = [], []
    for n in names:
        z = RAILS_TIME_ZONES.get(n, n if n in known else None)
        if z is None:
            unknown.append(n)
        iana.append(z or "UTC")
    return names, iana, unknown


@dataclass(frozen=True)
class _Parsed:
    """The query that parses and classifies every order of a file, with its parameters."""
    sql: str
    params: dict
    products_stored: bool = False  # orders_all has ``products`` (line items grouped into orders)


def _col(mapping: Mapping, f: str) -> str:
    c = mapping.columns.get(f)
    return q(c) if c else "NULL::VARCHAR"


SKIPPED = "not a sale"


def _build_orders(con, mapping: Mapping, spec, source_sql: str, one_row_per_order: bool, typed: bool,
                  choice: DateChoice, dec: Decimal, tz, symbols: bool, minor: bool = False) -> _Parsed:
    """Table ``orders_all`` from the file's rows in ``source_sql``: one row per order, parsed and classified."""
    m = mapping.columns
    params: dict = {}
    if typed:
        def num(e): return f"CAST({e} AS DOUBLE)"  # a no-op on typed columns; gives unmapped NULLs their type
        def when(e): return f"CAST({e} AS TIMESTAMP)"  # TIMESTAMPTZ in a UTC session: the UTC wall time
        # examples show the time as read, in UTC (the file's own text is not kept by the typed reader)
        shown_time = "strftime(CAST(ts_raw AS TIMESTAMP), '%Y-%m-%d %H:%M:%S') || ' UTC'"
    else:
        params["dec"] = dec.mark
        def num(e): return f"clv_amount({e}, $dec)"
        def when(e):
            sql_, p = date_sql(choice, e)
            params.update(p)
            return sql_
        shown_time = "ts_raw"
    def cash(e):  # money: amounts written in cents (minor) are divided by 100
        return f"({num(e)} / 100.0)" if minor else num(e)

    def amount_of(w) -> str:
        """What the customer paid, from the raw columns (each wrapped by ``w``: a row's own, or an order's any)."""
        a = cash(w("amount_raw"))
        if mapping.amount_times_quantity and m.get("quantity"):
            a = f"{a} * coalesce({num(w('qty_raw'))}, 1)"
        if mapping.amount_plus:  # from its parts (Amazon: item price, tax, shipping, promotions)
            a = f"({a} + " + " + ".join(f"coalesce({cash(w(f'plus{i}'))}, 0)"
                                        for i in range(len(mapping.amount_plus))) + ")"
        return a

    goods_basis = mapping.amount_basis == "goods" and bool(mapping.tax_columns or mapping.shipping_columns)
    less = [("+", c) for c in mapping.tax_columns + mapping.shipping_columns] \
        + [("-", c) for c in mapping.shipping_discount_columns]

    def less_of(w) -> str:
        """Tax and shipping inside what the customer paid (a shipping discount given back)."""
        if not goods_basis:
            return "0"
        return " ".join(f"{sign} coalesce({cash(w(f'less{i}'))}, 0)" for i, (sign, _) in enumerate(less))

    def ident(x): return x
    amount = amount_of(ident)
    raw = {"order_key": f"nullif(trim({_col(mapping, 'order_id')}), '')", "cust_raw": _col(mapping, "customer_id"),
           "alt_raw": _col(mapping, "customer_alt"),
           "ts_raw": _ts_text(mapping) if m.get("order_time") else _col(mapping, "order_ts"),
           "tz_raw": _col(mapping, "timezone"), "amount_raw": _col(mapping, "amount"),
           "discount_raw": _col(mapping, "discount"), "refund_raw": _col(mapping, "refund"),
           "refund_of_raw": _col(mapping, "refund_of"), "adjusted_raw": _col(mapping, "amount_after_refunds"),
           "email_raw": _col(mapping, "customer_email"),
           "status_raw": _col(mapping, "status"), "cancelled_raw": _col(mapping, "cancelled_at"),
           "currency_raw": _col(mapping, "currency"), "channel_raw": _col(mapping, "channel"),
           "qty_raw": _col(mapping, "quantity"), "product_raw": f"nullif(trim({_col(mapping, 'product')}), '')",
           "code_raw": _col(mapping, "discount_code"), "country_raw": _col(mapping, "country"),
           "country_alt_raw": _col(mapping, "country_alt"), "cost_raw": _col(mapping, "cost"),
           "unit_cost_raw": _col(mapping, "unit_cost"), "sku_raw": _col(mapping, "sku")}
    raw.update({f"flag{i}": q(col) for i, (col, _, _) in enumerate(mapping.flags)})
    raw.update({f"skip{i}": q(col) for i, (col, _, _) in enumerate(mapping.skips)})
    raw.update({f"plus{i}": q(col) for i, col in enumerate(mapping.amount_plus)})
    raw.update({f"less{i}": q(col) for i, (_, col) in enumerate(less)})
    lines = ", ".join(f"{expr} AS {name}" for name, expr in raw.items())
    grouped_lines = bool(m.get("order_id")) and not one_row_per_order
    # a line's cost: the cost column, else the cost per unit × the quantity, else the products file's cost of its
    # SKU (else of its product name) × the quantity
    keys = cost_keys(mapping)
    qty = f"coalesce({num('qty_raw')}, 1)"
    line_cost = f"coalesce({cash('cost_raw')}, {cash('unit_cost_raw')} * {qty}"
    line_cost += "".join(f", pc{i}.unit_cost * {qty}" for i in range(len(keys))) + ")"
    joins = "".join(f" LEFT JOIN _product_costs pc{i} ON pc{i}.kind = '{kind}' AND pc{i}.key = {_cost_key_sql('l.' + col)}"
                    for i, (kind, col) in enumerate(keys))
    if keys:
        _register_costs(con, mapping)
    if grouped_lines:
        # one order from its rows: order-level fields may sit on the first row only (Shopify), so take any
        # non-null value; line amounts are summed when the format has one row per item. A row without an order
        # id is an order of its own (grouped by its line number), never merged with other such rows. The
        # order's product is its first line's (file order), so it does not depend on which row DuckDB sees first.
        lines += ", row_number() OVER () AS _line"
        # (an empty text is no value: Parquet line items carry '' where a CSV has nothing)
        grouped = ", ".join(f"any_value({name}) FILTER (WHERE nullif(trim(CAST({name} AS VARCHAR)), '') IS NOT NULL) "
                            f"AS {name}" for name in raw if name not in ("order_key", "product_raw"))
        if mapping.amount_per == "line":
            amount_expr, less_expr = f"sum({amount})", f"sum({less_of(ident)})"
        else:
            amount_expr, less_expr = amount_of(lambda x: f"any_value({x})"), less_of(lambda x: f"any_value({x})")
        # costs per unit and a products file's costs are per line (summed); a cost column follows the amount
        # (an order's cost is known only when every line's is: a part would overstate its margin)
        cost_expr = ("any_value(line_cost)" if m.get("cost") and mapping.amount_per != "line" and not keys
                     and not m.get("unit_cost")
                     else "CASE WHEN count(*) FILTER (WHERE line_cost IS NULL) = 0 THEN sum(line_cost) END")
        products = ""
        if m.get("product"):
            products = (", arg_min(product_raw, _line) AS product_raw, "
                        "list_transform(list_sort(list((_line, product_raw)) FILTER (WHERE product_raw IS NOT NULL)), "
                        "lambda x: x[2]) AS products")
        else:
            products = ", NULL::VARCHAR AS product_raw"
        per_order = (f"SELECT order_key AS order_id, {grouped}{products}, {amount_expr} AS amount_value, "
                     f"{less_expr} AS less_value, {cost_expr} AS line_cost, "
                     f"sum({num('qty_raw')}) AS items FROM lines "
                     f"GROUP BY order_key, CASE WHEN order_key IS NULL THEN _line END")
    else:  # every row is an order
        order_id = "order_key" if m.get("order_id") else "CAST(row_number() OVER () AS VARCHAR)"
        per_order = (f"SELECT {order_id} AS order_id, * EXCLUDE (order_key, _copies), "
                     f"{amount} AS amount_value, {less_of(ident)} AS less_value, {num('qty_raw')} AS items FROM lines")
    lines_sql = (f"SELECT l.*, {line_cost} AS line_cost FROM (SELECT {lines}, _copies FROM {source_sql}) l{joins}"
                 if _stored(mapping, "cost") else f"SELECT {lines}, _copies, NULL::DOUBLE AS line_cost FROM {source_sql}")
    order_ts = when("ts_raw")
    if m.get("timezone"):
        params.update(tz_from=tz[0], tz_to=tz[1])
        order_ts = (f"CASE WHEN list_contains($tz_from, trim(tz_raw)) "
                    f"THEN timezone($tz_to[list_position($tz_from, trim(tz_raw))], {order_ts})::TIMESTAMP "
                    f"ELSE {order_ts} END")
    currency = "nullif(upper(trim(currency_raw)), '')"
    if symbols:
        currency = f"coalesce({currency}, clv_symbol(amount_raw))"
    # statuses are few: each distinct spelling is classified once here (from the first 100,000 rows; spellings
    # that appear only later are classified after the build), not normalised on every row in SQL
    table = status_table({**spec.statuses, **mapping.status_choices()})
    spellings = [r[0] for r in con.execute(
        f"SELECT DISTINCT nullif(lower(trim({_col(mapping, 'status')})), '') FROM (SELECT * FROM {source_sql} "
        f"LIMIT 100000)").fetchall() if r[0] is not None] if m.get("status") else []
    not_purchase = {sp: table[norm_words(sp)] for sp in spellings if table.get(norm_words(sp))}
    flags = "".join(f" WHEN lower(trim(flag{i})) = $flag_value{i} THEN $flag_reason{i}"
                    for i in range(len(mapping.flags)))
    for i, (_, value, reason) in enumerate(mapping.flags):
        params.update({f"flag_value{i}": value, f"flag_reason{i}": reason})
    skips = "".join(f"WHEN lower(trim(skip{i})) = $skip_value{i} THEN $skip_reason{i} "
                    for i in range(len(mapping.skips)))
    for i, (col, value, reason) in enumerate(mapping.skips):
        params.update({f"skip_value{i}": value, f"skip_reason{i}": f"{SKIPPED} ({reason}; column '{col}')"})
    # a column used as an e-mail is compared without case, whatever its values look like
    cust = "lower(clv_id(cust_raw))" if is_email_column(m.get("customer_id")) else "clv_id(cust_raw)"
    alt = "lower(clv_id(alt_raw))" if is_email_column(m.get("customer_alt")) else "clv_id(alt_raw)"
    parsed = f"""
        WITH lines AS ({lines_sql}),
        per_order AS ({per_order}),
        parsed AS (
            SELECT *, CASE WHEN {cust} IS NOT NULL AND NOT list_contains($guest_ids, {cust})
                           THEN {cust} ELSE {alt} END AS customer_id,
                   nullif(lower(trim(email_raw)), '') AS email,
                   {order_ts} AS order_ts, amount_value - less_value AS amount, {cash('discount_raw')} AS discount,
                   -- a refund column, else what the amount after refunds (Etsy's adjusted total) takes off
                   -- (on the goods basis, the share of goods in what was paid: refunds include tax and shipping)
                   coalesce({cash('refund_raw')}, CASE WHEN {cash('adjusted_raw')} > 0
                                                     THEN amount_value - {cash('adjusted_raw')} END)
                   * CASE WHEN amount_value > 0 AND less_value <> 0 THEN (amount_value - less_value) / amount_value
                          ELSE 1 END AS refund,
                   line_cost AS cost,
                   nullif(trim(refund_of_raw), '') AS refund_of, nullif(lower(trim(status_raw)), '') AS status,
                   nullif(trim(cancelled_raw), '') AS cancelled_at, {currency} AS currency,
                   nullif(trim(channel_raw), '') AS channel, product_raw AS product,
                   -- WooCommerce's coupon cells read "code:save10;amount:5.00": the code alone
                   nullif(upper(trim(regexp_replace(code_raw, '^\\s*code:([^;|]*).*$', '\\1'))), '') AS discount_code,
                   coalesce(nullif(trim(country_raw), ''), nullif(trim(country_alt_raw), '')) AS country
            FROM per_order)
        SELECT order_id, customer_id, email, order_ts, amount, discount, refund, cost, refund_of, status, currency, channel, items,
            product, {'products' if grouped_lines and m.get('product') else 'NULL::VARCHAR[] AS products'},
            discount_code, country,
            CASE {skips}WHEN customer_id IS NULL THEN 'no customer id'
                 WHEN order_ts IS NULL THEN 'date could not be read'
                 WHEN order_ts < $earliest OR order_ts >= $latest THEN '{_RANGE_REASON}'
                 WHEN amount IS NULL THEN 'amount missing or not a number'
                 WHEN NOT isfinite(amount) OR abs(amount) > $max_amount OR NOT isfinite(coalesce(discount, 0))
                      OR abs(coalesce(discount, 0)) > $max_amount OR NOT isfinite(coalesce(refund, 0))
                      OR abs(coalesce(refund, 0)) > $max_amount THEN '{_ABSURD_REASON}' END AS excluded_reason,
            -- the file's own text, for the report's examples of excluded orders (not stored in orders_all)
            cust_raw, {shown_time} AS ts_raw, CAST(amount_raw AS VARCHAR) AS amount_raw,
            CASE WHEN cancelled_at IS NOT NULL THEN 'cancelled'{flags}
                 WHEN list_contains($np_status, status) THEN $np_reason[list_position($np_status, status)]
                 WHEN $returns_by_prefix AND upper(order_id) LIKE 'C%' THEN 'return (credit note)'
                 WHEN amount < 0 THEN 'return (negative amount)'
                 WHEN amount > 0 AND refund >= amount THEN 'fully refunded'
                 WHEN amount = 0 THEN 'zero amount' END AS not_purchase_reason
        FROM parsed"""
    params.update({"np_status": list(not_purchase), "np_reason": list(not_purchase.values()),
                   "returns_by_prefix": spec.returns_by_prefix, "guest_ids": list(mapping.guest_ids) or [""],
                   "earliest": EARLIEST, "latest": latest_allowed(), "max_amount": MAX_AMOUNT})
    # the table keeps what later steps use; the file's own text of excluded orders (examples in the report) is
    # read again from ``parsed`` when there are any, instead of costing 10M-order files a column each
    money = {c: f"CASE WHEN excluded_reason IS NULL THEN CAST({c} AS {_MONEY}) END AS {c}"
             for c in ("amount", "discount", "refund")}
    # a refund row is netted into its order whatever its own customer column says (_net_refund_rows)
    # a cost that is not a finite number ≥ 0 is no cost (the order falls back to the margin; counted in the report)
    money["cost"] = (f"CASE WHEN excluded_reason IS NULL AND isfinite(cost) AND cost >= 0 AND cost <= $max_amount "
                     f"THEN CAST(cost AS {_MONEY}) END AS cost")
    money["amount"] = (f"CASE WHEN excluded_reason IS NULL OR (refund_of IS NOT NULL AND isfinite(amount) AND "
                       f"abs(amount) <= $max_amount) THEN CAST(amount AS {_MONEY}) END AS amount")
    products_stored = grouped_lines and bool(m.get("product"))
    stored = ", ".join(money.get(c, c) for c in _ORDER_COLUMNS
                       if _stored(mapping, c, symbols) and (c != "products" or products_stored))
    con.execute(f"CREATE OR REPLACE TABLE orders_all AS SELECT {stored} FROM ({parsed})", params)
    if m.get("status"):
        late = [r[0] for r in con.execute("SELECT DISTINCT status FROM orders_all WHERE status IS NOT NULL "
                                          "AND NOT list_contains($seen, status)", {"seen": spellings}).fetchall()]
        for status in late:
            if table.get(norm_words(status)):  # as the CASE above: a status outranks the amount's own verdict
                con.execute("UPDATE orders_all SET not_purchase_reason = ? WHERE status = ? AND (not_purchase_reason "
                            "IS NULL OR not_purchase_reason IN ('return (negative amount)', 'fully refunded', "
                            "'zero amount'))", [table[norm_words(status)], status])
    return _Parsed(parsed, params, products_stored)


REFUND_ROW = "refund row, netted into the order it refunds"
#: the reasons for which a negative amount is money paid back to the customer (subtracted from revenue)
MONEY_BACK = ("return (negative amount)", "return (credit note)", "fully refunded")


def _cost_coverage(con, mapping: Mapping) -> dict:
    """How many purchases carry a cost, and their share of revenue (the report and the pages say it)."""
    m = mapping.columns
    where = [f"'{m[f]}'" for f in ("cost", "unit_cost") if m.get(f)]
    if cost_keys(mapping):
        where.append("a products file, by " + " then ".join(f"'{m['sku' if k == 'sku' else 'product']}'"
                                                          for k, _ in cost_keys(mapping)))
    return {"source": " and ".join(where), **cost_totals(con)}


def cost_totals(con, end=None) -> dict:
    """Purchases (up to the day ``end``, inclusive; None: all), how many carry a product cost, their revenue and
    the revenue and cost of those that do — what the report says and what clv.margins measures the margin from."""
    n, k, revenue, covered, cost = con.execute(
        "SELECT count(*), count(cost), coalesce(sum(net), 0), coalesce(sum(net) FILTER (WHERE cost IS NOT NULL), 0), "
        "coalesce(sum(cost), 0) FROM orders WHERE is_purchase AND ($end IS NULL OR order_ts < $end::DATE + 1)",
        {"end": end}).fetchall()[0]
    return {"purchases": int(n), "with_cost": int(k), "revenue": float(revenue), "revenue_with_cost": float(covered),
            "cost": float(cost)}


def _sql_list(values) -> str:
    """Constant strings of this module as a SQL list literal (a view cannot take parameters)."""
    return "[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


def _net_refund_rows(con) -> None:
    """Rows that refund another order of the file (a negative amount whose ``refund_of`` is that order's id:
    WooCommerce's shop_order_refund, PayPal's refund tied by Reference Txn ID, a credit note naming its invoice)
    are netted against that order, whatever their own customer column says; a refund of the whole amount makes
    the order fully refunded. The rows themselves are then no orders (counted in the report)."""
    con.execute("""
        CREATE OR REPLACE TEMP TABLE _refund_rows AS
        SELECT r.order_id AS rid, r.refund_of AS parent, -r.amount_value AS refunded
        FROM (SELECT order_id, refund_of, CAST(amount AS DOUBLE) AS amount_value FROM orders_all
              WHERE refund_of IS NOT NULL AND refund_of <> order_id) r
        JOIN (SELECT order_id FROM orders_all WHERE excluded_reason IS NULL) p ON p.order_id = r.refund_of
        WHERE r.amount_value < 0""")
    if not con.execute("SELECT count(*) FROM _refund_rows").fetchall()[0][0]:
        return
    # the table rebuilt with the refunds in it: at 10M orders 1.3 s, where UPDATE ... FROM took 3 to 7 s
    con.execute(f"""
        CREATE OR REPLACE TABLE _orders_netted AS
        SELECT o.* REPLACE (
            CASE WHEN s.refunded IS NULL THEN o.refund
                 ELSE CAST(coalesce(o.refund, 0) + s.refunded AS {_MONEY}) END AS refund,
            CASE WHEN s.refunded IS NOT NULL AND o.not_purchase_reason IS NULL AND o.amount > 0
                      AND coalesce(o.refund, 0) + s.refunded >= o.amount THEN 'fully refunded'
                 ELSE o.not_purchase_reason END AS not_purchase_reason,
            CASE WHEN r.rid IS NOT NULL THEN $reason ELSE o.excluded_reason END AS excluded_reason)
        FROM orders_all o
        LEFT JOIN (SELECT parent, sum(refunded) AS refunded FROM _refund_rows GROUP BY parent) s ON o.order_id = s.parent
        LEFT JOIN (SELECT DISTINCT rid FROM _refund_rows) r ON o.order_id = r.rid""", {"reason": REFUND_ROW})
    con.execute("DROP TABLE orders_all")
    con.execute("ALTER TABLE _orders_netted RENAME TO orders_all")


#: SQL: the order's customer id is not an integer written as its own number ("7" is; "007", "+7", "x@y.com" are not)
_NOT_OWN = "try_cast(customer_id AS BIGINT) IS NULL OR CAST(try_cast(customer_id AS BIGINT) AS VARCHAR) <> customer_id"
#: the load report's one scan of the kept orders, a group per (reason, status): the count, the dates' range and, when
#: the ids are integers, their range and how many are not written as their own number (_distinct_customers) — three
#: scans before (the load of 100M orders 1.1-1.2 s faster)
_REPORT_SCAN = {
    True: "SELECT not_purchase_reason, status, count(*), min(order_ts), max(order_ts), "
          "min(try_cast(customer_id AS BIGINT)), max(try_cast(customer_id AS BIGINT)), "
          "count(*) FILTER (WHERE " + _NOT_OWN + ") FROM orders GROUP BY ALL",
    False: "SELECT not_purchase_reason, status, count(*), min(order_ts), max(order_ts), NULL, NULL, NULL "
           "FROM orders GROUP BY ALL"}


def _distinct_customers(con, n: int, lo: int | None, hi: int | None, other: int) -> int:
    """count(DISTINCT customer_id) over the kept orders (``n`` of them), exact. When every id is an integer written
    as its own number (no plus sign, leading zero, space or decimals: ``other`` = 0 such ids, so different texts are
    different numbers) in a range ``lo``..``hi`` of at most 8 per order, a bitmap over the range counts them
    (bitstring_agg: at 30M orders 2.6 s instead of 8.5 s for hashing the texts); other ids by the distinct count."""
    if n and not other and hi - lo < 8 * n + (1 << 20):
        return int(con.execute("SELECT bit_count(bitstring_agg(CAST(customer_id AS BIGINT), $lo, $hi)) FROM orders",
                               {"lo": lo, "hi": hi}).fetchall()[0][0])
    return int(con.execute("SELECT count(DISTINCT customer_id) FROM orders").fetchall()[0][0])


def _unique_ids(con, table: str, column: str) -> bool:
    """Whether every row of ``table`` has its own, non-null ``column``.

    Integer ids (the usual export) are checked in numpy: in file order they are mostly increasing already, else a
    bitmap over their range; other ids by DuckDB's distinct count. Different integers are different texts, so a
    True from the integer check is exact; a False ("7" and "07") falls through to the exact count.
    """
    ids = con.execute(f"SELECT try_cast({q(column)} AS BIGINT) AS i FROM {q(table)}").fetchnumpy()["i"]
    if len(ids) < 2:
        return len(ids) == 0 or not np.ma.is_masked(ids)
    if not np.ma.is_masked(ids):
        ids = np.asarray(ids)
        if (ids[1:] > ids[:-1]).all() or (ids[1:] < ids[:-1]).all():
            return True
        lo, hi = int(ids.min()), int(ids.max())
        if hi - lo < 8 * len(ids) + (1 << 20):
            seen = np.zeros(hi - lo + 1, dtype=bool)
            seen[ids - lo] = True
            if seen.sum() == len(ids):
                return True
    n, distinct = con.execute(f"SELECT count(*), count(DISTINCT {q(column)}) FROM {q(table)}").fetchall()[0]
    return n == distinct


@dataclass(frozen=True)
class _Dedup:
    source: str
    rows: int
    duplicates: int
    one_row_per_order: bool
    identical_kept: int = 0
    note: str | None = None


def _deduplicated(con, view: str, columns, key: str | None) -> _Dedup:
    """How rows become orders, decided by one cheap pass of hash counts.

    With an order id: exact copies of a row are export artefacts and removed (counted). Without one, identical
    rows are separate purchases (two identical coffees on one day) and kept — unless the whole file is the same
    export pasted k times (every row exactly k times), which is de-duplicated with a note. Hash collisions can
    only send a file down the slower, exact path.
    """
    v = q(view)
    if key:
        rows, distinct_keys = con.execute(f"SELECT count(*), count(DISTINCT hash({q(key)})) FROM {v}").fetchall()[0]
        if rows == distinct_keys:
            return _Dedup(f"(SELECT *, 1 AS _copies FROM {v})", int(rows), 0, True)
    row_hash = "hash(" + ", ".join(q(c) for c in columns) + ")"
    rows, distinct = con.execute(f"SELECT count(*), count(DISTINCT {row_hash}) FROM {v}").fetchall()[0]
    plain = f"(SELECT *, 1 AS _copies FROM {v})"
    if rows == distinct:
        return _Dedup(plain, int(rows), 0, not key)
    every = ", ".join(q(c) for c in columns)
    # k: the largest number of times every distinct row could have been pasted (the gcd of their counts) — an
    # export that already held identical rows, pasted twice, has counts 2 and 4: k = 2, not "no paste"
    k, uniq = con.execute(f"SELECT list_reduce(list(n), lambda a, b: gcd(a, b)), count(*) "
                          f"FROM (SELECT count(*) AS n FROM {v} GROUP BY {every})").fetchall()[0]
    if key:
        return _Dedup(f"(SELECT *, count(*) AS _copies FROM {v} GROUP BY ALL)", int(rows), int(rows - uniq), False)
    if k >= 2 and uniq >= 2 and _repeated_block(con, v, row_hash, int(rows), int(k)):
        block = int(rows) // int(k)  # the first copy of the export, its own identical rows (separate purchases) kept
        first = (f"(SELECT * EXCLUDE (_rn), 1 AS _copies FROM (SELECT *, row_number() OVER () - 1 AS _rn FROM {v}) "
                 f"WHERE _rn < {block})")
        return _Dedup(first, int(rows), int(rows) - block, True, identical_kept=block - int(uniq),
                      note=f"the file is the same {block:,} rows pasted {k} times in a row: read once")
    return _Dedup(plain, int(rows), 0, True, identical_kept=int(rows - uniq))


def _repeated_block(con, view: str, row_hash: str, rows: int, k: int) -> bool:
    """Whether the rows are one block of rows // k rows repeated k times, in order (an export pasted k times)."""
    block = rows // k
    return con.execute(f"""
        SELECT count(DISTINCT (rn % $block, h)) = $block
        FROM (SELECT {row_hash} AS h, row_number() OVER () - 1 AS rn FROM {view})""", {"block": block}).fetchall()[0][0]


#: the reasons that are values clv could not read (not business facts such as a guest order or a cancellation)
_UNREADABLE = ("date could not be read", _RANGE_REASON, "amount missing or not a number", _ABSURD_REASON)
#: above this share of orders excluded for unreadable values, a load is refused unless the user accepts it
MAX_UNREADABLE = 0.2
ACCEPT_HOW = ("to leave these orders out and go on: --accept-exclusions on the command line, or 'Leave them out and "
              "go on' on Your data")


def _convert(con, report: LoadReport, rates: dict) -> dict:
    """Amounts in another currency with a rate (1 unit = ``rate`` of the analysed currency) converted into the
    analysed currency; the report says which, at what rate, how many orders. Returns the converted currencies."""
    done = {}
    for cur, rate in rates.items():
        if cur not in report.currencies:
            continue
        if not (rate > 0 and rate < 1e6):
            raise DataError(f"The exchange rate for {cur} is {rate!r}.", expected=f"a positive number: what one {cur} "
                                                                               f"is worth in {report.currency}.")
        con.execute(f"""
            UPDATE orders_all SET {', '.join(f"{c} = CAST({c} * $rate AS {_MONEY})" for c in ('amount', 'discount', 'refund', 'cost')
                                             if c in _stored_columns(con))}, currency = $to
            WHERE excluded_reason IS NULL AND currency = $cur""", {"rate": rate, "to": report.currency, "cur": cur})
        done[cur] = rate
    if done:
        report.notes.append(f"orders in {', '.join(done)} converted to {report.currency} at your rates ("
                            + ", ".join(f"1 {c} = {r:g} {report.currency}" for c, r in done.items()) + "): "
                            + ", ".join(f"{report.currencies[c]:,} {c} orders" for c in done))
        report.converted = dict(done)
    return done


def _stored_columns(con) -> set:
    return {r[0] for r in con.execute("SELECT column_name FROM (DESCRIBE orders_all)").fetchall()}


def _basis_words(mapping: Mapping) -> str:
    """What revenue is on this load, in the file's own column names (the report and Your data say it)."""
    m = mapping.columns
    paid = " + ".join(f"'{c}'" for c in (m["amount"], *mapping.amount_plus))
    less = mapping.tax_columns + mapping.shipping_columns
    if mapping.amount_basis == "goods" and less:
        minus = " − ".join(f"'{c}'" for c in less) + "".join(f" + '{c}'" for c in mapping.shipping_discount_columns)
        return (f"what customers paid for goods, after discounts and refunds, without tax and shipping: {paid} − "
                f"{minus} (refunds in the same proportion)")
    if less:
        return f"everything customers paid, tax and shipping included: {paid}, after refunds (as you chose)"
    return (f"{paid} as the export writes it, after refunds (this export has no separate tax or shipping columns, so "
            f"whatever it includes stays in)")


def _check_unreadable(report: LoadReport, m: dict, n_orders: int, accepted: bool) -> None:
    """Refuse (or, when accepted, warn) when values that could not be read exclude over MAX_UNREADABLE of the
    orders: the numbers from the rest would be wrong without a word."""
    bad = {r: i for r, i in report.excluded.items() if r.split(" (column '")[0] in _UNREADABLE}
    n_bad = sum(i["count"] for i in bad.values())
    if not n_orders or n_bad <= MAX_UNREADABLE * n_orders:
        return
    reason, info = max(bad.items(), key=lambda kv: kv[1]["count"])
    said = (f"{n_bad:,} of {n_orders:,} orders ({n_bad / n_orders:.0%}) have a value that could not be read, "
            f"mostly {reason}")
    if accepted:
        report.warnings.append(f"{said}: left out, as you accepted — every number is from the other orders only")
        return
    column = next((c for c in (m["order_ts"], m["amount"]) if f"'{c}" in reason), None)
    expected = {m["order_ts"]: DATE_HELP, m["amount"]: "numbers like 12.50, 1,234.50 or 12,50"}.get(column, "")
    raise DataError(f"{said}. Numbers from the rest alone would be wrong, so none are shown.", column=column,
                    example=(info["examples"] or [None])[0],
                    expected=f"{expected + '; ' if expected else ''}{ACCEPT_HOW}.")


def _raise_nothing_valid(report: LoadReport, m: dict) -> None:
    reason, info = max(report.excluded.items(), key=lambda kv: kv[1]["count"])
    column = next((c for c in (m["customer_id"], m["order_ts"], m["amount"]) if f"'{c}" in reason), None)
    expected = {m["order_ts"]: DATE_HELP + ".", m["amount"]: "numbers like 12.50, 1,234.50 or 12,50.",
                m["customer_id"]: "a customer id or email on every order."}.get(column)
    raise DataError(f"No usable order in the file: every order was excluded, mostly for '{reason}'.",
                    column=column, example=(info["examples"] or [None])[0], expected=expected)
