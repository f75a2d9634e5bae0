"""The pipeline on Apache Spark, for order logs that live in a data lake (Parquet, CSV, Delta).

The same customer table, models and scores as the DuckDB path (clv.store, clv.scoring), written with Spark's
DataFrame API: ``ingest`` reads and classifies orders and events with the app's column mapping and rules,
``customers`` builds the customer table of clv/sql/customers.sql, ``score`` fits the models on the driver from
the distinct (frequency, recency, T) rows and scores every customer with ``mapInPandas``. tests/test_spark.py
holds both engines to the same table (exactly) and the same scores.

Why the query is written twice rather than transpiled: customers.sql leans on DuckDB-only SQL (ASOF JOIN,
arg_min, GROUP BY ALL, FILTER, $parameters) that sqlglot does not carry over to Spark SQL faithfully, and the
ingest rules are Python-built SQL around DuckDB macros. One equality test over both engines is the contract.

pyspark is needed only here (requirements-dev.txt); nothing else in clv imports this package.
"""
from __future__ import annotations

__all__ = ["session", "score_files"]


def session(master: str | None = None, app: str = "clv", **conf):
    """A SparkSession: ``master`` (default local[*]) in UTC, as DuckDB's session is (times are UTC wall times).

    Extra ``conf`` entries are Spark settings (dots written as underscores are not translated: pass a dict).

    Spark's Python workers run this process's interpreter (``sys.executable``) unless the user chose one
    (``PYSPARK_PYTHON`` or ``spark.pyspark.python``): by default Spark starts whatever ``python3`` is first on the
    PATH, which on a fresh machine is the system Python without pandas or scikit-learn."""
    import os
    import sys

    from pyspark.sql import SparkSession
    chosen = os.environ.get("PYSPARK_PYTHON") or conf.get("spark.pyspark.python")
    # pyspark's SparkContext reads the workers' interpreter from PYSPARK_PYTHON (the setting alone is read only by
    # spark-submit); the variable is set for this process, so every session it starts agrees
    os.environ["PYSPARK_PYTHON"] = chosen or sys.executable
    conf = {"spark.pyspark.python": os.environ["PYSPARK_PYTHON"], **conf}
    builder = SparkSession.builder.appName(app).master(master or "local[*]") \
        .config("spark.sql.session.timeZone", "UTC") \
        .config("spark.sql.execution.arrow.pyspark.enabled", "true") \
        .config("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
    if (master or "local").startswith("local"):
        # one machine: a few shuffle partitions, not the cluster default of 200 (each a task with its overhead)
        conf = {"spark.sql.shuffle.partitions": "8", "spark.ui.showConsoleProgress": "false", **conf}
    for key, value in conf.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def score_files(spark, orders, out: str, interactions=None, fmt: str | None = None, overrides: dict | None = None,
                currency: str | None = None, as_of=None, horizon_months: int | None = None,
                discount_rate: float | None = None, margin: float | None = None, model: str = "bgnbd",
                k: int | None = None, options: dict | None = None) -> dict:
    """Read, build the customer table, fit, score and write ``out`` (a Parquet folder, parts of at most a
    million customers). Returns what a caller reports: customers, purchase model parameters, rows fitted, and the
    seconds of each stage (``stages``: reading and classifying the orders up to the last date, the customer table
    built and kept, the fit on the driver from the distinct rows, scoring every customer and writing)."""
    import datetime as dt
    import time

    from .. import defaults
    from ..ingest import detect_format
    from .customers import customer_table
    from ..ingest.orders import cost_keys
    from ..margins import Margin, margin_from_totals
    from .ingest import cost_totals, last_date, load_interactions, load_orders, read_table
    from .score import score
    mapping = None
    if overrides or options:  # options: the founder's choices (statuses, amount basis, exchange rates)
        mapping = detect_format(tuple(read_table(spark, orders).columns), fmt).with_columns(**(overrides or {}))
        mapping = mapping.with_options(**(options or {}))
    stages, t = {}, time.perf_counter()

    def lap(name: str) -> None:
        nonlocal t
        stages[name] = time.perf_counter() - t
        t = time.perf_counter()
    loaded = load_orders(spark, orders, fmt=fmt, mapping=mapping, currency=currency)
    events = load_interactions(spark, interactions) if interactions else None
    day = dt.date.fromisoformat(str(as_of)[:10]) if as_of else last_date(loaded.orders)
    # the measured margin when the orders carry product costs and no margin is given (clv.margins, as one machine)
    given = defaults.MARGIN if margin is None else margin
    used = Margin(float(given), "given", given=float(given))
    m = loaded.mapping
    if m.columns.get("cost") or m.columns.get("unit_cost") or cost_keys(m):
        used = margin_from_totals(cost_totals(loaded.orders, day), given, use_costs=margin is None)
    lap("read and classify the orders")
    customers = customer_table(loaded.orders, events, day).persist()
    customers.count()  # built and kept here: the fit and the scoring both read it
    lap("customer table")
    scored, fitted = score(customers, day, horizon_months or defaults.HORIZON_MONTHS,
                           defaults.DISCOUNT_RATE if discount_rate is None else discount_rate, used.rate, model, k)
    lap("fit on the driver (distinct rows), cut-offs, clusters")
    scored.write.mode("overwrite").option("maxRecordsPerFile", 1_000_000).parquet(str(out))
    lap("score every customer and write")
    warnings = list(fitted.warnings)
    return {"customers": int(fitted.purchases.n_customers_), "as_of": day, "rows_fitted": fitted.rows_fitted,
            "pairs_fitted": fitted.pairs_fitted, "margin": used,
            "purchases": fitted.purchases.params_, "warnings": warnings, "clusters": fitted.names,
            "stages": stages}
