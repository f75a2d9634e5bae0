"""A shop's data in one DuckDB connection: load exports, ask for the customer table.

One ``Shop`` per browser session, CLI run or notebook; nothing connects at import time.
"""
from __future__ import annotations

import datetime as dt
import re
import shutil
import tempfile
import threading
import weakref
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from .errors import DataError
from .ingest import LoadReport, Mapping, install_macros, load_interactions, load_orders
from .ingest.fields import q

if TYPE_CHECKING:  # pandas is imported by DuckDB when a table is asked for as a DataFrame, not before
    import pandas as pd

__all__ = ["Shop", "SAMPLE_ORDERS", "SAMPLE_INTERACTIONS", "SAMPLE_TRUTH", "CUSTOMER_COLUMNS", "EVENT_COLUMNS"]

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
SAMPLE_ORDERS = DATA_DIR / "sample_orders.csv"
SAMPLE_INTERACTIONS = DATA_DIR / "sample_interactions.csv"
SAMPLE_TRUTH = DATA_DIR / "sample_truth.json"

#: the customer table's columns counted from the interactions file (zero or NULL for every customer without one)
EVENT_COLUMNS = ["views", "add_to_cart", "carts_abandoned", "last_abandoned_cart", "email_opens", "email_clicks",
                 "support_tickets", "mean_satisfaction", "reviews", "mean_rating", "return_requests",
                 "last_interaction", "last_email_engagement"]

CUSTOMER_COLUMNS = [
    "customer_id", "email", "first_order", "last_order", "orders", "revenue", "aov", "frequency", "recency_days",
    "T_days", "monetary_value", "discount_share", "refund_total", "channel", "views", "add_to_cart",
    "carts_abandoned", "last_abandoned_cart", "email_opens", "email_clicks", "support_tickets",
    "mean_satisfaction", "reviews", "mean_rating", "return_requests", "last_interaction", "last_email_engagement",
]


@lru_cache(maxsize=None)
def sql(name: str) -> str:
    """The text of clv/sql/<name>.sql (one query per file, values as $parameters)."""
    return (Path(__file__).parent / "sql" / f"{name}.sql").read_text()


#: the tables a per-customer query may read its orders from: every order, or the backtest's seeded sample of them
#: (clv.store.Shop.backtest_tables)
ORDER_SOURCES = ("orders", "_backtest_orders")


def orders_sql(name: str, source: str = "orders") -> str:
    """The text of a per-customer query (customers.sql, holdout.sql, holdout_weekly.sql) reading its orders from
    ``source``, one of ORDER_SOURCES (a fixed table name, never a value)."""
    if source not in ORDER_SOURCES:
        raise ValueError(f"not an orders table: {source!r}")
    text = sql(name)
    return text if source == "orders" else re.sub(r"\bFROM orders\b", f"FROM {source}", text)


def pd_frame(data: dict):
    """A pandas DataFrame, with pandas imported only when one is needed (see the note at the imports)."""
    import pandas
    return pandas.DataFrame(data)


def pd_series(values, dtype: str):
    import pandas
    return pandas.Series(values, dtype=dtype)


def frame(rel: duckdb.DuckDBPyRelation, batch_rows: int = 262_144) -> pd.DataFrame:
    """The relation as a DataFrame — the frame DuckDB's ``.df()`` gives (tested), fetched as a stream of Arrow
    batches: text stays Arrow (no Python string per row; pandas' own string type), numbers are copied out of each
    batch as it arrives, so the result is never held twice. At 3.3M customers this is ~1 GB less at the peak of
    `score` than ``fetchnumpy`` (DuckDB's materialised result and numpy's copy side by side) and 2 s faster
    (bench/pipeline.py --stages). DECIMAL columns come out as float64 like ``.df()``'s, converted by Arrow (cast them to
    DOUBLE in the SQL for DuckDB's own conversion, as customers.sql does)."""
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    reader = rel.to_arrow_reader(batch_rows)
    schema = reader.schema
    text = [pa.types.is_string(f.type) or pa.types.is_large_string(f.type) for f in schema]
    decimal = [pa.types.is_decimal(f.type) for f in schema]
    parts: list[list] = [[] for _ in schema]
    for batch in reader:
        for j, col in enumerate(batch.columns):
            if decimal[j]:
                col = col.cast(pa.float64())
            # a copy per batch, text too: DuckDB frees a batch when the last of its columns goes, so a view of one
            # column would keep every column of every batch alive (measured: 470 MB more after the fetch)
            # (text as large_string, pandas' own: a string column would be converted again at the end)
            parts[j].append(pa.concat_arrays([col.cast(pa.large_string())]) if text[j]
                            else np.array(col.to_numpy(zero_copy_only=False), copy=True))
        del batch
    columns = {}
    for j, f in enumerate(schema):
        chunks, parts[j] = parts[j], []
        if text[j]:
            values = pa.chunked_array(chunks, type=pa.large_string())
            # all NULL: DuckDB's .df() gives an object column of None (pandas cannot infer a text column)
            columns[f.name] = (pd.Series(values, dtype="str") if values.null_count < len(values)
                               else np.full(len(values), None, dtype=object))
        elif chunks:
            columns[f.name] = np.concatenate(chunks)
        else:
            columns[f.name] = np.empty(0, np.float64 if decimal[j] else f.type.to_pandas_dtype())
        del chunks
    return pd.DataFrame(columns, copy=False)


def with_event_columns(table: pd.DataFrame, kinds: dict) -> pd.DataFrame:
    """A customer table fetched without its interaction columns, with them added all zero or NULL (a shop without
    interactions), in the order of ``kinds`` (column -> DuckDB type: the customer query's columns)."""
    import numpy as np
    import pandas as pd
    empty = {"INTEGER": lambda n: np.zeros(n, np.int32), "DOUBLE": lambda n: np.full(n, np.nan),
             "TIMESTAMP": lambda n: np.full(n, np.datetime64("NaT", "us"))}
    columns = {c: table[c] if c in table else pd.Series(empty[kind](len(table)), name=c, copy=False)
               for c, kind in kinds.items()}
    return pd.concat(columns.values(), axis=1, keys=list(columns))


def release_memory() -> None:
    """Give the memory freed by Python and numpy back to the system (glibc keeps freed blocks of tens of MB for
    reuse: after a 3.3M-customer score that is hundreds of MB of nothing until the process ends)."""
    import ctypes
    import gc
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass


def _as_date(value) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        raise DataError(f"{value!r} is not a date.", expected="a date written YYYY-MM-DD.") from None


class Shop:
    """Orders and interactions of one shop, held in a private DuckDB database.

    ``con`` is this thread's connection to it: the thread that made the Shop uses the connection it was given,
    any other thread gets its own ``cursor()`` (with the macros installed). A DuckDB connection refuses a second
    call while one is running ("connection is busy"), and Streamlit may start a session's next run while the
    previous one is still inside a query (a tab that reloads or rejoins), so sharing one connection across
    threads fails at random. Tables live in the database, so every thread sees the same orders.

    ``memory_limit``: DuckDB's cap (work beyond it spills); ``one_run``: a one-shot run under that cap (the command
    line's streamed score), where DuckDB keeps the memory it is allowed instead of returning it (``_hold_memory``)."""

    def __init__(self, con: duckdb.DuckDBPyConnection | None = None, memory_limit: str | None = None,
                 one_run: bool = False):
        self._root = con or duckdb.connect()
        self._local = threading.local()
        self._local.con = self._root
        self.memory_limit: str | None = None  # DuckDB's default (80 % of RAM) unless set
        # work that does not fit in memory spills to a folder of this Shop's own in the system's temp folder (not
        # ./.tmp, nor one folder shared by every session), removed by close()
        self._spill = tempfile.mkdtemp(prefix="clv-duckdb-")
        # removed when the Shop is closed, collected (a data set replaced by an upload) or at exit, whichever is first
        self._remove_spill = weakref.finalize(self, shutil.rmtree, self._spill, True)
        self.con.execute("SET temp_directory = ?", [self._spill])
        if memory_limit:
            self.limit_memory(memory_limit)
            if one_run:
                self._hold_memory(memory_limit)
        install_macros(self.con)
        self.con.execute("""CREATE OR REPLACE TABLE interactions (customer_id VARCHAR, event_ts TIMESTAMP,
                            event_type VARCHAR, known_type BOOLEAN, channel VARCHAR, value DOUBLE)""")
        self.orders_report: LoadReport | None = None
        self.interactions_report: LoadReport | None = None
        self.version = 0  # bumped on every load, so callers can key derived results on it
        self._dates: tuple = (0, {})  # (version, {key: date(s)}): see _once

    def close(self) -> None:
        """Close the database and remove its spill files (a session's end; a closed tab's 59 MB of spill files and
        memory stayed until the server stopped)."""
        try:
            self._root.close()
        except duckdb.Error:  # a query still running (a tab closed mid-run): collected later, folder and all
            return
        self._remove_spill()

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        con = getattr(self._local, "con", None)
        if con is None:  # first call on another thread; the cursor closes when the thread ends
            con = self._root.cursor()
            install_macros(con)
            self._local.con = con
        return con

    def limit_memory(self, limit: str) -> None:
        """Cap DuckDB's memory (e.g. "1GB"); tables beyond the cap move to the temp folder, work beyond it spills."""
        self.con.execute("SET memory_limit = ?", [limit])
        self.memory_limit = limit

    def _hold_memory(self, limit: str) -> None:
        """For a one-shot run under a memory limit (the command line): DuckDB keeps its buffers' memory — up to the
        limit, reused from block to block — and its allocator's caches, instead of handing pages back to the
        system after each task and faulting them in again (the kernel zeroes every new page): score on 100M orders
        290.0 -> 280.0 s and 302.7 -> 293.6 s (each pair in the same hour, bench/scale.py), peak 2.5 -> 2.7-2.9 GB.
        Not for the app: the memory is never given back while the database is open, and the app keeps one database
        per visitor."""
        self.con.execute("SET block_allocator_memory = ?", [limit])
        self.con.execute("SET allocator_flush_threshold = '1GB'")
        self.con.execute("SET allocator_bulk_deallocation_flush_threshold = '4GB'")

    def offload(self) -> None:
        """Move DuckDB's tables to the temp folder now (they come back when read), keeping the memory cap.

        For one-shot runs of big files once the customer table is in pandas: the orders need not stay in memory
        while the models run."""
        limit = self.memory_limit
        self.con.execute("SET memory_limit = '256MB'")
        if limit:
            self.limit_memory(limit)
        else:
            self.con.execute("RESET memory_limit")

    def copy(self) -> "Shop":
        """A new Shop with its own database holding the same tables, views and load reports (milliseconds for the
        sample shop, instead of reading its files again: every new visitor starts on it)."""
        new = Shop(memory_limit=self.memory_limit)
        tables = [r[0] for r in self.con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE' AND table_schema = "
            "'main' ORDER BY table_name").fetchall()]
        for name in tables:
            new.con.register("_copy_src", self.con.sql(f"SELECT * FROM {q(name)}").to_arrow_table())
            new.con.execute(f"CREATE OR REPLACE TABLE {q(name)} AS SELECT * FROM _copy_src")
            new.con.unregister("_copy_src")
        for (view_sql,) in self.con.execute("SELECT sql FROM duckdb_views() WHERE NOT internal AND schema_name = "
                                             "'main' ORDER BY view_name").fetchall():
            new.con.execute(view_sql)
        new.orders_report, new.interactions_report = self.orders_report, self.interactions_report
        new.version = self.version
        return new

    @classmethod
    def sample(cls) -> "Shop":
        """The bundled sample shop (data/sample_*.csv)."""
        shop = cls()
        shop.load_orders(SAMPLE_ORDERS)
        shop.load_interactions(SAMPLE_INTERACTIONS)
        return shop

    # -- loading ---------------------------------------------------------------------------------------
    def load_orders(self, path, fmt: str | None = None, mapping: Mapping | None = None,
                    currency: str | None = None, accept_exclusions: bool = False) -> LoadReport:
        self._dates = (-1, {})  # (a load that fails midway has changed the tables too)
        self.orders_report = load_orders(self.con, path, fmt=fmt, mapping=mapping, currency=currency,
                                         accept_exclusions=accept_exclusions)
        self.version += 1
        return self.orders_report

    def load_interactions(self, path, mapping: Mapping | None = None) -> LoadReport:
        self.interactions_report = load_interactions(self.con, path, mapping=mapping)
        self.version += 1
        return self.interactions_report

    @property
    def has_orders(self) -> bool:
        return self.orders_report is not None

    def _require_orders(self) -> None:
        if not self.has_orders:
            raise DataError("No orders loaded yet.", expected="an orders file loaded first.")

    # -- dates -----------------------------------------------------------------------------------------
    def _once(self, key: tuple, compute):
        """``compute()``, remembered for this data set (``version``): the dates below are asked for by several
        steps of one run, and each asking is a scan of the orders (1.7-2.6 s at 100M orders)."""
        if self._dates[0] != self.version:
            self._dates = (self.version, {})
        known = self._dates[1]
        if key not in known:
            known[key] = compute()
        return known[key]

    def purchase_span(self, as_of=None) -> tuple[dt.date, dt.date]:
        """First and last purchase day in the data (up to ``as_of``, that day included: the history as it was
        then)."""
        self._require_orders()
        as_of = _as_date(as_of)
        lo, hi = self._once(("span", as_of), lambda: self.con.execute(
            "SELECT min(order_ts)::DATE, max(order_ts)::DATE FROM orders WHERE is_purchase "
            "AND ($as_of IS NULL OR order_ts < $as_of::DATE + 1)", {"as_of": as_of}).fetchall()[0])
        if lo is None:
            raise DataError(f"No purchase up to {_as_date(as_of)}: the as-of date is before the first order.",
                            expected="an as-of date on or after the first purchase.")
        return lo, hi

    def last_date(self) -> dt.date:
        """The last day in the orders file, returns and refunds included: the default as-of date (a return dated
        after the last purchase still counts)."""
        self._require_orders()
        return self._once(("last",), lambda: self.con.execute("SELECT max(order_ts)::DATE FROM orders"
                                                              ).fetchall()[0][0])

    def default_calibration_end(self, holdout_share: float = 0.25, as_of=None) -> dt.date:
        """The date that leaves the last ``holdout_share`` of the purchase history (up to ``as_of``) as a holdout."""
        lo, hi = self.purchase_span(as_of)
        return lo + dt.timedelta(days=int((hi - lo).days * (1 - holdout_share)))

    # -- customer table --------------------------------------------------------------------------------
    def customers_relation(self, as_of=None, calibration_end=None, source: str = "orders"
                           ) -> duckdb.DuckDBPyRelation:
        """The customer table as a DuckDB relation (nothing leaves DuckDB until asked); ``source``: the orders
        table read (the backtest's sample: ``backtest_tables``)."""
        self._require_orders()
        period_end = _as_date(calibration_end) or _as_date(as_of) or self.last_date()
        return self.con.sql(orders_sql("customers", source), params={"period_end": period_end})

    def customers(self, as_of=None, calibration_end=None, source: str = "orders") -> pd.DataFrame:
        """One row per customer (see clv/sql/customers.sql for every column's definition)."""
        rel = self.customers_relation(as_of, calibration_end, source)
        if self.con.execute("SELECT count(*) FROM interactions").fetchall()[0][0]:
            return frame(rel)
        # no interactions: their columns are all zero or NULL. They are made here, after DuckDB has let go of its
        # result, not fetched: 13 of the 27 columns, ~250 MB less at the peak of a 3.3M-customer score
        kinds = dict(zip(rel.columns, (str(t) for t in rel.types)))
        fetched = frame(rel.project(", ".join(q(c) for c in rel.columns if c not in EVENT_COLUMNS)))
        return with_event_columns(fetched, kinds)

    def cohorts(self, as_of=None) -> pd.DataFrame:
        """Monthly cohort retention (clv/sql/cohorts.sql), from the purchases up to ``as_of`` (that day included)."""
        self._require_orders()
        return self.con.execute(sql("cohorts"), {"as_of": _as_date(as_of)}).df()

    def cohort_ltv(self, margin: float, as_of=None) -> pd.DataFrame:
        """Cumulative revenue and margin per customer by cohort and months since first order, up to ``as_of``
        (default: the last date in the data) — clv/sql/cohort_ltv.sql. See clv.cuts.cohort_ltv."""
        self._require_orders()
        end = _as_date(as_of) or self.last_date()
        return self.con.execute(sql("cohort_ltv"), {"period_end": end, "margin": float(margin)}).df()

    def ltv_by(self, by: str, scores: pd.DataFrame | None = None, as_of=None, top_n: int = 20,
               missing: str = "(none)", other: str = "(other)", acquired_from=None) -> pd.DataFrame:
        """Historic value per customer grouped by a trait of the first purchase (clv/sql/ltv_by.sql); ``scores``:
        customer_id and clv per customer, or None; ``acquired_from``: only customers who first bought on or after
        that day. See clv.cuts.ltv_by, which adds intervals and flags."""
        self._require_orders()
        end = _as_date(as_of) or self.last_date()
        frame = scores[["customer_id", "clv"]] if scores is not None else \
            pd_frame({"customer_id": pd_series([], "object"), "clv": pd_series([], "float64")})
        self.con.register("cut_scores", frame)
        try:
            return self.con.execute(sql("ltv_by"), {"period_end": end, "by": by, "top_n": int(top_n),
                                                    "missing": missing, "other": other,
                                                    "acquired_from": _as_date(acquired_from)}).df()
        finally:
            self.con.unregister("cut_scores")

    def customer_orders(self, customer_id: str) -> pd.DataFrame:
        """Every order of one customer, by date (clv/sql/customer_orders.sql)."""
        self._require_orders()
        return self.con.execute(sql("customer_orders"), {"customer_id": str(customer_id)}).df()

    def customer_interactions(self, customer_id: str) -> pd.DataFrame:
        """Every interaction of one customer, by time (clv/sql/customer_interactions.sql)."""
        return self.con.execute(sql("customer_interactions"), {"customer_id": str(customer_id)}).df()

    def monthly(self, as_of=None) -> pd.DataFrame:
        """Revenue, orders, customers and new customers per month (clv/sql/monthly_revenue.sql), from the purchases
        up to ``as_of`` (that day included: its month as an export taken then would show it)."""
        self._require_orders()
        return self.con.execute(sql("monthly_revenue"), {"as_of": _as_date(as_of)}).df()

    def purchase_months(self, as_of=None) -> pd.DataFrame:
        """Purchases per calendar month (month, orders) up to ``as_of``: what clv.readiness.trading_gaps reads,
        without ``monthly``'s customers per month (a window over every order: 5 s at 10M orders, against 0.3 s)."""
        self._require_orders()
        return self.con.execute("SELECT date_trunc('month', order_ts)::DATE AS month, count(*) AS orders FROM orders "
                                "WHERE is_purchase AND ($as_of IS NULL OR order_ts < $as_of::DATE + 1) "
                                "GROUP BY ALL ORDER BY month", {"as_of": _as_date(as_of)}).df()

    def weekly_orders(self, as_of=None) -> pd.DataFrame:
        """Purchases per week up to ``as_of`` (clv/sql/weekly_orders.sql)."""
        self._require_orders()
        return self.con.execute(sql("weekly_orders"), {"as_of": _as_date(as_of)}).df()

    def campaign_outcomes(self, members: pd.DataFrame, window_end=None, margin: float | None = None) -> pd.DataFrame:
        """Purchases, net revenue and margin per (campaign_id, customer_id) of ``members`` (campaign_id, customer_id,
        created) after each campaign's date up to ``window_end`` (default: the last date in the data) —
        clv/sql/campaign_outcomes.sql; the margin of orders without a product cost is net × ``margin`` (None: no
        margin column). Customers who bought nothing are absent."""
        self._require_orders()
        end = _as_date(window_end) or self.last_date()
        self.con.register("campaign_members", members[["campaign_id", "customer_id", "created"]])
        try:
            out = self.con.execute(sql("campaign_outcomes"), {"window_end": end,
                                                               "margin": 0.0 if margin is None else float(margin)}).df()
            return out if margin is not None else out.drop(columns="margin")
        finally:
            self.con.unregister("campaign_members")

    def find_customers(self, text: str, limit: int = 20) -> list[str]:
        """Customer ids (or e-mails, where they are the id) that contain ``text`` in any letter case — the lookup's
        "did you mean" for part of an id, an e-mail or a name in it; the most orders first."""
        self._require_orders()
        rows = self.con.execute(
            "SELECT customer_id FROM orders WHERE contains(lower(customer_id), lower($q)) GROUP BY customer_id "
            "ORDER BY count(*) DESC, customer_id LIMIT $n", {"q": text.strip(), "n": int(limit)}).fetchall()
        return [r[0] for r in rows]

    def known_customers(self, ids) -> int:
        """How many of ``ids`` have any order in the data (to tell a campaign file from another shop)."""
        self._require_orders()
        self.con.register("ids_in", pd_frame({"customer_id": list(ids)}))
        try:
            return self.con.execute("SELECT count(DISTINCT customer_id) FROM ids_in SEMI JOIN orders "
                                    "USING (customer_id)").fetchall()[0][0]
        finally:
            self.con.unregister("ids_in")

    def holdout_weekly(self, calibration_end, holdout_end=None, source: str = "orders") -> pd.DataFrame:
        """Repeat purchase days per week after calibration_end by the calibration customers (week, repeat_purchases;
        weeks with none are absent) — clv/sql/holdout_weekly.sql."""
        self._require_orders()
        end = _as_date(holdout_end) or self.purchase_span()[1]
        return self.con.execute(orders_sql("holdout_weekly", source),
                                {"calibration_end": _as_date(calibration_end), "holdout_end": end}).df()

    def holdout(self, calibration_end, holdout_end=None, source: str = "orders") -> pd.DataFrame:
        """Per customer of the calibration period: repeat purchase days and revenue after calibration_end."""
        self._require_orders()
        end = _as_date(holdout_end) or self.purchase_span()[1]
        return self.con.execute(orders_sql("holdout", source),
                                {"calibration_end": _as_date(calibration_end), "holdout_end": end}).df()

    def backtest_tables(self, calibration_end, holdout_end=None, max_customers: int | None = None):
        """What the purchase models' backtest reads: (calibration customer table, holdout per customer, repeat
        purchases per holdout week, customers who had bought by ``calibration_end``). Above ``max_customers`` of them
        the two per-customer tables hold a seeded random sample of about ``max_customers`` (by the hash of the
        customer id: the same customers on every run), computed for those customers only instead of built for all
        and sampled after — the weekly totals too (they were every customer's, scaled: a full scan of the orders,
        13 s at 100M)."""
        self._require_orders()
        cal = _as_date(calibration_end)
        # how many: estimated (HyperLogLog, within a few %: 0.26 s at 30M orders), counted exactly (1.1 s) only
        # when the estimate is near the size that decides whether to sample
        n = int(self.con.execute("SELECT approx_count_distinct(customer_id) FROM orders WHERE is_purchase "
                                 "AND order_ts < $cal::DATE + 1", {"cal": cal}).fetchall()[0][0])
        if not max_customers or n < 2 * max_customers:
            n = int(self.con.execute("SELECT count(DISTINCT customer_id) FROM orders WHERE is_purchase "
                                     "AND order_ts < $cal::DATE + 1", {"cal": cal}).fetchall()[0][0])
        if not (max_customers and n > max_customers):
            return (self.customers(calibration_end=cal), self.holdout(cal, holdout_end),
                    self.holdout_weekly(cal, holdout_end), n)
        # the sample's orders copied once (one scan hashing every id: 3 s at 100M orders), then read by the three
        # queries, instead of each hashing every order again (eight scans: 20 s at 100M)
        below = min(2 ** 64 - 1, int(max_customers / n * 2 ** 64))
        # (only the columns those queries read: a copy of every column reads them all for every order; 2.6 -> 2.0 s
        # at 30M orders)
        self.con.execute("CREATE OR REPLACE TEMP TABLE _backtest_orders AS SELECT customer_id, order_ts, net, "
                         "discount, refund, channel, is_purchase FROM orders WHERE hash(customer_id) < $below",
                         {"below": below})
        try:
            return (self.customers(calibration_end=cal, source="_backtest_orders"),
                    self.holdout(cal, holdout_end, source="_backtest_orders"),
                    self.holdout_weekly(cal, holdout_end, source="_backtest_orders"), n)
        finally:
            self.con.execute("DROP TABLE IF EXISTS _backtest_orders")
