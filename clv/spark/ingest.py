"""Orders and events on Spark with the app's column mapping and data rules (clv.ingest), for typed lake tables.

What is honoured as in clv.ingest.orders: the format registry's mapping (``detect_format`` on the column
names), customer ids (trimmed, e-mails lower-cased, "17850.0" -> "17850", guest ids), one row per order id with
exact copies removed and line items grouped (amounts summed per line or taken once per order), identical rows
without an order id kept as separate purchases, the status vocabulary, cancellations, flag columns, credit-note
ids, returns (negative amounts), full refunds, zero amounts, refunds subtracted, one currency, money as exact
DECIMAL(18, 4), orders dated before 1990 or after tomorrow and absurd amounts excluded, and each order's product
cost (a cost column, a cost per unit × quantity, or a products file's cost per SKU or product name × quantity;
an order of several lines has a cost only when every line has one), from which ``cost_totals`` measures the margin
as clv.margins does.

What a lake table is expected to be: times as timestamps (or ISO text), amounts as numbers (or plain numeric
text). Where the app would read further conventions (day-first dates, decimal commas, currency symbols, a
separate time or time-zone column, an export pasted k times), Spark refuses with a DataError naming the
column instead of reading the data differently.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from ..errors import DataError
from ..ingest import REQUIRED_INTERACTION_FIELDS, REQUIRED_ORDER_FIELDS, Mapping, detect_format, detect_interaction_mapping
from ..ingest.dates import EARLIEST, ZONE_OFFSETS, ZONE_RE, latest_allowed
from ..ingest.fields import is_email_column, norm_words
from ..ingest.formats import FORMATS
from ..ingest.orders import MONEY_BACK, REFUND_ROW, SKIPPED, cost_keys, check_mapping
from ..ingest.values import MAX_AMOUNT
from ..ingest.vocabulary import EVENT_ALIASES, status_table

__all__ = ["read_table", "load_orders", "load_interactions", "SparkOrders", "MONEY", "cost_totals"]

#: as clv.ingest.orders._MONEY: exact sums whatever order the executors add them in
MONEY = T.DecimalType(18, 4)
#: ISO shapes read from text (Spark's cast reads 2024-01-31, 2024-01-31 14:05:00[.fff][Z|+01:00], T separators)
_TIME_PATTERNS = ("yyyy-MM-dd HH:mm:ss Z", "yyyy-MM-dd HH:mm Z", "yyyy-MM-dd'T'HH:mm:ssZ",
                  "yyyy-MM-dd HH:mm:ss.SSSSSS Z")
#: distinct status spellings classified on the driver (a status column with more is not a status column)
_MAX_STATUSES = 10_000


@dataclass
class SparkOrders:
    """The canonical ``orders`` of clv.ingest (customer_id, order_ts, net, discount, refund, cost, channel,
    is_purchase, not_purchase_reason, order_id) as a Spark DataFrame, with what was decided on the way."""
    orders: DataFrame
    mapping: Mapping
    currency: str | None
    currencies: dict


def read_table(spark: SparkSession, paths) -> DataFrame:
    """Parquet or CSV files or folders (Delta folders when delta-spark is installed), as one DataFrame.

    CSV is read as text with a header (every value a string, parsed by the rules below), quotes doubled inside
    quoted fields (RFC 4180), line breaks allowed inside them."""
    paths = [str(p) for p in ([paths] if isinstance(paths, (str, Path)) else paths)]
    kinds = {_kind(p) for p in paths}
    if len(kinds) > 1:
        raise DataError("The orders are in several kinds of files.", expected="all parts Parquet, all CSV or one "
                                                                              "Delta table.")
    kind = kinds.pop()
    if kind == "delta":
        try:
            return spark.read.format("delta").load(*paths)
        except Exception as exc:  # the Delta reader is missing unless delta-spark is installed and configured
            raise DataError(f"{paths[0]} is a Delta table, and Spark cannot read Delta here ({type(exc).__name__}).",
                            expected="delta-spark installed and configured, or the table exported as Parquet.") \
                from None
    if kind == "parquet":
        return spark.read.parquet(*paths)
    # multiLine: a quoted field may hold line breaks (customers' notes), as the app reads them; a line-by-line
    # read would cut such a row in two and make a customer of the second half. It reads each file in one task:
    # split big CSV exports into parts, or keep the table as Parquet
    sep, encoding = ",", "UTF-8"
    if all(Path(p).is_file() for p in paths):
        # files on this machine: the delimiter and encoding the default engine finds (clv.ingest.sniff), so a
        # semicolon-separated or Latin-1 export reads the same on both engines
        from ..ingest import sniff
        sn = sniff(paths[0])
        if sn.origin:
            raise DataError(f"{Path(paths[0]).name} is a text table that is not plain CSV ({sn.origin}).",
                            expected="CSV or Parquet files for --engine spark, or the default engine.")
        if sn.kind == "csv":
            sep, encoding = sn.delimiter, sn.encoding
    return spark.read.options(header=True, escape='"', multiLine=True, encoding=encoding, sep=sep).csv(paths)


def _kind(path: str) -> str:
    p = Path(path)
    if p.is_dir():
        if (p / "_delta_log").is_dir():
            return "delta"
        names = [f.name.lower() for f in p.rglob("*") if f.is_file() and not f.name.startswith(("_", "."))]
        if names and all(".parquet" in n for n in names):
            return "parquet"
        if names and all(".csv" in n for n in names):
            return "csv"
        raise DataError(f"The folder {path} holds neither only Parquet nor only CSV files.",
                        expected="a folder of .parquet (or .csv) parts, or a Delta table.")
    name = p.name.lower()
    if name.endswith(".parquet"):
        return "parquet"
    if name.endswith((".csv", ".csv.gz", ".txt")):
        return "csv"
    if not p.exists():
        raise DataError(f"{path} does not exist.", expected="a Parquet or CSV file or folder.")
    raise DataError(f"{p.name} is not a file Spark reads here.", expected="Parquet or CSV (.csv, .csv.gz) files or "
                    "folders, or a Delta table; convert Excel or zip exports, or use the default engine.")


# -- values -------------------------------------------------------------------------------------------------

def _text(c: Column) -> Column:
    return F.nullif(F.trim(c.cast("string")), F.lit(""))


def clv_id(c: Column) -> Column:
    """clv.ingest.values' ``clv_id`` macro: trimmed; e-mails lower-cased; "17850.0" -> "17850"; '0123 -> 0123."""
    t = F.trim(c.cast("string"))
    numeric = F.when(t.endswith(".0") & t.rlike(r"^[+-]?[0-9]+\.0$"),
                     t.try_cast("double").try_cast(T.DecimalType(38, 0)).cast("string"))
    email = t.rlike(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    return F.coalesce(numeric, F.when(email, F.nullif(F.lower(t), F.lit("")))
                      .when(t.rlike(r"^'[0-9]+$"), F.substring(t, 2, 1 << 20))
                      .otherwise(F.nullif(t, F.lit(""))))


class _Checks:
    """Value checks of a table, run together in one pass: each is (column, what, condition of a bad value)."""

    def __init__(self, df: DataFrame):
        self.df = df
        self.items: list[tuple[str, str, Column, str]] = []

    def add(self, column: str, bad: Column, message: str, expected: str) -> None:
        self.items.append((column, message, bad, expected))

    def run(self, *extra: Column) -> list:
        """Raise a DataError (with an example value) for the first check that fails; return the row count and
        the ``extra`` aggregates, computed in the same pass."""
        examples = [F.first(F.when(bad, F.col(_ident(c)).cast("string")), ignorenulls=True)
                    for c, _, bad, _ in self.items]
        row = self.df.agg(F.count(F.lit(1)), *examples, *extra).first()
        for (column, message, _, expected), value in zip(self.items, row[1:]):
            if value is not None:
                raise DataError(message, column=column, example={column: value}, expected=expected)
        return [row[0], *row[1 + len(self.items):]]


def _number(df: DataFrame, column: str | None, what: str, checks: _Checks) -> Column:
    """A mapped amount column as DOUBLE. Numbers pass; text must be plain numbers ("12.50", "-3"): anything the
    app would read with another convention (decimal commas, symbols, "1.234") is refused, naming the column."""
    if not column:
        return F.lit(None).cast("double")
    kind = df.schema[column].dataType
    c = F.col(_ident(column))
    if isinstance(kind, T.NumericType):
        return c.cast("double")
    if not isinstance(kind, T.StringType):
        raise DataError(f"The {what} column holds {kind.simpleString()} values, not numbers.", column=column,
                        expected="a numeric column (or plain numbers as text).")
    text = F.trim(c)
    checks.add(column, F.nullif(text, F.lit("")).isNotNull()
               & (text.try_cast("double").isNull() | text.rlike(r"\.[0-9]{3}$") | ~text.rlike(r"^[+-]?[0-9.eE+-]+$")),
               f"The {what} column holds text that is not a plain number.",
               "numbers like 12.50 or -3 (a number column in the table, or the default engine, which reads decimal "
               "commas, currency symbols and thousands separators).")
    return F.nullif(text, F.lit("")).try_cast("double")


def _time(df: DataFrame, column: str, what: str, checks: _Checks) -> Column:
    """A mapped time column as a UTC TIMESTAMP: timestamps and dates pass, ISO text is parsed (offsets and zone names like PDT applied);
    any other text is refused naming the column (the app would guess its day/month order)."""
    kind = df.schema[column].dataType
    c = F.col(_ident(column))
    if isinstance(kind, (T.TimestampType, T.TimestampNTZType, T.DateType)):
        return c.cast("timestamp")
    if not isinstance(kind, T.StringType):
        raise DataError(f"The {what} column holds {kind.simpleString()} values, not times.", column=column,
                        expected="a timestamp column or ISO times like 2024-01-31 14:05:00.")
    text = F.trim(c)
    parsed = F.coalesce(_iso_time(text), _zoned_time(text))
    checks.add(column, F.nullif(text, F.lit("")).isNotNull() & parsed.isNull(),
               f"The {what} column holds times that are not ISO times.",
               "a timestamp column or ISO times (2024-01-31, 2024-01-31 14:05:00 +0100); the default engine reads "
               "day-first and month-first dates.")
    return parsed


def _iso_time(text: Column) -> Column:
    # Spark's cast reads zone names by Java's short ids ("BST" as Dhaka, "PST" with daylight saving): times with
    # a zone name are read by the one table of clv.ingest.dates instead (_zoned_time)
    named = text.rlike(":[0-9]{2}[^A-Za-z]*[A-Za-z]{2}")
    return F.when(~named, F.coalesce(text.try_cast("timestamp"),
                                     *(F.try_to_timestamp(text, F.lit(p)) for p in _TIME_PATTERNS)))


def _zoned_time(text: Column) -> Column:
    """As clv.ingest.dates.date_sql: a time with a trailing zone ("PDT", "GMT+1", "(UTC+05:30)") read without it,
    its offset (ZONE_OFFSETS) then taken off."""
    abbr, sign = F.regexp_extract(text, ZONE_RE, 2), F.regexp_extract(text, ZONE_RE, 3)
    body = F.when((abbr != "") | (sign != ""), F.regexp_extract(text, ZONE_RE, 1))
    offsets = F.create_map(*[F.lit(x) for k, v in ZONE_OFFSETS.items() for x in (k, v)])
    minutes = F.coalesce(offsets[abbr], F.lit(0)) + F.when(sign == "", 0).otherwise(
        F.when(sign == "-", -1).otherwise(1) * (60 * F.regexp_extract(text, ZONE_RE, 4).cast("int")
                                                 + F.coalesce(F.regexp_extract(text, ZONE_RE, 5).try_cast("int"),
                                                              F.lit(0))))
    local = _iso_time(body)
    return F.timestamp_micros(F.unix_micros(local) - minutes.cast("long") * 60_000_000)


def _ident(column: str) -> str:
    """A column name as Spark's col() takes it literally (backticks doubled inside backticks)."""
    return "`" + column.replace("`", "``") + "`"


# -- orders ---------------------------------------------------------------------------------------------------

def load_orders(spark: SparkSession, paths, fmt: str | None = None, mapping: Mapping | None = None,
                currency: str | None = None) -> SparkOrders:
    """The canonical orders of ``paths`` (see the module docstring for the rules honoured and refused)."""
    raw = read_table(spark, paths)
    mapping = mapping or detect_format(tuple(raw.columns), fmt)
    check_mapping(mapping, tuple(raw.columns), REQUIRED_ORDER_FIELDS, "orders")
    m = mapping.columns
    for field, why in (("order_time", "a separate time column"), ("timezone", "a time-zone column")):
        if m.get(field):
            raise DataError(f"Spark reads order times from one timestamp column; this table has {why}.",
                            column=m[field], expected="one timestamp column (UTC or with an offset), or the "
                                                      "default engine.")
    if mapping.date_order not in ("auto", None) or mapping.decimal not in ("auto", "dot", None):
        raise DataError("Spark reads ISO times and decimal points only.", column=m["order_ts"],
                        expected="--date-format auto and --decimal auto/dot with --engine spark.")
    spec = FORMATS.get(mapping.format, FORMATS["generic"])
    checks = _Checks(raw)
    fields = _fields(raw, mapping, checks)
    status = F.nullif(F.lower(F.trim(fields["status_raw"])), F.lit(""))
    rows, ids, spellings = checks.run(F.count_distinct(fields["order_key"]) if m.get("order_id") else F.lit(None),
                                      F.collect_set(status) if m.get("status") else F.lit(None))
    grouped = bool(m.get("order_id")) and ids != rows
    source = raw.distinct() if grouped else raw if m.get("order_id") else _without_ids(raw, mapping)
    lines = source.select(*(e.alias(n) for n, e in fields.items()), F.monotonically_increasing_id().alias("_line"))
    per_order = _per_order(lines, mapping, grouped)
    parsed = _classified(per_order, mapping, spec, _status_reasons(spellings or [], spec, mapping))
    # kept: the currency count, the customer table and the scores all read it (MEMORY_AND_DISK spills)
    valid = parsed.where(F.col("excluded_reason").isNull()).drop("excluded_reason").persist()
    currencies, chosen = _currencies(valid, mapping, currency)
    rates = {c.upper(): float(r) for c, r in mapping.fx_rates if c.upper() != chosen and c.upper() in currencies}
    if rates:  # as clv.ingest.orders._convert: the founder's rates into the analysed currency
        rate = F.create_map(*[F.lit(x) for kv in rates.items() for x in kv])[F.col("currency")]
        valid = valid.select(*[(F.col(c) * F.coalesce(rate, F.lit(1.0))).cast(MONEY).alias(c)
                               if c in ("amount", "discount", "refund", "cost") else F.col(c) for c in valid.columns])
        valid = valid.withColumn("currency", F.when(rate.isNotNull(), F.lit(chosen)).otherwise(F.col("currency")))
    if len(currencies) > 1:
        valid = valid.where(F.col("currency").eqNullSafe(F.lit(chosen)))
    orders = valid.select(
        "order_id", "customer_id", "order_ts", "discount", "refund", "cost", "channel", "not_purchase_reason",
        F.when(F.col("not_purchase_reason").isNull(), F.col("amount") - F.coalesce(F.col("refund"), F.lit(0)))
        # a negative row is money back only as a return or refund (clv.ingest.orders.MONEY_BACK)
        .when((F.col("amount") < 0) & ~F.col("not_purchase_reason").isin(list(MONEY_BACK)), F.lit(0))
        .otherwise(F.col("amount")).cast(T.DecimalType(19, 4)).alias("net"),
        F.col("not_purchase_reason").isNull().alias("is_purchase"))
    return SparkOrders(orders, mapping, chosen, currencies)


def _fields(raw: DataFrame, mapping: Mapping, checks: _Checks) -> dict:
    """The mapped fields of a row as expressions (values checked by ``checks``)."""
    m = mapping.columns

    def col(field):
        return F.col(_ident(m[field])).cast("string") if m.get(field) else F.lit(None).cast("string")
    minor = mapping.minor_units and raw.where(F.col(_ident(m["amount"])).cast("string").rlike("[.,]")).limit(1) \
        .count() == 0  # cents, as clv.ingest.orders: only when no amount has a decimal mark

    def cash(column, what):
        value = _number(raw, column, what, checks)
        return value / 100.0 if minor else value
    amount = cash(m["amount"], "amount")
    quantity = _number(raw, m.get("quantity"), "quantity", checks)
    if mapping.amount_times_quantity and m.get("quantity"):
        amount = amount * F.coalesce(quantity, F.lit(1.0))
    for c in mapping.amount_plus:  # what the customer paid from its parts (Amazon)
        amount = amount + F.coalesce(cash(c, c), F.lit(0.0))
    # tax and shipping inside what was paid, taken off on the goods basis (as clv.ingest.orders)
    less = F.lit(0.0)
    if mapping.amount_basis == "goods" and (mapping.tax_columns or mapping.shipping_columns):
        parts = [(1.0, cash(c, c)) for c in mapping.tax_columns + mapping.shipping_columns] \
            + [(-1.0, cash(c, c)) for c in mapping.shipping_discount_columns]
        less = sum((F.coalesce(v, F.lit(0.0)) * sign for sign, v in parts), F.lit(0.0))
        # NULL on a line that has none of them (Shopify's later line items): the order's come from its first line
        less = F.when(F.coalesce(*(v for _, v in parts)).isNotNull(), less)
    fields = {"order_key": _text(col("order_id")), "cust_raw": col("customer_id"), "alt_raw": col("customer_alt"),
              "order_ts": _time(raw, m["order_ts"], "order date", checks), "amount_value": amount, "less": less,
              "discount": cash(m.get("discount"), "discount"),
              "refund": cash(m.get("refund"), "refund"), "status_raw": col("status"),
              "cancelled_raw": col("cancelled_at"), "currency_raw": col("currency"),
              "channel_raw": col("channel"), "items": quantity, "refund_of": _text(col("refund_of")),
              "adjusted": cash(m.get("amount_after_refunds"), "amount after refunds")}
    fields["line_cost"] = _line_cost(mapping, col, cash, quantity)
    fields.update({f"flag{i}": F.col(_ident(c)).cast("string") for i, (c, _, _) in enumerate(mapping.flags)})
    fields.update({f"skip{i}": F.col(_ident(c)).cast("string") for i, (c, _, _) in enumerate(mapping.skips)})
    return fields


def _cost_key(c: Column) -> Column:
    """A SKU or product name as clv.ingest.fields.cost_key makes it (blanks collapsed, trimmed, lower case)."""
    key = F.lower(F.trim(F.regexp_replace(c, r"\s+", " ")))
    return F.when(key != "", key)


def _line_cost(mapping: Mapping, col, cash, quantity: Column) -> Column:
    """A line's product cost as clv.ingest.orders reads it: the cost column, else the cost per unit × the quantity,
    else the products file's cost of its SKU (else of its product name) × the quantity; NULL when none is known."""
    m, qty = mapping.columns, F.coalesce(quantity, F.lit(1.0))
    parts = []
    if m.get("cost"):
        parts.append(cash(m["cost"], "cost"))
    if m.get("unit_cost"):
        parts.append(cash(m["unit_cost"], "cost per unit") * qty)
    for kind, raw in cost_keys(mapping):  # ("sku", "sku_raw") or ("name", "product_raw")
        table = {key: float(cost) for k, key, cost in mapping.product_costs if k == kind}
        lookup = F.create_map(*(F.lit(x) for kv in table.items() for x in kv))
        parts.append(lookup[_cost_key(col(raw[:-4]))] * qty)
    return F.coalesce(*parts) if parts else F.lit(None).cast("double")


def _without_ids(raw: DataFrame, mapping: Mapping) -> DataFrame:
    """Rows of a table without order ids, as clv.ingest.orders._deduplicated: identical rows are separate
    purchases — except an export pasted k times, which the app tells from row order; Spark cannot, and refuses."""
    copies = raw.groupBy(*(F.col(_ident(c)) for c in raw.columns)).count()
    lo, hi, uniq = copies.select(F.min("count"), F.max("count"), F.count(F.lit(1))).first()
    if uniq and lo == hi and lo > 1 and uniq >= 2:
        raise DataError(f"Every row of the table appears exactly {lo} times and it has no order id: the app reads "
                        "that as one export pasted several times only when the copies follow each other, which "
                        "Spark cannot see.", column=mapping.columns["customer_id"],
                        expected="an order id column, or the rows de-duplicated, or the default engine.")
    return raw


def _per_order(lines: DataFrame, mapping: Mapping, grouped: bool) -> DataFrame:
    """One row per order: every line an order, or (order ids repeating; exact copies already removed) the lines
    grouped by order id, taking any non-null order-level value and summing line amounts when amounts are per
    line. A line without an order id is an order of its own."""
    if not mapping.columns.get("order_id"):
        return lines.withColumn("order_id", F.col("_line").cast("string")).drop("order_key", "_line")
    if not grouped:
        return lines.withColumnRenamed("order_key", "order_id").drop("_line")
    group = F.when(F.col("order_key").isNull(), F.col("_line"))
    firsts = [F.first(c, ignorenulls=True).alias(c) for c in lines.columns
              if c not in ("order_key", "_line", "amount_value", "less", "items", "line_cost")]
    if mapping.amount_per == "line":
        amount, less = F.sum("amount_value"), F.sum("less")
    else:
        amount, less = F.first("amount_value", ignorenulls=True), F.first("less", ignorenulls=True)
    # costs per unit and a products file's costs are per line (summed); a cost column follows the amount. An
    # order's cost is known only when every line's is: a part would overstate its margin (clv.ingest.orders)
    m = mapping.columns
    if m.get("cost") and mapping.amount_per != "line" and not cost_keys(mapping) and not m.get("unit_cost"):
        cost = F.first("line_cost", ignorenulls=True)
    else:
        cost = F.when(F.count(F.when(F.col("line_cost").isNull(), 1)) == 0, F.sum("line_cost"))
    return lines.groupBy("order_key", group.alias("_group")).agg(
        *firsts, amount.alias("amount_value"), less.alias("less"), F.sum("items").alias("items"),
        cost.alias("line_cost")) \
        .withColumnRenamed("order_key", "order_id").drop("_group")


def _classified(orders: DataFrame, mapping: Mapping, spec, not_purchase: dict) -> DataFrame:
    """Customer id, status, currency, channel, why an order is excluded and why it is not a purchase."""
    guests = list(mapping.guest_ids) or [""]
    # a column used as an e-mail is compared without case, whatever its values look like (as clv.ingest.orders)
    cust = clv_id(F.col("cust_raw"))
    alt = clv_id(F.col("alt_raw"))
    if is_email_column(mapping.columns.get("customer_id")):
        cust = F.lower(cust)
    if is_email_column(mapping.columns.get("customer_alt")):
        alt = F.lower(alt)
    o = orders.select(
        "order_id", "order_ts", "discount", "items", "cancelled_raw", "refund_of", F.col("line_cost").alias("cost"),
        *(f"flag{i}" for i in range(len(mapping.flags))), *(f"skip{i}" for i in range(len(mapping.skips))),
        # a refund column, else what the amount after refunds (Etsy's adjusted total) takes off
        # (on the goods basis, the share of goods in what was paid: refunds include tax and shipping)
        (F.coalesce(F.col("refund"), F.when(F.col("adjusted") > 0, F.col("amount_value") - F.col("adjusted")))
         * F.when((F.col("amount_value") > 0) & (F.coalesce(F.col("less"), F.lit(0.0)) != 0),
                  (F.col("amount_value") - F.col("less")) / F.col("amount_value")).otherwise(F.lit(1.0)))
        .alias("refund"),
        F.when(cust.isNotNull() & ~cust.isin(guests), cust).otherwise(alt).alias("customer_id"),
        (F.col("amount_value") - F.coalesce(F.col("less"), F.lit(0.0))).alias("amount"),
        F.nullif(F.lower(F.trim("status_raw")), F.lit("")).alias("status"),
        F.nullif(F.upper(F.trim("currency_raw")), F.lit("")).alias("currency"),
        F.nullif(F.trim("channel_raw"), F.lit("")).alias("channel"))
    finite = [~F.isnan(F.coalesce(F.col(c), F.lit(0.0))) & (F.abs(F.coalesce(F.col(c), F.lit(0.0))) <= MAX_AMOUNT)
              for c in ("amount", "discount", "refund")]
    excluded = F.when(F.lit(False), F.lit(None).cast("string"))
    for i, (col, value, why) in enumerate(mapping.skips):  # rows that are no sale (PayPal's withdrawals)
        excluded = excluded.when(F.lower(F.trim(F.col(f"skip{i}"))) == F.lit(value),
                                 F.lit(f"{SKIPPED} ({why}; column '{col}')"))
    excluded = excluded.when(F.col("customer_id").isNull(), "no customer id") \
        .when(F.col("order_ts").isNull(), "date could not be read") \
        .when((F.col("order_ts") < F.lit(EARLIEST).cast("timestamp"))
              | (F.col("order_ts") >= F.lit(latest_allowed()).cast("timestamp")), "date before 1990 or after tomorrow") \
        .when(F.col("amount").isNull(), "amount missing or not a number") \
        .when(~(finite[0] & finite[1] & finite[2]), "amount, discount or refund not a finite number, or over 1e9")
    money = {c: F.when(excluded.isNull(), F.col(c).cast(MONEY)).alias(c) for c in ("amount", "discount", "refund")}
    # a cost that is no finite amount is no known cost (the order stays, its margin falls back to the rate)
    cost_ok = ~F.isnan(F.coalesce(F.col("cost"), F.lit(0.0))) & (F.abs(F.coalesce(F.col("cost"), F.lit(0.0))) <= MAX_AMOUNT)
    money["cost"] = F.when(excluded.isNull() & cost_ok, F.col("cost").cast(MONEY)).alias("cost")
    # a refund row is netted into its order whatever its own customer column says (_net_refund_rows)
    money["amount"] = F.when(excluded.isNull() | (F.col("refund_of").isNotNull() & finite[0]),
                             F.col("amount").cast(MONEY)).alias("amount")
    o = o.select(*(money.get(c, F.col(c)) for c in o.columns), excluded.alias("excluded_reason"))
    reason = F.when(_text(F.col("cancelled_raw")).isNotNull(), "cancelled")
    for i, (_, value, why) in enumerate(mapping.flags):
        reason = reason.when(F.lower(F.trim(F.col(f"flag{i}"))) == F.lit(value), F.lit(why))
    if not_purchase:
        reasons = F.create_map(*(F.lit(x) for kv in not_purchase.items() for x in kv))
        reason = reason.when(F.col("status").isin(list(not_purchase)), reasons[F.col("status")])
    if spec.returns_by_prefix:
        reason = reason.when(F.upper(F.col("order_id")).startswith("C"), "return (credit note)")
    reason = reason.when(F.col("amount") < 0, "return (negative amount)") \
        .when((F.col("amount") > 0) & (F.col("refund") >= F.col("amount")), "fully refunded") \
        .when(F.col("amount") == 0, "zero amount")
    o = o.withColumn("not_purchase_reason", reason)
    return _net_refund_rows(o) if mapping.columns.get("refund_of") else o.drop("refund_of")


def _net_refund_rows(o: DataFrame) -> DataFrame:
    """As clv.ingest.orders._net_refund_rows: a row with a negative amount whose ``refund_of`` is another order of
    the table is netted against that order (fully refunded when it takes the whole amount) and is no order."""
    rows = o.where(F.col("refund_of").isNotNull() & (F.col("refund_of") != F.col("order_id"))
                   & (F.col("amount") < 0)) \
        .select(F.col("order_id").alias("_rid"), F.col("refund_of").alias("_parent"),
                (-F.col("amount")).alias("_refunded"))
    rows = rows.join(o.where(F.col("excluded_reason").isNull()).select(F.col("order_id").alias("_parent")), "_parent")
    sums = rows.groupBy("_parent").agg(F.sum("_refunded").alias("_refunded"))
    o = o.join(sums, o["order_id"] == sums["_parent"], "left") \
        .join(rows.select("_rid"), o["order_id"] == rows["_rid"], "left")
    netted = F.col("_refunded").isNotNull()
    o = o.withColumn("refund", F.when(netted, (F.coalesce(F.col("refund"), F.lit(0)) + F.col("_refunded"))
                                      .cast(MONEY)).otherwise(F.col("refund")))
    o = o.withColumn("not_purchase_reason", F.when(
        netted & F.col("not_purchase_reason").isNull() & (F.col("amount") > 0) & (F.col("refund") >= F.col("amount")),
        F.lit("fully refunded")).otherwise(F.col("not_purchase_reason")))
    o = o.withColumn("excluded_reason", F.when(F.col("_rid").isNotNull(), F.lit(REFUND_ROW))
                     .otherwise(F.col("excluded_reason")))
    return o.drop("_parent", "_refunded", "_rid", "refund_of")


def _status_reasons(spellings: list, spec, mapping: Mapping) -> dict:
    """Each status spelling that is not a purchase -> its reason (clv.ingest.vocabulary)."""
    if len(spellings) > _MAX_STATUSES:
        raise DataError(f"The status column has more than {_MAX_STATUSES:,} different values.",
                        expected="order or payment statuses (paid, refunded, cancelled…).")
    table = status_table({**spec.statuses, **mapping.status_choices()})
    return {s: table[norm_words(s)] for s in spellings if table.get(norm_words(s))}


def _currencies(valid: DataFrame, mapping: Mapping, currency: str | None) -> tuple[dict, str | None]:
    """Orders per currency, and the one analysed: ``currency`` if given, else the most frequent (as the app)."""
    if not mapping.columns.get("currency"):
        if currency:
            raise DataError("The table has no currency column.", expected="no --currency, or a currency column.")
        return {}, None
    rows = valid.where(F.col("currency").isNotNull()).groupBy("currency").count() \
        .orderBy(F.desc("count"), "currency").collect()
    counts = {r["currency"]: r["count"] for r in rows}
    if currency and currency.upper() not in counts:
        raise DataError(f"No orders in currency {currency!r}.", column=mapping.columns["currency"],
                        expected=f"one of {', '.join(counts) or 'the currencies in the table'}.")
    return counts, currency.upper() if currency else next(iter(counts), None)


# -- interactions ---------------------------------------------------------------------------------------------

def load_interactions(spark: SparkSession, paths, mapping: Mapping | None = None) -> DataFrame:
    """The canonical ``interactions`` (customer_id, event_ts, event_type, known_type, channel, value), exact
    copies of an event removed, as clv.ingest.interactions."""
    raw = read_table(spark, paths).distinct()
    mapping = mapping or detect_interaction_mapping(tuple(raw.columns))
    check_mapping(mapping, tuple(raw.columns), REQUIRED_INTERACTION_FIELDS, "interactions")
    m = mapping.columns
    checks = _Checks(raw)
    aliases = {a: canon for canon, names in EVENT_ALIASES.items() for a in names}
    type_raw = F.lower(F.trim(F.col(_ident(m["event_type"])).cast("string")))
    key = F.regexp_replace(type_raw, "[^a-z0-9]", "")
    event_ts = _time(raw, m["event_ts"], "event time", checks)
    value = _number(raw, m.get("value"), "value", checks)
    _, keys = checks.run(F.collect_set(key))
    present = {k: aliases[k] for k in keys if k in aliases}  # event names are few; the map holds those in use
    canon = F.create_map(*(F.lit(x) for kv in present.items() for x in kv)) if present else None
    channel = F.nullif(F.lower(F.trim(F.col(_ident(m["channel"])).cast("string"))), F.lit("")) if m.get("channel") \
        else F.lit(None).cast("string")
    events = raw.select(
        clv_id(F.col(_ident(m["customer_id"]))).alias("customer_id"),
        event_ts.alias("event_ts"),
        F.coalesce(canon[key] if present else F.lit(None).cast("string"),
                   F.regexp_replace(type_raw, "[^a-z0-9]+", "_")).alias("event_type"),
        key.isin(list(present) or [""]).alias("known_type"), channel.alias("channel"),
        value.alias("value"), F.nullif(type_raw, F.lit("")).alias("_type"))
    return events.where(F.col("customer_id").isNotNull() & F.col("event_ts").isNotNull()
                        & F.col("_type").isNotNull()).drop("_type")


def last_date(orders: DataFrame):
    """The last day in the orders, returns included (the default as-of date, as Shop.last_date)."""
    return orders.select(F.max("order_ts").cast("date")).first()[0]



def cost_totals(orders: DataFrame, end) -> dict:
    """clv.ingest.orders.cost_totals on Spark: purchases up to the day ``end`` (inclusive), how many carry a product
    cost, their revenue and the revenue and cost of those that do (what clv.margins measures the margin from)."""
    import datetime as dt
    upto = F.lit(dt.datetime.combine(end + dt.timedelta(days=1), dt.time())).cast("timestamp")
    known = F.col("cost").isNotNull()
    row = orders.where(F.col("is_purchase") & (F.col("order_ts") < upto)).select(
        F.count(F.lit(1)), F.count("cost"), F.sum("net"), F.sum(F.when(known, F.col("net"))), F.sum("cost")).first()
    n, k, revenue, covered, cost = row
    return {"purchases": int(n), "with_cost": int(k), "revenue": float(revenue or 0),
            "revenue_with_cost": float(covered or 0), "cost": float(cost or 0)}
