"""Reading order and interaction exports into canonical DuckDB tables.

Every file goes through the same steps, in the app, the CLI and the tests:

1. ``sniff`` looks at the bytes: empty? binary? Parquet? gzip? encoding? delimiter? header?
2. ``detect_format`` matches the header against the known exports (Shopify, WooCommerce, Online Retail)
   and proposes a ``Mapping`` (canonical field -> column of the file) that the user may override.
3. ``load_orders`` / ``load_interactions`` run one DuckDB query that parses, de-duplicates and classifies
   every row, then record in a ``LoadReport`` what was kept, what was excluded and why (with examples).

Identifiers in SQL come only from the file's own header (quoted); every value is a bound parameter.
"""
from __future__ import annotations

import codecs
import gzip
import os
import re
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

import duckdb
import numpy as np

from .errors import DataError

__all__ = [
    "ORDER_FIELDS", "INTERACTION_FIELDS", "FORMATS", "Mapping", "Sniff", "LoadReport",
    "sniff", "detect_format", "detect_interaction_mapping", "load_orders", "load_interactions",
    "install_macros",
]

# --- vocabulary -----------------------------------------------------------------------------------------

#: canonical order fields a file column can be mapped to; the first three are required.
ORDER_FIELDS = ["customer_id", "order_ts", "amount", "order_id", "discount", "refund", "status",
                "cancelled_at", "currency", "channel", "quantity"]
REQUIRED_ORDER_FIELDS = ["customer_id", "order_ts", "amount"]
INTERACTION_FIELDS = ["customer_id", "event_ts", "event_type", "channel", "value"]
REQUIRED_INTERACTION_FIELDS = ["customer_id", "event_ts", "event_type"]

FIELD_LABELS = {
    "customer_id": "customer id or email", "order_ts": "order date/time", "amount": "order amount",
    "order_id": "order id", "discount": "discount amount", "refund": "refunded amount",
    "status": "order/payment status", "cancelled_at": "cancelled date", "currency": "currency",
    "channel": "sales channel", "quantity": "quantity", "event_ts": "event date/time",
    "event_type": "event type", "value": "value / rating / satisfaction score",
}


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


@dataclass(frozen=True)
class FormatSpec:
    """How one export looks: the header columns that identify it and where each field lives."""
    name: str
    label: str
    signature: tuple[tuple[str, ...], ...]      # each inner tuple: accepted names for one required column
    columns: dict                                # field -> accepted (normalised) column names, in preference
    amount_per: str = "order"                    # "order": one order-level value; "line": summed per order
    amount_times_quantity: bool = False          # amount column is a unit price (invoice-line files)


_GENERIC_COLUMNS = {
    "customer_id": ("customerid", "customer", "customeremail", "email", "clientid", "userid", "buyerid",
                    "billingemail", "billingemailaddress", "user", "client", "buyer", "memberid"),
    "order_ts": ("orderdate", "orderts", "ordertime", "orderdatetime", "createdat", "purchasedate",
                 "invoicedate", "transactiondate", "date", "datetime", "timestamp", "time", "created"),
    "amount": ("amount", "total", "ordertotal", "ordertotalamount", "net", "netamount", "revenue", "sales",
               "value", "ordervalue", "totalprice", "gross", "price", "sale", "totalamount"),
    "order_id": ("orderid", "ordernumber", "order", "orderno", "invoiceno", "invoice", "transactionid",
                 "receiptid", "name"),
    "discount": ("discount", "discountamount", "discounttotal", "cartdiscount", "cartdiscountamount",
                 "orderdiscount", "coupondiscount"),
    "refund": ("refund", "refundamount", "refundedamount", "orderrefund", "orderrefundamount", "refunded"),
    "status": ("status", "orderstatus", "financialstatus", "paymentstatus"),
    "cancelled_at": ("cancelledat", "canceledat", "cancelled", "cancellationdate"),
    "currency": ("currency", "ordercurrency", "currencycode"),
    "channel": ("channel", "saleschannel", "source", "orderchannel", "createdvia", "utmsource"),
    "quantity": ("quantity", "qty", "items", "itemquantity", "lineitemquantity", "itemcount"),
}

FORMATS: dict[str, FormatSpec] = {
    "shopify": FormatSpec(
        "shopify", "Shopify orders export",
        signature=(("name",), ("email",), ("createdat",), ("total",), ("financialstatus",)),
        columns={"customer_id": ("email",), "order_ts": ("createdat",), "amount": ("total",),
                 "order_id": ("name",), "discount": ("discountamount",), "refund": ("refundedamount",),
                 "status": ("financialstatus",), "cancelled_at": ("cancelledat",), "currency": ("currency",),
                 "channel": ("source",), "quantity": ("lineitemquantity",)}),
    "woocommerce": FormatSpec(
        "woocommerce", "WooCommerce order export",
        signature=(("ordernumber", "orderid"), ("billingemail", "billingemailaddress", "customeremail"),
                   ("orderdate", "datecreated"), ("ordertotal", "ordertotalamount")),
        columns={"customer_id": ("billingemailaddress", "billingemail", "customeremail"),
                 "order_ts": ("orderdate", "datecreated"), "amount": ("ordertotalamount", "ordertotal"),
                 "order_id": ("ordernumber", "orderid"),
                 "discount": ("cartdiscountamount", "cartdiscount", "orderdiscount", "discountamount",
                              "discounttotal"),
                 "refund": ("orderrefundamount", "orderrefund", "refundamount", "refundedamount"),
                 "status": ("orderstatus", "status"), "currency": ("ordercurrency", "currency"),
                 "channel": ("createdvia", "orderchannel", "channel"),
                 "quantity": ("quantity", "itemquantity", "qty")}),
    "online_retail": FormatSpec(
        "online_retail", "Invoice lines (UCI Online Retail style)",
        signature=(("invoiceno", "invoice"), ("stockcode",), ("quantity",), ("invoicedate",),
                   ("unitprice", "price"), ("customerid",)),
        columns={"customer_id": ("customerid",), "order_ts": ("invoicedate",), "amount": ("unitprice", "price"),
                 "order_id": ("invoiceno", "invoice"), "quantity": ("quantity",)},
        amount_per="line", amount_times_quantity=True),
    "generic": FormatSpec("generic", "Generic orders file (mapped by column names)", signature=(),
                          columns=_GENERIC_COLUMNS, amount_per="line"),
}

INTERACTION_COLUMNS = {
    "customer_id": ("customerid", "customer", "email", "customeremail", "userid", "user", "clientid",
                    "visitorid", "memberid"),
    "event_ts": ("eventts", "eventtime", "timestamp", "eventtimestamp", "ts", "time", "datetime", "date",
                 "createdat", "eventdate", "occurredat"),
    "event_type": ("eventtype", "event", "type", "eventname", "action", "activity", "interaction"),
    "channel": ("channel", "source", "medium", "platform"),
    "value": ("value", "rating", "score", "satisfaction", "csat", "stars", "amount"),
}

#: recognised event names (normalised: lower case, letters and digits only) -> canonical event type
EVENT_ALIASES = {
    "view": ("view", "pageview", "productview", "viewitem", "sessionstart", "session", "visit",
             "screenview", "viewproduct", "page"),
    "add_to_cart": ("addtocart", "cartadd", "atc", "addedtocart", "additem"),
    "begin_checkout": ("begincheckout", "checkout", "checkoutstart", "checkoutstarted", "initiatecheckout"),
    "purchase": ("purchase", "ordercompleted", "order", "transaction", "completedorder"),
    "email_open": ("emailopen", "emailopened", "open", "opened"),
    "email_click": ("emailclick", "emailclicked", "click", "clicked"),
    "support_ticket": ("supportticket", "ticket", "support", "ticketcreated", "complaint", "supportcontact"),
    "review": ("review", "productreview", "reviewsubmitted", "rating"),
    "return": ("return", "returnrequest", "refundrequest", "returned", "refundrequested"),
}

#: order statuses that do not count as purchases, and why
NON_PURCHASE_STATUSES = {
    "cancelled": "cancelled", "canceled": "cancelled", "voided": "voided", "refunded": "fully refunded",
    "failed": "payment failed", "pending": "not paid (pending)", "on-hold": "not paid (on hold)",
    "trash": "deleted", "draft": "draft", "checkout-draft": "draft", "expired": "not paid (expired)",
}
# every spelling seen in exports (WooCommerce's "wc-" prefix, -, _ or space), lower case, so that matching is a
# plain list look-up per order instead of string surgery on millions of rows
_STATUS_SPELLINGS = {
    f"{prefix}{key.replace('-', sep)}": reason
    for key, reason in NON_PURCHASE_STATUSES.items() for prefix in ("", "wc-") for sep in ("-", "_", " ", "")
}

#: exports with one row per line item, order-level fields on one of them: always grouped by order id
_LINE_ITEM_FORMATS = ("shopify", "online_retail")

# Date patterns tried after ISO-8601 (which DuckDB reads natively, offsets included).
_DATE_BASE = ["%Y-%m-%d %H:%M:%S %z", "%Y-%m-%d %H:%M %z", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M",
              "%Y-%m-%d", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y/%m/%d"]
_DATE_MDY = ["%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%m/%d/%Y", "%m/%d/%y %H:%M", "%m/%d/%y",
             "%m-%d-%Y %H:%M:%S", "%m-%d-%Y"]
_DATE_DMY = ["%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%d/%m/%Y", "%d/%m/%y %H:%M", "%d/%m/%y",
             "%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M", "%d.%m.%Y", "%d-%m-%Y %H:%M:%S", "%d-%m-%Y"]
DATE_HELP = "dates like 2024-01-31, 2024-01-31 14:05:00 +0100, 01/31/2024 14:05 or 31.01.2024"


# --- the file itself ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Sniff:
    path: str
    kind: str                 # "csv" or "parquet"
    encoding: str = "utf-8"   # as DuckDB names it
    delimiter: str = ","
    columns: tuple[str, ...] = ()
    compressed: bool = False

    @property
    def description(self) -> str:
        if self.kind == "parquet":
            return "Parquet"
        delim = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}.get(self.delimiter, self.delimiter)
        return f"CSV{' (gzip)' if self.compressed else ''}, {self.encoding}, {delim}-separated"


_DELIMITERS = [",", ";", "\t", "|"]


def _count_outside_quotes(line: str, ch: str) -> int:
    n, quoted = 0, False
    for c in line:
        if c == '"':
            quoted = not quoted
        elif c == ch and not quoted:
            n += 1
    return n


def sniff(path: str | Path, con: duckdb.DuckDBPyConnection | None = None) -> Sniff:
    """Look at a file's first bytes and say how to read it; raise DataError for files that cannot be orders."""
    path = str(path)
    p = Path(path)
    if not p.exists():
        raise DataError(f"File not found: {path}.")
    if p.stat().st_size == 0:
        raise DataError("The file is empty (0 bytes).", expected="a CSV export with a header row and data rows.")
    with open(path, "rb") as fh:
        head = fh.read(4)
    if head == b"PAR1":
        con = con or duckdb.connect()
        cols = [r[0] for r in con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [path]).fetchall()]
        return Sniff(path, "parquet", columns=tuple(cols))
    compressed = head[:2] == b"\x1f\x8b"
    try:
        if compressed:
            with gzip.open(path, "rb") as fh:
                sample = fh.read(1 << 16)
        else:
            with open(path, "rb") as fh:
                sample = fh.read(1 << 16)
    except (OSError, EOFError) as exc:
        raise DataError(f"The file could not be read ({exc}).", expected="a CSV, .csv.gz or Parquet file.") from None
    if not sample.strip():
        raise DataError("The file has no text in it.", expected="a CSV export with a header row and data rows.")
    encoding = "utf-8"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding, text = "utf-16", sample.decode("utf-16", errors="ignore")
    else:
        if b"\x00" in sample or sum(b < 9 or 13 < b < 32 for b in sample[:4096]) > 0.01 * min(len(sample), 4096):
            raise DataError("This does not look like a CSV file: it contains binary data.",
                            expected="a CSV (optionally .csv.gz) or Parquet export of orders.")
        body = sample[3:] if sample.startswith(codecs.BOM_UTF8) else sample
        cut = body if len(sample) < (1 << 16) else body[: body.rfind(b"\n") + 1 or len(body)]
        try:
            text = cut.decode("utf-8")
        except UnicodeDecodeError:
            # Windows exports: cp1252 puts €, smart quotes and dashes in 0x80-0x9F, where Latin-1 has controls
            encoding = "cp1252" if re.search(rb"[\x80-\x9f]", cut) else "latin-1"
            text = cut.decode(encoding, errors="replace")
    lines = [ln for ln in text.splitlines() if ln.strip()]
    header = lines[0]
    counts = {d: _count_outside_quotes(header, d) for d in _DELIMITERS}
    delimiter = max(counts, key=counts.get)
    if counts[delimiter] == 0:
        raise DataError(f"Only one column found; the header reads {header[:120]!r}.",
                        expected="columns separated by commas, semicolons, tabs or pipes, "
                                 "with at least a customer, a date and an amount.")
    if len(lines) < 2:
        raise DataError("The file has a header but no data rows.", expected="at least one order row.")
    con = con or duckdb.connect()
    describe_path, describe_encoding = path, encoding
    if encoding == "cp1252":  # DuckDB cannot read cp1252: name the columns from a UTF-8 copy of the sample
        fd, describe_path = tempfile.mkstemp(prefix="clv-head-", suffix=".csv")
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        describe_encoding = "utf-8"
    try:
        cols = [r[0] for r in con.execute(
            "DESCRIBE SELECT * FROM read_csv(?, delim=?, header=true, all_varchar=true, encoding=?, "
            "quote='\"', escape='\"', null_padding=true)", [describe_path, delimiter, describe_encoding]).fetchall()]
    except duckdb.Error as exc:
        raise DataError(f"The file could not be read as CSV: {_first_line(exc)}",
                        expected="a rectangular CSV with one header row.") from None
    finally:
        if describe_path != path:
            os.unlink(describe_path)
    return Sniff(path, "csv", encoding, delimiter, tuple(cols), compressed)


#: time patterns the CSV reader parses strictly (a value in any other shape is an error, never cut short)
_PLAIN_TIMES = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M:%S %z")


class _NotPlain(Exception):
    """A value the CSV reader could not parse as the type asked for: read the file as text instead."""


@dataclass(frozen=True)
class _Typing:
    """Types for DuckDB's CSV reader (column -> type) and the pattern of its TIMESTAMP columns."""
    types: dict
    timestamp_format: str = _PLAIN_TIMES[0]


def _typed_columns(con: duckdb.DuckDBPyConnection, view: str, sn: Sniff, numbers, time: str) -> _Typing | None:
    """How DuckDB's CSV reader can parse the ``numbers`` columns and the ``time`` column itself.

    The reader parses numbers and times two to three times faster than SQL parses text, and it stops at the first
    value that does not fit instead of dropping it; the caller then reads the file as text (``_NotPlain``) and
    reports every bad value. Times: one of ``_PLAIN_TIMES`` when the file's first rows all have it (TIMESTAMP with
    that strict pattern; %z offsets are converted to UTC), else ISO with optional offsets (TIMESTAMPTZ; the
    connection's time zone is UTC, so times without an offset are UTC). Every other column stays text.
    None for files that are read as text anyway (Parquet, cp1252).
    """
    if sn.kind != "csv" or sn.encoding == "cp1252":
        return None
    counts = con.execute(
        f"SELECT count(x), {', '.join(f'count(try_strptime(x, ${i}))' for i in range(1, len(_PLAIN_TIMES) + 1))} "
        f"FROM (SELECT {_q(time)} AS x FROM {_q(view)} LIMIT 5000)", list(_PLAIN_TIMES)).fetchall()[0]
    types = {c: "VARCHAR" for c in sn.columns}
    types.update({c: "DOUBLE" for c in numbers})
    pattern = next((f for f, n in zip(_PLAIN_TIMES, counts[1:]) if counts[0] and n == counts[0]), None)
    types[time] = "TIMESTAMP" if pattern else "TIMESTAMPTZ"
    return _Typing(types, pattern or _PLAIN_TIMES[0])


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0][:300]


@contextmanager
def _source(con: duckdb.DuckDBPyConnection, sn: Sniff, view: str, typing: _Typing | None = None):
    """A view over the file for the duration of the block: every column as text, or typed as ``typing`` says.

    DuckDB reads UTF-8, UTF-16 and Latin-1 itself; a cp1252 file is first copied to a temporary UTF-8 file,
    removed when the block ends."""
    transcoded = None
    try:
        if sn.kind == "parquet":
            rel = con.read_parquet(sn.path)
            rel = rel.project(", ".join(f"CAST({_q(c)} AS VARCHAR) AS {_q(c)}" for c in rel.columns))
        else:
            path, encoding = sn.path, sn.encoding
            if encoding == "cp1252":
                transcoded = _to_utf8(sn.path, sn.compressed)
                path, encoding = transcoded, "utf-8"
            params = {"path": path, "delim": sn.delimiter, "enc": encoding}
            types = "all_varchar=true"
            if typing:  # see _typed_columns; the pattern applies to TIMESTAMP columns only, not TIMESTAMPTZ
                types = "types=$types, timestampformat=$tsformat"
                params.update(types=typing.types, tsformat=typing.timestamp_format)
            rel = con.sql(f"SELECT * FROM read_csv($path, delim=$delim, header=true, {types}, "
                          "encoding=$enc, quote='\"', escape='\"', null_padding=true)", params=params)
        rel.create_view(view, replace=True)
        yield
    finally:
        con.execute(f"DROP VIEW IF EXISTS {_q(view)}")
        if transcoded:
            os.unlink(transcoded)


@contextmanager
def _readable(what: str):
    """DuckDB errors while opening a file become a DataError in words."""
    try:
        yield
    except duckdb.Error as exc:
        raise DataError(f"The {what} file could not be read: {_first_line(exc)}",
                        expected="a rectangular CSV whose rows all have the header's number of columns.") from None


def _to_utf8(path: str, compressed: bool) -> str:
    """Stream a cp1252 file into a temporary UTF-8 copy and return its path."""
    fd, out = tempfile.mkstemp(prefix="clv-utf8-", suffix=".csv")
    opener = gzip.open if compressed else open
    with opener(path, "rb") as src, os.fdopen(fd, "w", encoding="utf-8", newline="") as dst:
        reader = codecs.getreader("cp1252")(src, errors="replace")
        while chunk := reader.read(1 << 22):
            dst.write(chunk)
    return out


def _q(identifier: str) -> str:
    """Quote an identifier taken from the file's own header (the only identifiers we ever put in SQL)."""
    return '"' + str(identifier).replace('"', '""') + '"'


# --- mapping --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Mapping:
    """Which column of the file holds each canonical field; ``None`` where the file has no such column."""
    format: str
    columns: dict = field(default_factory=dict)
    amount_per: str = "order"
    amount_times_quantity: bool = False

    def with_columns(self, **overrides) -> "Mapping":
        cols = dict(self.columns)
        cols.update({k: (v or None) for k, v in overrides.items()})
        return replace(self, columns=cols)


def _pick(columns: tuple[str, ...], candidates: tuple[str, ...], taken: set) -> str | None:
    by_norm = {}
    for c in columns:
        by_norm.setdefault(_norm(c), c)
    for cand in candidates:
        c = by_norm.get(cand)
        if c is not None and c not in taken:
            return c
    return None


def _guess(columns: tuple[str, ...], spec_columns: dict, fields: list[str]) -> dict:
    taken: set = set()
    out = {}
    for f in fields:
        c = _pick(columns, spec_columns.get(f, ()), taken)
        out[f] = c
        if c:
            taken.add(c)
    return out


def detect_format(columns, fmt: str | None = None) -> Mapping:
    """Match a header against the known exports; ``fmt`` forces one. Returns a proposed Mapping."""
    columns = tuple(columns)
    norms = {_norm(c) for c in columns}
    if fmt is None:
        fmt = next((name for name, spec in FORMATS.items()
                    if spec.signature and all(any(a in norms for a in alts) for alts in spec.signature)),
                   "generic")
    if fmt not in FORMATS:
        raise DataError(f"Unknown format {fmt!r}.", expected=f"one of {', '.join(FORMATS)}.")
    spec = FORMATS[fmt]
    cols = _guess(columns, spec.columns, ORDER_FIELDS)
    if fmt != "generic":  # fill optional fields a known format lacks by their generic names
        extra = _guess(tuple(c for c in columns if c not in cols.values()), _GENERIC_COLUMNS,
                       [f for f in ORDER_FIELDS if cols.get(f) is None and f not in REQUIRED_ORDER_FIELDS])
        cols.update({k: v for k, v in extra.items() if v})
    return Mapping(fmt, cols, spec.amount_per, spec.amount_times_quantity)


def detect_interaction_mapping(columns) -> Mapping:
    return Mapping("events", _guess(tuple(columns), INTERACTION_COLUMNS, INTERACTION_FIELDS))


def _check_mapping(mapping: Mapping, columns: tuple[str, ...], required: list[str], what: str) -> None:
    for f, c in mapping.columns.items():
        if c is not None and c not in columns:
            raise DataError(f"The {what} file has no column {c!r} (mapped to {FIELD_LABELS.get(f, f)}).",
                            column=c, expected=f"one of the file's columns: {', '.join(columns)}.")
    for f in required:
        if not mapping.columns.get(f):
            raise DataError(f"No {FIELD_LABELS[f]} column found in the {what} file.",
                            expected=f"a column such as {', '.join(INTERACTION_COLUMNS.get(f, _GENERIC_COLUMNS.get(f, ()))[:4])}"
                                     f" — or map one of the file's columns ({', '.join(columns)}) to it.")


# --- SQL helpers ----------------------------------------------------------------------------------------

def install_macros(con: duckdb.DuckDBPyConnection) -> None:
    """Parsing rules shared by every load, as DuckDB macros (so the rules live in one place)."""
    con.execute("SET TimeZone = 'UTC'")
    # ids: trimmed, lower-cased; "17850.0" (a numeric id read as a float somewhere upstream) becomes "17850"
    con.execute("""
        CREATE OR REPLACE TEMP MACRO clv_id(x) AS coalesce(
            CASE WHEN suffix(x, '.0') THEN try_cast(try_cast(trim(x) AS DOUBLE) AS HUGEINT)::VARCHAR END,
            nullif(lower(trim(x)), ''))""")
    con.execute(r"""
        CREATE OR REPLACE TEMP MACRO clv_amount(x) AS coalesce(
            try_cast(x AS DOUBLE), try_cast(trim(x) AS DOUBLE),
            try_cast(CASE
                WHEN regexp_full_match(regexp_replace(x, '[^0-9.,\-]', '', 'g'), '-?[0-9]{1,3}(\.[0-9]{3})+,[0-9]+')
                    THEN replace(replace(regexp_replace(x, '[^0-9.,\-]', '', 'g'), '.', ''), ',', '.')
                WHEN regexp_full_match(regexp_replace(x, '[^0-9.,\-]', '', 'g'), '-?[0-9]+,[0-9]{1,2}')
                    THEN replace(regexp_replace(x, '[^0-9.,\-]', '', 'g'), ',', '.')
                ELSE replace(regexp_replace(x, '[^0-9.,\-]', '', 'g'), ',', '') END AS DOUBLE))""")
    # times: plain ISO first (fast; only in the shapes YYYY-MM-DD, YYYY-MM-DD HH:MM and YYYY-MM-DD HH:MM:SS, which
    # leave no room for a UTC offset that a TIMESTAMP cast would silently drop: "2024-01-31 14:05+01" is 19
    # characters too, hence the colon checks), then ISO with an offset or Z (converted to UTC), then the detected
    # strptime patterns
    con.execute("""
        CREATE OR REPLACE TEMP MACRO clv_ts(x, fmts) AS coalesce(
            CASE WHEN length(x) = 10 OR (length(x) = 16 AND x[14] = ':') OR (length(x) = 19 AND x[17] = ':')
                 THEN try_cast(x AS TIMESTAMP) END,
            try_cast(trim(x) AS TIMESTAMPTZ)::TIMESTAMP,
            try_strptime(trim(x), fmts)::TIMESTAMPTZ::TIMESTAMP)""")


def _date_formats(con, view: str, column: str) -> list[str]:
    """ISO first; then day-first or month-first, whichever reads more of a sample of the column."""
    sample = f"(SELECT {_q(column)} AS x FROM {_q(view)} WHERE {_q(column)} IS NOT NULL LIMIT 5000)"
    mdy, dmy = con.execute(f"SELECT count(try_strptime(trim(x), ?)), count(try_strptime(trim(x), ?)) FROM {sample}",
                           [_DATE_MDY, _DATE_DMY]).fetchall()[0]
    return _DATE_BASE + (_DATE_DMY + _DATE_MDY if dmy > mdy else _DATE_MDY + _DATE_DMY)


def _deduplicated(con, view: str, columns, key: str | None = None) -> tuple[str, int, int, bool]:
    """(relation to read, rows read, exact duplicate rows, whether ``key`` is unique per row).

    One cheap pass of hash counts decides the path. When the order key is unique, every row is its own order and
    no row can be an exact copy of another, so neither grouping nor de-duplication is needed (the common case for
    large one-row-per-order exports). Otherwise exact duplicates are counted and dropped by grouping on every
    column. Hash collisions can only send a file down the slower, exact path.
    """
    view = _q(view)
    if key:
        rows, distinct_keys = con.execute(f"SELECT count(*), count(DISTINCT hash({_q(key)})) FROM {view}").fetchall()[0]
        if rows == distinct_keys:
            return f"(SELECT *, 1 AS _copies FROM {view})", int(rows), 0, True
    row_hash = "hash(" + ", ".join(_q(c) for c in columns) + ")"
    rows, distinct = con.execute(f"SELECT count(*), count(DISTINCT {row_hash}) FROM {view}").fetchall()[0]
    if rows == distinct:
        return f"(SELECT *, 1 AS _copies FROM {view})", int(rows), 0, False
    uniq = con.execute(f"SELECT count(*) FROM (SELECT DISTINCT * FROM {view})").fetchall()[0][0]
    return f"(SELECT *, count(*) AS _copies FROM {view} GROUP BY ALL)", int(rows), int(rows - uniq), False


def _col(mapping: Mapping, f: str) -> str:
    c = mapping.columns.get(f)
    return _q(c) if c else "NULL::VARCHAR"


# --- reports --------------------------------------------------------------------------------------------

@dataclass
class LoadReport:
    """What a load did, in numbers a person can check."""
    what: str                         # "orders" or "interactions"
    source: str                       # how the file was read
    format: str
    format_label: str
    mapping: Mapping
    rows_read: int = 0
    duplicates_removed: int = 0
    records_built: int = 0            # orders (after grouping line items) or events
    kept: int = 0
    excluded: dict = field(default_factory=dict)       # reason -> {"count": n, "examples": [row dicts]}
    not_purchases: dict = field(default_factory=dict)  # reason -> count (kept in the data, not counted as buys)
    date_min: object = None
    date_max: object = None
    currencies: dict = field(default_factory=dict)     # currency -> orders
    currency: str | None = None
    event_types: dict = field(default_factory=dict)
    unknown_event_types: dict = field(default_factory=dict)
    customers: int = 0
    warnings: list = field(default_factory=list)
    typed_read: bool = False          # numbers and times parsed by the CSV reader (see _typed_columns)

    def lines(self) -> list[str]:
        unit = "orders" if self.what == "orders" else "events"
        out = [f"{self.what.capitalize()}: {self.format_label} ({self.source})",
               f"  rows read: {self.rows_read:,}"]
        if self.duplicates_removed:
            out.append(f"  exact duplicate rows removed: {self.duplicates_removed:,}")
        if self.what == "orders":
            out.append(f"  orders built from those rows: {self.records_built:,}")
        out.append(f"  {unit} kept: {self.kept:,} from {self.customers:,} customers")
        for reason, info in self.excluded.items():
            out.append(f"  excluded — {reason}: {info['count']:,}")
            for ex in info["examples"]:
                out.append("      e.g. " + ", ".join(f"{k}={v!r}" for k, v in ex.items()))
        for reason, n in self.not_purchases.items():
            out.append(f"  kept but not counted as purchases — {reason}: {n:,}")
        if self.date_min is not None:
            out.append(f"  dates: {self.date_min:%Y-%m-%d} to {self.date_max:%Y-%m-%d}")
        if self.unknown_event_types:
            out.append("  unrecognised event types (kept): " +
                       ", ".join(f"{k} ({v:,})" for k, v in self.unknown_event_types.items()))
        out.extend(f"  warning: {w}" for w in self.warnings)
        return out

    def __str__(self) -> str:
        return "\n".join(self.lines())


def _examples(con, table: str, reason_col: str, cols: dict, source: "_Parsed | None" = None) -> dict:
    """reason -> {count, up to 3 example rows shown with the file's own column names}.

    Counts come from ``table``; examples from ``source`` when given (a query with columns ``table`` lacks)."""
    shown = [(k, v) for k, v in cols.items() if v]
    select = ", ".join(f"{k}" for k, _ in shown)
    counts = dict(con.execute(f"SELECT {reason_col}, count(*) FROM {table} WHERE {reason_col} IS NOT NULL "
                              f"GROUP BY ALL ORDER BY 2 DESC").fetchall())
    rows = []
    if counts:
        rows = con.execute(
            f"SELECT {reason_col}, {select} FROM {f'({source.sql})' if source else table} "
            f"WHERE {reason_col} IS NOT NULL QUALIFY row_number() OVER (PARTITION BY {reason_col}) <= 3",
            source.params if source else None).fetchall()
    out = {r: {"count": n, "examples": []} for r, n in counts.items()}
    for row in rows:
        out[row[0]]["examples"].append({label: val for (_, label), val in zip(shown, row[1:])})
    return out


# --- orders ---------------------------------------------------------------------------------------------

def load_orders(con: duckdb.DuckDBPyConnection, path: str | Path, fmt: str | None = None,
                mapping: Mapping | None = None, currency: str | None = None) -> LoadReport:
    """Read an orders export into table ``orders`` (one row per order) and report what happened.

    ``orders`` columns: order_id, customer_id, order_ts (UTC), gross, discount, refund, net, status, currency,
    channel, items, is_purchase, not_purchase_reason. Orders that cannot be attributed or dated, or that
    have no amount, are excluded (and reported with examples); cancelled, voided, unpaid, fully refunded and
    returned orders stay in the table with ``is_purchase = false``.
    """
    install_macros(con)
    sn = sniff(path, con)
    if mapping is None:
        mapping = detect_format(sn.columns, fmt)
    _check_mapping(mapping, sn.columns, REQUIRED_ORDER_FIELDS, "orders")
    m = mapping.columns
    with _readable("orders"), _source(con, sn, "_src_orders"):
        fmts = _date_formats(con, "_src_orders", m["order_ts"])
        numbers = [m[f] for f in ("amount", "discount", "refund", "quantity") if m.get(f)]
        typing = _typed_columns(con, "_src_orders", sn, numbers, m["order_ts"])
        if typing:
            try:
                with _source(con, sn, "_src_orders_typed", typing):
                    return _load_orders(con, sn, mapping, currency, "_src_orders_typed", fmts, typed=True)
            except _NotPlain:
                pass
        return _load_orders(con, sn, mapping, currency, "_src_orders", fmts)


def _load_orders(con, sn: Sniff, mapping: Mapping, currency: str | None, view: str, fmts: list[str],
                 typed: bool = False) -> LoadReport:
    """The load itself; ``typed``: numbers and times were parsed by the CSV reader (see ``_typed_columns``)."""
    m = mapping.columns
    try:  # a malformed file surfaces as a DuckDB error somewhere in here: say so in words
        def build(source: str, one_row_per_order: bool) -> _Parsed:
            return _build_orders(con, mapping, source, one_row_per_order, typed, fmts)
        # a file with an order id whose format is not one row per line item is built as one row per order first,
        # then checked; only when ids repeat is it rebuilt with de-duplication and grouping (and read again)
        built = bool(m.get("order_id")) and mapping.format not in _LINE_ITEM_FORMATS
        if built:
            parsed = build(f"(SELECT *, 1 AS _copies FROM {_q(view)})", True)
            built = _unique_ids(con, "orders_all", "order_id")
            rows_read = duplicates = None
        if not built:
            source, rows_read, duplicates, one_row_per_order = _deduplicated(con, view, sn.columns, m.get("order_id"))
            parsed = build(source, one_row_per_order)
    except duckdb.Error as exc:
        if typed:
            raise _NotPlain from exc
        raise DataError(f"The orders file could not be read: {_first_line(exc)}",
                        expected="a rectangular CSV whose rows all have the header's number of columns.") from None

    report = LoadReport("orders", sn.description, mapping.format, FORMATS[mapping.format].label, mapping,
                        typed_read=typed)
    n_orders = int(con.execute("SELECT count(*) FROM orders_all").fetchall()[0][0])
    if rows_read is None:  # built one row per order: every row read is an order
        rows_read, duplicates = n_orders, 0
    report.rows_read, report.duplicates_removed, report.records_built = rows_read, duplicates, n_orders
    reason_labels = {"no customer id": m["customer_id"], "date could not be read": m["order_ts"],
                     "amount missing or not a number": m["amount"]}
    report.excluded = _examples(con, "orders_all", "excluded_reason",
                                {"order_id": m.get("order_id") or "order", "cust_raw": m["customer_id"],
                                 "ts_raw": m["order_ts"], "amount_raw": m["amount"]}, parsed)
    report.excluded = {f"{reason} (column '{reason_labels[reason]}')": info for reason, info in report.excluded.items()}
    valid = n_orders - sum(i["count"] for i in report.excluded.values())
    if valid == 0:
        _raise_nothing_valid(report, m)

    report.currencies = dict(con.execute(
        "SELECT currency, count(*) FROM orders_all WHERE excluded_reason IS NULL AND currency IS NOT NULL "
        "GROUP BY ALL ORDER BY 2 DESC").fetchall()) if _stored(mapping, "currency") else {}
    if currency and currency.upper() not in report.currencies:
        raise DataError(f"No orders in currency {currency!r}.", column=m.get("currency"),
                        expected=f"one of {', '.join(report.currencies) or 'the currencies in the file'}.")
    report.currency = currency.upper() if currency else next(iter(report.currencies), None)
    if len(report.currencies) > 1:
        report.warnings.append(
            f"Orders are in {len(report.currencies)} currencies ({', '.join(report.currencies)}); amounts are not "
            f"converted, so only {report.currency} orders are used. Choose another currency to analyse those.")
        con.execute("UPDATE orders_all SET excluded_reason = 'other currency' "
                    "WHERE excluded_reason IS NULL AND currency IS DISTINCT FROM ?", [report.currency])
        other = _examples(con, "(SELECT * FROM orders_all WHERE excluded_reason = 'other currency')",
                          "excluded_reason", {"order_id": m.get("order_id") or "order", "customer_id": m["customer_id"],
                                              "currency": m["currency"], "amount": m["amount"]})
        for info in other.values():
            report.excluded[f"other currency than {report.currency} (column '{m['currency']}')"] = info

    # orders_all keeps every order built from the file (excluded ones with their reason); orders is the usable part
    optional = {c: _stored_or_null(mapping, c) for c in _OPTIONAL_COLUMNS}
    con.execute(f"""
        CREATE OR REPLACE VIEW orders AS
        SELECT order_id, customer_id, order_ts,
               amount + coalesce(discount, 0) AS gross, discount, refund,
               CASE WHEN not_purchase_reason IS NULL THEN amount - coalesce(refund, 0) ELSE amount END AS net,
               status, currency, channel, items,
               not_purchase_reason IS NULL AS is_purchase, not_purchase_reason
        FROM (SELECT order_id, customer_id, order_ts, amount, {', '.join(optional.values())}, not_purchase_reason
              FROM orders_all WHERE excluded_reason IS NULL)""")
    report.kept, report.customers, report.date_min, report.date_max = con.execute(
        "SELECT count(*), count(DISTINCT customer_id), min(order_ts), max(order_ts) FROM orders").fetchall()[0]
    report.not_purchases = dict(con.execute(
        "SELECT not_purchase_reason, count(*) FROM orders WHERE NOT is_purchase GROUP BY ALL ORDER BY 2 DESC"
    ).fetchall())
    if con.execute("SELECT count(*) FROM orders WHERE is_purchase").fetchall()[0][0] == 0:
        raise DataError("None of the orders counts as a purchase: all are cancelled, unpaid, refunded or returns.",
                        column=m.get("status"), expected="at least one paid order.")
    return report


_ORDER_COLUMNS = ("order_id", "customer_id", "order_ts", "amount", "discount", "refund", "status", "currency",
                  "channel", "items", "excluded_reason", "not_purchase_reason")
#: columns of orders_all that exist only when the file has the field (else the ``orders`` view says NULL, instead
#: of 10M-order files storing 10M NULLs): column -> (mapped field, type)
_OPTIONAL_COLUMNS = {"discount": ("discount", "DOUBLE"), "refund": ("refund", "DOUBLE"), "status": ("status", "VARCHAR"),
                     "currency": ("currency", "VARCHAR"), "channel": ("channel", "VARCHAR"),
                     "items": ("quantity", "DOUBLE")}


def _stored(mapping: Mapping, column: str) -> bool:
    return column not in _OPTIONAL_COLUMNS or bool(mapping.columns.get(_OPTIONAL_COLUMNS[column][0]))


def _stored_or_null(mapping: Mapping, column: str) -> str:
    """``column`` of orders_all, or a NULL of its type when the file has no such field."""
    return column if _stored(mapping, column) else f"NULL::{_OPTIONAL_COLUMNS[column][1]} AS {column}"


@dataclass(frozen=True)
class _Parsed:
    """The query that parses and classifies every order of a file, with its parameters."""
    sql: str
    params: dict


def _build_orders(con, mapping: Mapping, source: str, one_row_per_order: bool, typed: bool,
                  fmts: list[str]) -> _Parsed:
    """Table ``orders_all`` from the file's rows in ``source``: one row per order, parsed and classified.

    ``typed``: the CSV reader already parsed numbers and times (see ``_typed_columns``), else they are text."""
    m = mapping.columns
    if typed:
        def num(e): return f"CAST({e} AS DOUBLE)"  # a no-op on typed columns; gives unmapped NULLs their type
        def when(e): return f"CAST({e} AS TIMESTAMP)"  # TIMESTAMPTZ in a UTC session: the UTC wall time
        # examples show the time as read, in UTC (the file's own text is not kept by the typed reader)
        shown_time = "strftime(CAST(ts_raw AS TIMESTAMP), '%Y-%m-%d %H:%M:%S') || ' UTC'"
        params = {}
    else:
        def num(e): return f"clv_amount({e})"
        def when(e): return f"clv_ts({e}, $fmts)"
        shown_time, params = "ts_raw", {"fmts": fmts}
    amount = num("amount_raw")
    if mapping.amount_times_quantity and m.get("quantity"):
        amount = f"{num('amount_raw')} * coalesce({num('qty_raw')}, 1)"
    raw = {"order_key": f"nullif(trim({_col(mapping, 'order_id')}), '')", "cust_raw": _col(mapping, "customer_id"),
           "ts_raw": _col(mapping, "order_ts"), "amount_raw": _col(mapping, "amount"),
           "discount_raw": _col(mapping, "discount"), "refund_raw": _col(mapping, "refund"),
           "status_raw": _col(mapping, "status"), "cancelled_raw": _col(mapping, "cancelled_at"),
           "currency_raw": _col(mapping, "currency"), "channel_raw": _col(mapping, "channel"),
           "qty_raw": _col(mapping, "quantity")}
    lines = ", ".join(f"{expr} AS {name}" for name, expr in raw.items())
    if m.get("order_id") and not one_row_per_order:
        # one order from its rows: order-level fields may sit on the first row only (Shopify), so take any
        # non-null value; line amounts are summed when the format has one row per item. A row without an order
        # id is an order of its own (grouped by its line number), never merged with other such rows.
        lines += ", row_number() OVER () AS _line"
        grouped = ", ".join(f"any_value({name}) AS {name}" for name in raw if name != "order_key")
        amount_expr = f"sum({amount})" if mapping.amount_per == "line" else num("any_value(amount_raw)")
        per_order = (f"SELECT order_key AS order_id, {grouped}, {amount_expr} AS amount_value, "
                     f"sum({num('qty_raw')}) AS items FROM lines "
                     f"GROUP BY order_key, CASE WHEN order_key IS NULL THEN _line END")
    else:  # every row is an order
        order_id = "order_key" if m.get("order_id") else "CAST(row_number() OVER () AS VARCHAR)"
        per_order = (f"SELECT {order_id} AS order_id, * EXCLUDE (order_key, _copies), "
                     f"{amount} AS amount_value, {num('qty_raw')} AS items FROM lines")
    parsed = f"""
        WITH lines AS (SELECT {lines}, _copies FROM {source}),
        per_order AS ({per_order}),
        parsed AS (
            SELECT order_id, clv_id(cust_raw) AS customer_id, cust_raw, {when('ts_raw')} AS order_ts, ts_raw,
                   amount_value AS amount, amount_raw, {num('discount_raw')} AS discount,
                   {num('refund_raw')} AS refund, nullif(lower(trim(status_raw)), '') AS status,
                   nullif(trim(cancelled_raw), '') AS cancelled_at,
                   nullif(upper(trim(currency_raw)), '') AS currency, nullif(trim(channel_raw), '') AS channel,
                   items
            FROM per_order)
        SELECT * EXCLUDE (cust_raw, ts_raw, amount_raw),
            CASE WHEN customer_id IS NULL THEN 'no customer id'
                 WHEN order_ts IS NULL THEN 'date could not be read'
                 WHEN amount IS NULL THEN 'amount missing or not a number' END AS excluded_reason,
            -- the file's own text, for the report's examples of excluded orders (not stored in orders_all)
            cust_raw, {shown_time} AS ts_raw, CAST(amount_raw AS VARCHAR) AS amount_raw,
            CASE WHEN cancelled_at IS NOT NULL THEN 'cancelled'
                 WHEN list_contains($np_status, status) THEN $np_reason[list_position($np_status, status)]
                 WHEN $returns_by_prefix AND upper(order_id) LIKE 'C%' THEN 'return (credit note)'
                 WHEN amount < 0 THEN 'return (negative amount)'
                 WHEN amount > 0 AND refund >= amount THEN 'fully refunded'
                 WHEN amount = 0 THEN 'zero amount' END AS not_purchase_reason
        FROM parsed"""
    params = {"np_status": list(_STATUS_SPELLINGS), "np_reason": list(_STATUS_SPELLINGS.values()),
              "returns_by_prefix": mapping.format == "online_retail", **params}
    # the table keeps what later steps use; the file's own text of excluded orders (examples in the report) is
    # read again from ``parsed`` when there are any, instead of costing 10M-order files a column each
    stored = ", ".join(c for c in _ORDER_COLUMNS if _stored(mapping, c))
    con.execute(f"CREATE OR REPLACE TABLE orders_all AS SELECT {stored} FROM ({parsed})", params)
    return _Parsed(parsed, params)


def _unique_ids(con, table: str, column: str) -> bool:
    """Whether every row of ``table`` has its own, non-null ``column``.

    Integer ids (the usual export) are checked in numpy: in file order they are mostly increasing already, else a
    bitmap over their range; other ids by DuckDB's distinct count. Different integers are different texts, so a
    True from the integer check is exact; a False ("7" and "07") falls through to the exact count.
    """
    ids = con.execute(f"SELECT try_cast({_q(column)} AS BIGINT) AS i FROM {_q(table)}").fetchnumpy()["i"]
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
    n, distinct = con.execute(f"SELECT count(*), count(DISTINCT {_q(column)}) FROM {_q(table)}").fetchall()[0]
    return n == distinct


def _raise_nothing_valid(report: LoadReport, m: dict) -> None:
    reason, info = max(report.excluded.items(), key=lambda kv: kv[1]["count"])
    column = next((c for c in (m["customer_id"], m["order_ts"], m["amount"]) if f"'{c}'" in reason), None)
    expected = {m["order_ts"]: DATE_HELP + ".", m["amount"]: "numbers like 12.50, 1,234.50 or 12,50.",
                m["customer_id"]: "a customer id or email on every order."}.get(column)
    raise DataError(f"No usable order in the file: every order was excluded, mostly for '{reason}'.",
                    column=column, example=(info["examples"] or [None])[0], expected=expected)


# --- interactions ---------------------------------------------------------------------------------------

def load_interactions(con: duckdb.DuckDBPyConnection, path: str | Path, mapping: Mapping | None = None) -> LoadReport:
    """Read an events export into table ``interactions``: customer_id, event_ts, event_type, channel, value.

    Recognised event names are mapped to canonical types (``EVENT_ALIASES``); others are kept as they are
    (normalised) and counted in the report.
    """
    install_macros(con)
    sn = sniff(path, con)
    if mapping is None:
        mapping = detect_interaction_mapping(sn.columns)
    _check_mapping(mapping, sn.columns, REQUIRED_INTERACTION_FIELDS, "interactions")
    with _readable("interactions"), _source(con, sn, "_src_events"):
        return _load_interactions(con, sn, mapping)


def _load_interactions(con, sn: Sniff, mapping: Mapping) -> LoadReport:
    aliases = {a: canon for canon, names in EVENT_ALIASES.items() for a in names}
    try:
        fmts = _date_formats(con, "_src_events", mapping.columns["event_ts"])
        source, rows_read, duplicates, _ = _deduplicated(con, "_src_events", sn.columns)
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE _events_stage AS
            WITH ev AS (
                SELECT {_col(mapping, 'customer_id')} AS cust_raw, {_col(mapping, 'event_ts')} AS ts_raw,
                       {_col(mapping, 'event_type')} AS type_raw, {_col(mapping, 'channel')} AS channel_raw,
                       {_col(mapping, 'value')} AS value_raw, _copies
                FROM {source})
            SELECT clv_id(cust_raw) AS customer_id, clv_ts(ts_raw, $fmts) AS event_ts,
                   regexp_replace(lower(trim(type_raw)), '[^a-z0-9]', '', 'g') AS type_key,
                   lower(trim(type_raw)) AS type_raw,
                   nullif(lower(trim(channel_raw)), '') AS channel, clv_amount(value_raw) AS value,
                   cust_raw, ts_raw, _copies,
                   CASE WHEN clv_id(cust_raw) IS NULL THEN 'no customer id'
                        WHEN clv_ts(ts_raw, $fmts) IS NULL THEN 'time could not be read'
                        WHEN nullif(trim(type_raw), '') IS NULL THEN 'no event type' END AS excluded_reason
            FROM ev""", {"fmts": fmts})
    except duckdb.Error as exc:
        raise DataError(f"The interactions file could not be read: {_first_line(exc)}",
                        expected="a rectangular CSV whose rows all have the header's number of columns.") from None
    m = mapping.columns
    report = LoadReport("interactions", sn.description, "events", "Interaction events", mapping)
    report.rows_read, report.duplicates_removed = rows_read, duplicates
    report.excluded = _examples(con, "_events_stage", "excluded_reason",
                                {"cust_raw": m["customer_id"], "ts_raw": m["event_ts"], "type_raw": m["event_type"]})
    labels = {"no customer id": m["customer_id"], "time could not be read": m["event_ts"], "no event type": m["event_type"]}
    report.excluded = {f"{r} (column '{labels[r]}')": v for r, v in report.excluded.items()}
    con.execute("""
        CREATE OR REPLACE TABLE interactions AS
        SELECT customer_id, event_ts,
               coalesce($canon[list_position($alias, type_key)],
                        regexp_replace(type_raw, '[^a-z0-9]+', '_', 'g')) AS event_type,
               list_contains($alias, type_key) AS known_type, channel, value
        FROM _events_stage WHERE excluded_reason IS NULL""", {"alias": list(aliases), "canon": list(aliases.values())})
    con.execute("DROP TABLE _events_stage")
    report.records_built = report.kept = con.execute("SELECT count(*) FROM interactions").fetchall()[0][0]
    if report.kept == 0:
        reason, info = max(report.excluded.items(), key=lambda kv: kv[1]["count"])
        raise DataError(f"No usable event in the interactions file: every row was excluded, mostly for '{reason}'.",
                        example=(info["examples"] or [None])[0],
                        expected=f"a customer id, a time ({DATE_HELP}) and an event type on each row.")
    report.customers, report.date_min, report.date_max = con.execute(
        "SELECT count(DISTINCT customer_id), min(event_ts), max(event_ts) FROM interactions").fetchall()[0]
    report.event_types = dict(con.execute(
        "SELECT event_type, count(*) FROM interactions GROUP BY ALL ORDER BY 2 DESC").fetchall())
    report.unknown_event_types = dict(con.execute(
        "SELECT event_type, count(*) FROM interactions WHERE NOT known_type GROUP BY ALL ORDER BY 2 DESC").fetchall())
    return report
